//! The routes' policies (`sluice.*` labels, renderer interface 1.2.0) as a
//! client sees them through each real proxy (see
//! [`policy_tests!`](crate::policy_tests)). Each scenario compares a host
//! with the policy against one without, so that it fails when the policy
//! does nothing.

use std::net::{IpAddr, Ipv4Addr};

use std::time::{Duration, Instant};

use sluice::render::PluginError;
use sluice::wit::latest::{
    BackendProtocol, BasicAuth, Header, HealthCheck, Hsts, PathRedirect, RateLimit, Rewrite,
    RoutePolicy,
};

use crate::backend::Backend;
use crate::certs::Ca;
use crate::client::HostClient;
use crate::grpc::{self, GrpcServer};
use crate::inputs;
use crate::proxy::{Kind, Proxy, Routes, Workdir};
use crate::scenarios::{upstream, with_cert};

/// No policy at all, for `upstream`.
pub fn policy(upstream: &str) -> RoutePolicy {
    RoutePolicy::none(upstream)
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
    }
}

/// `with.test` (policy `p`) and `without.test` (none), both to `b`.
fn two_hosts(kind: Kind, scenario: &str, b: &Backend, p: RoutePolicy) -> Proxy {
    let mut routes = Routes::hosts(vec![
        inputs::host("with.test", upstream("with_test", &[b])),
        inputs::host("without.test", upstream("without_test", &[b])),
    ]);
    routes.policies = vec![RoutePolicy {
        upstream: "with_test".into(),
        ..p
    }];
    Proxy::start(kind, Workdir::new(kind, scenario), routes)
}

pub fn read_timeout_cuts_slow_servers(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "timeout",
        &b,
        RoutePolicy {
            read_timeout_ms: Some(300),
            ..policy("")
        },
    );
    let port = proxy.http_port;
    let slow = HostClient::http("with.test", port).get("/sleep/1500");
    assert_eq!(slow.status, 504, "{slow:?}");
    assert_eq!(
        HostClient::http("with.test", port).get("/sleep/10").status,
        200
    );
    let other = HostClient::http("without.test", port).get("/sleep/1500");
    assert_eq!(
        other.status, 200,
        "the other host keeps the default: {other:?}"
    );
}

pub fn large_bodies_get_413(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "body",
        &b,
        RoutePolicy {
            max_body_bytes: Some(1024),
            ..policy("")
        },
    );
    let port = proxy.http_port;
    let with = HostClient::http("with.test", port);
    assert_eq!(with.post("/", vec![b'x'; 4096]).status, 413);
    assert_eq!(with.post("/", vec![b'x'; 100]).status, 200);
    let without = HostClient::http("without.test", port).post("/", vec![b'x'; 4096]);
    assert_eq!(without.status, 200, "{without:?}");
}

pub fn headers_are_set_both_ways(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "headers",
        &b,
        RoutePolicy {
            response_headers: vec![
                header("X-Frame-Options", "DENY"),
                header("X-Quote", "it's \"q\" 100%"),
            ],
            request_headers: vec![header("X-Tenant", "team-a")],
            ..policy("")
        },
    );
    let port = proxy.http_port;
    let got = HostClient::http("with.test", port).get("/h");
    assert_eq!(got.header("x-frame-options"), Some("DENY"), "{got:?}");
    assert_eq!(got.header("x-quote"), Some("it's \"q\" 100%"), "{got:?}");
    let id = got.identity();
    assert_eq!(
        id.headers.get("x-tenant").map(String::as_str),
        Some("team-a")
    );
    // What the location repeats of what it no longer inherits.
    assert_eq!(id.host.as_deref(), Some(&*format!("with.test:{port}")));
    assert!(
        id.headers.contains_key("x-forwarded-for"),
        "{:?}",
        id.headers
    );
    if kind == Kind::Nginx {
        assert!(got.header("x-request-id").is_some(), "{got:?}");
    }
    let other = HostClient::http("without.test", port).get("/h");
    assert_eq!(other.header("x-frame-options"), None);
    assert!(!other.identity().headers.contains_key("x-tenant"));
}

