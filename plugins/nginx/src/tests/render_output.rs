//! Whole-config assertions: Interlock's structure, its template bugs fixed.

use sluice_plugin_kit::*;

use super::fixtures::*;

/// A cluster exercising every host feature (also checked by real nginx in
/// `nginx_check`).
pub fn feature_hosts(cert: &str, key: &str, combined: &str) -> (Vec<Host>, Upstream) {
    let mut hosts = Vec::new();

    let mut demo = simple_host("demo.local", "10.0.1.5");
    let up = demo.upstream.as_mut().unwrap();
    up.servers.push(server("fd00::6", 8080));
    up.servers[0].weight = 3;
    up.servers[0].max_fails = Some(2);
    up.servers[0].fail_timeout_seconds = Some(15);
    hosts.push(demo);

    let mut shop = host("shop.local");
    let mut app = upstream("shop_app", &[("10.0.2.7", 8080)]);
    app.sticky_cookie = Some("session".into());
    let mut api = upstream("shop_api", &[("10.0.2.8", 9000)]);
    api.sticky_cookie = Some("connect.sid".into());
    let mut legacy = upstream("shop_legacy", &[("10.0.2.9", 80)]);
    legacy.ip_hash = true;
    shop.context_roots = vec![
        context_root("/legacy/v1", false, legacy),
        context_root("/app", true, app),
        context_root("/api/", false, api),
    ];
    shop.websocket_endpoints = vec!["/app/live".into(), "/api".into()];
    hosts.push(shop);

    let mut tls = simple_host("app.example.org", "10.0.3.4");
    tls.websocket_endpoints = vec!["/".into(), "/ws".into()];
    tls.tls = Some(tls_files(cert, Some(key)));
    tls.redirects = vec![redirect(Some("http"), "https://app.example.org")];
    hosts.push(tls);

    let mut combined_host = simple_host("pem.example.org", "10.0.3.5");
    combined_host.tls = Some(tls_files(combined, None));
    combined_host.redirects = vec![redirect(Some("https"), "https://elsewhere.example.org/")];
    hosts.push(combined_host);

    let mut secure = simple_host("secure.example.org", "10.0.4.9");
    secure.passthrough = true;
    secure.redirects = vec![redirect(Some("http"), "https://secure.example.org")];
    hosts.push(secure);

    let mut wild = simple_host("*.pt.example.org", "fd00::9");
    wild.passthrough = true;
    wild.upstream.as_mut().unwrap().ip_hash = true;
    hosts.push(wild);

    let mut backend_tls = simple_host("tlsbackend.local", "10.0.5.1");
    backend_tls.upstream.as_mut().unwrap().tls = true;
    let mut verified = upstream("verified", &[("10.0.5.2", 8443)]);
    verified.tls = true;
    verified.tls_verify = TlsVerify::Required;
    backend_tls.context_roots = vec![context_root("/verified", true, verified)];
    hosts.push(backend_tls);

    let mut old = host("old.local");
    old.redirects = vec![redirect(None, "http://new.local")];
    hosts.push(old);

    let mut down = host("down.local");
    down.upstream = Some(upstream("down_local", &[]));
    hosts.push(down);

    let long = format!("{}.{}.example.com", "a".repeat(63), "b".repeat(63));
    hosts.push(simple_host(&long, "10.0.6.1"));

    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    (hosts, upstream("fallback", &[("10.0.9.9", 80)]))
}

fn feature_input() -> RenderInput {
    let (hosts, _) = feature_hosts("/certs/cert.pem", "/certs/key.pem", "/certs/combined.pem");
    input(hosts, vec![])
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

/// The text of the first `server` block naming `name` and listening as `listen`.
fn server_block<'a>(text: &'a str, name: &str, listen: &str) -> &'a str {
    let mut from = 0;
    while let Some(i) = text[from..].find("    server {\n") {
        let start = from + i;
        let end = start + text[start..].find("\n    }\n").expect("closed server") + 7;
        let block = &text[start..end];
        if has_line(block, &format!("server_name {name};")) && block.contains(listen) {
            return block;
        }
        from = end;
    }
    panic!("no server {name} listening {listen} in\n{text}");
}

#[test]
fn same_input_same_bytes() {
    let a = rendered(&feature_input());
    let b = rendered(&feature_input());
    assert_eq!(a, b);
}

#[test]
fn main_file_at_config_path() {
    let mut i = feature_input();
    i.cluster.config_path = "/etc/nginx/custom.conf".into();
    let r = crate::render::render(&i, &[]).unwrap();
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].path, "/etc/nginx/custom.conf");
}

