//! The routes' policies (renderer interface 1.2.0, `sluice.*` labels) in a
//! backend: client networks, body size, timeouts, retries, compression,
//! headers, and HTTP/2 to the servers (h2c and gRPC: `proto h2`).
//!
//! HAProxy has one server-side inactivity timeout: `timeout server` takes
//! the larger of the read and send timeouts. The body size is checked on
//! `Content-Length`; a chunked body is not counted. Header values are
//! log-format strings to HAProxy, so `%` is doubled. Passthrough hosts relay
//! raw TLS: no policy applies to them, and one set is refused, never
//! dropped.
//!
//! A rate limit counts each client address's requests over the last second
//! in the backend's own stick table and answers 429 above rate + burst. A
//! health check is `option httpchk` and `check` on every server; servers
//! answering 502-504 have idempotent requests retried elsewhere meanwhile,
//! as nginx does. Basic auth is refused: HAProxy reads users only from its
//! own config (`userlist`), and the htpasswd file is a secret only the
//! proxy's container can read. Path redirects and rewrites match the path
//! as the client sent it (`pathq`, `path`), never decoded.

use sluice_plugin_kit::policies::refused;
use sluice_plugin_kit::{BackendProtocol, Diagnostic, Header, RenderInput, RoutePolicy};

use crate::cfg::Cfg;
use crate::quote;

pub use sluice_plugin_kit::policies::Policies;

/// What HAProxy cannot do (and what every plugin refuses), each naming its
/// label and upstream.
pub fn check(input: &RenderInput, policies: &Policies) -> Vec<Diagnostic> {
    let mut out = sluice_plugin_kit::policies::check(input, policies);
    for p in policies.iter().filter(|p| p.basic_auth.is_some()) {
        out.push(refused(
            "sluice.auth.basic",
            format!(
                "upstream {}: the HAProxy plugin cannot check basic auth: HAProxy reads users only from its own config, not from an htpasswd secret (use the nginx plugin for this service's cluster)",
                p.upstream
            ),
        ));
    }
    out
}

/// Types HAProxy compresses (gzip) when asked.
const COMPRESS_TYPES: &str = "text/html text/plain text/css text/xml application/json application/javascript application/xml image/svg+xml";

/// The server-line options the policy asks for (`proto h2`, a health
/// check's `check`), each with a leading space.
pub fn server_options(p: Option<&RoutePolicy>) -> String {
    let mut out = String::new();
    let Some(p) = p else { return out };
    if matches!(p.protocol, BackendProtocol::H2c | BackendProtocol::Grpc) {
        out.push_str(" proto h2");
    }
    if let Some(h) = &p.health_check {
        out.push_str(&format!(
            " check inter {}ms fall {} rise {}",
            h.interval_ms, h.fall, h.rise
        ));
    }
    out
}

/// A `sluice.rewrite` replacement as an HAProxy format: `$N` → `\N`
/// (nothing else in it is format syntax: the rules refuse `%` and `\`).
fn replace_format(replacement: &str) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('\\');
        } else {
            out.push(c);
        }
    }
    out
}

/// A header's value as an HAProxy argument: quoted, `%` doubled.
fn value(h: &Header) -> String {
    if h.value.is_empty() {
        return "''".into();
    }
    quote::word(&quote::log_format_literal(&h.value)).unwrap_or_else(|_| "''".into())
}