pub fn hsts_only_over_tls(kind: Kind) {
    let ca = Ca::new("sluice test CA");
    let cert = ca.leaf(&["secure.test"]);
    let b = Backend::http("b", "127.0.0.11");
    let dir = Workdir::new(kind, "hsts");
    let host = with_cert(
        inputs::host("secure.test", upstream("secure_test", &[&b])),
        &dir,
        &cert,
    );
    let mut routes = Routes::hosts(vec![host]);
    routes.policies = vec![RoutePolicy {
        hsts: Some(Hsts {
            max_age_seconds: 31_536_000,
            include_subdomains: true,
            preload: false,
        }),
        ..policy("secure_test")
    }];
    let proxy = Proxy::start(kind, dir, routes);
    let tls = HostClient::https("secure.test", proxy.https_port, &ca.pem).get("/");
    assert_eq!(
        tls.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains"),
        "{tls:?}"
    );
    let plain = HostClient::http("secure.test", proxy.http_port).get("/");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("strict-transport-security"), None, "{plain:?}");
}

pub fn only_allowed_clients_are_served(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "allow",
        &b,
        RoutePolicy {
            allow: vec!["127.0.0.2/32".into(), "10.0.0.0/8".into()],
            ..policy("")
        },
    );
    let port = proxy.http_port;
    let from = |a: u8| IpAddr::V4(Ipv4Addr::new(127, 0, 0, a));
    assert_eq!(
        HostClient::http_from("with.test", port, from(3))
            .get("/")
            .status,
        403
    );
    assert_eq!(
        HostClient::http_from("with.test", port, from(2))
            .get("/")
            .status,
        200
    );
    assert_eq!(
        HostClient::http_from("without.test", port, from(3))
            .get("/")
            .status,
        200
    );
}

/// With a server that refuses connections beside a live one: no retries
/// fail some requests, two retries none.
pub fn retries_pass_over_a_dead_server(kind: Kind) {
    let live = Backend::http("live", "127.0.0.11");
    let dead = {
        // A port nothing listens on (bound, then closed).
        let l = std::net::TcpListener::bind("127.0.0.12:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let failed = |retries: u32| {
        let mut up = upstream("with_test", &[&live]);
        up.servers.insert(
            0,
            inputs::upstream("x", &[("127.0.0.12", dead)]).servers[0].clone(),
        );
        let mut routes = Routes::hosts(vec![inputs::host("with.test", up)]);
        routes.policies = vec![RoutePolicy {
            retries: Some(retries),
            ..policy("with_test")
        }];
        let proxy = Proxy::start(
            kind,
            Workdir::new(kind, &format!("retries{retries}")),
            routes,
        );
        let client = HostClient::http("with.test", proxy.http_port);
        (0..6).filter(|_| client.get("/").status != 200).count()
    };
    assert!(
        failed(0) > 0,
        "without retries a request meets the dead server"
    );
    assert_eq!(failed(2), 0, "with retries none fails");
}

pub fn compression_on_and_off(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let gzip = |compression: bool| {
        let proxy = two_hosts(
            kind,
            &format!("gzip-{compression}"),
            &b,
            RoutePolicy {
                compression: Some(compression),
                ..policy("")
            },
        );
        let got = HostClient::http("with.test", proxy.http_port)
            .get_with("/big", &[("Accept-Encoding", "gzip")]);
        assert_eq!(got.status, 200);
        got.header("content-encoding").map(str::to_owned)
    };
    assert_eq!(gzip(true).as_deref(), Some("gzip"));
    assert_eq!(gzip(false), None);
}

/// A real gRPC client reaches a real gRPC server through the proxy: over
/// TLS (HTTP/2 by ALPN) on both, and over plain HTTP/2 (prior knowledge) on
/// HAProxy, whose plain port takes HTTP/1.1 too.
pub fn grpc_reaches_a_grpc_server(kind: Kind) {
    let server = GrpcServer::start("g1");
    let ca = Ca::new("sluice test CA");
    let cert = ca.leaf(&["grpc.test"]);
    let dir = Workdir::new(kind, "grpc");
    let ca_file = dir.write("ca.pem", &ca.pem);
    let up = inputs::upstream("grpc_test", &[("127.0.0.1", server.port)]);
    let host = with_cert(inputs::host("grpc.test", up), &dir, &cert);
    let web = Backend::http("web", "127.0.0.11");
    let mut routes = Routes::hosts(vec![
        host,
        inputs::host("web.test", upstream("web_test", &[&web])),
    ]);
    routes.policies = vec![RoutePolicy {
        protocol: BackendProtocol::Grpc,
        ..policy("grpc_test")
    }];
    let proxy = Proxy::start(kind, dir, routes);
    let tls = format!("127.0.0.1:{}", proxy.https_port);
    let got = grpc::call(&tls, "grpc.test", Some(&ca_file), "over tls");
    assert_eq!(got.as_deref(), Ok("echo:over tls from g1"));
    if kind == Kind::Haproxy {
        let plain = format!("127.0.0.1:{}", proxy.http_port);
        let got = grpc::call(&plain, "grpc.test", None, "cleartext");
        assert_eq!(got.as_deref(), Ok("echo:cleartext from g1"));
    }
    // The same port still serves HTTP/1.1 to the other host.
    let id = HostClient::http("web.test", proxy.http_port)
        .get("/")
        .identity();
    assert_eq!(id.backend, "web");
}

/// 5 requests a second and a burst of 5: of 30 sent at once, some get 429
/// and at least the burst gets through; the other host limits nothing.
pub fn rate_limit_answers_429(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "rate",
        &b,
        RoutePolicy {
            rate_limit: Some(RateLimit {
                per_second: 5,
                burst: 5,
            }),
            ..policy("")
        },
    );
    let statuses = |host: &str| {
        let client = HostClient::http(host, proxy.http_port);
        let got: Vec<u16> = (0..30).map(|_| client.get("/").status).collect();
        let limited = got.iter().filter(|s| **s == 429).count();
        let served = got.iter().filter(|s| **s == 200).count();
        (limited, served, got)
    };
    let (limited, served, got) = statuses("with.test");
    assert!(
        limited > 0 && served >= 5 && limited + served == 30,
        "{got:?}"
    );
    let (limited, _, got) = statuses("without.test");
    assert_eq!(limited, 0, "{got:?}");
}