#[test]
fn context_roots_use_their_own_upstreams() {
    let text = rendered(&feature_input());
    let shop = server_block(&text, "shop.local", "listen 80;");
    let expected = [
        "location / {\n            return 404;",
        "location /legacy/v1 {\n            proxy_pass http://shop_legacy;",
        "location = /app {\n            return 301 \"/app/$is_args$args\";",
        "location /app/ {\n            proxy_pass http://shop_app/;",
        "location /api {\n            proxy_pass http://shop_api;",
        "location /app/live {\n            proxy_pass http://shop_app/live;",
    ];
    for want in expected {
        assert!(shop.contains(want), "missing {want:?} in\n{shop}");
    }
}

#[test]
fn upstream_blocks() {
    let text = rendered(&feature_input());
    for want in [
        "server 10.0.1.5:8080 weight=3 max_fails=2 fail_timeout=15s;",
        "server [fd00::6]:8080 weight=1;",
        "zone sluice_upstreams 89k;",
        "hash $cookie_session consistent;",
        "hash $sluice_cookie_shop_api consistent;",
        "ip_hash;",
    ] {
        assert!(has_line(&text, want), "missing {want:?} in\n{text}");
    }
    assert!(
        !text.contains("upstream down_local"),
        "empty upstream gets no block"
    );
    let legacy = &text[text.find("upstream shop_legacy {").expect("shop_legacy")..];
    let legacy = &legacy[..legacy.find('}').expect("closed")];
    assert!(!legacy.contains("zone"), "no zone with ip_hash: {legacy}");
    let http = &text[..text.find("\nstream {").expect("stream block")];
    assert_eq!(
        http.matches("zone sluice_upstreams 89k;").count(),
        http.matches("\n    upstream ").count() - http.matches("ip_hash;").count(),
        "one zone, named the same with the same size by every other upstream"
    );
    let down = server_block(&text, "down.local", "listen 80;");
    assert!(down.contains("return 503;"), "{down}");
}

#[test]
fn tls_backends_name_their_upstream() {
    let text = rendered(&feature_input());
    let block = server_block(&text, "tlsbackend.local", "listen 80;");
    assert!(
        has_line(block, "proxy_pass https://tlsbackend_local;"),
        "{block}"
    );
    assert!(has_line(block, "proxy_ssl_verify off;"), "{block}");
    assert!(has_line(block, "proxy_pass https://verified/;"), "{block}");
    assert!(has_line(block, "proxy_ssl_verify on;"), "{block}");
    assert!(!text.contains("proxy_pass https://;"));
}

#[test]
fn redirects_respect_scheme() {
    let text = rendered(&feature_input());
    // http-only redirect: the HTTP server redirects, the TLS server serves.
    let http = server_block(&text, "app.example.org", "listen 80;");
    assert!(
        has_line(http, "return 302 \"https://app.example.org$request_uri\";"),
        "{http}"
    );
    let tls = server_block(&text, "app.example.org", "ssl http2 proxy_protocol;");
    assert!(!tls.contains("return 302"), "{tls}");
    assert!(
        tls.contains("proxy_set_header Upgrade $http_upgrade;"),
        "websocket at / : {tls}"
    );
    // https-only redirect: the reverse.
    let http = server_block(&text, "pem.example.org", "listen 80;");
    assert!(!http.contains("return 302"), "{http}");
    let tls = server_block(&text, "pem.example.org", "ssl http2 proxy_protocol;");
    assert!(
        has_line(
            tls,
            "return 302 \"https://elsewhere.example.org$request_uri\";"
        ),
        "{tls}"
    );
    assert!(
        has_line(tls, "ssl_certificate_key \"/certs/combined.pem\";"),
        "{tls}"
    );
    // no scheme: every server of the host redirects.
    let old = server_block(&text, "old.local", "listen 80;");
    assert!(
        has_line(old, "return 302 \"http://new.local$request_uri\";"),
        "{old}"
    );
}

#[test]
fn passthrough_host_keeps_http_redirect() {
    let text = rendered(&feature_input());
    let http = server_block(&text, "secure.example.org", "listen 80;");
    assert!(
        has_line(
            http,
            "return 302 \"https://secure.example.org$request_uri\";"
        ),
        "{http}"
    );
    assert!(
        !text.contains("server_name *.pt.example.org;"),
        "passthrough without redirect has no http server"
    );
}

#[test]
fn stream_routes_every_tls_host() {
    let text = rendered(&feature_input());
    let stream = &text[text.find("\nstream {").expect("stream block")..];
    for want in [
        "default 127.0.0.1:10443;",
        "*.pt.example.org 127.0.0.1:10444;",
        "app.example.org 127.0.0.1:10443;",
        "pem.example.org 127.0.0.1:10443;",
        "secure.example.org 127.0.0.1:10444;",
        "*.pt.example.org __pt_example_org;",
        "listen 127.0.0.1:10444 proxy_protocol;",
        "proxy_pass $sluice_passthrough;",
        "listen 443;",
        "ssl_preread on;",
        "proxy_protocol on;",
        "hash $remote_addr consistent;",
        "server [fd00::9]:8080 weight=1;",
    ] {
        assert!(has_line(stream, want), "missing {want:?} in\n{stream}");
    }
    // Every TLS server shares one loopback listener; one is its default.
    let shared = "listen 127.0.0.1:10443 ssl http2 proxy_protocol;";
    let tls = server_block(&text, "app.example.org", "ssl http2 proxy_protocol;");
    assert!(tls.contains(shared), "{tls}");
    assert_eq!(
        text.matches(shared).count(),
        text.matches("ssl_certificate ").count() - 1,
        "every TLS server but the default on the shared port"
    );
    assert_eq!(
        text.matches("listen 127.0.0.1:10443 ssl http2 proxy_protocol default_server;")
            .count(),
        1
    );
}