/// The policy's lines in an HTTP backend (before its servers).
pub fn write(cfg: &mut Cfg, p: &RoutePolicy) {
    if !p.allow.is_empty() {
        cfg.line(format!(
            "http-request deny deny_status 403 if !{{ src {} }}",
            p.allow.join(" ")
        ));
    }
    if let Some(bytes) = p.max_body_bytes.filter(|b| *b > 0) {
        cfg.line(format!(
            "http-request deny deny_status 413 if {{ req.hdr_val(content-length) gt {bytes} }}"
        ));
    }
    if let Some(ms) = p.connect_timeout_ms {
        cfg.line(format!("timeout connect {ms}ms"));
    }
    if let Some(ms) = p.read_timeout_ms.max(p.send_timeout_ms) {
        cfg.line(format!("timeout server {ms}ms"));
    }
    if let Some(r) = &p.rate_limit {
        cfg.line("stick-table type ipv6 size 100k expire 10s store http_req_rate(1s)");
        cfg.line("http-request track-sc2 src");
        cfg.line(format!(
            "http-request deny deny_status 429 if {{ sc_http_req_rate(2) gt {} }}",
            u64::from(r.per_second) + u64::from(r.burst)
        ));
    }
    for r in &p.path_redirects {
        // Prefixes are [A-Za-z0-9/._~-] (checked in `check`): bare words
        // to HAProxy, and once `path_beg` matched, the same text as a
        // regex matches exactly the prefix.
        cfg.line(format!(
            "http-request redirect location %[pathq,regsub(^{},{})] code {} if {{ path_beg {} }}",
            r.from_prefix, r.to_prefix, r.status, r.from_prefix
        ));
    }
    if let Some(r) = &p.rewrite {
        // Single quotes: HAProxy reads the text as it is (no `\`, `$` or
        // `#` syntax); the rules refuse quotes in both.
        cfg.line(format!(
            "http-request replace-path '{}' '{}'",
            r.pattern,
            replace_format(&r.replacement)
        ));
    }
    if p.retries.is_some() || p.health_check.is_some() {
        cfg.line(format!("retries {}", p.retries.unwrap_or(3)));
        // HAProxy retries only idempotent requests after they were sent.
        // A health check also passes over servers answering 502-504
        // until the check takes them out.
        cfg.line(if p.health_check.is_some() {
            "retry-on conn-failure empty-response 502 503 504"
        } else {
            "retry-on conn-failure empty-response"
        });
    }
    if let Some(h) = &p.health_check {
        cfg.line(format!("option httpchk GET {}", h.path));
    }
    if p.compression == Some(true) {
        cfg.line("compression algo gzip");
        cfg.line(format!("compression type {COMPRESS_TYPES}"));
    }
    for h in &p.request_headers {
        cfg.line(format!("http-request set-header {} {}", h.name, value(h)));
    }
    for h in &p.response_headers {
        cfg.line(format!("http-response set-header {} {}", h.name, value(h)));
    }
    if let Some(hsts) = &p.hsts {
        let v = sluice_plugin_kit::policies::hsts_value(hsts);
        cfg.line(format!(
            "http-response set-header Strict-Transport-Security '{v}' if {{ ssl_fc }}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_kit::Hsts;

    pub fn policy(upstream: &str) -> RoutePolicy {
        RoutePolicy::none(upstream)
    }

    #[test]
    fn traffic_fields_as_lines() {
        use sluice_plugin_kit::{HealthCheck, PathRedirect, RateLimit, Rewrite};
        let mut p = policy("a");
        p.rate_limit = Some(RateLimit {
            per_second: 10,
            burst: 5,
        });
        p.health_check = Some(HealthCheck {
            path: "/healthz".into(),
            interval_ms: 700,
            fall: 2,
            rise: 1,
        });
        p.path_redirects = vec![PathRedirect {
            from_prefix: "/old".into(),
            to_prefix: "/new".into(),
            status: 308,
        }];
        p.rewrite = Some(Rewrite {
            pattern: r"^/a/(\d+)/(.*)$".into(),
            replacement: "/b/$2/$1".into(),
        });
        let mut cfg = Cfg::default();
        write(&mut cfg, &p);
        let text = cfg.finish().0;
        for line in [
            "stick-table type ipv6 size 100k expire 10s store http_req_rate(1s)",
            "http-request track-sc2 src",
            "http-request deny deny_status 429 if { sc_http_req_rate(2) gt 15 }",
            "http-request redirect location %[pathq,regsub(^/old,/new)] code 308 if { path_beg /old }",
            r"http-request replace-path '^/a/(\d+)/(.*)$' '/b/\2/\1'",
            "retries 3\n    retry-on conn-failure empty-response 502 503 504",
            "option httpchk GET /healthz",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
        assert_eq!(server_options(Some(&p)), " check inter 700ms fall 2 rise 1");
    }

    #[test]
    fn each_field_as_lines() {
        let mut p = policy("a");
        p.allow = vec!["10.0.0.0/8".into(), "fd00::/16".into()];
        p.max_body_bytes = Some(1024);
        p.connect_timeout_ms = Some(500);
        p.read_timeout_ms = Some(1000);
        p.send_timeout_ms = Some(3000);
        p.retries = Some(2);
        p.compression = Some(true);
        p.request_headers = vec![Header {
            name: "X-Tenant".into(),
            value: "it's 100% %[src]".into(),
        }];
        p.response_headers = vec![Header {
            name: "X-Frame-Options".into(),
            value: "DENY".into(),
        }];
        p.hsts = Some(Hsts {
            max_age_seconds: 60,
            include_subdomains: false,
            preload: true,
        });
        let mut cfg = Cfg::default();
        write(&mut cfg, &p);
        let text = cfg.finish().0;
        for line in [
            "http-request deny deny_status 403 if !{ src 10.0.0.0/8 fd00::/16 }",
            "http-request deny deny_status 413 if { req.hdr_val(content-length) gt 1024 }",
            "timeout connect 500ms",
            "timeout server 3000ms",
            "retries 2\n    retry-on conn-failure empty-response",
            "compression algo gzip",
            r"http-request set-header X-Tenant 'it'\''s 100%% %%[src]'",
            "http-response set-header X-Frame-Options DENY",
            "http-response set-header Strict-Transport-Security 'max-age=60; preload' if { ssl_fc }",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
        assert_eq!(server_options(Some(&p)), "");
        p.protocol = BackendProtocol::Grpc;
        assert_eq!(server_options(Some(&p)), " proto h2");
        assert_eq!(server_options(None), "");
    }
}

#[cfg(test)]
mod refusals {
    use super::tests::policy;
    use super::*;
    use crate::test_support::{host, input, server, upstream};

    #[test]
    fn passthrough_and_bad_values_are_refused_by_label() {
        let keys = |h: Vec<sluice_plugin_kit::Host>, p: RoutePolicy| -> Vec<Option<String>> {
            match crate::render::render_with(&input("/etc/h/h.cfg", h), &[p]) {
                Err(sluice_plugin_kit::RenderError::InvalidInput(d)) => {
                    d.into_iter().map(|d| d.key).collect()
                }
                other => panic!("not refused: {:?}", other.map(|r| r.files.len())),
            }
        };
        let up = || upstream("a", vec![server("10.0.0.1", 80, 1)]);
        let mut pt = host("a.test", Some(up()));
        pt.passthrough = true;
        let timeout = RoutePolicy {
            read_timeout_ms: Some(5),
            ..policy("a")
        };
        assert_eq!(keys(vec![pt], timeout), [Some("sluice.*".into())]);
        let bad = RoutePolicy {
            response_headers: vec![Header {
                name: "X-A".into(),
                value: "a\nhttp-request deny".into(),
            }],
            ..policy("a")
        };
        assert_eq!(
            keys(vec![host("a.test", Some(up()))], bad),
            [Some("sluice.response_header.X-A".into())]
        );
        // h2c renders: HTTP/2 to the servers, slots included.
        let h2c = RoutePolicy {
            protocol: BackendProtocol::H2c,
            ..policy("a")
        };
        let r = crate::render::render_with(
            &input("/etc/h/h.cfg", vec![host("a.test", Some(up()))]),
            &[h2c],
        )
        .unwrap();
        let text = &r.files[0].contents;
        assert!(
            text.lines()
                .filter(|l| l.contains("server slot"))
                .all(|l| l.ends_with(" proto h2")),
            "{text}"
        );
    }
}