/// An htpasswd secret (SHA-512 crypt, which nginx reads through the C
/// library): no or wrong credentials get 401, the right ones the service.
/// HAProxy cannot read one: its plugin refuses the label, by name.
pub fn basic_auth_from_an_htpasswd_file(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let dir = Workdir::new(kind, "auth");
    let hash = std::process::Command::new("openssl")
        .args(["passwd", "-6", "-salt", "sluicesalt", "s3cret"])
        .output()
        .expect("openssl passwd");
    assert!(hash.status.success());
    let line = format!("alice:{}", String::from_utf8(hash.stdout).unwrap().trim());
    let users = dir.write("users.htpasswd", &format!("{line}\n"));
    let p = RoutePolicy {
        basic_auth: Some(BasicAuth {
            users_path: users,
            realm: "Team A".into(),
        }),
        ..policy("with_test")
    };
    let mut routes = Routes::hosts(vec![
        inputs::host("with.test", upstream("with_test", &[&b])),
        inputs::host("without.test", upstream("without_test", &[&b])),
    ]);
    routes.policies = vec![p];
    if kind == Kind::Haproxy {
        let refused = crate::proxy::refusal(kind, &dir, routes);
        let PluginError::InvalidInput { diagnostics, .. } = &refused else {
            panic!("{refused:?}");
        };
        assert_eq!(diagnostics[0].key.as_deref(), Some("sluice.auth.basic"));
        assert!(diagnostics[0].message.contains("with_test"), "{refused}");
        return;
    }
    let proxy = Proxy::start(kind, dir, routes);
    let client = HostClient::http("with.test", proxy.http_port);
    let none = client.get("/");
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Basic realm=\"Team A\""),
        "{none:?}"
    );
    // alice:wrong, alice:s3cret
    let wrong = client.get_with("/", &[("Authorization", "Basic YWxpY2U6d3Jvbmc=")]);
    assert_eq!(wrong.status, 401);
    let right = client.get_with("/", &[("Authorization", "Basic YWxpY2U6czNjcmV0")]);
    assert_eq!(right.identity().backend, "b");
    let other = HostClient::http("without.test", proxy.http_port).get("/");
    assert_eq!(other.status, 200, "{other:?}");
}

