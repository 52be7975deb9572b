use super::labels::{BackendMode, RedirectRule};
use super::*;
use crate::wit::latest::Redirect;

fn servers(service: &str, addrs: &[&str]) -> Vec<Server> {
    addrs
        .iter()
        .map(|a| Server {
            address: a.to_string(),
            port: 8080,
            weight: 1,
            max_fails: None,
            fail_timeout_seconds: None,
            service: service.into(),
        })
        .collect()
}

fn svc(name: &str, hosts: &[&str], addrs: &[&str]) -> Routed {
    Routed {
        name: name.into(),
        route: Box::new(ServiceRoute {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            port: 8080,
            ..ServiceRoute::default()
        }),
        servers: servers(name, addrs),
        network: Some(NetRef {
            id: format!("{name}-net"),
            name: format!("{name}net"),
        }),
        created: Created::Unknown,
        collection: None,
        serves: true,
    }
}

fn with(mut s: Routed, f: impl FnOnce(&mut ServiceRoute)) -> Routed {
    f(&mut s.route);
    s
}

fn host<'a>(m: &'a ClusterRoutes, name: &str) -> &'a Host {
    m.hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn server_list(u: &Upstream) -> Vec<String> {
    u.servers
        .iter()
        .map(|s| format!("{}/{}:{}w{}", s.service, s.address, s.port, s.weight))
        .collect()
}

fn errors(m: &ClusterRoutes) -> Vec<&Diagnostic> {
    m.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

fn warnings(m: &ClusterRoutes) -> Vec<&Diagnostic> {
    m.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

#[test]
fn canary_services_share_one_upstream_sorted() {
    let m = merge(vec![
        svc("web-v2", &["demo.local"], &["10.0.1.9"]),
        svc(
            "web",
            &["demo.local"],
            &["10.0.1.10", "10.0.1.2", "10.0.1.3", "10.0.1.4"],
        ),
    ]);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let u = host(&m, "demo.local").upstream.as_ref().unwrap();
    assert_eq!(u.name, "demo_local");
    // Service, then numeric address order; weights 1: share ∝ tasks (Interlock).
    assert_eq!(
        server_list(u),
        [
            "web/10.0.1.2:8080w1",
            "web/10.0.1.3:8080w1",
            "web/10.0.1.4:8080w1",
            "web/10.0.1.10:8080w1",
            "web-v2/10.0.1.9:8080w1"
        ]
    );
    assert_eq!(m.used, ["web".to_string(), "web-v2".to_string()].into());
}

#[test]
fn weights_apply_per_upstream() {
    let m = merge(vec![
        with(
            svc(
                "stable",
                &["a.local"],
                &["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"],
            ),
            |r| r.weight = Some(90),
        ),
        with(svc("canary", &["a.local"], &["10.0.0.9"]), |r| {
            r.weight = Some(10)
        }),
        svc("other", &["b.local"], &["10.0.0.20", "10.0.0.21"]),
    ]);
    let a = host(&m, "a.local").upstream.as_ref().unwrap();
    let weights: Vec<(String, u32)> = a
        .servers
        .iter()
        .map(|s| (s.service.clone(), s.weight))
        .collect();
    assert_eq!(weights[0], ("canary".into(), 4));
    assert!(weights[1..].iter().all(|(s, w)| s == "stable" && *w == 9));
    let b = host(&m, "b.local").upstream.as_ref().unwrap();
    assert!(b.servers.iter().all(|s| s.weight == 1));
}

#[test]
fn unrepresentable_weights_warn() {
    let m = merge(vec![
        with(svc("big", &["a.local"], &["10.0.0.1"]), |r| {
            r.weight = Some(1000)
        }),
        with(svc("tiny", &["a.local"], &["10.0.0.2"]), |r| {
            r.weight = Some(1)
        }),
    ]);
    let w = warnings(&m);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].label.as_deref(), Some(labels::WEIGHT));
    assert!(w[0].message.contains("big") && w[0].message.contains("tiny"));
}

