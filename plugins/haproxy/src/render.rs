//! Rendering one cluster: haproxy.cfg first, then the files it names
//! (route maps, virtual-host maps when a frontend has wildcard hosts,
//! crt-list), all beside it. A plain function over the WIT
//! types so it is tested natively; lib.rs only adds logging.

use std::collections::BTreeMap;

use sluice_plugin_kit::settings as kit;
use sluice_plugin_kit::{OutputFile, RenderError, RenderInput, RoutePolicy, Slot, Upstream};

use crate::backend::{self, Mode};
use crate::cfg::Cfg;
use crate::frontend::{self, Frontend, VhostMaps};
use crate::policy::{self, Policies};
use crate::routes::{self, Scheme, Table};
use crate::settings::Config;
use crate::{global, input, quote, settings, tls, wildcard};

const HTTP_MAP: &str = "hosts-http.map";
const HTTPS_MAP: &str = "hosts-https.map";
const CRT_LIST: &str = "crt-list.txt";
const HTTP_VHOSTS: [&str; 2] = ["vhosts-http.map", "wildcards-http.map"];
const HTTPS_VHOSTS: [&str; 2] = ["vhosts-https.map", "wildcards-https.map"];
const WRITTEN: [&str; 7] = [
    HTTP_MAP,
    HTTPS_MAP,
    CRT_LIST,
    HTTP_VHOSTS[0],
    HTTP_VHOSTS[1],
    HTTPS_VHOSTS[0],
    HTTPS_VHOSTS[1],
];

#[derive(Debug)]
pub struct Rendered {
    pub files: Vec<OutputFile>,
    /// haproxy.cfg's server slots (see `slots`).
    pub slots: Vec<Slot>,
    /// Things rendered around rather than refused (for the host's log).
    pub warnings: Vec<String>,
}

/// [`render_with`] no route policies.
#[cfg(test)]
pub fn render(input: &RenderInput) -> Result<Rendered, RenderError> {
    render_with(input, &[])
}

pub fn render_with(input: &RenderInput, policies: &[RoutePolicy]) -> Result<Rendered, RenderError> {
    let (config, diags) = settings::parse(&input.cluster.settings);
    if kit::has_errors(&diags) {
        return Err(RenderError::InvalidSettings(diags));
    }
    let policies = Policies::new(policies);
    let mut bad = input::check(input);
    bad.extend(policy::check(input, &policies));
    if !bad.is_empty() {
        return Err(RenderError::InvalidInput(bad));
    }
    let c = &input.cluster;
    if let Some(port) = config.metrics_port
        && (port == c.http_port || port == c.https_port)
    {
        return Err(RenderError::InvalidSettings(vec![crate::check::invalid(
            "MetricsPort",
            format!("{port} is the cluster's HTTP or TLS port (TargetPort/TargetSSLPort)"),
        )]));
    }
    let (dir, file_name) = c
        .config_path
        .rsplit_once('/')
        .unwrap_or(("", &c.config_path));
    if file_name.is_empty() || WRITTEN.contains(&file_name) {
        let msg = format!(
            "config file name {file_name:?} is empty or taken by a file this plugin writes beside it"
        );
        return Err(RenderError::InvalidInput(vec![crate::check::invalid(
            "ProxyConfigPath",
            msg,
        )]));
    }
    let path = |name: &str| format!("{dir}/{name}");
    let server_info = quote::word(&quote::log_format_literal(&c.server_info))
        .map_err(|e| RenderError::Internal(e.to_string()))?;

    let terminates = tls::terminated(&input.hosts).next().is_some();
    let tls_port =
        (terminates || tls::passthrough(&input.hosts).next().is_some()).then_some(c.https_port);
    let taken: Vec<u16> = [c.http_port, c.https_port]
        .into_iter()
        .chain(config.metrics_port)
        .collect();
    let loopback = terminates.then(|| tls::loopback_port(&taken));
    let fallback = input
        .default_backend
        .as_ref()
        .map_or(global::NO_HOST_BACKEND.to_string(), backend::http_name);

    let mut cfg = Cfg::default();
    global::render(&mut cfg, &config);
    let http = routes::table(&input.hosts, Scheme::Http);
    let fe = Frontend {
        name: "fe_http",
        bind: format!(":{}", c.http_port),
        scheme: Scheme::Http,
        map_path: &path(HTTP_MAP),
        vhost_maps: None,
        fallback: &fallback,
        server_info: &server_info,
        misdirected: Vec::new(),
    };
    let mut files = http_frontend(&mut cfg, fe, &http, HTTP_VHOSTS.map(path), &config);
    let mut used: Vec<&str> = http.routes.iter().map(|r| r.backend.as_str()).collect();

    if let Some(port) = tls_port {
        tls::render_tcp_frontend(&mut cfg, port, &input.hosts, loopback);
    }
    let https = routes::table(&input.hosts, Scheme::Https);
    if let Some(port) = loopback {
        let crt_list = path(CRT_LIST);
        let fe = Frontend {
            name: tls::HTTPS_FRONTEND,
            bind: tls::https_bind(port, &crt_list, config.http2),
            scheme: Scheme::Https,
            map_path: &path(HTTPS_MAP),
            vhost_maps: None,
            fallback: &fallback,
            server_info: &server_info,
            misdirected: tls::passthrough(&input.hosts)
                .map(|h| h.name.as_str())
                .collect(),
        };
        files.extend(http_frontend(
            &mut cfg,
            fe,
            &https,
            HTTPS_VHOSTS.map(path),
            &config,
        ));
        files.push(OutputFile {
            path: crt_list,
            contents: tls::crt_list(&input.hosts),
        });
        used.extend(https.routes.iter().map(|r| r.backend.as_str()));
    }

    let upstreams = all_upstreams(input);
    for up in upstreams.values() {
        let name = backend::http_name(up);
        if used.contains(&name.as_str()) || name == fallback {
            backend::render(&mut cfg, up, Mode::Http, &config, policies.get(&up.name));
        }
    }
    if input.default_backend.is_none() {
        global::render_no_host_backend(&mut cfg);
    }
    if let Some(port) = config.metrics_port {
        // HAProxy's built-in exporter: per frontend and per backend (one per
        // routed host and path) request, response-class and error counters.
        cfg.section("frontend prometheus");
        cfg.line(format!("bind :{port}"));
        cfg.line("mode http");
        cfg.line("no log");
        cfg.line("http-request use-service prometheus-exporter if { path /metrics }");
    }
    let mut tcp: Vec<&Upstream> = tls::passthrough(&input.hosts)
        .filter_map(|h| h.upstream.as_ref())
        .collect();
    tcp.sort_by(|a, b| a.name.cmp(&b.name));
    tcp.dedup_by(|a, b| a.name == b.name);
    for up in tcp {
        backend::render(&mut cfg, up, Mode::Tcp, &config, None);
    }

    let (text, slots) = cfg.finish();
    files.insert(
        0,
        OutputFile {
            path: c.config_path.clone(),
            contents: text,
        },
    );
    Ok(Rendered {
        files,
        slots,
        warnings: warnings(input),
    })
}

