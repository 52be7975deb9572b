//! Every label Sluice knows, once: its name, how its value is read into a
//! [`ServiceRoute`], and one line for the label reference
//! (`docs/labels.md`, generated from this table by its test). Rows are read
//! in order: `hosts` comes before `redirects`, whose sources must be hosts.

use super::values::*;
use super::*;

/// Reads a (trimmed) value into the route, or says what is wrong with it.
pub type Reader = fn(&mut ServiceRoute, &str) -> Result<(), String>;

#[derive(Clone, Copy)]
pub enum Kind {
    /// Read when present; absent leaves the route's default.
    Read(Reader),
    /// Read, and an error when absent (the message says why it is needed).
    Required(Reader, &'static str),
    /// Known, and ignored with this warning.
    Ignored(&'static str),
}

pub struct Label {
    pub name: &'static str,
    pub kind: Kind,
    /// The label reference's line (Markdown).
    pub doc: &'static str,
}

/// The row of `name`, if Sluice knows the label.
pub fn find(name: &str) -> Option<&'static Label> {
    TABLE.iter().find(|l| l.name == name)
}

pub const TABLE: &[Label] = &[
    Label {
        name: DEFAULT_BACKEND,
        kind: Kind::Read(|r, v| {
            r.default_backend = parse_bool(v)?;
            Ok(())
        }),
        doc: "`true`: the service gets the requests no host matches (needs only `port`).",
    },
    Label {
        name: HOSTS,
        kind: Kind::Read(|r, v| {
            r.hosts = parse_hosts(v)?;
            Ok(())
        }),
        doc: "Comma-separated host names to route (IDN names become A-labels; a leading \
              `*.` label is a wildcard). The label that makes a service routed.",
    },
    Label {
        name: PORT,
        kind: Kind::Required(
            |r, v| {
                r.port = parse_port(v)?;
                Ok(())
            },
            "is required (the port the service listens on)",
        ),
        doc: "The port the service listens on (1-65535). Required.",
    },
    Label {
        name: NETWORK,
        kind: Kind::Read(|r, v| {
            r.network = Some(parse_network_name(v)?);
            Ok(())
        }),
        doc: "The Docker network the proxy reaches the service on, when it has several.",
    },
    Label {
        name: CONTEXT_ROOT,
        kind: Kind::Read(|r, v| {
            r.context_root = Some(parse_path(v)?);
            Ok(())
        }),
        doc: "Route only this path prefix of the hosts to the service (letters, digits, `/-._~`).",
    },
    Label {
        name: CONTEXT_ROOT_REWRITE,
        kind: Kind::Read(|r, v| {
            r.context_root_rewrite = parse_bool(v)?;
            Ok(())
        }),
        doc: "`true`: strip the context root before passing the request on.",
    },
    Label {
        name: SSL_CERT,
        kind: Kind::Read(|r, v| {
            r.ssl_cert = Some(parse_secret_name(v)?);
            Ok(())
        }),
        doc: "Docker secret holding the hosts' certificate (or certificate and key in one PEM): \
              the proxy terminates TLS.",
    },
    Label {
        name: SSL_KEY,
        kind: Kind::Read(|r, v| {
            r.ssl_key = Some(parse_secret_name(v)?);
            Ok(())
        }),
        doc: "Docker secret holding the private key, when `ssl_cert` holds the certificate only.",
    },
    Label {
        name: SSL_PASSTHROUGH,
        kind: Kind::Read(|r, v| {
            r.ssl_passthrough = parse_bool(v)?;
            Ok(())
        }),
        doc: "`true`: route raw TLS by SNI to the service, which terminates it.",
    },
    Label {
        name: SSL_BACKEND,
        kind: Kind::Read(|r, v| {
            r.ssl_backend = parse_bool(v)?;
            Ok(())
        }),
        doc: "`true`: the proxy speaks TLS to the service.",
    },
    Label {
        name: SSL_BACKEND_TLS_VERIFY,
        kind: Kind::Read(|r, v| {
            r.ssl_backend_tls_verify = parse_verify(v)?;
            Ok(())
        }),
        doc: "`none` (default) or `required`: verify the service's certificate.",
    },
    Label {
        name: WEBSOCKET_ENDPOINTS,
        kind: Kind::Read(|r, v| {
            r.websocket_endpoints = parse_paths(v)?;
            Ok(())
        }),
        doc: "Comma-separated paths proxied with WebSocket upgrade headers.",
    },
    Label {
        name: SERVICE_CLUSTER,
        kind: Kind::Read(|r, v| {
            r.service_cluster = Some(v.to_owned());
            Ok(())
        }),
        doc: "The `[Extensions.NAME]` cluster (its `ServiceCluster`) whose proxies route the \
              service; absent: the cluster with an empty `ServiceCluster`.",
    },
    Label {
        name: STICKY_SESSION_COOKIE,
        kind: Kind::Read(|r, v| {
            r.sticky_session_cookie = Some(parse_cookie_name(v)?);
            Ok(())
        }),
        doc: "Cookie whose value pins a client to one task (an RFC 6265 name, at most 128).",
    },
    Label {
        name: IP_HASH,
        kind: Kind::Read(|r, v| {
            r.ip_hash = parse_bool(v)?;
            Ok(())
        }),
        doc: "`true`: pin each client address to one task.",
    },
    Label {
        name: BACKEND_MODE,
        kind: Kind::Read(|r, v| {
            r.backend_mode = parse_backend_mode(v)?;
            Ok(())
        }),
        doc: "`task` (default): one server per running task; `vip`: the service's virtual IP.",
    },
    Label {
        name: MAX_FAILS,
        kind: Kind::Read(|r, v| {
            r.max_fails = Some(parse_u32(v)?);
            Ok(())
        }),
        doc: "Failed attempts before a server is taken out for `fail_timeout`.",
    },
    Label {
        name: FAIL_TIMEOUT,
        kind: Kind::Read(|r, v| {
            r.fail_timeout_seconds = Some(parse_nginx_time(v)?);
            Ok(())
        }),
        doc: "How long a failed server stays out, as an nginx time (`10`, `30s`, `1m`).",
    },
    Label {
        name: WEIGHT,
        kind: Kind::Read(|r, v| {
            r.weight = Some(parse_weight(v)?);
            Ok(())
        }),
        doc: "Sluice's own: the service's share (1-1000) of a host or path it shares with \
              other services, spread over its tasks.",
    },
    Label {
        name: REDIRECTS,
        kind: Kind::Read(|r, v| {
            r.redirects = parse_redirects(v, &r.hosts)?;
            Ok(())
        }),
        doc: "`source,target` pairs separated by `;`: requests for a source (one of `hosts`, \
              optionally with `http://` or `https://`) are redirected to the absolute target URL.",
    },
    Label {
        name: SSL_ONLY,
        kind: Kind::Ignored(
            "is ignored: Interlock never implemented it; use com.docker.lb.redirects \
             (e.g. http://HOST,https://HOST) to send HTTP to HTTPS",
        ),
        doc: "Ignored, with a warning: Interlock never implemented it; use `redirects` \
              (`http://HOST,https://HOST`).",
    },
];

/// docs/labels.md: the reference, generated from [`TABLE`].
pub fn reference() -> String {
    let mut out = String::from(
        "# Service labels\n\n\
         <!-- Generated from host/src/plan/labels/table.rs by its tests; edit the table. -->\n\n\
         Sluice reads Interlock's `com.docker.lb.*` labels from each service's spec. A \
         service is routed when it has `hosts` (or `default_backend`); every bad label is \
         reported at once, naming the label, and leaves only that service out.\n\n\
         | label | meaning |\n|---|---|\n",
    );
    for l in TABLE {
        let required = matches!(l.kind, Kind::Required(..));
        out.push_str(&format!(
            "| `{}`{} | {} |\n",
            l.name,
            if required { " (required)" } else { "" },
            l.doc
        ));
    }
    out.push_str(
        "\n## Policies: `sluice.*`\n\n\
         Sluice's own labels, in a namespace of their own (Interlock's labels keep meaning \
         exactly what they meant). They apply to the routes the service serves; services \
         sharing a host (or host and context root) share its policy: the first service's, \
         with a warning naming the other. A bad value leaves the service out, naming the \
         label, like any other label. Both bundled plugins render every one (HAProxy: the \
         larger of the read and send timeouts is its one server timeout, and the body size \
         is checked on `Content-Length`); a plugin that cannot render one refuses the hosts \
         that use it, naming plugin and label: nginx refuses `sluice.protocol=h2c` (it \
         speaks HTTP/2 to servers only for gRPC) and gRPC on a host without TLS (its \
         clients reach nginx by ALPN), every plugin refuses policies on \
         `ssl_passthrough` hosts (raw TLS), and a plugin built for renderer interface \
         1.0.0 refuses all of them.\n\n\
         | label | meaning |\n|---|---|\n",
    );
    for (name, doc) in super::policy::NAMES {
        out.push_str(&format!("| `{name}` | {doc} |\n"));
    }
    out
}