/// Passthrough names answer 421 on the shared TLS port, so a client that
/// reused a terminated host's connection for one retries on its own.
#[test]
fn passthrough_names_are_misdirected_on_the_tls_port() {
    let text = rendered(&feature_input());
    let block = server_block(
        &text,
        "*.pt.example.org secure.example.org",
        "ssl http2 proxy_protocol;",
    );
    assert!(has_line(block, "return 421;"), "{block}");
    assert!(
        has_line(block, "listen 127.0.0.1:10443 ssl http2 proxy_protocol;"),
        "{block}"
    );
}

#[test]
fn http2_can_be_turned_off() {
    let mut i = feature_input();
    i.cluster.settings.push(sluice_plugin_kit::Setting {
        key: "HTTP2".into(),
        value: sluice_plugin_kit::SettingValue::Boolean(false),
    });
    let text = rendered(&i);
    assert!(!text.contains("http2"), "{text}");
    assert!(text.contains("listen 127.0.0.1:10443 ssl proxy_protocol;"));
}

#[test]
fn internal_ports_avoid_public_ports() {
    let mut i = feature_input();
    i.cluster.http_port = 10444;
    i.cluster.https_port = 10443;
    let text = rendered(&i);
    let stream = &text[text.find("\nstream {").unwrap()..];
    assert!(
        has_line(stream, "*.pt.example.org 127.0.0.1:10446;"),
        "{stream}"
    );
    assert!(
        has_line(stream, "app.example.org 127.0.0.1:10445;"),
        "{stream}"
    );
    assert!(has_line(stream, "listen 10443;"), "{stream}");
    assert!(!stream.contains("127.0.0.1:10443"));
    assert!(!stream.contains("127.0.0.1:10444"));
}

#[test]
fn no_stream_without_tls() {
    let i = input(vec![simple_host("a.com", "10.0.0.1")], vec![]);
    assert!(!rendered(&i).contains("stream {"));
}

#[test]
fn default_server_variants() {
    let none = rendered(&input(vec![], vec![]));
    let default = server_block(&none, "_", "default_server");
    assert!(default.contains("return 503 \"<html>"), "{default}");
    assert!(
        default.contains("location /nginx_status {\n            stub_status;"),
        "{default}"
    );

    let mut i = input(vec![], vec![]);
    i.default_backend = Some(upstream("fallback", &[("10.0.9.9", 80)]));
    let text = rendered(&i);
    let default = server_block(&text, "_", "default_server");
    assert!(
        has_line(default, "proxy_pass http://fallback;"),
        "{default}"
    );
    assert!(!default.contains("503"), "{default}");
    assert!(text.contains("upstream fallback {"));
}

#[test]
fn shared_upstream_written_once() {
    let mut a = simple_host("a.com", "10.0.0.1");
    let mut b = host("b.com");
    b.upstream = a.upstream.clone();
    a.context_roots = vec![context_root("/x", false, a.upstream.clone().unwrap())];
    let mut i = input(vec![a, b], vec![]);
    i.default_backend = i.hosts[0].upstream.clone();
    assert_eq!(rendered(&i).matches("upstream a_com {").count(), 1);
}

#[test]
fn info_headers_and_websocket_headers() {
    let text = rendered(&feature_input());
    assert!(has_line(
        &text,
        "add_header x-server-info \"sluice/0.1.0\";"
    ));
    assert!(has_line(&text, "map $http_upgrade $connection_upgrade {"));
    let hidden = rendered(&input(vec![], vec![boolean("HideInfoHeaders", true)]));
    assert!(!hidden.contains("add_header"));
}

#[test]
fn unsafe_settings_refused_at_render() {
    let i = input(vec![], vec![text("HTTPVersion", "2")]);
    match crate::render::render(&i, &[]) {
        Err(RenderError::InvalidSettings(d)) => {
            assert_eq!(d[0].key.as_deref(), Some("HTTPVersion"))
        }
        other => panic!(
            "expected invalid settings, got {:?}",
            other.map(|r| r.files)
        ),
    }
}

#[test]
fn warnings_reported() {
    let mut h = host("a.com");
    h.passthrough = true;
    let r = crate::render::render(&input(vec![h], vec![text("Bogus", "x")]), &[]).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("Bogus")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("no servers")),
        "{:?}",
        r.warnings
    );
}