/// Renders an HTTP frontend; returns its route map and, when it serves
/// wildcard hosts, the virtual-host maps (`[exact, suffixes]` paths).
fn http_frontend(
    cfg: &mut Cfg,
    fe: Frontend,
    table: &Table,
    vhost_paths: [String; 2],
    config: &Config,
) -> Vec<OutputFile> {
    let mut files = vec![OutputFile {
        path: fe.map_path.to_string(),
        contents: routes::map_file(table),
    }];
    let [exact, suffixes] = &vhost_paths;
    let vhost_maps = table
        .has_wildcards()
        .then_some(VhostMaps { exact, suffixes });
    if vhost_maps.is_some() {
        let names = || table.names.iter().map(String::as_str);
        files.push(OutputFile {
            path: exact.clone(),
            contents: wildcard::exact_map(names()),
        });
        files.push(OutputFile {
            path: suffixes.clone(),
            contents: wildcard::suffix_map(names()),
        });
    }
    let fe = Frontend { vhost_maps, ..fe };
    frontend::render(cfg, &fe, table, config);
    files
}

/// Every upstream by name; the first definition of a name wins.
fn all_upstreams(input: &RenderInput) -> BTreeMap<&str, &Upstream> {
    let mut all = BTreeMap::new();
    let hosts = input.hosts.iter();
    let listed = hosts.flat_map(|h| {
        h.upstream
            .iter()
            .chain(h.context_roots.iter().map(|c| &c.upstream))
    });
    for up in input.default_backend.iter().chain(listed) {
        all.entry(up.name.as_str()).or_insert(up);
    }
    all
}

fn warnings(input: &RenderInput) -> Vec<String> {
    let mut w = Vec::new();
    for h in &input.hosts {
        if h.passthrough && h.upstream.is_none() {
            w.push(format!(
                "host {}: ssl_passthrough needs a service without context root; its TLS is refused",
                h.name
            ));
        }
        if h.passthrough && h.tls.is_some() {
            w.push(format!(
                "host {}: ssl_passthrough wins over ssl_cert; the certificate is unused",
                h.name
            ));
        }
        if let Some(t) = &h.tls
            && t.key_path
                .as_ref()
                .is_some_and(|k| *k != format!("{}.key", t.cert_path))
        {
            w.push(format!(
                    "host {}: HAProxy reads the key from the certificate PEM (or {}.key); ssl_key is ignored",
                    h.name, t.cert_path
                ));
        }
    }
    w
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
