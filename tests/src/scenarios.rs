//! What a client sees through each proxy, written once and run against both
//! (see [`behaviour_tests!`](crate::behaviour_tests)). Every scenario starts
//! its own backends on 127.0.0.x, renders with the bundled plugin, starts the
//! real proxy on free ports and talks to it as a client would.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use sluice::wit::latest::{Upstream, VirtualHost};

use crate::backend::{Backend, Options};
use crate::certs::{Ca, Leaf};
use crate::client::{HostClient, websocket_echo};
use crate::h2;
use crate::inputs;
use crate::proxy::{Kind, Proxy, Routes, Workdir};

/// An upstream over these backends, one server each.
pub(crate) fn upstream(name: &str, backends: &[&Backend]) -> Upstream {
    let addrs: Vec<(String, u16)> = backends.iter().map(|b| (b.ip(), b.port())).collect();
    let servers: Vec<(&str, u16)> = addrs.iter().map(|(a, p)| (a.as_str(), *p)).collect();
    inputs::upstream(name, &servers)
}

/// `host`, terminating TLS with `cert` (written into `dir` as one PEM).
pub(crate) fn with_cert(mut host: VirtualHost, dir: &Workdir, cert: &Leaf) -> VirtualHost {
    let file = format!("{}.pem", host.name.trim_start_matches("*."));
    host.tls = Some(inputs::combined_pem(
        &dir.write(&file, &cert.combined_pem()),
    ));
    host
}

fn start(kind: Kind, scenario: &str, routes: Routes) -> Proxy {
    Proxy::start(kind, Workdir::new(kind, scenario), routes)
}

/// Which backend answered each of `n` GETs of `path`.
fn spread(client: &HostClient, path: &str, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        *seen.entry(client.get(path).identity().backend).or_insert(0) += 1;
    }
    seen
}

pub fn routing_by_host(kind: Kind) {
    let (a, b) = (
        Backend::http("a", "127.0.0.11"),
        Backend::http("b", "127.0.0.12"),
    );
    let proxy = start(
        kind,
        "routing",
        Routes::hosts(vec![
            inputs::host("a.test", upstream("a_test", &[&a])),
            inputs::host("b.test", upstream("b_test", &[&b])),
        ]),
    );
    let port = proxy.http_port;
    let got = HostClient::http("a.test", port).get("/");
    let id = got.identity();
    assert_eq!(
        (id.backend.as_str(), id.path.as_str()),
        ("a", "/"),
        "{got:?}"
    );
    assert_eq!(id.host.as_deref(), Some(&*format!("a.test:{port}")));

    let id = HostClient::http("b.test", port).get("/x/y?z=1").identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("b", "/x/y?z=1"));
    assert_eq!(id.host.as_deref(), Some(&*format!("b.test:{port}")));
}

pub fn unknown_host_is_503(kind: Kind) {
    let a = Backend::http("a", "127.0.0.11");
    let proxy = start(
        kind,
        "unknown",
        Routes::hosts(vec![inputs::host("a.test", upstream("a_test", &[&a]))]),
    );
    let got = HostClient::http("nobody.test", proxy.http_port).get("/");
    assert_eq!(got.status, 503, "{got:?}");
    assert_eq!(a.hits(), 0, "the known host's backend was not asked");
}

pub fn default_backend_takes_unknown_hosts(kind: Kind) {
    let (a, d) = (
        Backend::http("a", "127.0.0.11"),
        Backend::http("d", "127.0.0.13"),
    );
    let proxy = start(
        kind,
        "default",
        Routes {
            hosts: vec![inputs::host("a.test", upstream("a_test", &[&a]))],
            default_backend: Some(upstream("fallback", &[&d])),
            policies: Vec::new(),
        },
    );
    let port = proxy.http_port;
    let id = HostClient::http("nobody.test", port).get("/p").identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("d", "/p"));
    let id = HostClient::http("a.test", port).get("/").identity();
    assert_eq!(
        id.backend, "a",
        "a known host still reaches its own backend"
    );
}

