//! Rendering one cluster: haproxy.cfg first, then the files it names
//! (route maps, crt-list), all beside it. A plain function over the WIT
//! types so it is tested natively; lib.rs only adds logging.

use std::collections::BTreeMap;

use sluice_plugin_kit::settings as kit;
use sluice_plugin_kit::{OutputFile, RenderError, RenderInput, Upstream};

use crate::backend::{self, Mode};
use crate::cfg::Cfg;
use crate::frontend::{self, Frontend};
use crate::routes::{self, Scheme};
use crate::{global, input, quote, settings, tls};

const HTTP_MAP: &str = "hosts-http.map";
const HTTPS_MAP: &str = "hosts-https.map";
const CRT_LIST: &str = "crt-list.txt";

#[derive(Debug)]
pub struct Rendered {
    pub files: Vec<OutputFile>,
    /// Things rendered around rather than refused (for the host's log).
    pub warnings: Vec<String>,
}

pub fn render(input: &RenderInput) -> Result<Rendered, RenderError> {
    let (config, diags) = settings::parse(&input.cluster.settings);
    if kit::has_errors(&diags) {
        return Err(RenderError::InvalidSettings(diags));
    }
    let bad = input::check(input);
    if !bad.is_empty() {
        return Err(RenderError::InvalidInput(bad));
    }
    let c = &input.cluster;
    let (dir, file_name) = c
        .config_path
        .rsplit_once('/')
        .unwrap_or(("", &c.config_path));
    if [HTTP_MAP, HTTPS_MAP, CRT_LIST, ""].contains(&file_name) {
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
    let loopback = terminates.then(|| tls::loopback_port(&[c.http_port, c.https_port]));
    let fallback = input
        .default_backend
        .as_ref()
        .map_or(global::NO_HOST_BACKEND.to_string(), backend::http_name);

    let mut cfg = Cfg::default();
    global::render(&mut cfg, &config);
    let http = routes::table(&input.hosts, Scheme::Http);
    let http_map = path(HTTP_MAP);
    let fe = Frontend {
        name: "fe_http",
        bind: format!(":{}", c.http_port),
        scheme: Scheme::Http,
        map_path: &http_map,
        fallback: &fallback,
        server_info: &server_info,
    };
    frontend::render(&mut cfg, &fe, &http, &config);
    let mut files = vec![OutputFile {
        path: http_map.clone(),
        contents: routes::map_file(&http),
    }];
    let mut used: Vec<&str> = http.routes.iter().map(|r| r.backend.as_str()).collect();

    if let Some(port) = tls_port {
        tls::render_tcp_frontend(&mut cfg, port, &input.hosts, loopback);
    }
    let https = routes::table(&input.hosts, Scheme::Https);
    if let Some(port) = loopback {
        let (https_map, crt_list) = (path(HTTPS_MAP), path(CRT_LIST));
        let fe = Frontend {
            name: tls::HTTPS_FRONTEND,
            bind: tls::https_bind(port, &crt_list),
            scheme: Scheme::Https,
            map_path: &https_map,
            fallback: &fallback,
            server_info: &server_info,
        };
        frontend::render(&mut cfg, &fe, &https, &config);
        files.push(OutputFile {
            path: https_map,
            contents: routes::map_file(&https),
        });
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
            backend::render(&mut cfg, up, Mode::Http, &config);
        }
    }
    if input.default_backend.is_none() {
        global::render_no_host_backend(&mut cfg);
    }
    let mut tcp: Vec<&Upstream> = tls::passthrough(&input.hosts)
        .filter_map(|h| h.upstream.as_ref())
        .collect();
    tcp.sort_by(|a, b| a.name.cmp(&b.name));
    tcp.dedup_by(|a, b| a.name == b.name);
    for up in tcp {
        backend::render(&mut cfg, up, Mode::Tcp, &config);
    }

    files.insert(
        0,
        OutputFile {
            path: c.config_path.clone(),
            contents: cfg.finish(),
        },
    );
    Ok(Rendered {
        files,
        warnings: warnings(input),
    })
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
