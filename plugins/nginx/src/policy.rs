//! The routes' policies (renderer interface 1.2.0, `sluice.*` labels) in a
//! proxied location: client networks, body size, timeouts, retries,
//! compression, headers, and gRPC.
//!
//! nginx drops every `add_header` (and `proxy_set_header`) a location
//! inherits as soon as the location sets one of its own, so a location with
//! policy headers repeats the http level's (the info headers, the proxy
//! headers). nginx open source speaks HTTP/2 to servers only for gRPC
//! (`grpc_pass`): `h2c` is refused; gRPC clients reach it over TLS (ALPN
//! h2), so a gRPC route needs its host's certificate. Passthrough hosts relay
//! raw TLS: no policy applies to them, and one set is refused, never
//! dropped.
//!
//! nginx open source has no active health checks: a health check renders as
//! passive failover (a server failing a request with no answer or 502-504
//! is passed over, idempotent requests retried on another, and rests for
//! the check's interval × fall), with a warning saying so. Path redirects
//! match `$request_uri` (as the client sent it, never decoded: nothing a
//! client escapes can reach the `Location` header) and rewrites `$uri`.

pub use sluice_plugin_kit::policies::Policies;
use sluice_plugin_kit::policies::{self, refused};
use sluice_plugin_kit::{BackendProtocol, Diagnostic, HealthCheck, RenderInput, RoutePolicy};

use crate::http::PROXY_HEADERS;
use crate::quote::{quoted, regex_literal};
use crate::writer::Conf;

/// Types nginx gzips (`text/html` always is).
const GZIP_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/xml",
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
];

/// What nginx cannot do (and what every plugin refuses), each naming its
/// label and upstream.
pub fn check(input: &RenderInput, policies: &Policies) -> Vec<Diagnostic> {
    let mut out = policies::check(input, policies);
    for p in policies
        .iter()
        .filter(|p| p.protocol == BackendProtocol::H2c)
    {
        out.push(refused(
            "sluice.protocol",
            format!(
                "upstream {}: h2c: nginx speaks HTTP/2 to servers only for gRPC (sluice.protocol=grpc); HAProxy speaks h2c",
                p.upstream
            ),
        ));
    }
    let hosts = if policies.is_empty() {
        &[][..]
    } else {
        &input.hosts[..]
    };
    for h in hosts.iter().filter(|h| !h.passthrough && h.tls.is_none()) {
        let ups = h
            .upstream
            .iter()
            .chain(h.context_roots.iter().map(|c| &c.upstream));
        let grpc = ups.into_iter().any(|u| {
            policies
                .get(&u.name)
                .is_some_and(|p| p.protocol == BackendProtocol::Grpc)
        });
        if grpc {
            out.push(refused(
                "sluice.protocol",
                format!(
                    "host {}: gRPC clients reach nginx over TLS (HTTP/2 by ALPN); give the host com.docker.lb.ssl_cert",
                    h.name
                ),
            ));
        }
    }
    out
}

/// What nginx renders differently from what the labels ask, to be logged.
pub fn warnings(policies: &[RoutePolicy]) -> Vec<String> {
    policies
        .iter()
        .filter(|p| p.health_check.is_some())
        .map(|p| {
            format!(
                "upstream {}: sluice.healthcheck.path: nginx open source has no active health checks; a server failing a request (no answer, 502-504) is passed over instead, idempotent requests retried on another",
                p.upstream
            )
        })
        .collect()
}

/// The http-level lines the policies need: one request-rate zone per
/// upstream with a rate limit, in `policies`' order (the input's: sorted).
pub fn write_http(c: &mut Conf, policies: &[RoutePolicy]) {
    for p in policies {
        if let Some(r) = &p.rate_limit {
            c.directive(
                "limit_req_zone",
                [
                    "$binary_remote_addr".to_owned(),
                    format!("zone={}:10m", rate_zone(&p.upstream)),
                    format!("rate={}r/s", r.per_second),
                ],
            );
        }
    }
}