pub fn context_root_with_and_without_rewrite(kind: Kind) {
    let (keep, strip) = (
        Backend::http("keep", "127.0.0.11"),
        Backend::http("strip", "127.0.0.12"),
    );
    let mut kept = inputs::bare_host("keep.test");
    kept.context_roots = vec![inputs::context_root(
        "/app",
        false,
        upstream("keep_app", &[&keep]),
    )];
    let mut stripped = inputs::bare_host("strip.test");
    stripped.context_roots = vec![inputs::context_root(
        "/app",
        true,
        upstream("strip_app", &[&strip]),
    )];
    let proxy = start(kind, "context-root", Routes::hosts(vec![kept, stripped]));
    let port = proxy.http_port;

    let id = HostClient::http("keep.test", port)
        .get("/app/x?q=1")
        .identity();
    assert_eq!(
        (id.backend.as_str(), id.path.as_str()),
        ("keep", "/app/x?q=1")
    );
    let id = HostClient::http("strip.test", port)
        .get("/app/x?q=1")
        .identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("strip", "/x?q=1"));
}

pub fn redirect_keeps_the_request_uri(kind: Kind) {
    let mut old = inputs::bare_host("old.test");
    old.redirects = vec![inputs::redirect(None, "http://new.test")];
    let proxy = start(kind, "redirect", Routes::hosts(vec![old]));
    let got = HostClient::http("old.test", proxy.http_port).get("/some/path?q=1");
    assert_eq!(got.status, 302, "{got:?}");
    assert_eq!(
        got.location.as_deref(),
        Some("http://new.test/some/path?q=1"),
        "{got:?}"
    );
}

/// A redirect naming the request's scheme wins over one naming none,
/// whichever comes first (docs/plugins.md).
pub fn the_redirect_naming_the_scheme_wins(kind: Kind) {
    let mut old = inputs::bare_host("old.test");
    old.redirects = vec![
        inputs::redirect(None, "http://any.test"),
        inputs::redirect(Some("http"), "http://named.test"),
    ];
    let proxy = start(kind, "redirect-scheme", Routes::hosts(vec![old]));
    let got = HostClient::http("old.test", proxy.http_port).get("/p");
    assert_eq!(got.status, 302, "{got:?}");
    assert_eq!(
        got.location.as_deref(),
        Some("http://named.test/p"),
        "{got:?}"
    );
}

pub fn sticky_cookie_keeps_the_session(kind: Kind) {
    let app = |id, ip| {
        Backend::start(
            id,
            ip,
            Options {
                session_cookie: Some("session"),
                ..Options::default()
            },
        )
    };
    let (s1, s2) = (app("s1", "127.0.0.11"), app("s2", "127.0.0.12"));
    let mut up = upstream("shop", &[&s1, &s2]);
    up.sticky_cookie = Some("session".into());
    let proxy = start(
        kind,
        "sticky",
        Routes::hosts(vec![inputs::host("shop.test", up)]),
    );
    let client = HostClient::http("shop.test", proxy.http_port);

    let without = spread(&client, "/", 10);
    assert_eq!(without.len(), 2, "without a cookie both serve: {without:?}");

    // The app hands out its session cookie; the client sends it back.
    let first = client.get("/login");
    let cookie = first
        .cookies
        .iter()
        .find(|c| c.starts_with("session="))
        .unwrap_or_else(|| panic!("the app's session cookie reached the client: {first:?}"))
        .clone();
    let mut answers = Vec::new();
    for _ in 0..10 {
        let got = client.get_with("/cart", &[("cookie", &cookie)]);
        assert!(
            got.cookies.is_empty(),
            "the app kept its session, so it handed out no new one: {got:?}"
        );
        answers.push(got.identity());
    }
    let first = &answers[0];
    assert!(first.session.is_some(), "the app got its cookie: {first:?}");
    assert!(
        answers
            .iter()
            .all(|a| a.backend == first.backend && a.session == first.session),
        "one backend, one session: {answers:?}"
    );
}

pub fn websocket_upgrade_echoes(kind: Kind) {
    let w = Backend::http("w", "127.0.0.11");
    let mut host = inputs::host("ws.test", upstream("ws_test", &[&w]));
    host.websocket_endpoints = vec!["/ws".into()];
    let proxy = start(kind, "websocket", Routes::hosts(vec![host]));
    let (status, reply) = websocket_echo("ws.test", proxy.http_port, "/ws", "hello");
    assert_eq!(status, 101);
    assert_eq!(reply, "w: hello");
}

