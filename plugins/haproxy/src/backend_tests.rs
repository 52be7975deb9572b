use super::*;
use crate::test_support::*;

/// Without server slots (`ServerSlots = 0`): one line per server.
fn rendered(up: &Upstream, mode: Mode, settings: &[sluice_plugin_kit::Setting]) -> String {
    let no_slots = setting("ServerSlots", sluice_plugin_kit::SettingValue::Integer(0));
    with_slots(up, mode, &[settings, &[no_slots]].concat()).0
}

fn with_slots(
    up: &Upstream,
    mode: Mode,
    settings: &[sluice_plugin_kit::Setting],
) -> (String, Vec<sluice_plugin_kit::Slot>) {
    let (config, diags) = crate::settings::parse(settings);
    assert!(diags.is_empty(), "{diags:?}");
    let mut cfg = Cfg::default();
    render(&mut cfg, up, mode, &config, None);
    cfg.finish()
}

#[test]
fn slots_hold_the_servers_and_room_for_more() {
    let servers = vec![server("10.0.0.1", 80, 1), server("10.0.0.2", 80, 3)];
    let mut up = upstream("u", servers);
    up.sticky_cookie = Some("sid".into());
    up.tls = true;
    let (text, slots) = with_slots(&up, Mode::Http, &[]);
    // Two servers: four slots (the default), two of them empty.
    assert_eq!(slots.len(), 4, "{text}");
    let held: Vec<_> = slots.iter().filter_map(|s| s.server.as_ref()).collect();
    assert_eq!(held.len(), 2);
    assert!(
        held.iter()
            .any(|s| s.address == "10.0.0.2" && s.weight == 3)
    );
    for s in &slots {
        assert_eq!(s.backend, "up_u");
        let value = &text[s.start as usize..s.end as usize];
        let line = text[..s.end as usize].rsplit('\n').next().unwrap();
        let rest = text[s.end as usize..].split('\n').next().unwrap();
        assert_eq!(line, format!("    server {} {value}", s.name));
        // What follows the changing part is the backend's, not the server's.
        assert_eq!(
            rest,
            format!(" cookie {} ssl verify none sni var(txn.host)", s.name)
        );
        match &s.server {
            Some(held) => assert_eq!(
                value,
                format!("{}:{} weight {}", held.address, held.port, held.weight)
            ),
            None => assert_eq!(value, "0.0.0.0:0 weight 1 disabled"),
        }
    }
    // At least eight: eight; ServerSlots = 0: none.
    let spare = |n: i64| setting("ServerSlots", sluice_plugin_kit::SettingValue::Integer(n));
    assert_eq!(with_slots(&up, Mode::Http, &[spare(8)]).1.len(), 8);
    assert!(with_slots(&up, Mode::Http, &[spare(0)]).1.is_empty());
    // Passthrough backends too.
    assert_eq!(with_slots(&up, Mode::Tcp, &[]).1[0].backend, "pt_u");
}

#[test]
fn backends_that_cannot_change_at_runtime_have_no_slots() {
    let mut hashed = upstream("u", vec![server("10.0.0.1", 80, 1)]);
    hashed.ip_hash = true;
    let mut checked = upstream("c", vec![server("10.0.0.1", 80, 1)]);
    checked.servers[0].max_fails = Some(3);
    let long = upstream(&"a".repeat(126), vec![server("10.0.0.1", 80, 1)]);
    assert!(
        !with_slots(&upstream(&"a".repeat(125), vec![]), Mode::Http, &[])
            .1
            .is_empty()
    );
    for up in [hashed, checked, long] {
        let (text, slots) = with_slots(&up, Mode::Http, &[]);
        assert!(slots.is_empty(), "{text}");
        assert!(text.contains("server s_10_0_0_1_80 "), "{text}");
    }
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
