//! The `[Extensions.NAME.Config]` keys this plugin understands.
//!
//! | Key                     | Type      | Default                              | haproxy.cfg                                        |
//! |-------------------------|-----------|--------------------------------------|----------------------------------------------------|
//! | `PidPath`               | string    | `/var/run/proxy.pid`                 | global `pidfile`                                   |
//! | `MaxConnections`        | int       | `1024`                               | global and defaults `maxconn`                      |
//! | `ConnectTimeout`        | int (s)   | `600`                                | defaults `timeout connect`                         |
//! | `ClientTimeout`         | int (s)   | `600`                                | defaults `timeout client`                          |
//! | `ServerTimeout`         | int (s)   | `600`                                | defaults `timeout server`                          |
//! | `TunnelTimeout`         | int (s)   | `3600`                               | defaults `timeout tunnel` (websockets, passthrough)|
//! | `AdminUser`/`AdminPass` | string    | unset                                | `stats auth user:pass` (both or neither)           |
//! | `SSLOpts`               | string    | `""`                                 | words appended to `ssl-default-bind-options`      |
//! | `SSLDefaultDHParam`     | int       | unset (HAProxy: 2048)                | `tune.ssl.default-dh-param` (>= 1024)              |
//! | `SSLDefaultDHParamPath` | string    | unset                                | `ssl-dh-param-file`                                |
//! | `SSLVerify`             | string    | `required`                           | `ssl-server-verify` (`none`/`required`)            |
//! | `SSLCiphers`            | string    | `HIGH:!aNULL:!MD5`                   | `ssl-default-bind-ciphers`                         |
//! | `SSLProtocols`          | string    | `TLSv1.2 TLSv1.3`                    | `ssl-min-ver`/`ssl-max-ver` (lowest/highest named) |
//! | `SSLCAFile`             | string    | `/etc/ssl/certs/ca-certificates.crt` | `ca-file` of `ssl_backend_tls_verify=required`     |
//! | `HideInfoHeaders`       | bool      | `false`                              | drops `x-request-id`, `x-proxy-id`, `x-server-info`, `x-upstream-addr` response headers |
//! | `SyslogAddr`            | string    | `stdout`                             | global `log <addr> [format raw] local0`            |
//! | `MetricsPort`           | int       | unset                                | `frontend prometheus` on that port: HAProxy's Prometheus exporter at `/metrics` (per-backend, i.e. per-host, traffic) |
//! | `HTTP2`                 | bool      | `true`                               | `alpn h2,http/1.1` on the TLS bind (HTTP/2 to clients) |
//! | `ServerSlots`           | int       | `4`                                  | server slots per backend, at least (more servers: the next power of two): filled and emptied at runtime when tasks come and go, with no reload; `0` turns slots off (every change reloads) |
//! | `GlobalOptions`         | [string]  | `[]`                                 | raw lines at the end of `global`                   |
//! | `DefaultOptions`        | [string]  | `[]`                                 | raw lines at the end of `defaults`                 |
//!
//! Interlock's HAProxy extension documented the keys up to `DefaultOptions`
//! except `TunnelTimeout`, `SSLDefaultDHParamPath`, `SSLCAFile`,
//! `HideInfoHeaders` and `SyslogAddr` (Interlock 1's name for the log target),
//! which give parity with the nginx renderer.

use sluice_plugin_kit::settings::{self as kit, Key, Kind, Settings};
use sluice_plugin_kit::{Diagnostic, Setting};

use crate::quote;

pub const KEYS: &[Key] = &[
    Key::new("PidPath", Kind::Text),
    Key::new("MaxConnections", Kind::Integer),
    Key::new("ConnectTimeout", Kind::Integer),
    Key::new("ClientTimeout", Kind::Integer),
    Key::new("ServerTimeout", Kind::Integer),
    Key::new("TunnelTimeout", Kind::Integer),
    Key::new("AdminUser", Kind::Text),
    Key::new("AdminPass", Kind::Text),
    Key::new("SSLOpts", Kind::Text),
    Key::new("SSLDefaultDHParam", Kind::Integer),
    Key::new("SSLDefaultDHParamPath", Kind::Text),
    Key::new("SSLVerify", Kind::Text),
    Key::new("SSLCiphers", Kind::Text),
    Key::new("SSLProtocols", Kind::Text),
    Key::new("SSLCAFile", Kind::Text),
    Key::new("HideInfoHeaders", Kind::Boolean),
    Key::new("SyslogAddr", Kind::Text),
    Key::new("MetricsPort", Kind::Integer),
    Key::new("HTTP2", Kind::Boolean),
    Key::new("ServerSlots", Kind::Integer),
    Key::new("GlobalOptions", Kind::TextList),
    Key::new("DefaultOptions", Kind::TextList),
];

/// Each slot costs the worker ~5.5 KB whether used or not.
const MAX_SERVER_SLOTS: i64 = 256;