pub fn tls_termination(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    let cert = ca.leaf(&["secure.test"]);
    let t = Backend::http("t", "127.0.0.11");
    let dir = Workdir::new(kind, "tls");
    let host = with_cert(
        inputs::host("secure.test", upstream("secure_test", &[&t])),
        &dir,
        &cert,
    );
    let proxy = Proxy::start(kind, dir, Routes::hosts(vec![host]));

    let got = HostClient::https("secure.test", proxy.https_port, &ca.pem).get("/hello");
    assert_eq!(
        got.peer_certificate.as_deref(),
        Some(&*cert.der),
        "the proxy presented the host's certificate"
    );
    let id = got.identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("t", "/hello"));
}

/// A TLS client naming a host nobody routes gets the default backend, with
/// the cluster's first certificate (HAProxy's default certificate: the
/// first crt-list line), as a plain HTTP client does; without a default
/// backend, a 503 over TLS rather than a closed connection.
pub fn default_backend_takes_unknown_tls_names(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    // Valid for the unknown name too, so the client can check the chain.
    let first = ca.leaf(&["a.test", "nobody.test"]);
    let second = ca.leaf(&["b.test"]);
    let (a, b, d) = (
        Backend::http("a", "127.0.0.11"),
        Backend::http("b", "127.0.0.12"),
        Backend::http("d", "127.0.0.13"),
    );
    let routes = |dir: &Workdir, default_backend| {
        let ha = with_cert(
            inputs::host("a.test", upstream("a_test", &[&a])),
            dir,
            &first,
        );
        let hb = with_cert(
            inputs::host("b.test", upstream("b_test", &[&b])),
            dir,
            &second,
        );
        Routes {
            hosts: vec![ha, hb],
            default_backend,
            policies: Vec::new(),
        }
    };
    let dir = Workdir::new(kind, "default-tls");
    let r = routes(&dir, Some(upstream("fallback", &[&d])));
    let proxy = Proxy::start(kind, dir, r);
    let got = HostClient::https("nobody.test", proxy.https_port, &ca.pem).get("/p");
    assert_eq!(
        got.peer_certificate.as_deref(),
        Some(&*first.der),
        "the first host's certificate"
    );
    let id = got.identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("d", "/p"));
    let id = HostClient::https("b.test", proxy.https_port, &ca.pem)
        .get("/")
        .identity();
    assert_eq!(id.backend, "b", "a known name still reaches its own host");
    drop(proxy);

    let dir = Workdir::new(kind, "default-tls-none");
    let r = routes(&dir, None);
    let proxy = Proxy::start(kind, dir, r);
    let got = HostClient::https("nobody.test", proxy.https_port, &ca.pem).get("/");
    assert_eq!(got.status, 503, "{got:?}");
    assert_eq!(
        a.hits() + b.hits(),
        1,
        "only the b.test request reached a host"
    );
}

/// HTTP/2 to TLS clients (ALPN h2), and a browser's connection reuse: two
/// hosts share a certificate, so a browser sends both names' requests on the
/// connection it opened for the first. Each request must reach its own
/// host's backend. (With nginx's loopback listener per TLS host, b.test's
/// request would have been answered by a.test's server.) A passthrough name
/// the certificate also covers is answered 421 Misdirected Request, so the
/// browser retries on a connection of its own.
pub fn http2_reused_connection_reaches_each_host(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    let shared = ca.leaf(&["a.test", "b.test", "p.test"]);
    let (a, b) = (
        Backend::http("a", "127.0.0.11"),
        Backend::http("b", "127.0.0.12"),
    );
    let own = ca.leaf(&["p.test"]);
    let p = Backend::start(
        "p",
        "127.0.0.13",
        Options {
            tls: Some(&own),
            ..Options::default()
        },
    );
    let mut pass = inputs::host("p.test", upstream("p_test", &[&p]));
    pass.passthrough = true;
    let dir = Workdir::new(kind, "h2");
    let ha = with_cert(
        inputs::host("a.test", upstream("a_test", &[&a])),
        &dir,
        &shared,
    );
    let hb = with_cert(
        inputs::host("b.test", upstream("b_test", &[&b])),
        &dir,
        &shared,
    );
    let proxy = Proxy::start(kind, dir, Routes::hosts(vec![ha, hb, pass]));
    let replies = h2::get_on_one_connection(
        proxy.https_port,
        "a.test",
        &ca.pem,
        &[
            ("a.test", "/one"),
            ("b.test", "/two"),
            ("p.test", "/pass"),
            ("a.test", "/three"),
        ],
    );
    assert_eq!(replies[2].status, 421, "{:?}", replies[2]);
    assert_eq!(p.hits(), 0, "the passthrough backend saw nothing");
    let got: Vec<(String, String)> = [&replies[0], &replies[1], &replies[3]]
        .into_iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{r:?}");
            let id: crate::backend::Identity = serde_json::from_str(&r.body)
                .unwrap_or_else(|e| panic!("not a backend identity ({e}): {r:?}"));
            (id.backend, id.path)
        })
        .collect();
    let want = [("a", "/one"), ("b", "/two"), ("a", "/three")].map(|(b, p)| (b.into(), p.into()));
    assert_eq!(got, want);
}

