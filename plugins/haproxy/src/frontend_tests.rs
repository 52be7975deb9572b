use super::*;
use crate::test_support::*;
use sluice_plugin_kit::SettingValue;

fn render_http(hosts: &[sluice_plugin_kit::Host]) -> String {
    let (config, _) = crate::settings::parse(&[]);
    render_http_with(hosts, &config)
}

fn render_http_with(hosts: &[sluice_plugin_kit::Host], config: &crate::settings::Config) -> String {
    let table = crate::routes::table(hosts, Scheme::Http);
    let fe = Frontend {
        name: "fe_http",
        bind: ":80".into(),
        scheme: Scheme::Http,
        map_path: "/etc/haproxy/hosts-http.map",
        vhost_maps: None,
        fallback: "be_no_host",
        server_info: "'sluice 1'",
        misdirected: Vec::new(),
    };
    let mut cfg = Cfg::default();
    render(&mut cfg, &fe, &table, config);
    cfg.finish().0
}

#[test]
fn routing_lines() {
    let out = render_http(&[host("a.local", Some(upstream("a", vec![])))]);
    for want in [
        "frontend fe_http\n    bind :80\n    mode http\n",
        "http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n",
        "map_beg(/etc/haproxy/hosts-http.map)\n",
        "http-response set-header x-server-info 'sluice 1'\n",
        "use_backend %[var(txn.backend)] if { var(txn.backend) -m found }\n    default_backend be_no_host\n",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
    assert!(
        !out.contains("stats"),
        "no stats page unless AdminUser/AdminPass are set:\n{out}"
    );
}

#[test]
fn stats_page_only_with_credentials() {
    let (config, diags) = crate::settings::parse(&[
        setting("AdminUser", SettingValue::Text("ops".into())),
        setting("AdminPass", SettingValue::Text("s3cret".into())),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    let out = render_http_with(&[host("a.local", None)], &config);
    for want in [
        "stats enable\n",
        "stats uri /haproxy?stats\n",
        "stats auth ops:s3cret\n",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
}

#[test]
fn redirects_and_rewrites_are_quoted() {
    let mut h = host("a.local", None);
    h.redirects = vec![crate::test_support::redirect(
        None,
        "http://b.local/it's%20#x",
    )];
    let mut c = host("c.local", None);
    c.context_roots = vec![
        ctx("/a'p%p", true, upstream("c", vec![])),
        ctx("/a'p%p/deeper", false, upstream("d", vec![])),
    ];
    let out = render_http(&[h, c]);
    for want in [
        r"http-request redirect code 302 prefix 'http://b.local/it'\''s%%20#x' if { var(txn.host) -m str a.local }",
        r"location '/a'\''p%%p/?%[query]' if { var(txn.host) -m str c.local } { path -m str '/a'\''p%p' } { query -m found }",
        r"location '/a'\''p%%p/' if { var(txn.host) -m str c.local } { path -m str '/a'\''p%p' }",
        r"set-path %[path,bytes(6)] if { var(txn.host) -m str c.local } { path_beg '/a'\''p%p/' } !{ path_beg '/a'\''p%p/deeper' }",
    ] {
        assert!(out.contains(want), "want {want:?} in\n{out}");
    }
}

fn render_with_vhosts(hosts: &[sluice_plugin_kit::Host]) -> String {
    let (config, _) = crate::settings::parse(&[]);
    let table = crate::routes::table(hosts, Scheme::Http);
    let fe = Frontend {
        name: "fe_http",
        bind: ":80".into(),
        scheme: Scheme::Http,
        map_path: "/h/hosts-http.map",
        vhost_maps: Some(VhostMaps {
            exact: "/h/vhosts-http.map",
            suffixes: "/h/wildcards-http.map",
        }),
        fallback: "be_no_host",
        server_info: "x",
        misdirected: Vec::new(),
    };
    let mut cfg = Cfg::default();
    render(&mut cfg, &fe, &table, &config);
    cfg.finish().0
}

/// With wildcard hosts, the exact name is tried before the suffixes, and
/// routes, redirects and rewrites all match on the virtual host.
#[test]
fn wildcard_hosts_route_on_the_virtual_host() {
    let out = render_with_vhosts(&wildcards("/h/haproxy.cfg", "/c.pem").hosts);
    let wanted = [
        "http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n",
        "http-request set-var(txn.vhost) var(txn.host),map_str(/h/vhosts-http.map)\n",
        "http-request set-var(txn.vhost) var(txn.host),map_end(/h/wildcards-http.map) if !{ var(txn.vhost) -m found }\n",
        "http-request set-var(txn.path) path\n",
        "http-request set-var(txn.backend) var(txn.vhost),concat(,txn.path),map_beg(/h/hosts-http.map)\n",
        "redirect code 302 prefix http://new.example if { var(txn.vhost) -m str *.old.example }\n",
        "location /api/ if { var(txn.vhost) -m str *.books.example } { path -m str /api }\n",
        "set-path %[path,bytes(4)] if { var(txn.vhost) -m str *.books.example } { path_beg /api/ }\n",
    ];
    let mut at = 0;
    for want in wanted {
        let found = out[at..]
            .find(want)
            .unwrap_or_else(|| panic!("want {want:?} after byte {at} in\n{out}"));
        at += found + want.len();
    }
    assert!(!out.contains("var(txn.host) -m str"), "{out}");
}
