use super::*;
use crate::test_support::*;
use sluice_plugin_kit::{Diagnostic, Severity, TlsFiles};

const CFG: &str = "/usr/local/etc/haproxy/haproxy.cfg";

fn paths(r: &Rendered) -> Vec<&str> {
    r.files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn files_beside_the_config() {
    let r = render(&all_features(CFG, "/run/secrets/app.pem")).unwrap();
    assert_eq!(
        paths(&r),
        [
            CFG,
            "/usr/local/etc/haproxy/hosts-http.map",
            "/usr/local/etc/haproxy/hosts-https.map",
            "/usr/local/etc/haproxy/crt-list.txt"
        ]
    );
    assert_eq!(
        r.files[3].contents,
        "/run/secrets/app.pem api.example.org\n/run/secrets/app.pem app.example.org\n"
    );
    let cfg = &r.files[0].contents;
    assert!(cfg.contains(
        "bind 127.0.0.1:10443 ssl crt-list /usr/local/etc/haproxy/crt-list.txt alpn h2,http/1.1 accept-proxy\n"
    ));
    assert!(cfg.contains(
        "use_backend pt_secure_example_org if { req.ssl_sni,lower -m str secure.example.org }\n"
    ));
    assert!(cfg.contains("default_backend be_no_host\n") && cfg.contains("backend be_no_host\n"));
}

/// A passthrough name that reached the terminating frontend (a client
/// reusing another host's connection) is answered 421, unless a route here
/// takes it.
#[test]
fn passthrough_names_are_misdirected_on_the_tls_frontend() {
    let r = render(&all_features(CFG, "/run/secrets/app.pem")).unwrap();
    let cfg = &r.files[0].contents;
    let line = "http-request return status 421 if !{ var(txn.backend) -m found } { var(txn.host) -m str secure.example.org }\n";
    assert_eq!(cfg.matches(line).count(), 1, "{cfg}");
    let https = &cfg[cfg.find("frontend fe_https").expect("https frontend")..];
    assert!(
        https.contains(line),
        "only in the terminating frontend: {cfg}"
    );
}

#[test]
fn http2_can_be_turned_off() {
    let mut i = all_features(CFG, "/run/secrets/app.pem");
    i.cluster.settings.push(sluice_plugin_kit::Setting {
        key: "HTTP2".into(),
        value: sluice_plugin_kit::SettingValue::Boolean(false),
    });
    let cfg = &render(&i).unwrap().files[0].contents;
    assert!(!cfg.contains("alpn"), "{cfg}");
    assert!(cfg.contains("ssl crt-list /usr/local/etc/haproxy/crt-list.txt accept-proxy\n"));
}

#[test]
fn no_tls_parts_without_tls_hosts() {
    let r = render(&input(
        CFG,
        vec![host(
            "a.local",
            Some(upstream("a", vec![server("10.0.0.1", 80, 1)])),
        )],
    ))
    .unwrap();
    assert_eq!(paths(&r), [CFG, "/usr/local/etc/haproxy/hosts-http.map"]);
    let cfg = &r.files[0].contents;
    assert!(
        !cfg.contains("fe_tls") && !cfg.contains("fe_https") && !cfg.contains(":8443"),
        "{cfg}"
    );
}

#[test]
fn passthrough_only_rejects_other_names() {
    let mut h = host(
        "s.local",
        Some(upstream("s", vec![server("10.0.0.1", 443, 1)])),
    );
    h.passthrough = true;
    let r = render(&input(CFG, vec![h])).unwrap();
    assert_eq!(paths(&r).len(), 2);
    let cfg = &r.files[0].contents;
    assert!(
        cfg.contains("default_backend be_tls_reject\n") && !cfg.contains("fe_https"),
        "{cfg}"
    );
    // Passthrough hosts get no HTTP routes.
    assert_eq!(r.files[1].contents, "");
}

#[test]
fn default_backend_replaces_the_503_page() {
    let mut inp = all_features(CFG, "/c.pem");
    inp.default_backend = Some(upstream("fallback", vec![server("10.9.9.9", 80, 1)]));
    let cfg = render(&inp).unwrap().files.remove(0).contents;
    assert_eq!(
        cfg.matches("default_backend up_fallback\n").count(),
        2,
        "{cfg}"
    );
    assert!(cfg.contains("backend up_fallback\n") && !cfg.contains("be_no_host"));
}

#[test]
fn deterministic() {
    let files = || -> Vec<(String, String)> {
        render(&all_features(CFG, "/c.pem"))
            .unwrap()
            .files
            .into_iter()
            .map(|f| (f.path, f.contents))
            .collect()
    };
    assert_eq!(files(), files());
}

#[test]
fn loopback_port_avoids_cluster_ports() {
    let cases: &[(u16, u16, &str)] = &[
        (80, 443, "127.0.0.1:10443 "),
        (80, 10443, "127.0.0.1:10444 "),
        (10444, 10443, "127.0.0.1:10445 "),
    ];
    for (http, https, want) in cases {
        let mut inp = all_features(CFG, "/c.pem");
        (inp.cluster.http_port, inp.cluster.https_port) = (*http, *https);
        let cfg = render(&inp).unwrap().files.remove(0).contents;
        assert!(
            cfg.contains(&format!("bind {want}")),
            "{http}/{https}: {cfg}"
        );
    }
}

#[test]
fn warnings_for_ignored_parts() {
    let mut inp = all_features(CFG, "/c.pem");
    inp.hosts[0].tls = Some(TlsFiles {
        cert_path: "/c.pem".into(),
        key_path: Some("/k.pem".into()),
    });
    let mut pt = host("zz.local", None);
    pt.passthrough = true;
    inp.hosts.push(pt);
    let w = render(&inp).unwrap().warnings;
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("api.example.org") && w[0].contains("ssl_key is ignored"),
        "{w:?}"
    );
    assert!(
        w[1].contains("zz.local") && w[1].contains("ssl_passthrough"),
        "{w:?}"
    );
}

