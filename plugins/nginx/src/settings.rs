//! The `[Extensions.NAME.Config]` keys this plugin reads (Interlock's nginx
//! keys, reference §3.3), their checks, and their values with defaults.

use sluice_plugin_kit::settings::{self as kit, Key, Kind, Settings};
use sluice_plugin_kit::{Diagnostic, Setting, SettingValue};

use crate::values;

/// How a key's value is checked beyond its TOML type.
#[derive(Clone, Copy)]
enum Check {
    None,
    Text(fn(&str) -> Result<(), String>),
    Int(fn(i64) -> Result<(), String>),
    /// Applied to every item of a list.
    Items(fn(&str) -> Result<(), String>),
}

struct Spec {
    key: Key,
    check: Check,
}

const fn spec(name: &'static str, kind: Kind, check: Check) -> Spec {
    Spec {
        key: Key::new(name, kind),
        check,
    }
}

use Check::{Int, Items, Text};
use Kind::{Boolean, Integer, TextList, TextOrInteger};

const SPECS: &[Spec] = &[
    // Interlock's own version string; the info header uses cluster.server-info.
    spec("Version", Kind::Text, Check::None),
    spec("User", Kind::Text, Text(values::user)),
    spec("PidPath", Kind::Text, Text(values::path)),
    spec(
        "WorkerProcesses",
        TextOrInteger,
        Text(values::worker_processes),
    ),
    // Matched case-insensitively, so `RlimitNoFile` is the same key.
    spec("RLimitNoFile", Integer, Int(values::positive)),
    spec("MaxConnections", Integer, Int(values::positive)),
    spec("ConnectTimeout", Integer, Int(values::timeout_seconds)),
    spec("SendTimeout", Integer, Int(values::timeout_seconds)),
    spec("ReadTimeout", Integer, Int(values::timeout_seconds)),
    spec("IPHash", Boolean, Check::None),
    spec("HTTPVersion", Kind::Text, Text(values::http_version)),
    spec("SSLOpts", Kind::Text, Text(values::optional_statements)),
    spec("SSLDefaultDHParam", Integer, Int(values::non_negative)),
    spec(
        "SSLDefaultDHParamPath",
        Kind::Text,
        Text(values::optional_path),
    ),
    // Backend verification is per service (tls-verify); kept for compatibility.
    spec("SSLVerify", Kind::Text, Text(values::ssl_verify)),
    spec("SSLCiphers", Kind::Text, Text(values::ssl_ciphers)),
    spec("SSLProtocols", Kind::Text, Text(values::ssl_protocols)),
    spec("HideInfoHeaders", Boolean, Check::None),
    spec("KeepaliveTimeout", TextOrInteger, Text(values::keepalive)),
    spec("ClientMaxBodySize", TextOrInteger, Text(values::offset)),
    spec("ClientBodyBufferSize", TextOrInteger, Text(values::size)),
    spec("ClientHeaderBufferSize", TextOrInteger, Text(values::size)),
    spec(
        "LargeClientHeaderBuffers",
        Kind::Text,
        Text(values::large_buffers),
    ),
    spec("ClientBodyTimeout", TextOrInteger, Text(values::time)),
    spec("UnderscoresInHeaders", Boolean, Check::None),
    spec(
        "ServerNamesHashBucketSize",
        Integer,
        Int(values::bucket_size),
    ),
    spec("UpstreamZoneSize", Integer, Int(values::zone_kilobytes)),
    // Sluice: Debian's nginx loads the stream module (needed for TLS) from
    // modules-enabled; "" disables the include (modules built in or loaded
    // through GlobalOptions).
    spec("ModulesInclude", Kind::Text, Text(values::optional_path)),
    spec("GlobalOptions", TextList, Items(values::statements)),
    spec("HTTPOptions", TextList, Items(values::statements)),
    spec("TCPOptions", TextList, Items(values::statements)),
    spec("AccessLogPath", Kind::Text, Text(values::path)),
    spec("ErrorLogPath", Kind::Text, Text(values::path)),
    spec("MainLogFormat", Kind::Text, Text(values::log_format)),
    spec("TraceLogFormat", Kind::Text, Text(values::log_format)),
    // HAProxy's stats credentials share Interlock's config struct; nginx has no use for them.
    spec("AdminUser", Kind::Text, Check::None),
    spec("AdminPass", Kind::Text, Check::None),
    // Sluice addition: CA bundle for backends with tls-verify = required.
    spec("SSLTrustedCertificate", Kind::Text, Text(values::path)),
    // Sluice addition: log each request to the agent's traffic socket, for
    // per-host metrics (the agent serves them; see docs/metrics.md).
    spec("TrafficMetrics", Boolean, Check::None),
    // Sluice addition: HTTP/2 offered to TLS clients (ALPN h2, http/1.1).
    spec("HTTP2", Boolean, Check::None),
];

