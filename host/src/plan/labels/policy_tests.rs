use super::*;

fn parsed(labels: &[(&str, &str)]) -> (Policy, Vec<Refusal>, Vec<String>) {
    parse(labels)
}

#[test]
fn every_label_read() {
    let (p, refused, unknown) = parsed(&[
        (TIMEOUT_CONNECT, "500ms"),
        (TIMEOUT_READ, "2m"),
        (TIMEOUT_SEND, "30s"),
        (MAX_BODY_SIZE, "10m"),
        ("sluice.response_header.X-Frame-Options", "DENY"),
        (
            "sluice.response_header.content-security-policy",
            "default-src 'self'",
        ),
        ("sluice.request_header.X-Tenant", "a"),
        (HSTS, "365d"),
        (HSTS_SUBDOMAINS, "true"),
        (ALLOW, "10.1.2.3/8, 192.0.2.7, fd00::1/16, 10.0.0.0/8"),
        (RETRIES, "2"),
        (COMPRESSION, "false"),
        (PROTOCOL, "grpc"),
        ("sluice.colour", "blue"),
    ]);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(unknown, ["sluice.colour"]);
    assert_eq!(
        (p.connect_timeout_ms, p.read_timeout_ms, p.send_timeout_ms),
        (Some(500), Some(120_000), Some(30_000))
    );
    assert_eq!(p.max_body_bytes, Some(10 << 20));
    let names: Vec<&str> = p.response_headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["content-security-policy", "X-Frame-Options"]);
    assert_eq!(p.request_headers, [("X-Tenant".into(), "a".into())]);
    assert_eq!(
        p.hsts,
        Some(Hsts {
            max_age_seconds: 365 * 86400,
            include_subdomains: true,
            preload: false
        })
    );
    assert_eq!(p.allow, ["10.0.0.0/8", "192.0.2.7/32", "fd00::/16"]);
    assert_eq!((p.retries, p.compression), (Some(2), Some(false)));
    assert_eq!(p.protocol, Protocol::Grpc);
    assert_eq!(parsed(&[]).0, Policy::default());
}

/// Bad values are refused by name, each of them.
#[test]
fn bad_values_name_their_label() {
    let cases: &[(&str, &str, &str)] = &[
        (TIMEOUT_CONNECT, "5", "duration"),
        (TIMEOUT_CONNECT, "0s", "duration"),
        (TIMEOUT_READ, "25h", "duration"),
        (TIMEOUT_SEND, "1.5s", "duration"),
        (MAX_BODY_SIZE, "10mb", "size"),
        (MAX_BODY_SIZE, "65g", "64g"),
        (MAX_BODY_SIZE, "-1", "size"),
        ("sluice.response_header.X Frame", "x", "header name"),
        ("sluice.response_header.X-A", "a$b", "header value"),
        ("sluice.response_header.X-A", "a\nb", "header value"),
        (
            "sluice.response_header.Content-Length",
            "0",
            "proxy must own",
        ),
        (
            "sluice.request_header.Host",
            "evil.example",
            "proxy must own",
        ),
        (
            "sluice.request_header.transfer-encoding",
            "chunked",
            "proxy must own",
        ),
        ("sluice.response_header.", "x", "header name"),
        (HSTS, "500ms", "whole seconds"),
        (HSTS, "4000d", "duration"),
        (HSTS_PRELOAD, "yes", "true or false"),
        (ALLOW, "10.0.0.0/33", "network"),
        (ALLOW, "example.com", "network"),
        (ALLOW, "10.0.0.0/8;deny all", "network"),
        (ALLOW, ",", "no network"),
        (RETRIES, "11", "0 to 10"),
        (RETRIES, "-1", "0 to 10"),
        (COMPRESSION, "gzip", "true or false"),
        (PROTOCOL, "http2", "http, h2c or grpc"),
    ];
    for (label, value, want) in cases {
        let (_, refused, _) = parsed(&[(label, value)]);
        assert_eq!(refused.len(), 1, "{label}={value:?}: {refused:?}");
        assert_eq!(refused[0].0, *label, "{value:?}");
        assert!(
            refused[0].1.contains(want),
            "{label}={value:?}: {}",
            refused[0].1
        );
    }
}