fn refused(inp: &RenderInput) -> Vec<Diagnostic> {
    match render(inp) {
        Err(RenderError::InvalidInput(d)) => d,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// Anything that could break out of its config word or file line is refused,
/// naming the label it came from.
#[test]
fn injection_is_refused() {
    type Poison = fn(&mut RenderInput);
    let cases: Vec<(&str, Poison)> = vec![
        ("com.docker.lb.hosts", |i| {
            i.hosts[0].name = "a.local\n    bind :1".into()
        }),
        ("com.docker.lb.hosts", |i| {
            i.hosts[0].name = "a.local up_x".into()
        }),
        ("com.docker.lb.hosts", |i| {
            i.hosts[0].name = "*.a.local\n    bind :1".into()
        }),
        ("com.docker.lb.hosts", |i| {
            i.hosts[0].name = "*.a.local #x".into()
        }),
        ("com.docker.lb.hosts", |i| {
            i.hosts[0].name = "a.*.local".into()
        }),
        ("com.docker.lb.hosts", |i| i.hosts[0].name = "*".into()),
        ("com.docker.lb.context_root", |i| {
            i.hosts[5].context_roots[0].path = "/app }\nlisten x".into()
        }),
        ("com.docker.lb.context_root", |i| {
            i.hosts[5].context_roots[0].path = "/a b".into()
        }),
        ("com.docker.lb.websocket_endpoints", |i| {
            i.hosts[5].websocket_endpoints[0] = "/ws#x".into()
        }),
        ("com.docker.lb.sticky_session_cookie", |i| {
            i.hosts[5].context_roots[1].upstream.sticky_cookie = Some("s insert\nbackend x".into())
        }),
        ("com.docker.lb.redirects", |i| {
            i.hosts[3].redirects[0].target = "http://x\n    bind :1".into()
        }),
        ("com.docker.lb.redirects", |i| {
            i.hosts[3].redirects[0].target = "http://x if TRUE".into()
        }),
        ("com.docker.lb.redirects", |i| {
            i.hosts[3].redirects[0].scheme = Some("ftp".into())
        }),
        ("com.docker.lb.ssl_cert", |i| {
            i.hosts[1].tls = Some(TlsFiles {
                cert_path: "/c.pem evil.org\n/x.pem".into(),
                key_path: None,
            })
        }),
        ("com.docker.lb.port", |i| {
            i.hosts[2].upstream.as_mut().unwrap().servers[0].address = "10.0.0.1 backup".into()
        }),
        ("com.docker.lb.port", |i| {
            i.hosts[2].upstream.as_mut().unwrap().servers[0].port = 0
        }),
        ("upstream", |i| {
            i.hosts[2].upstream.as_mut().unwrap().name = "x\nbackend y".into()
        }),
        ("upstream", |i| {
            i.default_backend = Some(upstream("Bad-Name", vec![]))
        }),
        ("server-info", |i| {
            i.cluster.server_info = "sluice\r\nlisten x".into()
        }),
        ("ProxyConfigPath", |i| {
            i.cluster.config_path = "/etc/ha proxy/haproxy.cfg".into()
        }),
        ("ProxyConfigPath", |i| {
            i.cluster.config_path = "/etc/haproxy/crt-list.txt".into()
        }),
        ("TargetPort", |i| i.cluster.http_port = 0),
        ("TargetSSLPort", |i| {
            i.cluster.https_port = i.cluster.http_port
        }),
    ];
    for (key, poison) in cases {
        let mut inp = all_features(CFG, "/c.pem");
        poison(&mut inp);
        let d = refused(&inp);
        assert!(
            d.iter().any(|d| d.severity == Severity::Error
                && d.key.as_deref().is_some_and(|k| k.contains(key))),
            "{key}: {d:?}"
        );
    }
}

#[test]
fn bad_settings_are_refused() {
    let mut inp = all_features(CFG, "/c.pem");
    inp.cluster.settings = vec![setting(
        "ClientTimeout",
        sluice_plugin_kit::SettingValue::Integer(0),
    )];
    match render(&inp) {
        Err(RenderError::InvalidSettings(d)) => {
            assert_eq!(d[0].key.as_deref(), Some("ClientTimeout"))
        }
        other => panic!("expected invalid settings, got {other:?}"),
    }
}

#[test]
fn plugin_info() {
    let i = crate::info::plugin_info();
    assert_eq!((i.name.as_str(), i.proxy.as_str()), ("haproxy", "haproxy"));
    assert_eq!(i.default_config_path, CFG);
    assert_eq!(
        i.validate_command,
        ["haproxy", "-c", "-q", "-f", "{config}"]
    );
    assert!(matches!(i.reload, sluice_plugin_kit::Reload::Signal(ref s) if s == "USR2"));
}

#[test]
fn server_info_is_a_literal_header_value() {
    let mut inp = all_features(CFG, "/c.pem");
    inp.cluster.server_info = "sluice/0.1.0 (it's 100%)".into();
    let cfg = render(&inp).unwrap().files.remove(0).contents;
    assert!(
        cfg.contains(r"set-header x-server-info 'sluice/0.1.0 (it'\''s 100%%)'"),
        "{cfg}"
    );
}

/// Wildcard hosts get their virtual-host maps beside each HTTP frontend's
/// route map; a cluster without them renders as before.
#[test]
fn wildcard_files() {
    let r = render(&wildcards(CFG, "/c.pem")).unwrap();
    let dir = "/usr/local/etc/haproxy";
    assert_eq!(
        paths(&r),
        [
            CFG.to_string(),
            format!("{dir}/hosts-http.map"),
            format!("{dir}/vhosts-http.map"),
            format!("{dir}/wildcards-http.map"),
            format!("{dir}/hosts-https.map"),
            format!("{dir}/vhosts-https.map"),
            format!("{dir}/wildcards-https.map"),
            format!("{dir}/crt-list.txt"),
        ]
    );
    let contents = |i: usize| r.files[i].contents.as_str();
    assert_eq!(
        contents(2),
        "a.books.example a.books.example\nin.pass.example in.pass.example\n"
    );
    assert_eq!(
        contents(3),
        ".deep.pass.example *.deep.pass.example\n\
         .eu.books.example *.eu.books.example\n\
         .books.example *.books.example\n\
         .shop.example *.shop.example\n\
         .old.example *.old.example\n"
    );
    assert_eq!(contents(5), "in.pass.example in.pass.example\n");
    assert_eq!(
        contents(6),
        ".deep.pass.example *.deep.pass.example\n.shop.example *.shop.example\n"
    );
    let cfg = contents(0);
    for want in [
        "map_str(/usr/local/etc/haproxy/vhosts-http.map)\n",
        "map_end(/usr/local/etc/haproxy/wildcards-https.map) if",
        "use_backend pt_pass if { req.ssl_sni,lower -m end .pass.example }\n",
        "backend pt_pass\n",
    ] {
        assert!(cfg.contains(want), "want {want:?} in\n{cfg}");
    }
}

#[test]
fn wildcard_maps_only_where_wildcards_are_served() {
    // A passthrough wildcard has no HTTP routes: its frontends need no maps.
    let mut pt = host(
        "*.s.local",
        Some(upstream("s", vec![server("10.0.0.1", 443, 1)])),
    );
    pt.passthrough = true;
    let r = render(&input(
        CFG,
        vec![host("a.local", Some(upstream("a", vec![]))), pt],
    ))
    .unwrap();
    assert_eq!(paths(&r), [CFG, "/usr/local/etc/haproxy/hosts-http.map"]);
    assert!(!r.files[0].contents.contains("txn.vhost"));
}

#[test]
fn config_path_cannot_take_a_vhost_map_name() {
    let d = refused(&all_features("/etc/haproxy/wildcards-https.map", "/c.pem"));
    assert_eq!(d[0].key.as_deref(), Some("ProxyConfigPath"), "{d:?}");
}

/// `MetricsPort`: HAProxy's exporter on its own frontend; a port the cluster
/// serves on is refused by name, and the TLS loopback port steps around it.
#[test]
fn metrics_port_serves_the_exporter() {
    let metrics = |port: i64| {
        setting(
            "MetricsPort",
            sluice_plugin_kit::SettingValue::Integer(port),
        )
    };
    let mut inp = all_features(CFG, "/c.pem");
    inp.cluster.settings = vec![metrics(10443)];
    let cfg = render(&inp).unwrap().files.remove(0).contents;
    assert!(
        cfg.contains(
            "frontend prometheus\n    bind :10443\n    mode http\n    no log\n    \
             http-request use-service prometheus-exporter if { path /metrics }\n"
        ),
        "{cfg}"
    );
    assert!(cfg.contains("bind 127.0.0.1:10444 "), "{cfg}");
    assert!(!all_features_rendered_without(&inp).contains("prometheus"));

    inp.cluster.settings = vec![metrics(i64::from(inp.cluster.http_port))];
    match render(&inp) {
        Err(RenderError::InvalidSettings(d)) => {
            assert_eq!(d[0].key.as_deref(), Some("MetricsPort"), "{d:?}")
        }
        other => panic!("expected invalid settings, got {other:?}"),
    }
}

fn all_features_rendered_without(inp: &RenderInput) -> String {
    let mut inp = inp.clone();
    inp.cluster.settings.clear();
    render(&inp).unwrap().files.remove(0).contents
}