#[test]
fn hosts_sorted_and_each_service_in_all_its_hosts() {
    let m = merge(vec![
        svc("zeta", &["z.local", "a.local"], &["10.0.0.1"]),
        svc("alpha", &["m.local"], &["10.0.0.2"]),
    ]);
    let names: Vec<&str> = m.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["a.local", "m.local", "z.local"]);
}

#[test]
fn upstream_settings_from_the_first_service_with_warning() {
    // (label, setter for service "b" only) → the "a" value wins, warning names both.
    type Setter = fn(&mut ServiceRoute);
    let cases: &[(&str, Setter)] = &[
        (labels::STICKY_SESSION_COOKIE, |r| {
            r.sticky_session_cookie = Some("sid".into())
        }),
        (labels::IP_HASH, |r| r.ip_hash = true),
        (labels::SSL_BACKEND, |r| r.ssl_backend = true),
        (labels::SSL_BACKEND_TLS_VERIFY, |r| {
            r.ssl_backend_tls_verify = TlsVerify::Required
        }),
    ];
    for (label, set) in cases {
        let m = merge(vec![
            with(svc("b", &["x.local"], &["10.0.0.2"]), *set),
            svc("a", &["x.local"], &["10.0.0.1"]),
        ]);
        let h = host(&m, "x.local");
        let u = h.upstream.as_ref().unwrap();
        assert_eq!(u.sticky_cookie, None);
        assert!(!u.ip_hash && !u.tls && u.tls_verify == wit::TlsVerify::None);
        assert!(h.tls.is_none());
        let w = warnings(&m);
        assert_eq!(w.len(), 1, "{label}: {w:?}");
        assert_eq!(w[0].label.as_deref(), Some(*label));
        assert_eq!(w[0].service.as_deref(), Some("b"));
        assert!(
            w[0].message.contains("services a") && w[0].message.contains(" b "),
            "{}",
            w[0].message
        );
        assert!(m.secrets.is_empty());
    }
}

#[test]
fn agreeing_settings_are_used_silently() {
    let set = |r: &mut ServiceRoute| {
        r.sticky_session_cookie = Some("sid".into());
        r.ssl_backend = true;
        r.ssl_backend_tls_verify = TlsVerify::Required;
        r.ssl_cert = Some("x.cert".into());
        r.ssl_key = Some("x.key".into());
    };
    let m = merge(vec![
        with(svc("a", &["x.local"], &["10.0.0.1"]), set),
        with(svc("b", &["x.local"], &["10.0.0.2"]), set),
    ]);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let h = host(&m, "x.local");
    let u = h.upstream.as_ref().unwrap();
    assert_eq!(u.sticky_cookie.as_deref(), Some("sid"));
    assert!(u.tls && u.tls_verify == wit::TlsVerify::Required);
    assert_eq!(
        h.tls,
        Some(TlsFiles {
            cert_path: "/run/secrets/x.cert".into(),
            key_path: Some("/run/secrets/x.key".into())
        })
    );
    assert_eq!(
        m.secrets,
        ["x.cert".to_string(), "x.key".to_string()].into()
    );
}

#[test]
fn cert_without_key_gives_combined_pem_path() {
    let m = merge(vec![with(svc("a", &["x.local"], &["10.0.0.1"]), |r| {
        r.ssl_cert = Some("x.pem".into())
    })]);
    assert_eq!(
        host(&m, "x.local").tls,
        Some(TlsFiles {
            cert_path: "/run/secrets/x.pem".into(),
            key_path: None
        })
    );
}

#[test]
fn two_default_backends_first_wins() {
    let m = merge(vec![
        with(svc("zz-fallback", &[], &["10.0.0.9"]), |r| {
            r.default_backend = true
        }),
        with(svc("aa-fallback", &[], &["10.0.0.1"]), |r| {
            r.default_backend = true
        }),
    ]);
    let d = m.default_backend.as_ref().unwrap();
    assert_eq!(d.name, "default_backend");
    assert_eq!(server_list(d), ["aa-fallback/10.0.0.1:8080w1"]);
    let e = errors(&m);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].service.as_deref(), Some("zz-fallback"));
    assert_eq!(e[0].label.as_deref(), Some(labels::DEFAULT_BACKEND));
    assert!(e[0].message.contains("aa-fallback") && e[0].message.contains("zz-fallback"));
    assert!(!m.used.contains("zz-fallback"));
}