pub fn sni_passthrough_reaches_the_backend_tls(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    let proxy_cert = ca.leaf(&["term.test"]);
    let backend_cert = ca.leaf(&["pass.test"]);
    let p = Backend::start(
        "p",
        "127.0.0.11",
        Options {
            tls: Some(&backend_cert),
            ..Options::default()
        },
    );
    // A second passthrough host: both share the proxy's passthrough hop,
    // which must pick each one's servers by SNI.
    let other_cert = ca.leaf(&["other.test"]);
    let q = Backend::start(
        "q",
        "127.0.0.13",
        Options {
            tls: Some(&other_cert),
            ..Options::default()
        },
    );
    let t = Backend::http("t", "127.0.0.12");
    let dir = Workdir::new(kind, "passthrough");
    let mut pass = inputs::host("pass.test", upstream("pass_test", &[&p]));
    pass.passthrough = true;
    let mut other = inputs::host("other.test", upstream("other_test", &[&q]));
    other.passthrough = true;
    // A terminated host beside it, so the proxy has a certificate to show.
    let term = with_cert(
        inputs::host("term.test", upstream("term_test", &[&t])),
        &dir,
        &proxy_cert,
    );
    let proxy = Proxy::start(kind, dir, Routes::hosts(vec![other, pass, term]));

    let got = HostClient::https("other.test", proxy.https_port, &ca.pem).get("/o");
    assert_eq!(got.peer_certificate.as_deref(), Some(&*other_cert.der));
    assert_eq!(got.identity().backend, "q");

    let got = HostClient::https("pass.test", proxy.https_port, &ca.pem).get("/secret");
    assert_eq!(
        got.peer_certificate.as_deref(),
        Some(&*backend_cert.der),
        "the client saw the backend's certificate"
    );
    let id = got.identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("p", "/secret"));

    let got = HostClient::https("term.test", proxy.https_port, &ca.pem).get("/");
    assert_eq!(got.peer_certificate.as_deref(), Some(&*proxy_cert.der));
    assert_eq!(got.identity().backend, "t");
}

pub fn wildcard_host_routes_subdomains_exact_host_wins(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    let wild_cert = ca.leaf(&["*.wild.test"]);
    let pass_cert = ca.leaf(&["*.pass.test"]);
    let (w, api, e, eu) = (
        Backend::http("w", "127.0.0.11"),
        Backend::http("api", "127.0.0.12"),
        Backend::http("e", "127.0.0.13"),
        Backend::http("eu", "127.0.0.14"),
    );
    let p = Backend::start(
        "p",
        "127.0.0.15",
        Options {
            tls: Some(&pass_cert),
            ..Options::default()
        },
    );
    let dir = Workdir::new(kind, "wildcard");
    let mut wild = inputs::host("*.wild.test", upstream("wild_test", &[&w]));
    wild.context_roots = vec![inputs::context_root(
        "/api",
        true,
        upstream("wild_api", &[&api]),
    )];
    let wild = with_cert(wild, &dir, &wild_cert);
    let mut pass = inputs::host("*.pass.test", upstream("pass_test", &[&p]));
    pass.passthrough = true;
    let proxy = Proxy::start(
        kind,
        dir,
        Routes::hosts(vec![
            inputs::host("*.eu.wild.test", upstream("eu_wild_test", &[&eu])),
            pass,
            wild,
            inputs::host("exact.wild.test", upstream("exact_wild_test", &[&e])),
        ]),
    );
    let port = proxy.http_port;

    // (host, request path, backend, path the backend saw)
    let cases = [
        ("a.wild.test", "/x?q=1", "w", "/x?q=1"),
        ("a.b.wild.test", "/", "w", "/"),
        ("a.wild.test", "/api/x", "api", "/x"),
        // The exact host takes all its requests, the wildcard's context root too.
        ("exact.wild.test", "/api/x", "e", "/api/x"),
        // The longest wildcard wins.
        ("x.eu.wild.test", "/", "eu", "/"),
    ];
    for (host, path, backend, seen) in cases {
        let id = HostClient::http(host, port).get(path).identity();
        assert_eq!(
            (id.backend.as_str(), id.path.as_str()),
            (backend, seen),
            "GET http://{host}{path}"
        );
    }
    let got = HostClient::http("wild.test", port).get("/");
    assert_eq!(got.status, 503, "*.wild.test is not wild.test: {got:?}");

    let got = HostClient::https("a.wild.test", proxy.https_port, &ca.pem).get("/tls");
    assert_eq!(
        got.peer_certificate.as_deref(),
        Some(&*wild_cert.der),
        "the proxy presented the wildcard certificate"
    );
    let id = got.identity();
    assert_eq!((id.backend.as_str(), id.path.as_str()), ("w", "/tls"));

    let got = HostClient::https("x.pass.test", proxy.https_port, &ca.pem).get("/secret");
    assert_eq!(
        got.peer_certificate.as_deref(),
        Some(&*pass_cert.der),
        "a wildcard SNI passed through to the backend's TLS"
    );
    assert_eq!(got.identity().backend, "p");
}