pub const DEFAULT_MAIN_LOG_FORMAT: &str = "'$remote_addr - $remote_user [$time_local] \"$request\" ' \
'$status $body_bytes_sent \"$http_referer\" ' '\"$http_user_agent\" \"$http_x_forwarded_for\"'";

pub const DEFAULT_TRACE_LOG_FORMAT: &str = "'$remote_addr - $remote_user [$time_local] \"$request\" $status ' \
'$body_bytes_sent \"$http_referer\" \"$http_user_agent\" ' '\"$http_x_forwarded_for\" $request_id $msec $request_time ' \
'$upstream_connect_time $upstream_header_time $upstream_response_time'";

fn run_check(check: Check, value: &SettingValue) -> Vec<String> {
    match (check, value) {
        (Text(f), SettingValue::Text(s)) => f(s).err().into_iter().collect(),
        (Text(f), SettingValue::Integer(i)) => f(&i.to_string()).err().into_iter().collect(),
        (Int(f), SettingValue::Integer(i)) => f(*i).err().into_iter().collect(),
        (Items(f), SettingValue::TextList(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(n, s)| f(s).err().map(|e| format!("item {n}: {e}")))
            .collect(),
        // Wrong types are reported by the kit's type check.
        _ => Vec::new(),
    }
}

/// Every finding about `settings`: unknown keys and repeated keys (warnings),
/// wrong types and values nginx would refuse (errors). Each names its key.
pub fn validate(settings: &[Setting]) -> Vec<Diagnostic> {
    let keys: Vec<Key> = SPECS.iter().map(|s| s.key).collect();
    let mut out = kit::validate(settings, &keys);
    for (n, s) in settings.iter().enumerate() {
        if settings[..n]
            .iter()
            .any(|earlier| earlier.key.eq_ignore_ascii_case(&s.key))
        {
            out.push(kit::warning(
                &s.key,
                format!(
                    "`{}` is given more than once; the first value is used",
                    s.key
                ),
            ));
            continue;
        }
        let Some(spec) = SPECS
            .iter()
            .find(|spec| spec.key.name.eq_ignore_ascii_case(&s.key))
        else {
            continue;
        };
        for problem in run_check(spec.check, &s.value) {
            out.push(kit::error(&s.key, format!("`{}` {problem}", s.key)));
        }
    }
    let read = Settings::new(settings);
    if read.has("SSLDefaultDHParamPath")
        && !read.text("SSLDefaultDHParamPath", "").is_empty()
        && read.int("SSLDefaultDHParam", 1024) <= 0
    {
        out.push(kit::warning(
            "SSLDefaultDHParam",
            "`SSLDefaultDHParam` is 0, so `SSLDefaultDHParamPath` is ignored (no ssl_dhparam)",
        ));
    }
    out
}

/// The settings, defaulted, as the renderer uses them. Only meaningful once
/// [`validate`] found no errors.
/// Where Debian's nginx packages enable dynamic modules (the stream module
/// among them). A glob that matches nothing is fine for nginx, so the
/// default costs nothing on images with the modules built in.
pub const DEFAULT_MODULES_INCLUDE: &str = "/etc/nginx/modules-enabled/*.conf";

pub struct Config {
    pub user: String,
    pub pid_path: String,
    pub worker_processes: String,
    pub rlimit_nofile: i64,
    pub max_connections: i64,
    pub connect_timeout: i64,
    pub send_timeout: i64,
    pub read_timeout: i64,
    pub ip_hash: bool,
    pub http_version: String,
    pub ssl_opts: String,
    pub dhparam: i64,
    pub dhparam_path: String,
    pub ssl_ciphers: String,
    pub ssl_protocols: String,
    pub hide_info_headers: bool,
    pub keepalive_timeout: String,
    pub client_max_body_size: String,
    pub client_body_buffer_size: String,
    pub client_header_buffer_size: String,
    pub large_client_header_buffers: String,
    pub client_body_timeout: String,
    pub underscores_in_headers: bool,
    pub server_names_hash_bucket_size: i64,
    pub upstream_zone_size: i64,
    pub modules_include: String,
    pub global_options: Vec<String>,
    pub http_options: Vec<String>,
    pub tcp_options: Vec<String>,
    pub access_log_path: String,
    pub error_log_path: String,
    /// `log_format` arguments, normalised onto one line.
    pub main_log_format: String,
    pub trace_log_format: String,
    pub trusted_certificate: String,
    pub traffic_metrics: bool,
    pub http2: bool,
}

impl Config {
    pub fn from_settings(settings: &[Setting]) -> Config {
        let s = Settings::new(settings);
        let log_format = |key: &str, default: &str| {
            crate::raw::log_format_args(&s.text(key, default))
                .unwrap_or_else(|_| default.to_string())
        };
        Config {
            user: s.text("User", "nginx"),
            pid_path: s.text("PidPath", "/var/run/proxy.pid"),
            worker_processes: s.text("WorkerProcesses", "1"),
            rlimit_nofile: s.int("RLimitNoFile", 65535),
            max_connections: s.int("MaxConnections", 1024),
            connect_timeout: s.int("ConnectTimeout", 600),
            send_timeout: s.int("SendTimeout", 600),
            read_timeout: s.int("ReadTimeout", 600),
            ip_hash: s.bool("IPHash", false),
            http_version: s.text("HTTPVersion", "1.1"),
            ssl_opts: s.text("SSLOpts", ""),
            dhparam: s.int("SSLDefaultDHParam", 1024),
            dhparam_path: s.text("SSLDefaultDHParamPath", ""),
            ssl_ciphers: s.text("SSLCiphers", "HIGH:!aNULL:!MD5"),
            ssl_protocols: s.text("SSLProtocols", "TLSv1.2"),
            hide_info_headers: s.bool("HideInfoHeaders", false),
            keepalive_timeout: s.text("KeepaliveTimeout", "75s"),
            client_max_body_size: s.text("ClientMaxBodySize", "1m"),
            client_body_buffer_size: s.text("ClientBodyBufferSize", "8k"),
            client_header_buffer_size: s.text("ClientHeaderBufferSize", "1k"),
            large_client_header_buffers: s.text("LargeClientHeaderBuffers", "4 8k"),
            client_body_timeout: s.text("ClientBodyTimeout", "60s"),
            underscores_in_headers: s.bool("UnderscoresInHeaders", false),
            server_names_hash_bucket_size: s.int("ServerNamesHashBucketSize", 128),
            upstream_zone_size: s.int("UpstreamZoneSize", 64),
            modules_include: s.text("ModulesInclude", DEFAULT_MODULES_INCLUDE),
            global_options: s.list("GlobalOptions"),
            http_options: s.list("HTTPOptions"),
            tcp_options: s.list("TCPOptions"),
            access_log_path: s.text("AccessLogPath", "/dev/stdout"),
            error_log_path: s.text("ErrorLogPath", "/dev/stdout"),
            main_log_format: log_format("MainLogFormat", DEFAULT_MAIN_LOG_FORMAT),
            trace_log_format: log_format("TraceLogFormat", DEFAULT_TRACE_LOG_FORMAT),
            trusted_certificate: s.text(
                "SSLTrustedCertificate",
                "/etc/ssl/certs/ca-certificates.crt",
            ),
            traffic_metrics: s.bool("TrafficMetrics", false),
            http2: s.bool("HTTP2", true),
        }
    }
}

/// Names of all keys, for tests that must cover each of them.
#[cfg(test)]
pub fn key_names() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.key.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_kit::Severity;

    /// The render matrix's all-keys config (checked by the real `nginx -t`)
    /// sets every key of the table above.
    #[test]
    fn the_all_keys_fixture_sets_every_key() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/matrix/nginx-all-keys.toml"
        );
        let text = std::fs::read_to_string(fixture).expect(fixture);
        let set: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().split_once(" = ").map(|(k, _)| k))
            .collect();
        let missing: Vec<&str> = key_names()
            .into_iter()
            .filter(|k| !set.contains(k))
            .collect();
        assert!(missing.is_empty(), "{fixture} does not set {missing:?}");
    }

    fn text(key: &str, v: &str) -> Setting {
        Setting {
            key: key.into(),
            value: SettingValue::Text(v.into()),
        }
    }
    fn int(key: &str, v: i64) -> Setting {
        Setting {
            key: key.into(),
            value: SettingValue::Integer(v),
        }
    }
    fn list(key: &str, v: &[&str]) -> Setting {
        Setting {
            key: key.into(),
            value: SettingValue::TextList(v.iter().map(|s| s.to_string()).collect()),
        }
    }
    fn boolean(key: &str, v: bool) -> Setting {
        Setting {
            key: key.into(),
            value: SettingValue::Boolean(v),
        }
    }

    /// (setting, expected severity or None for accepted)
    fn cases() -> Vec<(Setting, Option<Severity>)> {
        use Severity::{Error, Warning};
        vec![
            (text("Version", "anything"), None),
            (text("User", "www-data"), None),
            (text("User", "a;b"), Some(Error)),
            (int("User", 1), Some(Error)),
            (text("PidPath", "/run/p.pid"), None),
            (text("ModulesInclude", ""), None),
            (text("ModulesInclude", "/etc/nginx/modules/*.conf"), None),
            (text("ModulesInclude", "/x/$y"), Some(Error)),
            (text("PidPath", ""), Some(Error)),
            (text("PidPath", "/run/$x"), Some(Error)),
            (int("WorkerProcesses", 4), None),
            (text("WorkerProcesses", "auto"), None),
            (int("WorkerProcesses", 0), Some(Error)),
            (text("WorkerProcesses", "lots"), Some(Error)),
            (int("RLimitNoFile", 1024), None),
            (int("RlimitNoFile", 1024), None),
            (int("RlimitNoFile", -1), Some(Error)),
            (int("MaxConnections", 0), Some(Error)),
            (int("ConnectTimeout", 5), None),
            (int("SendTimeout", 0), Some(Error)),
            (text("ReadTimeout", "600"), Some(Error)),
            (boolean("IPHash", true), None),
            (text("IPHash", "true"), Some(Error)),
            (text("HTTPVersion", "1.0"), None),
            (text("HTTPVersion", "2.0"), Some(Error)),
            (
                Setting {
                    key: "HTTPVersion".into(),
                    value: SettingValue::Float(1.1),
                },
                Some(Error),
            ),
            (text("SSLOpts", ""), None),
            (text("SSLOpts", "ssl_session_cache shared:SSL:10m;"), None),
            (
                text("SSLOpts", "ssl_session_cache shared:SSL:10m"),
                Some(Error),
            ),
            (text("SSLOpts", "} server { listen 1;"), Some(Error)),
            (int("SSLDefaultDHParam", 2048), None),
            (int("SSLDefaultDHParam", -1), Some(Error)),
            (text("SSLDefaultDHParamPath", ""), None),
            (text("SSLDefaultDHParamPath", "/a\nb"), Some(Error)),
            (text("SSLVerify", "none"), None),
            (text("SSLVerify", "maybe"), Some(Error)),
            (text("SSLCiphers", "ECDHE+AESGCM"), None),
            (text("SSLCiphers", "HIGH; return 200"), Some(Error)),
            (text("SSLProtocols", "TLSv1.2 TLSv1.3"), None),
            (text("SSLProtocols", "TLSv9"), Some(Error)),
            (boolean("HideInfoHeaders", true), None),
            (text("KeepaliveTimeout", "75s 60s"), None),
            (int("KeepaliveTimeout", 75), None),
            (text("KeepaliveTimeout", "forever"), Some(Error)),
            (text("ClientMaxBodySize", "1g"), None),
            (text("ClientMaxBodySize", "32MB"), Some(Error)),
            (text("ClientBodyBufferSize", "16k"), None),
            (text("ClientBodyBufferSize", "16 k"), Some(Error)),
            (text("ClientHeaderBufferSize", "x"), Some(Error)),
            (text("LargeClientHeaderBuffers", "8 16k"), None),
            (text("LargeClientHeaderBuffers", "8k"), Some(Error)),
            (text("ClientBodyTimeout", "1m"), None),
            (text("ClientBodyTimeout", "1 minute"), Some(Error)),
            (boolean("UnderscoresInHeaders", true), None),
            (int("ServerNamesHashBucketSize", 256), None),
            (int("ServerNamesHashBucketSize", 0), Some(Error)),
            (int("UpstreamZoneSize", 128), None),
            (int("UpstreamZoneSize", 8), Some(Error)),
            (
                list("GlobalOptions", &["worker_shutdown_timeout 10s;"]),
                None,
            ),
            (
                list("GlobalOptions", &["ok;", "missing semicolon"]),
                Some(Error),
            ),
            (
                list("HTTPOptions", &["} server { listen 81; }"]),
                Some(Error),
            ),
            (list("HTTPOptions", &["a;\nb;"]), Some(Error)),
            (list("TCPOptions", &["tcp_nodelay on;"]), None),
            (text("TCPOptions", "tcp_nodelay on;"), Some(Error)),
            (text("AccessLogPath", "off"), None),
            (text("ErrorLogPath", "/dev/stderr"), None),
            (text("ErrorLogPath", "/dev/stderr warn; user root"), None), // one quoted argument
            (text("MainLogFormat", "'$remote_addr';"), None),
            (
                text("MainLogFormat", "'$remote_addr'; access_log off;"),
                Some(Error),
            ),
            (text("TraceLogFormat", "'a' } x {"), Some(Error)),
            (text("AdminUser", "admin"), None),
            (text("AdminPass", "secret"), None),
            (text("SSLTrustedCertificate", "/etc/ssl/ca.pem"), None),
            (boolean("TrafficMetrics", true), None),
            (boolean("HTTP2", false), None),
            (text("NoSuchKey", "x"), Some(Warning)),
        ]
    }

    #[test]
    fn each_key_checked() {
        for (setting, want) in cases() {
            let key = setting.key.clone();
            let diags = validate(std::slice::from_ref(&setting));
            let got = diags
                .iter()
                .map(|d| d.severity)
                .max_by_key(|s| *s == Severity::Error);
            assert_eq!(got, want, "{key} = {:?}: {diags:?}", setting.value);
            for d in &diags {
                assert_eq!(
                    d.key.as_deref(),
                    Some(key.as_str()),
                    "diagnostic must name the key"
                );
            }
        }
    }

    #[test]
    fn cases_cover_every_key() {
        let cases = cases();
        for name in key_names() {
            assert!(
                cases.iter().any(|(s, _)| s.key.eq_ignore_ascii_case(name)),
                "no case for {name}"
            );
        }
    }

    #[test]
    fn repeated_key_warns() {
        let diags = validate(&[int("RLimitNoFile", 1), int("RlimitNoFile", 2)]);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, Severity::Warning);
        assert_eq!(diags[0].key.as_deref(), Some("RlimitNoFile"));
    }

    #[test]
    fn defaults() {
        let c = Config::from_settings(&[]);
        assert_eq!(c.user, "nginx");
        assert_eq!(c.pid_path, "/var/run/proxy.pid");
        assert_eq!(c.http_version, "1.1");
        assert_eq!(c.rlimit_nofile, 65535);
        assert_eq!(c.upstream_zone_size, 64);
        assert_eq!(c.main_log_format, DEFAULT_MAIN_LOG_FORMAT);
    }

    #[test]
    fn alternate_spelling_is_read() {
        let c = Config::from_settings(&[int("RlimitNoFile", 4096), int("workerprocesses", 2)]);
        assert_eq!(c.rlimit_nofile, 4096);
        assert_eq!(c.worker_processes, "2");
    }
}