#[test]
fn combinations_that_cannot_be() {
    let twice = parsed(&[
        ("sluice.response_header.X-A", "1"),
        ("sluice.response_header.x-a", "2"),
    ])
    .1;
    assert!(twice[0].1.contains("twice"), "{twice:?}");
    let flag_alone = parsed(&[(HSTS_SUBDOMAINS, "true")]).1;
    assert_eq!(flag_alone[0].0, HSTS_SUBDOMAINS);
    let both = parsed(&[
        (HSTS, "1d"),
        (
            "sluice.response_header.Strict-Transport-Security",
            "max-age=1",
        ),
    ])
    .1;
    assert_eq!(both[0].0, HSTS);
    let many: Vec<(String, String)> = (0..33)
        .map(|i| (format!("sluice.response_header.X-{i}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(parsed(&many).1[0].1.contains("more than 32"));
}

#[test]
fn traffic_labels_read() {
    let (p, refused, _) = parsed(&[
        (RATE_LIMIT, "20/s"),
        (RATE_LIMIT_BURST, "5"),
        (AUTH_BASIC, "site-users.htpasswd"),
        (AUTH_REALM, "Team A"),
        (HEALTH_PATH, "/healthz"),
        (HEALTH_INTERVAL, "500ms"),
        (HEALTH_FALL, "2"),
        (PATH_REDIRECT, "/old /new, /old/deep /deeper"),
        (PATH_REDIRECT_STATUS, "308"),
        (REWRITE, r"^/api/v1/(\d+)/(.*)$ /v1/$2/$1"),
    ]);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(
        p.rate_limit,
        Some(RateLimit {
            per_second: 20,
            burst: 5
        })
    );
    let auth = p.basic_auth.as_ref().unwrap();
    assert_eq!(
        (auth.secret.as_str(), auth.realm.as_str()),
        ("site-users.htpasswd", "Team A")
    );
    let h = p.health_check.as_ref().unwrap();
    assert_eq!(
        (h.path.as_str(), h.interval_ms, h.fall, h.rise),
        ("/healthz", 500, 2, 2)
    );
    // Longest prefix first, each with the status.
    let r: Vec<(&str, &str, u16)> = p
        .path_redirects
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str(), r.status))
        .collect();
    assert_eq!(r, [("/old/deep", "/deeper", 308), ("/old", "/new", 308)]);
    assert_eq!(p.rewrite.as_ref().unwrap().replacement, "/v1/$2/$1");
    // Defaults: burst = the rate, realm, check timing, status 301.
    let (p, refused, _) = parsed(&[
        (RATE_LIMIT, "7"),
        (AUTH_BASIC, "u"),
        (HEALTH_PATH, "/"),
        (PATH_REDIRECT, "/a /b"),
    ]);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(p.rate_limit.unwrap().burst, 7);
    assert_eq!(p.basic_auth.unwrap().realm, "Restricted");
    let h = p.health_check.unwrap();
    assert_eq!((h.interval_ms, h.fall, h.rise), (5000, 3, 2));
    assert_eq!(p.path_redirects[0].status, 301);
}

/// Each bad traffic value is refused by its label, with why.
#[test]
fn bad_traffic_values_name_their_label() {
    // (labels, the label refused, part of why)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[(RATE_LIMIT, "0")], RATE_LIMIT, "1 to 100000"),
        (&[(RATE_LIMIT, "10/m")], RATE_LIMIT, "per second"),
        (
            &[(RATE_LIMIT_BURST, "3")],
            RATE_LIMIT_BURST,
            "needs sluice.rate_limit",
        ),
        (
            &[(AUTH_BASIC, "../etc/passwd")],
            AUTH_BASIC,
            "Docker secret",
        ),
        (&[(AUTH_BASIC, "a b")], AUTH_BASIC, "Docker secret"),
        (&[(AUTH_BASIC, "u"), (AUTH_REALM, "a$b")], AUTH_REALM, "'$'"),
        (
            &[(AUTH_BASIC, "u"), (AUTH_REALM, "a\"b")],
            AUTH_REALM,
            "realm",
        ),
        (&[(AUTH_REALM, "x")], AUTH_REALM, "needs sluice.auth.basic"),
        (&[(HEALTH_PATH, "healthz")], HEALTH_PATH, "start with '/'"),
        (&[(HEALTH_PATH, "/h?x=$y")], HEALTH_PATH, "letters, digits"),
        (
            &[(HEALTH_PATH, "/h"), (HEALTH_INTERVAL, "50ms")],
            HEALTH_INTERVAL,
            "at least 100ms",
        ),
        (
            &[(HEALTH_PATH, "/h"), (HEALTH_INTERVAL, "2h")],
            HEALTH_INTERVAL,
            "duration",
        ),
        (
            &[(HEALTH_PATH, "/h"), (HEALTH_FALL, "0")],
            HEALTH_FALL,
            "1 to 100",
        ),
        (
            &[(HEALTH_RISE, "2")],
            HEALTH_RISE,
            "needs sluice.healthcheck.path",
        ),
        (&[(PATH_REDIRECT, "/old")], PATH_REDIRECT, "two paths"),
        (&[(PATH_REDIRECT, "/a /b /c")], PATH_REDIRECT, "two paths"),
        (
            &[(PATH_REDIRECT, "/a https://evil.example/")],
            PATH_REDIRECT,
            "start with '/'",
        ),
        (
            &[(PATH_REDIRECT, "/a /b;return")],
            PATH_REDIRECT,
            "letters, digits",
        ),
        (&[(PATH_REDIRECT, "/a /b, /a /c")], PATH_REDIRECT, "twice"),
        (&[(PATH_REDIRECT, "/a /a")], PATH_REDIRECT, "itself"),
        (
            &[(PATH_REDIRECT, "/a /b"), (PATH_REDIRECT_STATUS, "303")],
            PATH_REDIRECT_STATUS,
            "301, 302",
        ),
        (
            &[(PATH_REDIRECT_STATUS, "302")],
            PATH_REDIRECT_STATUS,
            "needs sluice.path_redirect",
        ),
        (&[(REWRITE, "^/a")], REWRITE, "pattern replacement"),
        (&[(REWRITE, "^/a( /b")], REWRITE, "not a regular expression"),
        (&[(REWRITE, "^/a /b/$1")], REWRITE, "0 group"),
        (&[(REWRITE, "^/(a) /$host")], REWRITE, "$1..$9"),
        (&[(REWRITE, "^/(a) /b?x=1")], REWRITE, "$1..$9"),
        (&[(REWRITE, "^/a'b /b")], REWRITE, "quotes"),
        (&[(REWRITE, "^/[a&&b] /b")], REWRITE, "PCRE"),
    ];
    for (labels, label, why) in cases {
        let (_, refused, _) = parsed(labels);
        assert!(
            refused.iter().any(|(l, m)| l == label && m.contains(why)),
            "{labels:?}: expected {label} refused with {why:?}, got {refused:?}"
        );
    }
}
