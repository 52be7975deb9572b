use super::*;

fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The minimal routed labels plus `extra`.
fn parse_with(extra: &[(&str, &str)]) -> Parsed {
    let mut l = labels(&[(HOSTS, "demo.local"), (PORT, "8080")]);
    l.extend(labels(extra));
    parse(&l)
}

fn routed(extra: &[(&str, &str)]) -> ServiceRoute {
    match parse_with(extra) {
        Parsed::Routed(r, _) => *r,
        other => panic!("{extra:?}: expected Routed, got {other:?}"),
    }
}

/// The labels named by errors, or panic if it parsed.
fn error_labels(extra: &[(&str, &str)]) -> Vec<String> {
    match parse_with(extra) {
        Parsed::Invalid(errors, _) => errors.into_iter().map(|e| e.label).collect(),
        other => panic!("{extra:?}: expected Invalid, got {other:?}"),
    }
}

fn warning_labels(extra: &[(&str, &str)]) -> Vec<String> {
    match parse_with(extra) {
        Parsed::Routed(_, w) | Parsed::Invalid(_, w) => w.into_iter().map(|w| w.label).collect(),
        Parsed::NotRouted => vec![],
    }
}

#[test]
fn not_routed_without_hosts_or_default_backend() {
    for l in [
        labels(&[]),
        labels(&[(PORT, "8080")]),
        labels(&[("com.docker.lb.bogus", "x"), (PORT, "abc")]),
        labels(&[(DEFAULT_BACKEND, "false"), (PORT, "8080")]),
        labels(&[("com.docker.stack.namespace", "demo")]),
    ] {
        assert_eq!(parse(&l), Parsed::NotRouted, "{l:?}");
    }
}

