//! One cluster's routed services → its hosts and default backend.
//!
//! Services sharing a host share its upstream (Interlock's canary); services
//! sharing host + context root share that path's upstream. Interlock took
//! shared settings from whichever backend came first; here every conflict
//! goes to the service that had the host first: the oldest by creation time,
//! the smallest name among equals (`Routed::seniority`). A newcomer can
//! join a host, never take it over, and every disagreement is reported
//! naming both services:
//! - a newcomer of another collection (MKE/UCP's `com.docker.ucp.access.label`)
//!   than the host's first service is not routed for that host (Error); on a
//!   plain Swarm, without collections, services share hosts as before.
//! - a newcomer that sets its own `ssl_cert`/`ssl_key` for a host whose first
//!   service sets other ones (or none) is not routed for that host (Error):
//!   a certificate is never replaced from a second service. A newcomer
//!   without TLS labels joins the host as it is (Warning).
//! - upstream-level settings (`sticky_session_cookie`, `ip_hash`,
//!   `ssl_backend`, `ssl_backend_tls_verify`, `context_root_rewrite`): the
//!   first service's value is used; a Warning names the other.
//! - two `default_backend` services: the first wins; the other is not
//!   routed at all (Error).
//! - a host that is `ssl_passthrough` for one service and not for another: the
//!   first service's mode wins; the others are not routed for that host (Error).
//!
//! Those rules live in [`super::conflicts`]; this file groups services by
//! host, names upstreams and builds hosts, calling them at each contest.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::conflicts;
use super::labels::policy::{self, Policy, Protocol};
use super::labels::{self, ServiceRoute, TlsVerify};
use super::naming::{self, UpstreamKey};
use super::targets::NetRef;
use super::weights;
use super::{Diagnostic, Severity};
use crate::wit::latest::{self as wit, ContextRoot, Host, RoutePolicy, Server, TlsFiles, Upstream};

/// Where the proxy reads secrets from (Docker's default secret target).
pub const SECRETS_DIR: &str = "/run/secrets";

/// A service whose labels parsed and whose targets resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    pub name: String,
    /// Boxed: services are moved around by the thousand while planning.
    pub route: Box<ServiceRoute>,
    /// Weight 1 each; [`merge`] sets weights and order.
    pub servers: Vec<Server>,
    pub network: Option<NetRef>,
    pub created: Created,
    /// Its MKE/UCP collection ([`super::secrets::COLLECTION`]), if any.
    pub collection: Option<String>,
    /// False for a service left out of routing (a refused secret, a broken
    /// pair, a host outside `AllowedHosts`, no reachable network): it serves
    /// nothing, but the hosts it had first stay its own, so leaving it out
    /// never hands them to a newcomer.
    pub serves: bool,
}

/// When a service was created. Docker's text is read only when two
/// services contest something (most hosts have one service: 10k parses
/// would cost the planner a millisecond for nothing).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Created {
    /// Docker did not say: ranks after every known time.
    #[default]
    Unknown,
    /// Docker's `CreatedAt` (RFC 3339).
    Docker(Option<String>),
    /// Unix nanoseconds.
    At(i128),
}

impl Created {
    pub fn unix_nanos(&self) -> Option<i128> {
        use time::format_description::well_known::Rfc3339;
        match self {
            Created::Unknown | Created::Docker(None) => None,
            Created::Docker(Some(text)) => Some(
                time::OffsetDateTime::parse(text, &Rfc3339)
                    .ok()?
                    .unix_timestamp_nanos(),
            ),
            Created::At(n) => Some(*n),
        }
    }
}

/// One cluster's routes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterRoutes {
    pub hosts: Vec<Host>,
    pub default_backend: Option<Upstream>,
    /// Services serving at least one route: only their networks matter.
    pub used: BTreeSet<String>,
    /// Secret names the chosen TLS settings need.
    pub secrets: BTreeSet<String>,
    /// The policies of the upstreams that have any, by upstream name.
    pub policies: Vec<RoutePolicy>,
    /// Hosts whose certificates come from ACME (`sluice.tls = acme`).
    pub acme_hosts: BTreeSet<String>,
    /// Without `cluster`; the caller fills it in.
    pub diagnostics: Vec<Diagnostic>,
}

pub fn merge(services: Vec<Routed>) -> ClusterRoutes {
    merge_in_place(&mut services.iter().collect::<Vec<_>>())
}

