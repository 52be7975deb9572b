use super::*;
use crate::test_support::*;

fn rendered(up: &Upstream, mode: Mode, settings: &[sluice_plugin_kit::Setting]) -> String {
    let (config, diags) = crate::settings::parse(settings);
    assert!(diags.is_empty());
    let mut cfg = Cfg::default();
    render(&mut cfg, up, mode, &config);
    cfg.finish()
}

#[test]
fn server_lines() {
    let with = |f: &dyn Fn(&mut Server)| {
        let mut s = server("10.0.0.1", 80, 1);
        f(&mut s);
        s
    };
    let cases: Vec<(Server, &str)> = vec![
        (with(&|_| {}), "server s_10_0_0_1_80 10.0.0.1:80 weight 1"),
        (with(&|s| s.weight = 0), "weight 1"),
        (with(&|s| s.weight = 5000), "weight 256"),
        (
            with(&|s| s.max_fails = Some(3)),
            "weight 1 check inter 10s fall 3 rise 1 observe layer4 error-limit 3 on-error mark-down",
        ),
        (
            with(&|s| s.fail_timeout_seconds = Some(30)),
            "weight 1 check inter 30s fall 1 rise 1 observe layer4 error-limit 1 on-error mark-down",
        ),
        (
            with(&|s| {
                s.max_fails = Some(0);
                s.fail_timeout_seconds = Some(30)
            }),
            "10.0.0.1:80 weight 1\n",
        ),
        (with(&|s| s.max_fails = Some(u32::MAX)), "fall 1000 rise 1"),
        (
            with(&|s| {
                s.address = "fd00::1".into();
                s.port = 8080
            }),
            "server s_fd00__1_8080 [fd00::1]:8080 weight 1",
        ),
    ];
    for (s, want) in cases {
        let out = rendered(&upstream("u", vec![s.clone()]), Mode::Http, &[]);
        assert!(out.contains(want), "{s:?}: want {want:?} in\n{out}");
    }
}

#[test]
fn balancing_stickiness_and_tls() {
    let servers = vec![server("10.0.0.1", 80, 1), server("10.0.0.1", 80, 1)];
    let mut up = upstream("u", servers);
    let plain = rendered(&up, Mode::Http, &[]);
    assert!(
        plain.starts_with("backend up_u\n    mode http\n    balance roundrobin\n"),
        "{plain}"
    );
    assert!(plain.contains("x-upstream-addr"));
    // Duplicate addresses still get distinct names.
    assert!(
        plain.contains("server s_10_0_0_1_80 ") && plain.contains("server s_10_0_0_1_80_2 "),
        "{plain}"
    );

    up.ip_hash = true;
    up.sticky_cookie = Some("my#cookie".into());
    up.tls = true;
    let out = rendered(&up, Mode::Http, &[]);
    assert!(out.contains("balance source\n"));
    assert!(out.contains("cookie 'my#cookie' prefix nocache\n"), "{out}");
    assert!(
        out.contains("weight 1 cookie s_10_0_0_1_80 ssl verify none sni var(txn.host)\n"),
        "{out}"
    );

    up.tls_verify = TlsVerify::Required;
    let ca = setting(
        "SSLCAFile",
        sluice_plugin_kit::SettingValue::Text("/etc/ca.pem".into()),
    );
    let out = rendered(&up, Mode::Http, &[ca]);
    assert!(
        out.contains("ssl verify required ca-file /etc/ca.pem sni var(txn.host)\n"),
        "{out}"
    );

    let hide = setting(
        "HideInfoHeaders",
        sluice_plugin_kit::SettingValue::Boolean(true),
    );
    assert!(!rendered(&up, Mode::Http, &[hide]).contains("x-upstream-addr"));
}

#[test]
fn tcp_backend_has_no_http_features() {
    let mut up = upstream("pt", vec![server("10.0.0.1", 443, 1)]);
    up.sticky_cookie = Some("s".into());
    up.tls = true;
    let out = rendered(&up, Mode::Tcp, &[]);
    assert_eq!(
        out,
        "backend pt_pt\n    mode tcp\n    balance roundrobin\n    server s_10_0_0_1_443 10.0.0.1:443 weight 1\n"
    );
}
