use super::*;
use crate::test_support::*;

fn keys(t: &Table) -> Vec<(String, String)> {
    t.routes
        .iter()
        .map(|r| (r.key(), r.backend.clone()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn http_routes_longest_key_first() {
    let t = table(
        &all_features("/etc/haproxy/haproxy.cfg", "/run/secrets/x.pem").hosts,
        Scheme::Http,
    );
    assert_eq!(
        keys(&t),
        owned(&[
            ("app.example.org/socket", "up_app_example_org"),
            ("shop.local/app/admin", "up_shop_admin"),
            ("api.example.org/", "up_api_example_org"),
            ("app.example.org/", "up_app_example_org"),
            ("shop.local/app", "up_shop_app"),
            ("shop.local/ws", "up_shop_local"),
            ("demo.local/", "up_demo_local"),
            ("shop.local/", "up_shop_local"),
        ])
    );
    // secure.example.org is passthrough: its http redirect only.
    let redirects: Vec<_> = t
        .redirects
        .iter()
        .map(|r| (r.host.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        redirects,
        [
            ("api.example.org", "https://api.example.org"),
            ("old.local", "http://new.local/%7Euser"),
            ("secure.example.org", "https://secure.example.org"),
        ]
    );
    assert_eq!(
        t.rewrites,
        [Rewrite {
            host: "shop.local".into(),
            prefix: "/app".into(),
            longer: vec!["/app/admin".into()]
        }]
    );
}

#[test]
fn https_routes_only_terminated_hosts() {
    let t = table(
        &all_features("/etc/haproxy/haproxy.cfg", "/run/secrets/x.pem").hosts,
        Scheme::Https,
    );
    assert_eq!(
        keys(&t),
        owned(&[
            ("app.example.org/socket", "up_app_example_org"),
            ("api.example.org/", "up_api_example_org"),
            ("app.example.org/", "up_app_example_org"),
        ])
    );
    // api's redirect is http-only; the others have no TLS here.
    assert!(t.redirects.is_empty(), "{:?}", t.redirects);
    assert!(t.rewrites.is_empty());
}

#[test]
fn redirect_schemes() {
    let cases: &[(Option<&str>, bool, bool)] = &[
        (None, true, true),
        (Some("http"), true, false),
        (Some("HTTPS"), false, true),
    ];
    for (scheme, on_http, on_https) in cases {
        let mut h = host("old.example.org", None);
        h.tls = Some(sluice_plugin_kit::TlsFiles {
            cert_path: "/c.pem".into(),
            key_path: None,
        });
        h.redirects = vec![redirect(*scheme, "https://new.example.org")];
        let hosts = [h];
        assert_eq!(
            !table(&hosts, Scheme::Http).redirects.is_empty(),
            *on_http,
            "{scheme:?} on http"
        );
        assert_eq!(
            !table(&hosts, Scheme::Https).redirects.is_empty(),
            *on_https,
            "{scheme:?} on https"
        );
    }
}

#[test]
fn first_redirect_of_a_host_wins() {
    let mut h = host("old.local", None);
    h.redirects = vec![redirect(None, "http://one"), redirect(None, "http://two")];
    let t = table(&[h], Scheme::Http);
    assert_eq!(
        t.redirects,
        [Redirect {
            host: "old.local".into(),
            target: "http://one".into()
        }]
    );
}

#[test]
fn duplicate_paths_keep_the_context_root() {
    let up = |n: &str| upstream(n, vec![]);
    let mut h = host("a.local", Some(up("main")));
    h.context_roots = vec![
        ctx("/x/", true, up("ctx")),
        ctx("/x", false, up("other")),
        ctx("/", true, up("root")),
    ];
    h.websocket_endpoints = vec!["/x".into(), "/ws".into()];
    let t = table(&[h], Scheme::Http);
    assert_eq!(
        keys(&t),
        owned(&[
            ("a.local/ws", "up_main"),
            ("a.local/x", "up_ctx"),
            ("a.local/", "up_root")
        ])
    );
    // `/x/` normalised to `/x`; a rewrite of `/` strips nothing.
    assert_eq!(
        t.rewrites,
        [Rewrite {
            host: "a.local".into(),
            prefix: "/x".into(),
            longer: vec![]
        }]
    );
}

#[test]
fn host_without_upstream_has_only_its_context_roots() {
    let mut h = host("a.local", None);
    h.context_roots = vec![ctx("/api", false, upstream("api", vec![]))];
    h.websocket_endpoints = vec!["/ws".into()];
    assert_eq!(
        keys(&table(&[h], Scheme::Http)),
        owned(&[("a.local/api", "up_api")])
    );
}

#[test]
fn map_file_lines() {
    let t = table(
        &[host("a.local", Some(upstream("a", vec![])))],
        Scheme::Http,
    );
    assert_eq!(map_file(&t), "a.local/ up_a\n");
    assert_eq!(map_file(&Table::default()), "");
}

#[test]
fn wildcard_routes_are_keyed_by_pattern() {
    let inp = wildcards("/etc/haproxy/haproxy.cfg", "/c.pem");
    let t = table(&inp.hosts, Scheme::Http);
    assert_eq!(
        keys(&t),
        owned(&[
            ("*.deep.pass.example/", "up_deep_pass"),
            ("*.books.example/api", "up_books_api"),
            ("*.eu.books.example/", "up_eu_books"),
            ("*.books.example/", "up_books"),
            ("a.books.example/", "up_a_books"),
            ("in.pass.example/", "up_in_pass"),
            ("*.shop.example/", "up_shop"),
        ])
    );
    assert_eq!(
        t.rewrites,
        [Rewrite {
            host: "*.books.example".into(),
            prefix: "/api".into(),
            longer: vec![]
        }]
    );
    assert_eq!(
        t.redirects,
        [Redirect {
            host: "*.old.example".into(),
            target: "http://new.example".into()
        }]
    );
    assert!(t.has_wildcards());
}

/// The names a frontend answers for: what it routes or redirects, and on
/// the TLS frontend every terminated host.
#[test]
fn names_per_frontend() {
    let up = || Some(upstream("u", vec![]));
    let tls = || {
        Some(sluice_plugin_kit::TlsFiles {
            cert_path: "/c.pem".into(),
            key_path: None,
        })
    };
    let mut pass = host("*.pass.example", up());
    pass.passthrough = true;
    let mut pass_redirected = host("r.pass.example", up());
    pass_redirected.passthrough = true;
    pass_redirected.redirects = vec![redirect(Some("http"), "https://r.pass.example")];
    let mut bare_tls = host("bare.example", None);
    bare_tls.tls = tls();
    let mut wild_tls = host("*.tls.example", up());
    wild_tls.tls = tls();
    let hosts = [
        host("*.a.example", up()),
        host("nothing.example", None),
        pass,
        pass_redirected,
        bare_tls,
        wild_tls,
    ];
    let cases: &[(Scheme, &[&str], bool)] = &[
        (
            Scheme::Http,
            &["*.a.example", "*.tls.example", "r.pass.example"],
            true,
        ),
        (Scheme::Https, &["*.tls.example", "bare.example"], true),
    ];
    for (scheme, want, wild) in cases {
        let t = table(&hosts, *scheme);
        assert_eq!(t.names, *want, "{scheme:?}");
        assert_eq!(t.has_wildcards(), *wild, "{scheme:?}");
    }
    assert!(!table(&hosts[1..2], Scheme::Http).has_wildcards());
    assert!(!table(&[host("a.example", up())], Scheme::Http).has_wildcards());
}