/// Path prefix redirects (status and the rest of the path and query kept)
/// and a regex rewrite of the path the service sees.
pub fn path_redirects_and_rewrites(kind: Kind) {
    let b = Backend::http("b", "127.0.0.11");
    let proxy = two_hosts(
        kind,
        "paths",
        &b,
        RoutePolicy {
            path_redirects: vec![
                PathRedirect {
                    from_prefix: "/old/deep".into(),
                    to_prefix: "/deeper".into(),
                    status: 308,
                },
                PathRedirect {
                    from_prefix: "/old".into(),
                    to_prefix: "/new".into(),
                    status: 308,
                },
            ],
            rewrite: Some(Rewrite {
                pattern: r"^/api/v1/(\d+)/(.*)$".into(),
                replacement: "/v1/$2/item-$1".into(),
            }),
            ..policy("")
        },
    );
    let with = HostClient::http("with.test", proxy.http_port);
    for (path, location) in [
        ("/old/x?q=1", "/new/x?q=1"),
        ("/old/deep/y", "/deeper/y"),
        ("/older", "/newer"),
        ("/old/%0d%0aSet-Cookie:x=1", "/new/%0d%0aSet-Cookie:x=1"),
    ] {
        let got = with.get(path);
        assert_eq!(got.status, 308, "{path}: {got:?}");
        assert_eq!(got.location.as_deref(), Some(location), "{path}: {got:?}");
        assert!(got.cookies.is_empty(), "{path}: {got:?}");
    }
    assert_eq!(
        with.get("/api/v1/42/a/b?z=2").identity().path,
        "/v1/a/b/item-42?z=2"
    );
    // Paths that match neither go as they came.
    assert_eq!(with.get("/api/v2/42/a").identity().path, "/api/v2/42/a");
    let without = HostClient::http("without.test", proxy.http_port);
    assert_eq!(without.get("/old/x").identity().path, "/old/x");
    assert_eq!(without.get("/api/v1/42/a").identity().path, "/api/v1/42/a");
}

/// Two servers; one starts failing (503 on every path, its health path
/// too). No idempotent request fails meanwhile; within the check's window
/// traffic has left it (HAProxy: probed out; nginx: passed over and
/// resting, so it sees a try per rest at most), and after it recovers it
/// serves again.
pub fn health_checks_move_traffic(kind: Kind) {
    let a = Backend::http("a", "127.0.0.11");
    let b = Backend::http("b", "127.0.0.12");
    let check = HealthCheck {
        path: "/healthz".into(),
        interval_ms: 200,
        fall: 2,
        rise: 2,
    };
    let mut routes = Routes::hosts(vec![inputs::host(
        "with.test",
        upstream("with_test", &[&a, &b]),
    )]);
    routes.policies = vec![RoutePolicy {
        health_check: Some(check),
        ..policy("with_test")
    }];
    let proxy = Proxy::start(kind, Workdir::new(kind, "health"), routes);
    let client = HostClient::http("with.test", proxy.http_port);
    let run = |d: Duration| {
        let (mut failed, mut sent, mut seen) = (Vec::new(), 0, std::collections::BTreeMap::new());
        let end = Instant::now() + d;
        while Instant::now() < end {
            let got = client.get("/");
            sent += 1;
            if got.status == 200 {
                *seen.entry(got.identity().backend).or_insert(0) += 1;
            } else {
                failed.push(got.status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (failed, sent, seen)
    };
    let (failed, _, seen) = run(Duration::from_millis(600));
    assert!(failed.is_empty() && seen.len() == 2, "{failed:?} {seen:?}");
    if kind == Kind::Haproxy {
        assert!(a.health_hits() > 0, "HAProxy probes the health path");
    }
    a.set_failing(true);
    // The window: fall × interval, and one interval more.
    let (failed, _, _) = run(Duration::from_millis(600));
    assert!(
        failed.is_empty(),
        "requests failed while a failed: {failed:?}"
    );
    let before = a.hits();
    let (failed, sent, seen) = run(Duration::from_millis(1000));
    let tried = a.hits() - before;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(seen.get("a"), None, "{seen:?}");
    match kind {
        Kind::Haproxy => assert_eq!(tried, 0, "a is out of rotation"),
        // One try per rest (interval × fall, rounded up to 1 s).
        Kind::Nginx => assert!(tried <= 2, "a tried {tried} times of {sent}"),
    }
    a.set_failing(false);
    let deadline = Instant::now() + Duration::from_secs(4);
    let back = loop {
        if client.get("/").identity().backend == "a" {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(back, "a serves again after it recovered");
}

#[macro_export]
macro_rules! policy_tests {
    ($kind:expr) => {
        $crate::policy_tests!(
            $kind;
            read_timeout_cuts_slow_servers,
            large_bodies_get_413,
            headers_are_set_both_ways,
            hsts_only_over_tls,
            only_allowed_clients_are_served,
            retries_pass_over_a_dead_server,
            compression_on_and_off,
            grpc_reaches_a_grpc_server,
            rate_limit_answers_429,
            basic_auth_from_an_htpasswd_file,
            path_redirects_and_rewrites,
            health_checks_move_traffic,
        );
    };
    ($kind:expr; $($scenario:ident),+ $(,)?) => {
        mod policies {
            $(
                #[test]
                fn $scenario() {
                    $crate::policy_scenarios::$scenario($kind)
                }
            )+
        }
    };
}