#[test]
fn losing_default_backend_is_excluded_from_its_hosts_too() {
    let m = merge(vec![
        with(svc("a", &[], &["10.0.0.1"]), |r| r.default_backend = true),
        with(svc("b", &["b.local"], &["10.0.0.2"]), |r| {
            r.default_backend = true
        }),
    ]);
    assert!(m.hosts.is_empty());
}

#[test]
fn default_backend_with_hosts_serves_both() {
    let m = merge(vec![with(svc("a", &["a.local"], &["10.0.0.1"]), |r| {
        r.default_backend = true
    })]);
    assert!(m.default_backend.is_some());
    assert_eq!(m.hosts.len(), 1);
    assert_ne!(
        m.default_backend.unwrap().name,
        m.hosts[0].upstream.as_ref().unwrap().name
    );
}

#[test]
fn passthrough_conflict_first_service_mode_wins_per_host() {
    // (passthrough of "a", of "b") — "a" decides, "b" dropped for the shared host only.
    for (a_pt, b_pt) in [(true, false), (false, true)] {
        let m = merge(vec![
            with(svc("a", &["x.local"], &["10.0.0.1"]), |r| {
                r.ssl_passthrough = a_pt
            }),
            with(svc("b", &["x.local", "y.local"], &["10.0.0.2"]), |r| {
                r.ssl_passthrough = b_pt
            }),
        ]);
        let x = host(&m, "x.local");
        assert_eq!(x.passthrough, a_pt);
        assert_eq!(
            server_list(x.upstream.as_ref().unwrap()),
            ["a/10.0.0.1:8080w1"]
        );
        let y = host(&m, "y.local");
        assert_eq!(y.passthrough, b_pt);
        let e = errors(&m);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].service.as_deref(), Some("b"));
        assert_eq!(e[0].label.as_deref(), Some(labels::SSL_PASSTHROUGH));
        assert!(e[0].message.contains("x.local") && e[0].message.contains("service a"));
        assert!(m.used.contains("b"), "b still serves y.local");
    }
}

#[test]
fn passthrough_host_has_no_tls_files() {
    let m = merge(vec![with(svc("a", &["x.local"], &["10.0.0.1"]), |r| {
        r.ssl_passthrough = true;
        r.ssl_cert = Some("ignored.cert".into());
    })]);
    let h = host(&m, "x.local");
    assert!(h.passthrough && h.tls.is_none());
    assert!(m.secrets.is_empty());
}

#[test]
fn context_roots_get_own_upstreams_longest_first() {
    let ctx = |p: &'static str, rw: bool| {
        move |r: &mut ServiceRoute| {
            r.context_root = Some(p.into());
            r.context_root_rewrite = rw;
        }
    };
    let m = merge(vec![
        with(
            svc("app", &["shop.local"], &["10.0.0.1"]),
            ctx("/app", true),
        ),
        with(
            svc("app-canary", &["shop.local"], &["10.0.0.2"]),
            ctx("/app", true),
        ),
        with(
            svc("api", &["shop.local"], &["10.0.0.3"]),
            ctx("/app/api", false),
        ),
        with(svc("b", &["shop.local"], &["10.0.0.4"]), ctx("/b", false)),
    ]);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let h = host(&m, "shop.local");
    assert!(h.upstream.is_none(), "only context roots");
    let paths: Vec<(&str, bool, &str)> = h
        .context_roots
        .iter()
        .map(|c| (c.path.as_str(), c.rewrite, c.upstream.name.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("/app/api", false, "shop_local__app_api"),
            ("/app", true, "shop_local__app"),
            ("/b", false, "shop_local__b")
        ]
    );
    assert_eq!(
        server_list(&h.context_roots[1].upstream),
        ["app/10.0.0.1:8080w1", "app-canary/10.0.0.2:8080w1"]
    );
}

