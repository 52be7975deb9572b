//! The http{} context's own directives (reference §4.1 item 2).

use crate::quote::{arg, quoted};
use crate::settings::Config;
use crate::writer::Conf;

/// Request headers every proxied request carries. Repeated in websocket
/// locations, which set headers of their own and so inherit none.
pub const PROXY_HEADERS: &[(&str, &str)] = &[
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Proto", "$scheme"),
    ("Host", "$http_host"),
    ("x-request-id", "$request_id"),
];

/// The response headers every answer carries (unless `HideInfoHeaders`).
/// Repeated in locations that add headers of their own, which inherit none.
pub fn write_info_headers(c: &mut Conf, cfg: &Config, server_info: &str) {
    if !cfg.hide_info_headers {
        c.directive("add_header", ["x-request-id", "$request_id"]);
        c.directive("add_header", ["x-proxy-id", "$hostname"]);
        c.directive("add_header", ["x-server-info".into(), quoted(server_info)]);
        c.directive("add_header", ["x-upstream-addr", "$upstream_addr"]);
        c.directive(
            "add_header",
            ["x-upstream-response-time", "$upstream_response_time"],
        );
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// `access_log` arguments for `path` with `format`.
pub fn access_log_args(path: &str, format: &str) -> Vec<String> {
    if path == "off" {
        vec!["off".into()]
    } else {
        vec![quoted(path), format.into()]
    }
}

/// Where the agent listens for traffic lines (its default
/// `SLUICE_TRAFFIC_SOCKET`).
pub const TRAFFIC_SOCKET: &str = "/run/sluice-agent/traffic.sock";

/// The line the agent parses: fields of the proxy's own config and numbers,
/// tab-separated; `escape=json` keeps tabs out of every value.
const TRAFFIC_FORMAT: &str = "escape=json \
'$server_name\\t$proxy_host\\t$status\\t$request_time\\t$upstream_status\\t$connections_active'";

/// The main access log, and with `TrafficMetrics` one datagram per request
/// to the agent. `off` would cancel every `access_log` of the level, so it
/// is left out when the traffic log is there (which replaces nginx's
/// default log as well).
fn write_access_logs(c: &mut Conf, cfg: &Config) {
    if !(cfg.traffic_metrics && cfg.access_log_path == "off") {
        c.directive("access_log", access_log_args(&cfg.access_log_path, "main"));
    }
    if cfg.traffic_metrics {
        c.line(&format!("log_format sluice_traffic {TRAFFIC_FORMAT};"));
        c.directive(
            "access_log",
            [
                format!("syslog:server=unix:{TRAFFIC_SOCKET},nohostname,tag=sluice"),
                "sluice_traffic".into(),
            ],
        );
    }
}

/// Hash sizing the http{} context needs for the cluster's server names.
pub struct NameHash {
    pub bucket_size: i64,
    pub max_size: Option<usize>,
}

pub fn write_settings(c: &mut Conf, cfg: &Config, server_info: &str, names: &NameHash) {
    c.directive(
        "server_names_hash_bucket_size",
        [names.bucket_size.to_string()],
    );
    if let Some(max) = names.max_size {
        c.directive("server_names_hash_max_size", [max.to_string()]);
    }
    c.directive("default_type", ["application/octet-stream"]);
    c.line(&format!("log_format main {};", cfg.main_log_format));
    c.line(&format!("log_format trace {};", cfg.trace_log_format));
    // Interlock's default trace format names `$reqid`.
    c.block("map $request_id $reqid", |c| {
        c.directive("default", ["$request_id"])
    });
    write_access_logs(c, cfg);
    c.directive("sendfile", ["on"]);
    // Redirects stay relative: the listen ports are container-internal.
    c.directive("absolute_redirect", ["off"]);
    c.directive(
        "keepalive_timeout",
        cfg.keepalive_timeout.split(' ').map(arg),
    );
    c.directive("client_max_body_size", [arg(&cfg.client_max_body_size)]);
    c.directive(
        "client_body_buffer_size",
        [arg(&cfg.client_body_buffer_size)],
    );
    c.directive(
        "client_header_buffer_size",
        [arg(&cfg.client_header_buffer_size)],
    );
    c.directive(
        "large_client_header_buffers",
        cfg.large_client_header_buffers.split(' ').map(arg),
    );
    c.directive("client_body_timeout", [arg(&cfg.client_body_timeout)]);
    c.directive(
        "underscores_in_headers",
        [on_off(cfg.underscores_in_headers)],
    );
    write_info_headers(c, cfg, server_info);
    c.directive("proxy_connect_timeout", [cfg.connect_timeout.to_string()]);
    c.directive("proxy_send_timeout", [cfg.send_timeout.to_string()]);
    c.directive("proxy_read_timeout", [cfg.read_timeout.to_string()]);
    c.directive("send_timeout", [cfg.send_timeout.to_string()]);
    c.directive("proxy_http_version", [arg(&cfg.http_version)]);
    for (name, value) in PROXY_HEADERS {
        c.directive("proxy_set_header", [*name, *value]);
    }
    c.directive(
        "proxy_next_upstream",
        [
            "error",
            "timeout",
            "invalid_header",
            "http_500",
            "http_502",
            "http_503",
            "http_504",
        ],
    );
    c.directive("ssl_prefer_server_ciphers", ["on"]);
    c.directive("ssl_ciphers", [arg(&cfg.ssl_ciphers)]);
    c.directive(
        "ssl_protocols",
        cfg.ssl_protocols.split_whitespace().map(arg),
    );
    if cfg.dhparam > 0 && !cfg.dhparam_path.is_empty() {
        c.directive("ssl_dhparam", [quoted(&cfg.dhparam_path)]);
    }
    if !cfg.ssl_opts.trim().is_empty() {
        c.line(cfg.ssl_opts.trim());
    }
    c.block("map $http_upgrade $connection_upgrade", |c| {
        c.directive("default", ["upgrade"]);
        c.directive("''", ["close"]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_kit::{Setting, SettingValue};

    fn render(settings: &[Setting]) -> String {
        let cfg = Config::from_settings(settings);
        let mut c = Conf::new();
        write_settings(
            &mut c,
            &cfg,
            "sluice/0.1.0",
            &NameHash {
                bucket_size: 128,
                max_size: None,
            },
        );
        c.finish()
    }

    fn setting(key: &str, value: SettingValue) -> Setting {
        Setting {
            key: key.into(),
            value,
        }
    }

    #[test]
    fn defaults_render() {
        let text = render(&[]);
        for want in [
            "server_names_hash_bucket_size 128;",
            "access_log \"/dev/stdout\" main;",
            "keepalive_timeout 75s;",
            "client_max_body_size 1m;",
            "large_client_header_buffers 4 8k;",
            "underscores_in_headers off;",
            "add_header x-server-info \"sluice/0.1.0\";",
            "proxy_connect_timeout 600;",
            "proxy_http_version 1.1;",
            "ssl_ciphers HIGH:!aNULL:!MD5;",
            "ssl_protocols TLSv1.2;",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
        assert!(!text.contains("ssl_dhparam"), "no dhparam without a path");
    }

    #[test]
    fn settings_change_output() {
        use SettingValue::{Boolean, Integer, Text};
        let cases: Vec<(Setting, &str, bool)> = vec![
            (
                setting("HideInfoHeaders", Boolean(true)),
                "add_header x-request-id $request_id;",
                false,
            ),
            (
                setting("UnderscoresInHeaders", Boolean(true)),
                "underscores_in_headers on;",
                true,
            ),
            (
                setting("HTTPVersion", Text("1.0".into())),
                "proxy_http_version 1.0;",
                true,
            ),
            (
                setting("KeepaliveTimeout", Text("75s 60s".into())),
                "keepalive_timeout 75s 60s;",
                true,
            ),
            (
                setting("ConnectTimeout", Integer(5)),
                "proxy_connect_timeout 5;",
                true,
            ),
            (
                setting("SendTimeout", Integer(30)),
                "send_timeout 30;",
                true,
            ),
            (
                setting("AccessLogPath", Text("off".into())),
                "access_log off;",
                true,
            ),
            (
                setting("TrafficMetrics", Boolean(true)),
                "access_log syslog:server=unix:/run/sluice-agent/traffic.sock,nohostname,tag=sluice sluice_traffic;",
                true,
            ),
            (
                setting("SSLProtocols", Text("TLSv1.2  TLSv1.3".into())),
                "ssl_protocols TLSv1.2 TLSv1.3;",
                true,
            ),
            (
                setting("SSLCiphers", Text("HIGH MEDIUM".into())),
                "ssl_ciphers \"HIGH MEDIUM\";",
                true,
            ),
            (
                setting("SSLOpts", Text(" ssl_session_timeout 5m; ".into())),
                "ssl_session_timeout 5m;",
                true,
            ),
        ];
        for (s, line, present) in cases {
            let key = s.key.clone();
            let text = render(&[s]);
            assert_eq!(
                text.lines().any(|l| l == line),
                present,
                "{key}: {line:?} in\n{text}"
            );
        }
    }

    /// With the main log off, the traffic log must not be cancelled by it.
    #[test]
    fn traffic_log_survives_access_log_off() {
        use SettingValue::{Boolean, Text};
        let text = render(&[
            setting("TrafficMetrics", Boolean(true)),
            setting("AccessLogPath", Text("off".into())),
        ]);
        assert!(!text.contains("access_log off;"), "{text}");
        assert!(text.contains("sluice_traffic;"), "{text}");
        assert!(
            text.contains(r"'$server_name\t$proxy_host\t$status\t$request_time\t$upstream_status\t$connections_active'"),
            "{text}"
        );
    }

    #[test]
    fn dhparam_needs_bits_and_path() {
        let path = setting(
            "SSLDefaultDHParamPath",
            SettingValue::Text("/etc/dh.pem".into()),
        );
        assert!(render(std::slice::from_ref(&path)).contains("ssl_dhparam \"/etc/dh.pem\";"));
        let off = setting("SSLDefaultDHParam", SettingValue::Integer(0));
        assert!(!render(&[path, off]).contains("ssl_dhparam"));
    }
}
