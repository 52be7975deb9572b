//! The routes' policies (interface 1.2.0's `route-policy`) as every plugin
//! reads them: by upstream, with the checks any proxy's syntax needs and
//! the refusal every plugin shares (a passthrough host relays raw TLS, so no
//! policy can apply to it, and one set is refused, never dropped).

use rustc_hash::FxHashMap;

use crate::rules::{
    auth_realm, cidr, file_path, header_name, header_value, rewrite_pattern, rewrite_replacement,
    url_path,
};
use crate::{BackendProtocol, Diagnostic, RenderInput, RoutePolicy, Severity};

/// Each upstream's policy, by name. Asked once per upstream or location
/// of a cluster that mostly has none: an empty set answers without hashing.
#[derive(Default)]
pub struct Policies<'a>(FxHashMap<&'a str, &'a RoutePolicy>);

impl<'a> Policies<'a> {
    pub fn new(policies: &'a [RoutePolicy]) -> Self {
        Policies(policies.iter().map(|p| (p.upstream.as_str(), p)).collect())
    }

    pub fn get(&self, upstream: &str) -> Option<&'a RoutePolicy> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(upstream).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a RoutePolicy> + '_ {
        self.0.values().copied()
    }
}

impl RoutePolicy {
    /// No policy at all, for `upstream` (what a 1.1.0 input meant).
    pub fn none(upstream: &str) -> RoutePolicy {
        RoutePolicy {
            upstream: upstream.into(),
            connect_timeout_ms: None,
            read_timeout_ms: None,
            send_timeout_ms: None,
            max_body_bytes: None,
            response_headers: vec![],
            request_headers: vec![],
            hsts: None,
            allow: vec![],
            retries: None,
            compression: None,
            protocol: BackendProtocol::Http,
            rate_limit: None,
            basic_auth: None,
            health_check: None,
            path_redirects: vec![],
            rewrite: None,
        }
    }
}

/// `Strict-Transport-Security`'s value for `hsts`.
pub fn hsts_value(hsts: &crate::Hsts) -> String {
    let mut v = format!("max-age={}", hsts.max_age_seconds);
    if hsts.include_subdomains {
        v.push_str("; includeSubDomains");
    }
    if hsts.preload {
        v.push_str("; preload");
    }
    v
}

/// An error diagnostic naming `key` (a `sluice.*` label).
pub fn refused(key: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key.to_owned()),
        message,
    }
}

/// Header names and values and client networks the host should never have
/// let through (checked again: a plugin trusts no input), and policies on
/// passthrough hosts, each naming its label.
pub fn check(input: &RenderInput, policies: &Policies) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for p in policies.iter() {
        let at = |m: String| format!("upstream {}: {m}", p.upstream);
        for (prefix, headers) in [
            ("sluice.response_header.", &p.response_headers),
            ("sluice.request_header.", &p.request_headers),
        ] {
            for h in headers {
                if let Err(e) = header_name(&h.name).and_then(|()| header_value(&h.value)) {
                    out.push(refused(&format!("{prefix}{}", h.name), at(e.to_string())));
                }
            }
        }
        for net in &p.allow {
            if let Err(e) = cidr(net) {
                out.push(refused("sluice.allow", at(e.to_string())));
            }
        }
        let mut rule = |key: &str, result: Result<(), crate::rules::Invalid>| {
            if let Err(e) = result {
                out.push(refused(key, at(e.to_string())));
            }
        };
        if let Some(a) = &p.basic_auth {
            rule("sluice.auth.basic", file_path(&a.users_path));
            rule("sluice.auth.realm", auth_realm(&a.realm));
        }
        if let Some(h) = &p.health_check {
            rule("sluice.healthcheck.path", url_path(&h.path));
        }
        for r in &p.path_redirects {
            rule("sluice.path_redirect", url_path(&r.from_prefix));
            rule("sluice.path_redirect", url_path(&r.to_prefix));
            if !matches!(r.status, 301 | 302 | 307 | 308) {
                rule(
                    "sluice.path_redirect.status",
                    Err(crate::rules::Invalid::from_message(format!(
                        "status {} is not 301, 302, 307 or 308",
                        r.status
                    ))),
                );
            }
        }
        if let Some(r) = &p.rewrite {
            rule("sluice.rewrite", rewrite_pattern(&r.pattern));
            rule("sluice.rewrite", rewrite_replacement(&r.replacement));
        }
    }
    if policies.is_empty() {
        return out;
    }
    for h in input.hosts.iter().filter(|h| h.passthrough) {
        let ups = h
            .upstream
            .iter()
            .chain(h.context_roots.iter().map(|c| &c.upstream));
        if ups.into_iter().any(|u| policies.get(&u.name).is_some()) {
            out.push(refused(
                "sluice.*",
                format!(
                    "host {}: ssl_passthrough relays raw TLS, so sluice.* policies cannot apply to it",
                    h.name
                ),
            ));
        }
    }
    out
}