fn rate_zone(upstream: &str) -> String {
    format!("sluice_rate_{upstream}")
}

/// How long a server failing a request rests (`fail_timeout`), for a
/// health check: its interval × fall, in whole seconds (nginx's unit), at
/// least one.
pub fn rest_seconds(h: &HealthCheck) -> u32 {
    (u64::from(h.interval_ms) * u64::from(h.fall))
        .div_ceil(1000)
        .clamp(1, u64::from(u32::MAX)) as u32
}

/// The policy's lines that answer before anything is proxied: the path
/// redirects (longest prefix first, the input's order).
fn write_redirects(c: &mut Conf, p: &RoutePolicy) {
    if p.path_redirects.is_empty() {
        return;
    }
    // `Location: /new/...` as written, not made absolute with the
    // container's own port.
    c.directive("absolute_redirect", ["off"]);
    for r in &p.path_redirects {
        let pattern = format!("^{}(.*)$", regex_literal(&r.from_prefix));
        c.block(("if ($request_uri ~ ", quoted(&pattern), ")"), |c| {
            c.directive(
                "return",
                [r.status.to_string(), quoted(&format!("{}$1", r.to_prefix))],
            );
        });
    }
}

/// Whether `p` sets headers of its own in a location (which then repeats
/// the inherited ones).
pub fn sets_response_headers(p: &RoutePolicy, tls: bool) -> bool {
    !p.response_headers.is_empty() || (tls && p.hsts.is_some())
}

