//! The conflict rules of a merge: which service a contested host, setting
//! or default backend goes to, and what is said to the others (see the
//! rules in [`super::merge`]'s documentation). The merge itself (grouping,
//! naming, building upstreams) calls these at each contest.

use std::collections::{BTreeMap, BTreeSet};

use super::labels::{self, ServiceRoute};
use super::merge::{Routed, Serves, diag};
use super::shown::Shown;
use super::{Diagnostic, Severity};
use crate::wit::latest::Redirect;

/// A service's rank among those contesting a host: older first, then the
/// smaller name, so the order is total and the same on every daemon.
type Seniority<'a> = (bool, Option<i128>, &'a str);

impl Routed {
    pub(super) fn seniority(&self) -> Seniority<'_> {
        let t = self.created.unix_nanos();
        (t.is_none(), t, &self.name)
    }

    /// Why `self` ranks before `other`, for messages.
    pub(super) fn first_because(&self, other: &Routed) -> &'static str {
        match (self.created.unix_nanos(), other.created.unix_nanos()) {
            (Some(a), Some(b)) if a != b => "created first",
            _ => "same creation time, smaller name",
        }
    }
}

/// Two `default_backend` services in one cluster: the first (by seniority)
/// wins, every other is not routed at all (Error). The winner, and the
/// names left out.
pub(super) fn default_backend<'a>(
    services: &[&'a Routed],
    diagnostics: &mut Vec<Diagnostic>,
) -> (Option<&'a Routed>, BTreeSet<String>) {
    let mut defaults: Vec<&'a Routed> = services
        .iter()
        .copied()
        .filter(|s| s.route.default_backend && s.serves)
        .collect();
    defaults.sort_by_cached_key(|s| s.seniority());
    let mut excluded = BTreeSet::new();
    if let Some((winner, losers)) = defaults.split_first() {
        for loser in losers {
            diagnostics.push(diag(
                Severity::Error,
                &loser.name,
                labels::DEFAULT_BACKEND,
                format!(
                    "services {} and {} are both default_backend in this cluster; {} wins ({}), {} is not routed",
                    winner.name,
                    loser.name,
                    winner.name,
                    winner.first_because(loser),
                    loser.name
                ),
            ));
            excluded.insert(loser.name.clone());
        }
    }
    (defaults.first().copied(), excluded)
}

/// Keep only the services that may serve the host its first service holds
/// (whether that one serves or is left out): of the same collection, and
/// without TLS settings of their own that differ from the first's (a
/// newcomer never replaces a host's certificate).
pub(super) fn resolve_claims(
    host: &str,
    members: &mut Vec<&Routed>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let first = members[0];
    let tls = |r: &Routed| (r.route.ssl_cert.clone(), r.route.ssl_key.clone());
    let owner_tls = tls(first);
    members.retain(|m| {
        if !m.serves {
            // Left out already, with its own Error.
            return false;
        }
        if std::ptr::eq(*m, first) {
            return true;
        }
        let because = first.first_because(m);
        let (label, why) = if m.collection != first.collection {
            (
                labels::HOSTS,
                format!(
                    "host {host} belongs to service {} of collection {} ({because}); service {} of collection {} may not claim it",
                    first.name,
                    collection_name(&first.collection),
                    m.name,
                    collection_name(&m.collection)
                ),
            )
        } else if m.route.ssl_cert.is_some()
            && tls(m) != owner_tls
            && !first.route.ssl_passthrough
            && !m.route.ssl_passthrough
        {
            (
                labels::SSL_CERT,
                format!(
                    "host {host} belongs to service {} ({because}) with certificate {}; service {} sets its own ({}) and may not replace it",
                    first.name,
                    owner_tls.0.shown(),
                    m.name,
                    tls(m).0.shown()
                ),
            )
        } else {
            return true;
        };
        diagnostics.push(diag(
            Severity::Error,
            &m.name,
            label,
            format!("{why}; {} is not routed for {host}", m.name),
        ));
        false
    });
}

fn collection_name(c: &Option<String>) -> String {
    match c {
        Some(c) => format!("{c:?}"),
        None => "(none)".to_owned(),
    }
}

/// Keep only the services whose passthrough mode matches the first's.
pub(super) fn resolve_passthrough(
    host: &str,
    members: &mut Vec<&Routed>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let first = members[0];
    let mode = first.route.ssl_passthrough;
    let says = |on: bool| if on { "uses" } else { "does not use" };
    members.retain(|m| {
        if m.route.ssl_passthrough == mode {
            return true;
        }
        diagnostics.push(diag(
            Severity::Error,
            &m.name,
            labels::SSL_PASSTHROUGH,
            format!(
                "host {host}: service {} {} ssl_passthrough but service {} {}; {} wins ({}), {} is not routed for {host}",
                first.name,
                says(mode),
                m.name,
                says(!mode),
                first.name,
                first.first_because(m),
                m.name
            ),
        ));
        false
    });
}

/// The first service's value of a shared setting; a Warning for each service
/// that disagrees.
pub(super) fn agree<T: PartialEq + Shown>(
    what: Serves,
    label: &str,
    members: &[&Routed],
    get: impl Fn(&ServiceRoute) -> T,
    diagnostics: &mut Vec<Diagnostic>,
) -> T {
    let first = members[0];
    let value = get(&first.route);
    for m in &members[1..] {
        let other = get(&m.route);
        if other != value {
            diagnostics.push(diag(
                Severity::Warning,
                &m.name,
                label,
                format!(
                    "{what}: services {} ({}) and {} ({}) disagree on {label}; using {}'s ({})",
                    first.name,
                    value.shown(),
                    m.name,
                    other.shown(),
                    first.name,
                    first.first_because(m)
                ),
            ));
        }
    }
    value
}

/// Redirects whose source is this host, one per scheme; the first service wins.
pub(super) fn redirects(
    host: &str,
    members: &[&Routed],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Redirect> {
    let mut chosen: BTreeMap<Option<String>, (&str, String)> = BTreeMap::new();
    for m in members {
        for r in m.route.redirects.iter().filter(|r| r.source_host == host) {
            match chosen.get(&r.scheme) {
                None => {
                    chosen.insert(r.scheme.clone(), (&m.name, r.target.clone()));
                }
                Some((first, target)) if *target != r.target => diagnostics.push(diag(
                    Severity::Warning,
                    &m.name,
                    labels::REDIRECTS,
                    format!(
                        "host {host}: services {first} (to {target}) and {} (to {}) redirect the same source; using {first}'s (it had the host first)",
                        m.name, r.target
                    ),
                )),
                Some(_) => {}
            }
        }
    }
    chosen
        .into_iter()
        .map(|(scheme, (_, target))| Redirect { scheme, target })
        .collect()
}