#[test]
fn host_labels_of_a_default_backend_without_hosts_are_said_not_dropped() {
    for label in [SSL_CERT, CONTEXT_ROOT, WEBSOCKET_ENDPOINTS, SSL_PASSTHROUGH] {
        let value = match label {
            SSL_CERT => "cert",
            SSL_PASSTHROUGH => "true",
            _ => "/ws",
        };
        let Parsed::Routed(_, w) = parse(&labels(&[
            (DEFAULT_BACKEND, "true"),
            (PORT, "80"),
            (label, value),
        ])) else {
            panic!("{label}: still routed");
        };
        assert!(w.iter().any(|w| w.label == label), "{label}: {w:?}");
    }
    // With hosts they are the hosts' labels: nothing to say.
    let Parsed::Routed(_, w) = parse(&labels(&[
        (DEFAULT_BACKEND, "true"),
        (HOSTS, "a.example"),
        (PORT, "80"),
        (CONTEXT_ROOT, "/app"),
    ])) else {
        panic!()
    };
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn default_backend_needs_only_port() {
    let Parsed::Routed(r, w) = parse(&labels(&[(DEFAULT_BACKEND, "true"), (PORT, "80")])) else {
        panic!()
    };
    assert!(r.default_backend && r.hosts.is_empty() && w.is_empty());
    assert_eq!(r.port, 80);
    let Parsed::Invalid(e, _) = parse(&labels(&[(DEFAULT_BACKEND, "true")])) else {
        panic!()
    };
    assert_eq!(e[0].label, PORT);
    let Parsed::Invalid(e, _) = parse(&labels(&[(DEFAULT_BACKEND, "yes"), (PORT, "80")])) else {
        panic!()
    };
    assert_eq!(e[0].label, DEFAULT_BACKEND);
}

#[test]
fn hosts_good() {
    for (value, want) in [
        ("demo.local", vec!["demo.local"]),
        ("demo.A", vec!["demo.a"]),
        (" Example.COM , test.com ", vec!["example.com", "test.com"]),
        ("a.com,a.com,A.com", vec!["a.com"]),
        ("a.com,,b.com,", vec!["a.com", "b.com"]),
        ("localhost", vec!["localhost"]),
        ("*.example.com", vec!["*.example.com"]),
        ("my_app.internal", vec!["my_app.internal"]),
        ("bücher.example", vec!["xn--bcher-kva.example"]),
        ("xn--bcher-kva.example", vec!["xn--bcher-kva.example"]),
        ("BÜCHER.example", vec!["xn--bcher-kva.example"]),
        ("example.com.", vec!["example.com"]),
        ("10.0.0.1", vec!["10.0.0.1"]),
    ] {
        assert_eq!(routed(&[(HOSTS, value)]).hosts, want, "{value}");
    }
}

#[test]
fn hosts_bad() {
    for value in [
        "",
        " , ",
        "exa mple.com",
        "example.com:8080",
        "http://example.com",
        "foo.*.com",
        "*example.com",
        "-foo.com",
        "foo-.com",
        "a..b",
        "foo/bar",
        "a;b.com",
        "xn--a.example",
        &format!("{}.com", "a".repeat(64)),
        // nginx's catch-all server name: accepted here once, refused by the plugin.
        "_",
    ] {
        assert_eq!(error_labels(&[(HOSTS, value)]), [HOSTS], "{value:?}");
    }
}

#[test]
fn port_table() {
    for (value, want) in [
        ("8080", Some(8080)),
        ("1", Some(1)),
        ("65535", Some(65535)),
        (" 80 ", Some(80)),
    ] {
        assert_eq!(Some(routed(&[(PORT, value)]).port), want, "{value}");
    }
    for value in ["0", "65536", "-1", "http", "80a", "8080.0", ""] {
        assert_eq!(error_labels(&[(PORT, value)]), [PORT], "{value:?}");
    }
    let Parsed::Invalid(e, _) = parse(&labels(&[(HOSTS, "a.com")])) else {
        panic!()
    };
    assert_eq!(e[0].label, PORT);
    assert!(e[0].message.contains("required"));
}

#[test]
fn network_table() {
    assert_eq!(
        routed(&[(NETWORK, "demo_demo-network")]).network.as_deref(),
        Some("demo_demo-network")
    );
    assert_eq!(routed(&[]).network, None);
    assert_eq!(error_labels(&[(NETWORK, " ")]), [NETWORK]);
}

#[test]
fn context_root_table() {
    for value in ["/app", "/", "/app/v1", "/a-b_c.d~e"] {
        assert_eq!(
            routed(&[(CONTEXT_ROOT, value)]).context_root.as_deref(),
            Some(value)
        );
    }
    for value in [
        "app",
        "/app path",
        "/app;evil",
        "/a{b}",
        "/a$b",
        "/a?b",
        "/a%20",
        // nginx normalises these before matching, HAProxy does not.
        "/a//b",
        "/a/../b",
        // Longer than every plugin takes (accepted here once).
        &format!("/{}", "a".repeat(1024)),
    ] {
        assert_eq!(
            error_labels(&[(CONTEXT_ROOT, value)]),
            [CONTEXT_ROOT],
            "{value:?}"
        );
    }
}

#[test]
fn context_root_rewrite_table() {
    assert!(routed(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "true")]).context_root_rewrite);
    assert!(
        !routed(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "false")]).context_root_rewrite
    );
    assert_eq!(
        error_labels(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "yes")]),
        [CONTEXT_ROOT_REWRITE]
    );
    assert_eq!(
        warning_labels(&[(CONTEXT_ROOT_REWRITE, "true")]),
        [CONTEXT_ROOT_REWRITE]
    );
}

#[test]
fn booleans_table() {
    for label in [CONTEXT_ROOT_REWRITE, SSL_PASSTHROUGH, SSL_BACKEND, IP_HASH] {
        for (value, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("1", true),
            ("t", true),
            ("false", false),
            ("0", false),
            ("F", false),
        ] {
            let context = if label == CONTEXT_ROOT_REWRITE {
                "/x"
            } else {
                ""
            };
            let mut l = vec![(label, value)];
            if !context.is_empty() {
                l.push((CONTEXT_ROOT, context));
            }
            let r = routed(&l);
            let got = match label {
                CONTEXT_ROOT_REWRITE => r.context_root_rewrite,
                SSL_PASSTHROUGH => r.ssl_passthrough,
                SSL_BACKEND => r.ssl_backend,
                _ => r.ip_hash,
            };
            assert_eq!(got, want, "{label}={value}");
        }
        for value in ["yes", "on", "", "2", "truee"] {
            assert!(
                error_labels(&[(label, value)]).contains(&label.to_string()),
                "{label}={value:?}"
            );
        }
    }
}