/// The policy's directives for a location that proxies to its upstream,
/// before the `proxy_pass` / `grpc_pass`. `tls`: the location serves TLS
/// (HSTS only there). `inherited_headers` writes the http level's
/// `add_header`s, repeated when the policy sets its own.
pub fn write(c: &mut Conf, p: &RoutePolicy, tls: bool, inherited_headers: impl Fn(&mut Conf)) {
    if !p.allow.is_empty() {
        for net in &p.allow {
            c.directive("allow", [net.as_str()]);
        }
        c.directive("deny", ["all"]);
    }
    if let Some(auth) = &p.basic_auth {
        c.directive("auth_basic", [quoted(&auth.realm)]);
        c.directive("auth_basic_user_file", [quoted(&auth.users_path)]);
    }
    if let Some(r) = &p.rate_limit {
        c.directive(
            "limit_req",
            [
                format!("zone={}", rate_zone(&p.upstream)),
                format!("burst={}", r.burst),
                "nodelay".into(),
            ],
        );
        c.directive("limit_req_status", ["429"]);
    }
    write_redirects(c, p);
    if let Some(r) = &p.rewrite {
        c.directive(
            "rewrite",
            [quoted(&r.pattern), quoted(&r.replacement), "break".into()],
        );
    }
    if let Some(bytes) = p.max_body_bytes {
        c.directive("client_max_body_size", [bytes.to_string()]);
    }
    let grpc = p.protocol == BackendProtocol::Grpc;
    let module = if grpc { "grpc" } else { "proxy" };
    for (what, ms) in [
        ("connect_timeout", p.connect_timeout_ms),
        ("read_timeout", p.read_timeout_ms),
        ("send_timeout", p.send_timeout_ms),
    ] {
        if let Some(ms) = ms {
            c.directive(&format!("{module}_{what}"), [format!("{ms}ms")]);
        }
    }
    if p.retries.is_some() || p.health_check.is_some() {
        // nginx never retries a non-idempotent request once it was sent
        // (no `non_idempotent`). A health check's passive stand-in also
        // passes over servers answering 502-504 (and counts them failed).
        let mut when = vec!["error", "timeout"];
        if p.health_check.is_some() {
            when.extend(["http_502", "http_503", "http_504"]);
        }
        c.directive(&format!("{module}_next_upstream"), when);
    }
    if let Some(n) = p.retries {
        // Tries count the first.
        c.directive(
            &format!("{module}_next_upstream_tries"),
            [(n + 1).to_string()],
        );
    }
    match p.compression {
        Some(true) => {
            c.directive("gzip", ["on"]);
            c.directive("gzip_proxied", ["any"]);
            c.directive("gzip_types", GZIP_TYPES.iter().copied());
        }
        Some(false) => c.directive("gzip", ["off"]),
        None => {}
    }
    if sets_response_headers(p, tls) {
        inherited_headers(c);
        for h in &p.response_headers {
            c.directive(
                "add_header",
                [h.name.clone(), quoted(&h.value), "always".into()],
            );
        }
        if let (Some(hsts), true) = (&p.hsts, tls) {
            let value = policies::hsts_value(hsts);
            c.directive(
                "add_header",
                [
                    "Strict-Transport-Security".into(),
                    quoted(&value),
                    "always".into(),
                ],
            );
        }
    }
    if !p.request_headers.is_empty() {
        let directive = if grpc {
            "grpc_set_header"
        } else {
            "proxy_set_header"
        };
        for (name, value) in PROXY_HEADERS {
            // gRPC requests go as they came: no rewritten Host.
            if !(grpc && *name == "Host") {
                c.directive(directive, [*name, *value]);
            }
        }
        for h in &p.request_headers {
            c.directive(directive, [h.name.clone(), quoted(&h.value)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_kit::{Header, Hsts};

    pub fn policy(upstream: &str) -> RoutePolicy {
        RoutePolicy::none(upstream)
    }

    fn written(p: &RoutePolicy, tls: bool) -> String {
        let mut c = Conf::with_capacity(256);
        write(&mut c, p, tls, |c| {
            c.directive("add_header", ["x-inherited", "1"])
        });
        c.finish()
    }

    #[test]
    fn each_field_as_directives() {
        let mut p = policy("a");
        p.allow = vec!["10.0.0.0/8".into(), "192.0.2.7/32".into()];
        p.max_body_bytes = Some(1 << 20);
        p.connect_timeout_ms = Some(500);
        p.read_timeout_ms = Some(120_000);
        p.retries = Some(2);
        p.compression = Some(true);
        p.response_headers = vec![Header {
            name: "X-Frame-Options".into(),
            value: "DENY".into(),
        }];
        p.request_headers = vec![Header {
            name: "X-Tenant".into(),
            value: "it's \"a\"".into(),
        }];
        p.hsts = Some(Hsts {
            max_age_seconds: 31_536_000,
            include_subdomains: true,
            preload: false,
        });
        let text = written(&p, true);
        for line in [
            "allow 10.0.0.0/8;\nallow 192.0.2.7/32;\ndeny all;",
            "client_max_body_size 1048576;",
            "proxy_connect_timeout 500ms;",
            "proxy_read_timeout 120000ms;",
            "proxy_next_upstream error timeout;\nproxy_next_upstream_tries 3;",
            "gzip on;",
            "add_header x-inherited 1;\nadd_header X-Frame-Options \"DENY\" always;",
            "add_header Strict-Transport-Security \"max-age=31536000; includeSubDomains\" always;",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Tenant \"it's \\\"a\\\"\";",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
        // Over plain HTTP: no HSTS (browsers ignore it there).
        assert!(!written(&p, false).contains("Strict-Transport-Security"));
        // No headers of its own: the inherited ones are not repeated.
        let mut bare = policy("a");
        bare.compression = Some(false);
        assert_eq!(written(&bare, true), "gzip off;\n");
        bare.protocol = BackendProtocol::Grpc;
        bare.read_timeout_ms = Some(5);
        assert!(written(&bare, true).contains("grpc_read_timeout 5ms;"));
    }

    #[test]
    fn traffic_fields_as_directives() {
        use sluice_plugin_kit::{BasicAuth, HealthCheck, PathRedirect, RateLimit, Rewrite};
        let mut p = policy("a");
        p.rate_limit = Some(RateLimit {
            per_second: 10,
            burst: 20,
        });
        p.basic_auth = Some(BasicAuth {
            users_path: "/run/secrets/users".into(),
            realm: "Team A".into(),
        });
        p.health_check = Some(HealthCheck {
            path: "/healthz".into(),
            interval_ms: 700,
            fall: 2,
            rise: 1,
        });
        p.path_redirects = vec![PathRedirect {
            from_prefix: "/old.v1".into(),
            to_prefix: "/new".into(),
            status: 307,
        }];
        p.rewrite = Some(Rewrite {
            pattern: r"^/a/(\d+)$".into(),
            replacement: "/b/$1".into(),
        });
        let text = written(&p, false);
        for line in [
            "auth_basic \"Team A\";\nauth_basic_user_file \"/run/secrets/users\";",
            "limit_req zone=sluice_rate_a burst=20 nodelay;\nlimit_req_status 429;",
            "absolute_redirect off;",
            // `\\.`: nginx reads `\.` (a literal dot) from the quotes.
            "if ($request_uri ~ \"^\\\\/old\\\\.v1(.*)$\") {\n    return 307 \"/new$1\";\n}",
            "rewrite \"^/a/(\\\\d+)$\" \"/b/$1\" break;",
            "proxy_next_upstream error timeout http_502 http_503 http_504;",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
        let mut http = Conf::with_capacity(64);
        write_http(&mut http, &[p.clone()]);
        assert_eq!(
            http.finish(),
            "limit_req_zone $binary_remote_addr zone=sluice_rate_a:10m rate=10r/s;\n"
        );
        assert_eq!(rest_seconds(p.health_check.as_ref().unwrap()), 2);
        assert_eq!(warnings(&[p]).len(), 1);
    }
}

#[cfg(test)]
mod refusals {
    use super::tests::policy;
    use super::*;
    use crate::tests::fixtures::{input, simple_host, tls_files};

    /// What nginx cannot render is refused naming the label (so the host
    /// leaves out only those hosts, and says why), never dropped.
    #[test]
    fn what_nginx_cannot_do_is_refused_by_label() {
        let keys = |hosts, p: RoutePolicy| -> Vec<Option<String>> {
            match crate::render::render(&input(hosts, vec![]), &[p]) {
                Err(sluice_plugin_kit::RenderError::InvalidInput(d)) => {
                    d.into_iter().map(|d| d.key).collect()
                }
                other => panic!("not refused: {:?}", other.map(|r| r.files.len())),
            }
        };
        let plain = || vec![simple_host("a.test", "10.0.0.1")];
        let up = "a_test".to_owned();
        let h2c = RoutePolicy {
            protocol: BackendProtocol::H2c,
            ..policy(&up)
        };
        assert_eq!(keys(plain(), h2c), [Some("sluice.protocol".into())]);
        let grpc = RoutePolicy {
            protocol: BackendProtocol::Grpc,
            ..policy(&up)
        };
        assert_eq!(
            keys(plain(), grpc.clone()),
            [Some("sluice.protocol".into())]
        );
        let mut passthrough = plain();
        passthrough[0].passthrough = true;
        let timeout = RoutePolicy {
            read_timeout_ms: Some(5),
            ..policy(&up)
        };
        assert_eq!(keys(passthrough, timeout), [Some("sluice.*".into())]);
        let bad = RoutePolicy {
            allow: vec!["10.0.0.1/8; deny all".into()],
            ..policy(&up)
        };
        assert_eq!(keys(plain(), bad), [Some("sluice.allow".into())]);
        // gRPC over TLS renders.
        let mut tls = plain();
        tls[0].tls = Some(tls_files("/run/secrets/a.pem", None));
        let text = crate::render::render(&input(tls, vec![]), &[grpc])
            .unwrap()
            .files[0]
            .contents
            .clone();
        assert!(text.contains("grpc_pass grpc://a_test;"), "{text}");
    }
}