#[test]
fn root_and_context_root_on_one_host() {
    let m = merge(vec![
        svc("web", &["shop.local"], &["10.0.0.1"]),
        with(svc("app", &["shop.local"], &["10.0.0.2"]), |r| {
            r.context_root = Some("/app".into())
        }),
    ]);
    let h = host(&m, "shop.local");
    assert_eq!(
        server_list(h.upstream.as_ref().unwrap()),
        ["web/10.0.0.1:8080w1"]
    );
    assert_eq!(h.context_roots.len(), 1);
}

#[test]
fn context_root_rewrite_disagreement_warns() {
    let m = merge(vec![
        with(svc("a", &["s.local"], &["10.0.0.1"]), |r| {
            r.context_root = Some("/app".into())
        }),
        with(svc("b", &["s.local"], &["10.0.0.2"]), |r| {
            r.context_root = Some("/app".into());
            r.context_root_rewrite = true;
        }),
    ]);
    assert!(!host(&m, "s.local").context_roots[0].rewrite);
    let w = warnings(&m);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].label.as_deref(), Some(labels::CONTEXT_ROOT_REWRITE));
}

#[test]
fn websocket_endpoints_union_of_root_services() {
    let m = merge(vec![
        with(svc("a", &["w.local"], &["10.0.0.1"]), |r| {
            r.websocket_endpoints = vec!["/ws".into(), "/b".into()]
        }),
        with(svc("b", &["w.local"], &["10.0.0.2"]), |r| {
            r.websocket_endpoints = vec!["/ws".into(), "/a".into()]
        }),
        with(svc("c", &["w.local"], &["10.0.0.3"]), |r| {
            r.context_root = Some("/c".into());
            r.websocket_endpoints = vec!["/c/ws".into()];
        }),
    ]);
    assert_eq!(host(&m, "w.local").websocket_endpoints, ["/a", "/b", "/ws"]);
    let w = warnings(&m);
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].service.as_deref(), w[0].label.as_deref()),
        (Some("c"), Some(labels::WEBSOCKET_ENDPOINTS))
    );
}

#[test]
fn redirects_land_on_their_source_host() {
    let rule = |scheme: Option<&str>, src: &str, target: &str| RedirectRule {
        scheme: scheme.map(str::to_owned),
        source_host: src.into(),
        target: target.into(),
    };
    let m = merge(vec![
        with(svc("a", &["old.local", "new.local"], &["10.0.0.1"]), |r| {
            r.redirects = vec![
                rule(Some("http"), "old.local", "http://new.local"),
                rule(None, "new.local", "https://new.local"),
            ]
        }),
        with(svc("b", &["old.local"], &["10.0.0.2"]), |r| {
            r.redirects = vec![
                rule(Some("http"), "old.local", "http://elsewhere.local"),
                rule(Some("https"), "old.local", "https://new.local"),
            ]
        }),
    ]);
    let old = host(&m, "old.local");
    assert_eq!(
        old.redirects,
        [
            Redirect {
                scheme: Some("http".into()),
                target: "http://new.local".into()
            },
            Redirect {
                scheme: Some("https".into()),
                target: "https://new.local".into()
            },
        ]
    );
    assert_eq!(
        host(&m, "new.local").redirects,
        [Redirect {
            scheme: None,
            target: "https://new.local".into()
        }]
    );
    let w = warnings(&m);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].service.as_deref(), Some("b"));
    assert_eq!(w[0].label.as_deref(), Some(labels::REDIRECTS));
}

#[test]
fn colliding_host_names_get_unique_upstream_names() {
    let m = merge(vec![
        svc("a", &["a-b.local"], &["10.0.0.1"]),
        svc("b", &["a.b.local"], &["10.0.0.2"]),
    ]);
    let n0 = &m.hosts[0].upstream.as_ref().unwrap().name;
    let n1 = &m.hosts[1].upstream.as_ref().unwrap().name;
    assert_ne!(n0, n1);
    assert!(n0.starts_with("a_b_local_") && n1.starts_with("a_b_local_"));
}

#[test]
fn empty_upstream_is_kept() {
    let m = merge(vec![svc("a", &["a.local"], &[])]);
    assert!(
        host(&m, "a.local")
            .upstream
            .as_ref()
            .unwrap()
            .servers
            .is_empty()
    );
}