/// [`merge`], leaving the services (sorted by name) to the caller.
pub fn merge_in_place<'a>(services: &mut [&'a Routed]) -> ClusterRoutes {
    // They come in service ID order; 10k of them sort faster on every core.
    services.par_sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = ClusterRoutes::default();

    let (default, excluded) = conflicts::default_backend(services, &mut out.diagnostics);
    let services: Vec<&'a Routed> = services
        .iter()
        .copied()
        .filter(|s| !excluded.contains(&s.name))
        .collect();

    // (host, service) pairs grouped by host, the host's first service
    // first: what a map of host → services gives, without 10k tree inserts.
    let mut pairs: Vec<(&str, &Routed)> = services
        .iter()
        .flat_map(|s| s.route.hosts.iter().map(move |h| (h.as_str(), *s)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut by_host: Vec<(&str, Vec<&Routed>)> = pairs
        .chunk_by(|a, b| a.0 == b.0)
        .map(|g| (g[0].0, g.iter().map(|(_, s)| *s).collect()))
        .collect();
    for (host, members) in by_host.iter_mut() {
        if members.len() > 1 {
            members.sort_by_cached_key(|s| s.seniority());
        }
        conflicts::resolve_claims(host, members, &mut out.diagnostics);
        if !members.is_empty() {
            conflicts::resolve_passthrough(host, members, &mut out.diagnostics);
        }
    }
    // A host whose owner is left out and that no one else may serve.
    by_host.retain(|(_, members)| !members.is_empty());

    let keys: BTreeSet<UpstreamKey> = default
        .map(|_| UpstreamKey::Default)
        .into_iter()
        .chain(by_host.iter().flat_map(|(host, members)| {
            members.iter().map(|m| match &m.route.context_root {
                None => UpstreamKey::root(host),
                Some(p) => UpstreamKey::context(host, p),
            })
        }))
        .collect();
    let names = naming::assign(&keys);

    let mut found = HostParts::default();
    if let Some(d) = default {
        let name = name_of(&names, UpstreamKey::Default);
        out.default_backend = Some(upstream(name, Serves::DefaultBackend, &[d], &mut found));
    }
    // Hosts are independent of each other: build them on every core, then
    // gather in host order, as a sequential build would.
    let build = |entry: &(&'a str, Vec<&'a Routed>)| build_one(&names, entry);
    let built: Vec<(Host, HostParts)> = super::map_in_order(&by_host, build);
    out.hosts.reserve(built.len());
    let mut used: Vec<&str> = found.used;
    let mut secrets: Vec<String> = found.secrets;
    let mut policies: Vec<RoutePolicy> = found.policies;
    out.diagnostics.append(&mut found.diagnostics);
    for (h, mut f) in built {
        if f.acme {
            out.acme_hosts.insert(h.name.clone());
        }
        out.hosts.push(h);
        out.diagnostics.append(&mut f.diagnostics);
        used.append(&mut f.used);
        secrets.append(&mut f.secrets);
        policies.append(&mut f.policies);
    }
    policies.sort_by(|a, b| a.upstream.cmp(&b.upstream));
    out.policies = policies;
    // Collected from sorted runs: a bulk build, not 10k inserts.
    used.sort_unstable();
    used.dedup();
    out.used = used.into_iter().map(str::to_owned).collect();
    out.secrets = secrets.into_iter().collect();
    out
}

fn build_one<'a>(
    names: &FxHashMap<UpstreamKey<'a>, String>,
    (host, members): &(&'a str, Vec<&'a Routed>),
) -> (Host, HostParts<'a>) {
    let mut found = HostParts::default();
    let h = build_host(host, members, names, &mut found);
    (h, found)
}

/// What building upstreams finds besides the upstreams (see [`ClusterRoutes`]).
#[derive(Default)]
struct HostParts<'a> {
    diagnostics: Vec<Diagnostic>,
    used: Vec<&'a str>,
    secrets: Vec<String>,
    policies: Vec<RoutePolicy>,
    acme: bool,
}

fn name_of(names: &FxHashMap<UpstreamKey, String>, key: UpstreamKey) -> String {
    names
        .get(&key)
        .expect("every upstream key has a name")
        .clone()
}

/// What an upstream serves, for messages; formatted only when one is needed.
#[derive(Clone, Copy)]
pub(super) enum Serves<'a> {
    DefaultBackend,
    Host(&'a str),
    ContextRoot(&'a str, &'a str),
}

impl std::fmt::Display for Serves<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Serves::DefaultBackend => f.write_str("default backend"),
            Serves::Host(host) => write!(f, "host {host}"),
            Serves::ContextRoot(host, path) => write!(f, "host {host} context root {path}"),
        }
    }
}