pub fn weights_split_traffic(kind: Kind) {
    let (heavy, light) = (
        Backend::http("heavy", "127.0.0.11"),
        Backend::http("light", "127.0.0.12"),
    );
    let up = inputs::weighted_upstream(
        "canary_test",
        &[
            (&heavy.ip(), heavy.port(), 3, "heavy"),
            (&light.ip(), light.port(), 1, "light"),
        ],
    );
    let proxy = start(
        kind,
        "weights",
        Routes::hosts(vec![inputs::host("canary.test", up)]),
    );
    let seen = spread(&HostClient::http("canary.test", proxy.http_port), "/", 200);
    let heavy_share = seen.get("heavy").copied().unwrap_or(0);
    assert!(
        (120..=180).contains(&heavy_share) && seen.values().sum::<usize>() == 200,
        "3:1 weights over 200 requests: {seen:?}"
    );
}

pub fn ip_hash_pins_each_client(kind: Kind) {
    let (h1, h2) = (
        Backend::http("h1", "127.0.0.11"),
        Backend::http("h2", "127.0.0.12"),
    );
    let mut up = upstream("pinned", &[&h1, &h2]);
    up.ip_hash = true;
    let proxy = start(
        kind,
        "ip-hash",
        Routes::hosts(vec![inputs::host("pinned.test", up)]),
    );
    let mut served_by = BTreeMap::new();
    // nginx hashes an IPv4 client by its first three octets, HAProxy by the
    // whole address modulo the servers: vary the second and the last.
    for n in 1..=8u8 {
        let from = IpAddr::V4(Ipv4Addr::new(127, n, 0, n));
        let client = HostClient::http_from("pinned.test", proxy.http_port, from);
        let seen = spread(&client, "/", 5);
        assert_eq!(
            seen.len(),
            1,
            "client {from} stays on one backend: {seen:?}"
        );
        served_by.insert(from, seen.into_keys().next().expect("one backend"));
    }
    let used: std::collections::BTreeSet<_> = served_by.values().collect();
    assert_eq!(used.len(), 2, "clients spread over both: {served_by:?}");
}

/// One `#[test]` per scenario for `$kind` (a [`Kind`]).
#[macro_export]
macro_rules! behaviour_tests {
    ($kind:expr) => {
        $crate::behaviour_tests!(
            $kind;
            routing_by_host,
            unknown_host_is_503,
            default_backend_takes_unknown_hosts,
            context_root_with_and_without_rewrite,
            redirect_keeps_the_request_uri,
            the_redirect_naming_the_scheme_wins,
            sticky_cookie_keeps_the_session,
            websocket_upgrade_echoes,
            tls_termination,
            default_backend_takes_unknown_tls_names,
            sni_passthrough_reaches_the_backend_tls,
            http2_reused_connection_reaches_each_host,
            wildcard_host_routes_subdomains_exact_host_wins,
            weights_split_traffic,
            ip_hash_pins_each_client,
        );
    };
    ($kind:expr; $($scenario:ident),+ $(,)?) => {
        $(
            #[test]
            fn $scenario() {
                $crate::scenarios::$scenario($kind)
            }
        )+
    };
}