#[test]
fn vip_and_task_services_share_an_upstream() {
    let m = merge(vec![
        with(svc("a", &["x.local"], &["10.0.0.2"]), |r| {
            r.backend_mode = BackendMode::Vip
        }),
        svc("b", &["x.local"], &["10.0.1.5", "10.0.1.6"]),
    ]);
    assert_eq!(
        host(&m, "x.local").upstream.as_ref().unwrap().servers.len(),
        3
    );
}

#[test]
fn merge_is_order_independent() {
    let a = || {
        vec![
            svc("a", &["x.local", "y.local"], &["10.0.0.1"]),
            svc("b", &["x.local"], &["10.0.0.2"]),
        ]
    };
    let mut reversed = a();
    reversed.reverse();
    assert_eq!(merge(a()), merge(reversed));
}

#[test]
fn a_host_belongs_to_the_service_that_had_it_first() {
    // "owner" was created at t=100 with its certificate; the newcomer sorts
    // before it by name. (newcomer's created, collection of owner, of
    // newcomer, newcomer's cert) → does the newcomer join, and if not, the
    // label of the Error that names both.
    type Case = (
        Option<i128>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Result<(), &'static str>,
    );
    let cases: &[Case] = &[
        // The takeover of the issue: a newcomer named "aaa" with its own cert.
        (
            Some(200),
            None,
            None,
            Some("aaa.pem"),
            Err(labels::SSL_CERT),
        ),
        // Unknown creation time ranks after a known one.
        (None, None, None, Some("aaa.pem"), Err(labels::SSL_CERT)),
        // The same certificate: a canary, joins.
        (Some(200), None, None, Some("owner.pem"), Ok(())),
        // No TLS labels: joins the host as it is (a Warning, below).
        (Some(200), None, None, None, Ok(())),
        // Collections: only the owner's own.
        (Some(200), Some("team-a"), Some("team-a"), None, Ok(())),
        (
            Some(200),
            Some("team-a"),
            Some("team-b"),
            None,
            Err(labels::HOSTS),
        ),
        (Some(200), None, Some("team-b"), None, Err(labels::HOSTS)),
        (Some(200), Some("team-a"), None, None, Err(labels::HOSTS)),
    ];
    for (i, &(created, owner_coll, new_coll, new_cert, want)) in cases.iter().enumerate() {
        let mut owner = with(svc("owner", &["app.local"], &["10.0.0.1"]), |r| {
            r.ssl_cert = Some("owner.pem".into())
        });
        owner.created = Created::At(100);
        owner.collection = owner_coll.map(str::to_owned);
        let mut newcomer = with(
            svc("aaa", &["app.local", "aaa.local"], &["10.0.0.9"]),
            |r| r.ssl_cert = new_cert.map(str::to_owned),
        );
        newcomer.created = created.map_or(Created::Unknown, Created::At);
        newcomer.collection = new_coll.map(str::to_owned);
        let m = merge(vec![newcomer, owner]);
        let h = host(&m, "app.local");
        let tls = h.tls.as_ref().map(|t| t.cert_path.as_str());
        assert_eq!(
            tls,
            Some("/run/secrets/owner.pem"),
            "case {i}: owner keeps its cert"
        );
        let servers = server_list(h.upstream.as_ref().unwrap());
        let e = errors(&m);
        match want {
            Ok(()) => {
                assert_eq!(
                    servers,
                    ["aaa/10.0.0.9:8080w1", "owner/10.0.0.1:8080w1"],
                    "case {i}"
                );
                assert!(e.is_empty(), "case {i}: {e:?}");
            }
            Err(label) => {
                assert_eq!(servers, ["owner/10.0.0.1:8080w1"], "case {i}");
                assert_eq!(e.len(), 1, "case {i}: {e:?}");
                assert_eq!(e[0].service.as_deref(), Some("aaa"), "case {i}");
                assert_eq!(e[0].label.as_deref(), Some(label), "case {i}");
                let msg = &e[0].message;
                assert!(
                    msg.contains("service owner") && msg.contains("service aaa"),
                    "case {i}: {msg}"
                );
                assert!(msg.contains("app.local"), "case {i}: {msg}");
            }
        }
        // The newcomer's own host is untouched either way.
        assert!(host(&m, "aaa.local").upstream.is_some(), "case {i}");
    }
}