/// HAProxy's timers are 32-bit milliseconds.
const MAX_TIMEOUT_SECONDS: i64 = i32::MAX as i64 / 1000;

/// Protocol names in order, as `ssl-min-ver`/`ssl-max-ver` spell them.
const PROTOCOLS: &[&str] = &["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// Words that open a new section: a raw option line starting with one would
/// silently move everything after it out of `global`/`defaults`.
const SECTION_KEYWORDS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "userlist",
    "peers",
    "resolvers",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
];

/// The settings, checked and defaulted. String fields hold config words that
/// are already quoted for haproxy.cfg.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub pid_path: String,
    pub max_connections: i64,
    pub connect_timeout: i64,
    pub client_timeout: i64,
    pub server_timeout: i64,
    pub tunnel_timeout: i64,
    /// `user:pass`, quoted.
    pub stats_auth: Option<String>,
    /// Bind options: protocol bounds then `SSLOpts` words.
    pub bind_options: Vec<String>,
    pub dh_param: Option<i64>,
    pub dh_param_file: Option<String>,
    pub server_verify: String,
    pub ciphers: String,
    pub ca_file: String,
    pub hide_info_headers: bool,
    pub log_target: String,
    /// Where HAProxy's Prometheus exporter listens, if anywhere.
    pub metrics_port: Option<u16>,
    pub http2: bool,
    /// Server slots per backend at least; 0: none.
    pub server_slots: usize,
    pub global_options: Vec<String>,
    pub default_options: Vec<String>,
}

/// Checks `settings` and reads them: unknown keys are warnings, wrong types
/// and values HAProxy would refuse (or that would break the file) are errors.
pub fn parse(settings: &[Setting]) -> (Config, Vec<Diagnostic>) {
    let mut p = Parser {
        settings,
        read: Settings::new(settings),
        diags: kit::validate(settings, KEYS),
    };
    let config = Config {
        pid_path: p.path("PidPath", "/var/run/proxy.pid"),
        max_connections: p.int_in("MaxConnections", 1024, 1, i32::MAX as i64),
        connect_timeout: p.int_in("ConnectTimeout", 600, 1, MAX_TIMEOUT_SECONDS),
        client_timeout: p.int_in("ClientTimeout", 600, 1, MAX_TIMEOUT_SECONDS),
        server_timeout: p.int_in("ServerTimeout", 600, 1, MAX_TIMEOUT_SECONDS),
        tunnel_timeout: p.int_in("TunnelTimeout", 3600, 1, MAX_TIMEOUT_SECONDS),
        stats_auth: p.stats_auth(),
        bind_options: [p.protocols(), p.ssl_opts()].concat(),
        dh_param: p
            .read
            .has("SSLDefaultDHParam")
            .then(|| p.int_in("SSLDefaultDHParam", 2048, 1024, 16384)),
        // "" is unset, as in Interlock's Go config (the seed's table has it).
        dh_param_file: (!p.read.text("SSLDefaultDHParamPath", "").is_empty())
            .then(|| p.path("SSLDefaultDHParamPath", "")),
        server_verify: p.one_of("SSLVerify", "required", &["none", "required"]),
        ciphers: p.word("SSLCiphers", "HIGH:!aNULL:!MD5"),
        ca_file: p.path("SSLCAFile", "/etc/ssl/certs/ca-certificates.crt"),
        hide_info_headers: p.read.bool("HideInfoHeaders", false),
        log_target: p.log_target(),
        metrics_port: p
            .read
            .has("MetricsPort")
            .then(|| p.int_in("MetricsPort", 9101, 1, 65535) as u16),
        http2: p.read.bool("HTTP2", true),
        server_slots: p.int_in("ServerSlots", 4, 0, MAX_SERVER_SLOTS) as usize,
        global_options: p.lines("GlobalOptions"),
        default_options: p.lines("DefaultOptions"),
    };
    (config, p.diags)
}

struct Parser<'a> {
    settings: &'a [Setting],
    read: Settings<'a>,
    diags: Vec<Diagnostic>,
}

