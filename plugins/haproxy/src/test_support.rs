//! Builders for render inputs used across the unit tests.

use sluice_plugin_kit::*;

pub fn server(address: &str, port: u16, weight: u32) -> Server {
    Server {
        address: address.into(),
        port,
        weight,
        max_fails: None,
        fail_timeout_seconds: None,
        service: "svc".into(),
    }
}

pub fn upstream(name: &str, servers: Vec<Server>) -> Upstream {
    Upstream {
        name: name.into(),
        servers,
        sticky_cookie: None,
        ip_hash: false,
        tls: false,
        tls_verify: TlsVerify::None,
    }
}

pub fn host(name: &str, up: Option<Upstream>) -> Host {
    Host {
        name: name.into(),
        upstream: up,
        context_roots: vec![],
        websocket_endpoints: vec![],
        redirects: vec![],
        tls: None,
        passthrough: false,
    }
}

pub fn ctx(path: &str, rewrite: bool, up: Upstream) -> ContextRoot {
    ContextRoot {
        path: path.into(),
        rewrite,
        upstream: up,
    }
}

pub fn redirect(scheme: Option<&str>, target: &str) -> Redirect {
    Redirect {
        scheme: scheme.map(String::from),
        target: target.into(),
    }
}

pub fn input(config_path: &str, hosts: Vec<Host>) -> RenderInput {
    RenderInput {
        cluster: Cluster {
            name: "default".into(),
            service_cluster: "".into(),
            http_port: 8080,
            https_port: 8443,
            config_path: config_path.into(),
            settings: vec![],
            server_info: "sluice/0.1.0".into(),
        },
        hosts,
        default_backend: None,
    }
}

/// Every route feature at once. `pem` is the combined certificate for the
/// terminated hosts.
pub fn all_features(config_path: &str, pem: &str) -> RenderInput {
    let mut demo_a = server("10.0.1.5", 8080, 1);
    demo_a.max_fails = Some(3);
    demo_a.fail_timeout_seconds = Some(30);
    let mut demo_b = server("10.0.1.6", 8080, 1000);
    demo_b.max_fails = Some(0);
    let mut demo_c = server("fd00::7", 8080, 2);
    demo_c.fail_timeout_seconds = Some(5);
    let demo = host(
        "demo.local",
        Some(upstream("demo_local", vec![demo_a, demo_b, demo_c])),
    );

    let mut sticky = upstream(
        "shop_app",
        vec![server("10.0.2.7", 8080, 1), server("10.0.2.8", 8080, 1)],
    );
    sticky.sticky_cookie = Some("session".into());
    let mut hashed = upstream("shop_admin", vec![server("10.0.2.9", 8080, 1)]);
    hashed.ip_hash = true;
    let mut shop = host(
        "shop.local",
        Some(upstream("shop_local", vec![server("10.0.2.10", 80, 1)])),
    );
    shop.context_roots = vec![ctx("/app/admin", false, hashed), ctx("/app", true, sticky)];
    shop.websocket_endpoints = vec!["/ws".into()];

    let mut app_up = upstream("app_example_org", vec![server("10.0.3.4", 8443, 1)]);
    app_up.tls = true;
    let mut app = host("app.example.org", Some(app_up));
    app.tls = Some(TlsFiles {
        cert_path: pem.into(),
        key_path: None,
    });
    app.websocket_endpoints = vec!["/".into(), "/socket".into()];

    let mut api_up = upstream("api_example_org", vec![server("10.0.3.5", 8443, 1)]);
    api_up.tls = true;
    api_up.tls_verify = TlsVerify::Required;
    let mut api = host("api.example.org", Some(api_up));
    api.tls = Some(TlsFiles {
        cert_path: pem.into(),
        key_path: Some(format!("{pem}.key")),
    });
    api.redirects = vec![redirect(Some("http"), "https://api.example.org")];

    let mut secure = host(
        "secure.example.org",
        Some(upstream(
            "secure_example_org",
            vec![server("10.0.4.9", 8443, 1)],
        )),
    );
    secure.passthrough = true;
    secure.redirects = vec![redirect(Some("http"), "https://secure.example.org")];

    let mut old = host("old.local", None);
    old.redirects = vec![redirect(None, "http://new.local/%7Euser")];

    let mut hosts = vec![demo, shop, app, api, secure, old];
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    input(config_path, hosts)
}

pub fn setting(key: &str, value: SettingValue) -> Setting {
    Setting {
        key: key.into(),
        value,
    }
}

/// Wildcard hosts beside exact ones, in every role: routed with a
/// rewritten context root, redirected, terminated, passed through, and
/// terminated names a passthrough wildcard covers. `pem` as in
/// [`all_features`].
pub fn wildcards(config_path: &str, pem: &str) -> RenderInput {
    let up = |name: &str, ip: &str| upstream(name, vec![server(ip, 8080, 1)]);
    let tls = || {
        Some(TlsFiles {
            cert_path: pem.into(),
            key_path: None,
        })
    };
    let mut books = host("*.books.example", Some(up("books", "10.0.5.1")));
    books.context_roots = vec![ctx("/api", true, up("books_api", "10.0.5.2"))];
    let exact = host("a.books.example", Some(up("a_books", "10.0.5.3")));
    let deeper = host("*.eu.books.example", Some(up("eu_books", "10.0.5.4")));
    let mut old = host("*.old.example", None);
    old.redirects = vec![redirect(None, "http://new.example")];
    let mut shop = host("*.shop.example", Some(up("shop", "10.0.5.5")));
    shop.tls = tls();
    let mut pass = host("*.pass.example", Some(up("pass", "10.0.5.6")));
    pass.passthrough = true;
    let mut inside = host("in.pass.example", Some(up("in_pass", "10.0.5.7")));
    inside.tls = tls();
    let mut deep = host("*.deep.pass.example", Some(up("deep_pass", "10.0.5.8")));
    deep.tls = tls();
    let mut hosts = vec![books, exact, deeper, old, shop, pass, inside, deep];
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    input(config_path, hosts)
}