#[test]
fn a_newcomer_without_tls_labels_joins_with_a_warning() {
    let mut owner = with(svc("owner", &["app.local"], &["10.0.0.1"]), |r| {
        r.ssl_cert = Some("owner.pem".into())
    });
    owner.created = Created::At(1);
    let mut canary = svc("canary", &["app.local"], &["10.0.0.2"]);
    canary.created = Created::At(2);
    let m = merge(vec![canary, owner]);
    let w = warnings(&m);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].service.as_deref(), Some("canary"));
    assert_eq!(w[0].label.as_deref(), Some(labels::SSL_CERT));
    assert!(w[0].message.contains("created first"), "{}", w[0].message);
}

#[test]
fn the_oldest_default_backend_wins_whatever_its_name() {
    let mut old = with(svc("zz-old", &[], &["10.0.0.9"]), |r| {
        r.default_backend = true
    });
    old.created = Created::At(5);
    let mut young = with(svc("aa-young", &[], &["10.0.0.1"]), |r| {
        r.default_backend = true
    });
    young.created = Created::At(6);
    let m = merge(vec![young, old]);
    assert_eq!(
        server_list(m.default_backend.as_ref().unwrap()),
        ["zz-old/10.0.0.9:8080w1"]
    );
    let e = errors(&m);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].service.as_deref(), Some("aa-young"));
    assert!(e[0].message.contains("created first"), "{}", e[0].message);
}

#[test]
fn docker_timestamps_become_nanoseconds() {
    // (text, Unix ns)
    let table = [
        ("1970-01-01T00:00:01Z", Some(1_000_000_000)),
        ("1970-01-01T00:00:00.5Z", Some(500_000_000)),
        ("1970-01-01T00:00:00.500000001Z", Some(500_000_001)),
        ("1970-01-01T01:00:00+01:00", Some(0)),
        ("yesterday", None),
        ("", None),
    ];
    for (text, want) in table {
        assert_eq!(
            Created::Docker(Some(text.into())).unix_nanos(),
            want,
            "{text}"
        );
    }
    assert_eq!(Created::Docker(None).unix_nanos(), None);
}

#[test]
fn a_host_stays_its_owners_while_the_owner_is_left_out() {
    // The owner (oldest, team-a, its own certificate) serves nothing now
    // (say its certificate was found broken). (newcomer's collection, cert)
    // → does the newcomer serve the host?
    let cases: [(Option<&str>, Option<&str>, bool); 4] = [
        (Some("team-b"), None, false),
        (Some("team-a"), Some("other.pem"), false),
        (Some("team-a"), None, true),
        (Some("team-a"), Some("owner.pem"), true),
    ];
    for (i, (coll, cert, serves)) in cases.into_iter().enumerate() {
        let mut owner = with(svc("owner", &["app.local"], &[]), |r| {
            r.ssl_cert = Some("owner.pem".into())
        });
        owner.created = Created::At(1);
        owner.collection = Some("team-a".into());
        owner.serves = false;
        let mut newcomer = with(svc("aaa", &["app.local"], &["10.0.0.9"]), |r| {
            r.ssl_cert = cert.map(str::to_owned)
        });
        newcomer.created = Created::At(2);
        newcomer.collection = coll.map(str::to_owned);
        let m = merge(vec![newcomer, owner]);
        let hosts: Vec<&str> = m.hosts.iter().map(|h| h.name.as_str()).collect();
        if serves {
            assert_eq!(hosts, ["app.local"], "case {i}");
            assert_eq!(
                server_list(m.hosts[0].upstream.as_ref().unwrap()),
                ["aaa/10.0.0.9:8080w1"],
                "case {i}"
            );
        } else {
            assert!(hosts.is_empty(), "case {i}: the newcomer took the host");
            let e = errors(&m);
            assert_eq!(e.len(), 1, "case {i}: {e:?}");
            assert_eq!(e[0].service.as_deref(), Some("aaa"), "case {i}");
        }
        assert!(!m.used.contains("owner"), "case {i}");
    }
}