#[test]
fn ssl_cert_and_key_table() {
    let r = routed(&[
        (SSL_CERT, "demo_app.example.org.cert"),
        (SSL_KEY, "demo_app.example.org.key"),
    ]);
    assert_eq!(r.ssl_cert.as_deref(), Some("demo_app.example.org.cert"));
    assert_eq!(r.ssl_key.as_deref(), Some("demo_app.example.org.key"));
    assert_eq!(routed(&[(SSL_CERT, "combined.pem")]).ssl_key, None);
    for value in [
        "../etc/passwd",
        "a/b",
        "-lead",
        "trail.",
        "has space",
        &"x".repeat(65),
    ] {
        assert_eq!(error_labels(&[(SSL_CERT, value)]), [SSL_CERT], "{value:?}");
        assert_eq!(
            error_labels(&[(SSL_CERT, "ok"), (SSL_KEY, value)]),
            [SSL_KEY],
            "{value:?}"
        );
    }
    assert_eq!(error_labels(&[(SSL_KEY, "only.key")]), [SSL_KEY]);
}

#[test]
fn ssl_passthrough_combinations() {
    assert!(routed(&[(SSL_PASSTHROUGH, "true")]).ssl_passthrough);
    assert_eq!(
        error_labels(&[(SSL_PASSTHROUGH, "true"), (CONTEXT_ROOT, "/app")]),
        [CONTEXT_ROOT]
    );
    assert_eq!(
        warning_labels(&[(SSL_PASSTHROUGH, "true"), (SSL_CERT, "c")]),
        [SSL_CERT]
    );
}

#[test]
fn ssl_backend_tls_verify_table() {
    assert_eq!(routed(&[]).ssl_backend_tls_verify, TlsVerify::None);
    assert_eq!(
        routed(&[(SSL_BACKEND_TLS_VERIFY, "none")]).ssl_backend_tls_verify,
        TlsVerify::None
    );
    assert_eq!(
        routed(&[(SSL_BACKEND_TLS_VERIFY, "required")]).ssl_backend_tls_verify,
        TlsVerify::Required
    );
    assert_eq!(
        routed(&[(SSL_BACKEND_TLS_VERIFY, "Required")]).ssl_backend_tls_verify,
        TlsVerify::Required
    );
    for value in ["optional", "true", ""] {
        assert_eq!(
            error_labels(&[(SSL_BACKEND_TLS_VERIFY, value)]),
            [SSL_BACKEND_TLS_VERIFY],
            "{value:?}"
        );
    }
}

#[test]
fn websocket_endpoints_table() {
    assert_eq!(
        routed(&[(WEBSOCKET_ENDPOINTS, "/ws, /foo,/ws,")]).websocket_endpoints,
        ["/ws", "/foo"]
    );
    assert_eq!(
        routed(&[(WEBSOCKET_ENDPOINTS, "/")]).websocket_endpoints,
        ["/"]
    );
    for value in ["ws", "/ws,foo", ",", "/w s", "/ws;"] {
        assert_eq!(
            error_labels(&[(WEBSOCKET_ENDPOINTS, value)]),
            [WEBSOCKET_ENDPOINTS],
            "{value:?}"
        );
    }
}

#[test]
fn service_cluster_is_kept_verbatim() {
    assert_eq!(routed(&[]).service_cluster, None);
    assert_eq!(
        routed(&[(SERVICE_CLUSTER, "us-east")])
            .service_cluster
            .as_deref(),
        Some("us-east")
    );
    assert_eq!(
        routed(&[(SERVICE_CLUSTER, "")]).service_cluster.as_deref(),
        Some("")
    );
}

#[test]
fn sticky_session_cookie_table() {
    for value in ["session", "JSESSIONID", "my-cookie", "a.b_c!#$%&'*+^`|~"] {
        assert_eq!(
            routed(&[(STICKY_SESSION_COOKIE, value)])
                .sticky_session_cookie
                .as_deref(),
            Some(value)
        );
    }
    let longest = "c".repeat(sluice_input_rules::MAX_COOKIE_NAME);
    assert_eq!(
        routed(&[(STICKY_SESSION_COOKIE, &longest)])
            .sticky_session_cookie
            .as_deref(),
        Some(longest.as_str())
    );
    let too_long = "c".repeat(sluice_input_rules::MAX_COOKIE_NAME + 1);
    for value in [
        "", "a b", "a;b", "a=b", "a,b", "(x)", "a\"b", "ä", &too_long,
    ] {
        assert_eq!(
            error_labels(&[(STICKY_SESSION_COOKIE, value)]),
            [STICKY_SESSION_COOKIE],
            "{value:?}"
        );
    }
    assert_eq!(
        error_labels(&[(STICKY_SESSION_COOKIE, "sid"), (IP_HASH, "true")]),
        [IP_HASH]
    );
}