pub(super) fn diag(severity: Severity, service: &str, label: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        cluster: None,
        service: Some(service.to_owned()),
        label: Some(label.to_owned()),
        message,
    }
}

fn upstream<'a>(
    name: String,
    what: Serves,
    members: &[&'a Routed],
    out: &mut HostParts<'a>,
) -> Upstream {
    let mut servers: Vec<Server> = members
        .iter()
        .flat_map(|m| m.servers.iter().cloned())
        .collect();
    // One service, or none weighted: every server weighs 1 (the common case,
    // without building the map).
    let representable = if members.iter().all(|m| m.route.weight.is_none()) {
        servers.iter_mut().for_each(|s| s.weight = 1);
        true
    } else {
        let weight_labels: BTreeMap<&str, Option<u32>> = members
            .iter()
            .map(|m| (m.name.as_str(), m.route.weight))
            .collect();
        weights::assign(&mut servers, &weight_labels)
    };
    if !representable {
        out.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            cluster: None,
            service: None,
            label: Some(labels::WEIGHT.to_owned()),
            message: format!(
                "{what}: the weights of services {} differ by more than a proxy can express; the lightest servers get weight 1",
                members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    servers.sort_by(|a, b| server_order(a).cmp(&server_order(b)));
    out.used.extend(members.iter().map(|m| m.name.as_str()));
    let d = &mut out.diagnostics;
    // Most services set no policy: nothing to agree on, nothing to copy.
    let chosen = if members.iter().all(|m| m.route.policy.is_none()) {
        None
    } else {
        Some(conflicts::agree(
            what,
            "sluice.*",
            members,
            |r| r.policy.as_deref().cloned().unwrap_or_default(),
            d,
        ))
    };
    if let Some(chosen) = chosen.filter(|p| !p.is_default()) {
        if let Some(auth) = &chosen.basic_auth {
            out.secrets.push(auth.secret.clone());
        }
        out.policies.push(route_policy(&name, &chosen));
    }
    Upstream {
        name,
        servers,
        sticky_cookie: conflicts::agree(
            what,
            labels::STICKY_SESSION_COOKIE,
            members,
            |r| r.sticky_session_cookie.clone(),
            d,
        ),
        ip_hash: conflicts::agree(what, labels::IP_HASH, members, |r| r.ip_hash, d),
        tls: conflicts::agree(what, labels::SSL_BACKEND, members, |r| r.ssl_backend, d),
        tls_verify: match conflicts::agree(
            what,
            labels::SSL_BACKEND_TLS_VERIFY,
            members,
            |r| r.ssl_backend_tls_verify,
            d,
        ) {
            TlsVerify::None => wit::TlsVerify::None,
            TlsVerify::Required => wit::TlsVerify::Required,
        },
    }
}

/// A service's policy as the plugin gets it, for upstream `upstream`.
fn route_policy(upstream: &str, p: &Policy) -> RoutePolicy {
    let headers = |list: &[(String, String)]| {
        list.iter()
            .map(|(name, value)| wit::Header {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()
    };
    RoutePolicy {
        upstream: upstream.to_owned(),
        connect_timeout_ms: p.connect_timeout_ms,
        read_timeout_ms: p.read_timeout_ms,
        send_timeout_ms: p.send_timeout_ms,
        max_body_bytes: p.max_body_bytes,
        response_headers: headers(&p.response_headers),
        request_headers: headers(&p.request_headers),
        hsts: p.hsts.map(|h: policy::Hsts| wit::Hsts {
            max_age_seconds: h.max_age_seconds,
            include_subdomains: h.include_subdomains,
            preload: h.preload,
        }),
        allow: p.allow.clone(),
        retries: p.retries,
        compression: p.compression,
        protocol: match p.protocol {
            Protocol::Http => wit::BackendProtocol::Http,
            Protocol::H2c => wit::BackendProtocol::H2c,
            Protocol::Grpc => wit::BackendProtocol::Grpc,
        },
        rate_limit: p.rate_limit.map(|r| wit::RateLimit {
            per_second: r.per_second,
            burst: r.burst,
        }),
        basic_auth: p.basic_auth.as_ref().map(|a| wit::BasicAuth {
            users_path: format!("{SECRETS_DIR}/{}", a.secret),
            realm: a.realm.clone(),
        }),
        health_check: p.health_check.as_ref().map(|h| wit::HealthCheck {
            path: h.path.clone(),
            interval_ms: h.interval_ms,
            fall: h.fall,
            rise: h.rise,
        }),
        path_redirects: p
            .path_redirects
            .iter()
            .map(|r| wit::PathRedirect {
                from_prefix: r.from.clone(),
                to_prefix: r.to.clone(),
                status: r.status,
            })
            .collect(),
        rewrite: p.rewrite.as_ref().map(|r| wit::Rewrite {
            pattern: r.pattern.clone(),
            replacement: r.replacement.clone(),
        }),
    }
}

/// Servers by service, then address (numerically when it is an IP).
fn server_order(s: &Server) -> (&str, Option<IpAddr>, &str, u16) {
    (&s.service, s.address.parse().ok(), &s.address, s.port)
}

fn build_host<'a>(
    host: &'a str,
    members: &[&'a Routed],
    names: &FxHashMap<UpstreamKey<'a>, String>,
    out: &mut HostParts<'a>,
) -> Host {
    let roots: Vec<&Routed> = members
        .iter()
        .copied()
        .filter(|m| m.route.context_root.is_none())
        .collect();
    let mut by_path: BTreeMap<&str, Vec<&Routed>> = BTreeMap::new();
    for m in members {
        if let Some(p) = &m.route.context_root {
            by_path.entry(p.as_str()).or_default().push(m);
        }
    }

    let what = Serves::Host(host);
    let passthrough = members[0].route.ssl_passthrough;
    let tls = if passthrough {
        None
    } else {
        let cert_key = conflicts::agree(
            what,
            labels::SSL_CERT,
            members,
            |r| r.ssl_cert.clone().map(|c| (c, r.ssl_key.clone())),
            &mut out.diagnostics,
        );
        match cert_key {
            Some((cert, key)) => {
                out.secrets.push(cert.clone());
                out.secrets.extend(key.clone());
                Some(TlsFiles {
                    cert_path: format!("{SECRETS_DIR}/{cert}"),
                    key_path: key.map(|k| format!("{SECRETS_DIR}/{k}")),
                })
            }
            None => None,
        }
    };

    if let Some(m) = members.iter().find(|m| m.route.acme) {
        if tls.is_some() || passthrough {
            out.diagnostics.push(diag(
                Severity::Warning,
                &m.name,
                labels::policy::TLS,
                format!(
                    "host {host}: another service's {} decides its TLS; no ACME certificate is asked for",
                    if passthrough { labels::SSL_PASSTHROUGH } else { labels::SSL_CERT }
                ),
            ));
        } else {
            out.acme = true;
        }
    }

    let root_upstream = (!roots.is_empty()).then(|| {
        let name = name_of(names, UpstreamKey::root(host));
        upstream(name, what, &roots, out)
    });

    let mut context_roots: Vec<ContextRoot> = by_path
        .iter()
        .map(|(path, ms)| {
            let what = Serves::ContextRoot(host, path);
            let rewrite = conflicts::agree(
                what,
                labels::CONTEXT_ROOT_REWRITE,
                ms,
                |r| r.context_root_rewrite,
                &mut out.diagnostics,
            );
            let name = name_of(names, UpstreamKey::context(host, path));
            ContextRoot {
                path: path.to_string(),
                rewrite,
                upstream: upstream(name, what, ms, out),
            }
        })
        .collect();
    context_roots.sort_by(|a, b| {
        b.path
            .len()
            .cmp(&a.path.len())
            .then_with(|| a.path.cmp(&b.path))
    });

    let websocket_endpoints =
        websocket_endpoints(host, members, root_upstream.is_some(), &mut out.diagnostics);
    let redirects = conflicts::redirects(host, members, &mut out.diagnostics);

    Host {
        name: host.to_owned(),
        upstream: root_upstream,
        context_roots,
        websocket_endpoints,
        redirects,
        tls,
        passthrough,
    }
}

/// Union of the root services' endpoints. The WIT proxies websocket paths to
/// the host's root upstream, so a context-root service's endpoints cannot be
/// honoured; they are reported.
fn websocket_endpoints(
    host: &str,
    members: &[&Routed],
    has_root: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    for m in members
        .iter()
        .filter(|m| !m.route.websocket_endpoints.is_empty())
    {
        if m.route.context_root.is_none() && has_root {
            out.extend(m.route.websocket_endpoints.iter().cloned());
        } else {
            diagnostics.push(diag(
                Severity::Warning,
                &m.name,
                labels::WEBSOCKET_ENDPOINTS,
                format!("host {host}: ignored for a service with com.docker.lb.context_root (websocket paths go to the host's root upstream)"),
            ));
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
