//! Cross-label rules: combinations a proxy cannot render or that silently
//! do nothing, said with the label at fault.

use std::collections::HashMap;

use super::*;

pub(super) fn check(p: &mut Parser, r: &ServiceRoute, labels: &HashMap<String, String>) {
    let has = |k: &str| labels.contains_key(k);
    if r.default_backend && r.hosts.is_empty() {
        // Host-scoped labels on a default backend without hosts: said, not dropped.
        let unused: [(&str, &str); 5] = [
            (
                SSL_CERT,
                "names no host's certificate: a default_backend without com.docker.lb.hosts gets \
                 the names no service routes, over HTTPS with the cluster's first certificate \
                 (as HAProxy's default certificate); not used",
            ),
            (SSL_KEY, "is not used: see com.docker.lb.ssl_cert"),
            (
                CONTEXT_ROOT,
                "is not applied: a default_backend without com.docker.lb.hosts takes every path \
                 of the names no service routes",
            ),
            (
                WEBSOCKET_ENDPOINTS,
                "is not applied: a default_backend without com.docker.lb.hosts has no endpoints \
                 of its own (give it hosts to route WebSocket paths)",
            ),
            (
                SSL_PASSTHROUGH,
                "is not applied: TLS for names no service routes is terminated with the \
                 cluster's first certificate",
            ),
        ];
        for (label, message) in unused {
            if has(label) {
                p.warn(label, message);
            }
        }
    }
    if r.acme {
        let tls = super::policy::TLS;
        if r.ssl_cert.is_some() {
            p.error(
                tls,
                "cannot be combined with com.docker.lb.ssl_cert (the certificate comes from one or the other)",
            );
        }
        if r.ssl_passthrough {
            p.error(
                tls,
                "cannot be combined with com.docker.lb.ssl_passthrough (the service terminates TLS itself)",
            );
        }
        if r.hosts.is_empty() {
            p.error(tls, "needs com.docker.lb.hosts (the names to certify)");
        }
        if let Some(wild) = r.hosts.iter().find(|h| h.starts_with("*.")) {
            p.error(
                tls,
                format!(
                    "cannot certify the wildcard host {wild:?} (HTTP-01 proves one name at a time)"
                ),
            );
        }
    }
    if r.ssl_key.is_some() && r.ssl_cert.is_none() && has(SSL_KEY) {
        p.error(SSL_KEY, "is set without com.docker.lb.ssl_cert");
    }
    if r.sticky_session_cookie.is_some() && r.ip_hash {
        p.error(
            IP_HASH,
            "cannot be combined with com.docker.lb.sticky_session_cookie (a proxy has one balancing method per upstream)",
        );
    }
    if r.ssl_passthrough {
        if r.context_root.is_some() {
            p.error(
                CONTEXT_ROOT,
                "cannot be combined with com.docker.lb.ssl_passthrough (the proxy never sees the path of passed-through TLS)",
            );
        }
        if r.ssl_cert.is_some() {
            p.warn(
                SSL_CERT,
                "is ignored with com.docker.lb.ssl_passthrough (the service terminates TLS itself)",
            );
        }
    }
    if r.policy.as_ref().is_some_and(|p| p.rewrite.is_some())
        && r.context_root_rewrite
        && r.context_root.is_some()
    {
        p.error(
            super::policy::REWRITE,
            "cannot be combined with com.docker.lb.context_root_rewrite (one rewrite per route: put the context root in the pattern)",
        );
    }
    if r.context_root_rewrite && r.context_root.is_none() {
        p.warn(
            CONTEXT_ROOT_REWRITE,
            "has no effect without com.docker.lb.context_root",
        );
    }
    if r.backend_mode == BackendMode::Vip && (r.sticky_session_cookie.is_some() || r.ip_hash) {
        let label = if r.ip_hash {
            IP_HASH
        } else {
            STICKY_SESSION_COOKIE
        };
        p.warn(
            label,
            "has no effect with backend_mode=vip (the upstream has one server)",
        );
    }
}
