//! The `global` and `defaults` sections, and the built-in 503 backend.

use crate::cfg::Cfg;
use crate::settings::Config;

/// Backend answering requests for hosts nobody routes (no default_backend).
pub const NO_HOST_BACKEND: &str = "be_no_host";

const NO_HOST_PAGE: &str = "<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1><p>No service is configured for this host.</p></body></html>";

pub fn render(cfg: &mut Cfg, config: &Config) {
    cfg.section("global");
    // The proxy runs `haproxy -W -db`; saying it here too keeps a bare
    // `haproxy -f` start reloadable by USR2.
    cfg.line("master-worker");
    cfg.line(format!("pidfile {}", config.pid_path));
    cfg.line(format!("maxconn {}", config.max_connections));
    cfg.line(format!("log {} local0", config.log_target));
    cfg.line(format!("ssl-server-verify {}", config.server_verify));
    cfg.line(format!("ssl-default-bind-ciphers {}", config.ciphers));
    if !config.bind_options.is_empty() {
        cfg.line(format!(
            "ssl-default-bind-options {}",
            config.bind_options.join(" ")
        ));
    }
    if let Some(bits) = config.dh_param {
        cfg.line(format!("tune.ssl.default-dh-param {bits}"));
    }
    if let Some(file) = &config.dh_param_file {
        cfg.line(format!("ssl-dh-param-file {file}"));
    }
    for line in &config.global_options {
        cfg.line(line);
    }

    cfg.section("defaults");
    cfg.line("mode http");
    cfg.line("log global");
    cfg.line("option dontlognull");
    cfg.line("option redispatch");
    cfg.line("retries 3");
    cfg.line(format!("maxconn {}", config.max_connections));
    cfg.line(format!("timeout connect {}s", config.connect_timeout));
    cfg.line(format!("timeout client {}s", config.client_timeout));
    cfg.line(format!("timeout server {}s", config.server_timeout));
    // Upgraded (websocket) and passthrough connections idle this long.
    cfg.line(format!("timeout tunnel {}s", config.tunnel_timeout));
    for line in &config.default_options {
        cfg.line(line);
    }
}

pub fn render_no_host_backend(cfg: &mut Cfg) {
    cfg.section(format!("backend {NO_HOST_BACKEND}"));
    cfg.line("mode http");
    cfg.line(format!(
        "http-request return status 503 content-type text/html string '{NO_HOST_PAGE}'"
    ));
}