#[test]
fn redirects_good() {
    let r = routed(&[
        (HOSTS, "old.local,new.local,x.local"),
        (
            REDIRECTS,
            "http://old.local,http://new.local; https://OLD.local,https://new.local/path;x.local,https://x.local;",
        ),
    ]);
    let got: Vec<(Option<&str>, &str, &str)> = r
        .redirects
        .iter()
        .map(|r| {
            (
                r.scheme.as_deref(),
                r.source_host.as_str(),
                r.target.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some("http"), "old.local", "http://new.local"),
            (Some("https"), "old.local", "https://new.local/path"),
            (None, "x.local", "https://x.local"),
        ]
    );
}

/// A scheme in capitals is a URL every plugin takes (nginx refused it once).
#[test]
fn redirect_target_scheme_in_any_case() {
    let r = routed(&[
        (HOSTS, "old.local"),
        (REDIRECTS, "old.local,HTTPS://new.local"),
    ]);
    assert_eq!(r.redirects[0].target, "HTTPS://new.local");
}

#[test]
fn redirects_bad() {
    for value in [
        "http://other.local,http://new.local",  // source not in hosts
        "http://old.local",                     // no target
        "ftp://old.local,http://new.local",     // scheme
        "http://old.local,new.local",           // relative target
        "http://old.local,http://",             // empty target
        "http://old.local,http://new local",    // unsafe target
        "http://old.local,http://new.local\";", // quote
        "http://old.local,http://a;http://old.local,http://b", // duplicate source
        // Accepted here once, then refused by the nginx plugin.
        "http://old.local,http://new.local/$host", // nginx variable
        "http://old.local,http://new.local/it's",  // quote
        ";",
    ] {
        assert_eq!(
            error_labels(&[(HOSTS, "old.local"), (REDIRECTS, value)]),
            [REDIRECTS],
            "{value:?}"
        );
    }
}

#[test]
fn backend_mode_table() {
    assert_eq!(routed(&[]).backend_mode, BackendMode::Task);
    assert_eq!(
        routed(&[(BACKEND_MODE, "task")]).backend_mode,
        BackendMode::Task
    );
    assert_eq!(
        routed(&[(BACKEND_MODE, "vip")]).backend_mode,
        BackendMode::Vip
    );
    assert_eq!(
        routed(&[(BACKEND_MODE, "VIP")]).backend_mode,
        BackendMode::Vip
    );
    for value in ["dnsrr", "", "tasks"] {
        assert_eq!(
            error_labels(&[(BACKEND_MODE, value)]),
            [BACKEND_MODE],
            "{value:?}"
        );
    }
    assert_eq!(
        warning_labels(&[(BACKEND_MODE, "vip"), (IP_HASH, "true")]),
        [IP_HASH]
    );
    assert_eq!(
        warning_labels(&[(BACKEND_MODE, "vip"), (STICKY_SESSION_COOKIE, "s")]),
        [STICKY_SESSION_COOKIE]
    );
}

#[test]
fn max_fails_table() {
    assert_eq!(routed(&[(MAX_FAILS, "3")]).max_fails, Some(3));
    assert_eq!(routed(&[(MAX_FAILS, "0")]).max_fails, Some(0));
    for value in ["-1", "three", "1.5", "4294967296"] {
        assert_eq!(
            error_labels(&[(MAX_FAILS, value)]),
            [MAX_FAILS],
            "{value:?}"
        );
    }
}

#[test]
fn fail_timeout_table() {
    for (value, want) in [
        ("10", 10),
        ("30s", 30),
        ("1m", 60),
        ("1m30s", 90),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1000ms", 1),
        ("1s1000ms", 2),
        ("0", 0),
    ] {
        assert_eq!(
            routed(&[(FAIL_TIMEOUT, value)]).fail_timeout_seconds,
            Some(want),
            "{value}"
        );
    }
    for value in [
        "",
        "s",
        "10x",
        "1.5s",
        "-1",
        "30 s",
        "500ms",
        "1s500ms",
        "99999999999",
    ] {
        assert_eq!(
            error_labels(&[(FAIL_TIMEOUT, value)]),
            [FAIL_TIMEOUT],
            "{value:?}"
        );
    }
}