impl Parser<'_> {
    /// The key as the user spelled it, so diagnostics point at their line.
    fn spelled(&self, key: &str) -> String {
        self.settings
            .iter()
            .find(|s| s.key.eq_ignore_ascii_case(key))
            .map_or_else(|| key.to_string(), |s| s.key.clone())
    }

    fn fail(&mut self, key: &str, message: String) {
        let spelled = self.spelled(key);
        self.diags
            .push(kit::error(&spelled, format!("`{spelled}` {message}")));
    }

    fn int_in(&mut self, key: &str, default: i64, min: i64, max: i64) -> i64 {
        let v = self.read.int(key, default);
        if (min..=max).contains(&v) {
            return v;
        }
        self.fail(key, format!("must be between {min} and {max}, found {v}"));
        default
    }

    fn word(&mut self, key: &str, default: &str) -> String {
        let v = self.read.text(key, default);
        match quote::word(&v) {
            Ok(w) => w,
            Err(e) => {
                self.fail(key, format!("{e}"));
                default.to_string()
            }
        }
    }

    fn printable(&mut self, key: &str, v: &str) -> bool {
        let result = quote::check_printable(v);
        if let Err(e) = &result {
            self.fail(key, format!("{e}"));
        }
        result.is_ok()
    }

    fn path(&mut self, key: &str, default: &str) -> String {
        let v = self.read.text(key, default);
        if !v.starts_with('/') {
            self.fail(key, format!("must be an absolute path, found {v:?}"));
            return default.to_string();
        }
        self.word(key, default)
    }

    fn one_of(&mut self, key: &str, default: &str, allowed: &[&str]) -> String {
        let v = self.read.text(key, default);
        match allowed.iter().find(|a| a.eq_ignore_ascii_case(&v)) {
            Some(a) => a.to_string(),
            None => {
                self.fail(
                    key,
                    format!("must be one of {}, found {v:?}", allowed.join(", ")),
                );
                default.to_string()
            }
        }
    }

    fn stats_auth(&mut self) -> Option<String> {
        let (user, pass) = (
            self.read.text("AdminUser", ""),
            self.read.text("AdminPass", ""),
        );
        match (user.is_empty(), pass.is_empty()) {
            (true, true) => return None,
            (false, true) => self.fail("AdminUser", "is set but `AdminPass` is not".into()),
            (true, false) => self.fail("AdminPass", "is set but `AdminUser` is not".into()),
            (false, false) if user.contains(':') => self.fail(
                "AdminUser",
                "must not contain `:` (it separates user and password)".into(),
            ),
            (false, false) => {
                let user_ok = self.printable("AdminUser", &user);
                if self.printable("AdminPass", &pass) && user_ok {
                    return quote::word(&format!("{user}:{pass}")).ok();
                }
            }
        }
        None
    }

    /// nginx-style `SSLProtocols` ("TLSv1.2 TLSv1.3") to the protocol range.
    fn protocols(&mut self) -> Vec<String> {
        let v = self.read.text("SSLProtocols", "TLSv1.2 TLSv1.3");
        let mut found = Vec::new();
        for name in v
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|n| !n.is_empty())
        {
            let canonical = if name.eq_ignore_ascii_case("TLSv1") {
                "TLSv1.0"
            } else {
                name
            };
            match PROTOCOLS
                .iter()
                .position(|p| p.eq_ignore_ascii_case(canonical))
            {
                Some(i) => found.push(i),
                None => {
                    self.fail(
                        "SSLProtocols",
                        format!(
                            "names unknown protocol {name:?} (known: {})",
                            PROTOCOLS.join(" ")
                        ),
                    );
                    return Vec::new();
                }
            }
        }
        match (found.iter().min(), found.iter().max()) {
            (Some(&lo), Some(&hi)) => {
                vec![
                    "ssl-min-ver".into(),
                    PROTOCOLS[lo].into(),
                    "ssl-max-ver".into(),
                    PROTOCOLS[hi].into(),
                ]
            }
            _ => {
                self.fail("SSLProtocols", "names no protocol".into());
                Vec::new()
            }
        }
    }

    /// `SSLOpts` are bind option keywords, kept as bare words so nothing but
    /// options can reach the line.
    fn ssl_opts(&mut self) -> Vec<String> {
        let v = self.read.text("SSLOpts", "");
        if !v.is_empty() && !self.printable("SSLOpts", &v) {
            return Vec::new();
        }
        let ok = |w: &str| {
            w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:,=+-/".contains(c))
        };
        match v.split_whitespace().find(|w| !ok(w)) {
            Some(bad) => {
                self.fail(
                    "SSLOpts",
                    format!(
                        "option {bad:?} has characters other than letters, digits and ._:,=+-/"
                    ),
                );
                Vec::new()
            }
            None => v.split_whitespace().map(str::to_string).collect(),
        }
    }

    fn log_target(&mut self) -> String {
        let v = self.read.text("SyslogAddr", "stdout");
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:@/[]-".contains(c));
        if !ok {
            self.fail(
                "SyslogAddr",
                format!("must be `stdout`, `stderr`, a path or an address[:port], found {v:?}"),
            );
            return "stdout format raw".into();
        }
        match v.as_str() {
            "stdout" | "stderr" => format!("{v} format raw"),
            _ => v,
        }
    }

    fn lines(&mut self, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, line) in self.read.list(key).into_iter().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if let Err(e) = quote::check_printable(trimmed) {
                self.fail(key, format!("entry {} {e}", i + 1));
                continue;
            }
            let first = trimmed.split_whitespace().next().unwrap_or_default();
            if SECTION_KEYWORDS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(first))
            {
                self.fail(
                    key,
                    format!("entry {} starts a new section (`{first}`)", i + 1),
                );
                continue;
            }
            out.push(trimmed.to_string());
        }
        out
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
