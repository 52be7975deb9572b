use super::*;
use sluice_plugin_kit::{SettingValue, Severity};

fn text(k: &str, v: &str) -> Setting {
    Setting {
        key: k.into(),
        value: SettingValue::Text(v.into()),
    }
}
fn int(k: &str, v: i64) -> Setting {
    Setting {
        key: k.into(),
        value: SettingValue::Integer(v),
    }
}
fn list(k: &str, v: &[&str]) -> Setting {
    Setting {
        key: k.into(),
        value: SettingValue::TextList(v.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn defaults() {
    let (c, d) = parse(&[]);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(c.pid_path, "/var/run/proxy.pid");
    assert_eq!(c.max_connections, 1024);
    assert_eq!(
        (
            c.connect_timeout,
            c.client_timeout,
            c.server_timeout,
            c.tunnel_timeout
        ),
        (600, 600, 600, 3600)
    );
    assert_eq!(c.stats_auth, None);
    assert_eq!(
        c.bind_options,
        ["ssl-min-ver", "TLSv1.2", "ssl-max-ver", "TLSv1.3"]
    );
    assert_eq!(c.server_verify, "required");
    assert_eq!(c.log_target, "stdout format raw");
}

#[test]
fn accepted_values() {
    let (c, d) = parse(&[
        text("pidpath", "/run/p.pid"),
        int("MaxConnections", 4096),
        text("AdminUser", "admin"),
        text("AdminPass", "p@ss word's#"),
        text("SSLOpts", "no-tls-tickets prefer-client-ciphers"),
        int("SSLDefaultDHParam", 2048),
        text("SSLVerify", "NONE"),
        text("SSLProtocols", "TLSv1 TLSv1.2"),
        text("SyslogAddr", "127.0.0.1:514"),
        list("GlobalOptions", &["tune.bufsize 32768", "  "]),
    ]);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(c.pid_path, "/run/p.pid");
    assert_eq!(c.stats_auth.as_deref(), Some(r"'admin:p@ss word'\''s#'"));
    assert_eq!(
        c.bind_options,
        [
            "ssl-min-ver",
            "TLSv1.0",
            "ssl-max-ver",
            "TLSv1.2",
            "no-tls-tickets",
            "prefer-client-ciphers"
        ]
    );
    assert_eq!(c.dh_param, Some(2048));
    assert_eq!(c.server_verify, "none");
    assert_eq!(c.log_target, "127.0.0.1:514");
    assert_eq!(c.global_options, ["tune.bufsize 32768"]);
}

/// Each bad setting gives exactly one diagnostic of the given severity naming the key.
#[test]
fn refused_values() {
    let cases: Vec<(Setting, Severity, &str)> = vec![
        (text("Bogus", "x"), Severity::Warning, "unknown key"),
        (
            text("MaxConnections", "10"),
            Severity::Error,
            "must be an integer",
        ),
        (int("MaxConnections", 0), Severity::Error, "between 1"),
        (int("ConnectTimeout", -5), Severity::Error, "between 1"),
        (
            int("ClientTimeout", 3_000_000),
            Severity::Error,
            "between 1",
        ),
        (int("ServerTimeout", 0), Severity::Error, "between 1"),
        (int("TunnelTimeout", 0), Severity::Error, "between 1"),
        (
            text("PidPath", "relative.pid"),
            Severity::Error,
            "absolute path",
        ),
        (
            text("PidPath", "/run/x\n global"),
            Severity::Error,
            "control character",
        ),
        (
            text("AdminUser", "admin"),
            Severity::Error,
            "`AdminPass` is not",
        ),
        (
            text("AdminPass", "secret"),
            Severity::Error,
            "`AdminUser` is not",
        ),
        (
            text("SSLOpts", "no-sslv3\nfrontend x"),
            Severity::Error,
            "control character",
        ),
        (text("SSLOpts", "a#b"), Severity::Error, "characters other"),
        (
            int("SSLDefaultDHParam", 512),
            Severity::Error,
            "between 1024",
        ),
        (
            text("SSLDefaultDHParamPath", "dh.pem"),
            Severity::Error,
            "absolute path",
        ),
        (
            text("SSLVerify", "optional"),
            Severity::Error,
            "one of none, required",
        ),
        (text("SSLCiphers", ""), Severity::Error, "is empty"),
        (
            text("SSLCiphers", "HIGH\r\nlisten"),
            Severity::Error,
            "control character",
        ),
        (
            text("SSLProtocols", "TLSv1.4"),
            Severity::Error,
            "unknown protocol",
        ),
        (text("SSLProtocols", " "), Severity::Error, "no protocol"),
        (
            text("SSLCAFile", "ca.pem"),
            Severity::Error,
            "absolute path",
        ),
        (
            text("HideInfoHeaders", "yes"),
            Severity::Error,
            "must be a boolean",
        ),
        (
            text("SyslogAddr", "host 514"),
            Severity::Error,
            "SyslogAddr",
        ),
        (
            list("GlobalOptions", &["nbthread 2\nbackend evil"]),
            Severity::Error,
            "control character",
        ),
        (
            list("DefaultOptions", &["backend evil"]),
            Severity::Error,
            "new section",
        ),
        (
            text("GlobalOptions", "nbthread 2"),
            Severity::Error,
            "list of strings",
        ),
    ];
    for (setting, severity, needle) in cases {
        let key = setting.key.clone();
        let (_, d) = parse(std::slice::from_ref(&setting));
        assert_eq!(d.len(), 1, "{key}: {d:?}");
        assert_eq!(d[0].severity, severity, "{key}: {d:?}");
        assert_eq!(d[0].key.as_deref(), Some(key.as_str()), "{key}: {d:?}");
        assert!(
            d[0].message.contains(needle),
            "{key}: {:?} lacks {needle:?}",
            d[0].message
        );
    }
}

#[test]
fn admin_user_with_colon() {
    let (c, d) = parse(&[text("AdminUser", "a:b"), text("AdminPass", "x")]);
    assert_eq!(c.stats_auth, None);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].key.as_deref(), Some("AdminUser"));
}

/// Interlock's configs (the seed's among them) write unset strings as "".
#[test]
fn empty_dh_param_path_is_unset() {
    let (c, d) = parse(&[text("SSLDefaultDHParamPath", "")]);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(c.dh_param_file, None);
}

/// The render matrix's all-keys config (checked by the real `haproxy -c`)
/// sets every key of the table.
#[test]
fn the_all_keys_fixture_sets_every_key() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/matrix/haproxy-all-keys.toml"
    );
    let text = std::fs::read_to_string(fixture).expect(fixture);
    let set: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().split_once(" = ").map(|(k, _)| k))
        .collect();
    let missing: Vec<&str> = KEYS
        .iter()
        .map(|k| k.name)
        .filter(|k| !set.contains(k))
        .collect();
    assert!(missing.is_empty(), "{fixture} does not set {missing:?}");
}