#[test]
fn weight_table() {
    for (value, want) in [("1", 1), ("100", 100), ("1000", 1000)] {
        assert_eq!(routed(&[(WEIGHT, value)]).weight, Some(want));
    }
    assert_eq!(routed(&[]).weight, None);
    for value in ["0", "1001", "-5", "ten", "1.5"] {
        assert_eq!(error_labels(&[(WEIGHT, value)]), [WEIGHT], "{value:?}");
    }
}

#[test]
fn unknown_and_ssl_only_labels_warn() {
    let w = match parse_with(&[
        ("com.docker.lb.hostz", "x"),
        (SSL_ONLY, "true"),
        ("com.example.other", "x"),
    ]) {
        Parsed::Routed(_, w) => w,
        other => panic!("{other:?}"),
    };
    let got: Vec<(&str, bool)> = w
        .iter()
        .map(|w| (w.label.as_str(), w.message.contains("redirects")))
        .collect();
    assert_eq!(got, [("com.docker.lb.hostz", false), (SSL_ONLY, true)]);
}

#[test]
fn every_bad_label_is_reported_at_once() {
    let mut got = error_labels(&[(PORT, "0"), (WEIGHT, "0"), (BACKEND_MODE, "x")]);
    got.sort();
    assert_eq!(got, [BACKEND_MODE, PORT, WEIGHT]);
}

#[test]
fn error_messages_quote_the_value() {
    let Parsed::Invalid(e, _) = parse_with(&[(PORT, "http")]) else {
        panic!()
    };
    assert!(e[0].message.contains("\"http\""), "{}", e[0]);
    assert_eq!(e[0].to_string(), format!("label {PORT}: {}", e[0].message));
}

#[test]
fn every_known_label_is_accepted_together() {
    let r = routed(&[
        (HOSTS, "app.example.org,old.example.org"),
        (NETWORK, "demo_net"),
        (CONTEXT_ROOT, "/app"),
        (CONTEXT_ROOT_REWRITE, "true"),
        (SSL_CERT, "app.cert"),
        (SSL_KEY, "app.key"),
        (SSL_BACKEND, "true"),
        (SSL_BACKEND_TLS_VERIFY, "required"),
        (WEBSOCKET_ENDPOINTS, "/ws"),
        (SERVICE_CLUSTER, "east"),
        (STICKY_SESSION_COOKIE, "sid"),
        (REDIRECTS, "http://old.example.org,https://app.example.org"),
        (BACKEND_MODE, "task"),
        (DEFAULT_BACKEND, "false"),
        (MAX_FAILS, "3"),
        (FAIL_TIMEOUT, "30s"),
        (WEIGHT, "10"),
    ]);
    assert_eq!(r.hosts.len(), 2);
    assert_eq!(warning_labels(&[]), Vec::<String>::new());
}

/// docs/labels.md is the table's reference; SLUICE_BLESS=1 rewrites it.
#[test]
fn label_reference_is_generated_from_the_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/labels.md");
    let want = table::reference();
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "docs/labels.md is not the table's reference: run \
         `SLUICE_BLESS=1 cargo test -p sluice label_reference` and commit it"
    );
}

/// Every row's name is a label name, once.
#[test]
fn every_label_has_one_row() {
    let names: Vec<&str> = table::TABLE.iter().map(|l| l.name).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a label appears twice");
    assert!(names.iter().all(|n| n.starts_with(PREFIX)));
    // hosts is read before redirects, whose sources must be among them.
    let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(at(HOSTS) < at(REDIRECTS));
}

#[test]
fn acme_tls_is_read_and_its_bad_combinations_refused() {
    let tls = super::policy::TLS;
    assert!(routed(&[(tls, "acme")]).acme);
    assert!(!routed(&[]).acme);
    assert_eq!(error_labels(&[(tls, "letsencrypt")]), [tls]);
    assert_eq!(error_labels(&[(tls, "acme"), (SSL_CERT, "c")]), [tls]);
    assert_eq!(
        error_labels(&[(tls, "acme"), (SSL_PASSTHROUGH, "true")]),
        [tls]
    );
    assert_eq!(
        error_labels(&[(tls, "acme"), (HOSTS, "*.wild.test")]),
        [tls]
    );
}
