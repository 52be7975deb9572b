//! The planner's pipeline: labels → cluster → targets → merge, per service,
//! then one [`ClusterPlan`] per Extension.

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::Service;

use super::allowed_hosts;
use super::labels::{self, Parsed};
use super::merge::{self, Created, Routed};
use super::partition::Partition;
use super::secrets::{BrokenTls, COLLECTION, SecretNames};
use super::targets;
use super::{ClusterPlan, Diagnostic, Plan, SERVER_INFO, Severity};
use crate::config::{Config, Extension};
use crate::snapshot::Snapshot;
use crate::wit::latest::{Cluster, RenderInput};

pub fn plan(snapshot: &Snapshot, config: &Config, broken: &BrokenTls) -> Plan {
    let mut diagnostics = Vec::new();
    let partition = Partition::new(config, &mut diagnostics);
    let (index, (services, secrets)) = rayon::join(
        || targets::Index::new(snapshot),
        || (named_services(snapshot), SecretNames::new(snapshot, broken)),
    );

    // Each service plans on its own (labels, cluster, targets), so they are
    // spread over the cores; the results are folded in snapshot order,
    // which keeps the plan identical to a sequential one.
    let plan_one = |(name, service): &(&str, &Service)| {
        plan_service(config, &partition, &index, &secrets, name, service)
    };
    let outcomes: Vec<Outcome> = super::map_in_order(&services, plan_one);
    let mut routed: BTreeMap<&str, Vec<Routed>> = BTreeMap::new();
    let mut still_mounted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for outcome in outcomes {
        diagnostics.extend(outcome.diagnostics);
        // Left-out services too: they keep the hosts they had first.
        if let Some((extension, r)) = outcome.routed {
            routed.entry(extension).or_default().push(r);
        }
        if let Some((extension, secrets)) = outcome.still_mounted {
            still_mounted.entry(extension).or_default().extend(secrets);
        }
    }

    let mut clusters = BTreeMap::new();
    for (ext_name, ext) in &config.extensions {
        let services = routed.remove(ext_name.as_str()).unwrap_or_default();
        let (mut cluster, found) = cluster_plan(ext, services);
        // A broken pair's secrets stay attached while a service names
        // them: detaching would restart the proxy tasks for nothing, and the
        // fix (a new secret) restarts them once anyway.
        cluster
            .secrets
            .extend(still_mounted.remove(ext_name.as_str()).unwrap_or_default());
        diagnostics.extend(found);
        clusters.insert(ext_name.clone(), cluster);
    }
    diagnostics.sort();
    diagnostics.dedup();
    Plan {
        clusters,
        diagnostics,
    }
}

/// The snapshot's named services, in the snapshot's order: walking them in
/// memory order is kinder to the cache than by name, and nothing downstream
/// depends on the order (merge sorts, diagnostics are sorted).
fn named_services(snapshot: &Snapshot) -> Vec<(&str, &Service)> {
    snapshot
        .services
        .iter()
        .filter_map(|s| Some((s.spec.as_ref()?.name.as_deref()?, s)))
        .collect()
}

/// One service's part of the plan: its route in its Extension, if it has
/// one, and what was found on the way.
#[derive(Default)]
struct Outcome<'a> {
    routed: Option<(&'a str, Routed)>,
    /// Secrets a service left out for a broken pair names (see `plan`).
    still_mounted: Option<(&'a str, Vec<String>)>,
    diagnostics: Vec<Diagnostic>,
}

fn plan_service<'a>(
    config: &Config,
    partition: &'a Partition,
    index: &targets::Index,
    secrets: &SecretNames,
    name: &str,
    service: &Service,
) -> Outcome<'a> {
    let mut out = Outcome::default();
    let diagnostics = &mut out.diagnostics;
    let empty = Default::default();
    let service_labels = service
        .spec
        .as_ref()
        .and_then(|s| s.labels.as_ref())
        .unwrap_or(&empty);
    let (route, warnings) = match labels::parse(service_labels) {
        Parsed::NotRouted => return out,
        Parsed::Invalid(errors, warnings) => {
            let found = warnings
                .into_iter()
                .map(|w| (Severity::Warning, w.label, w.message));
            let found = found.chain(
                errors
                    .into_iter()
                    .map(|e| (Severity::Error, e.label, e.message)),
            );
            for (severity, label, message) in found {
                diagnostics.push(for_service(severity, name, Some(&label), message));
            }
            return out;
        }
        Parsed::Routed(route, warnings) => (route, warnings),
    };
    let assigned = partition.assign(name, &route);
    let cluster = assigned.as_ref().ok().copied();
    for w in warnings {
        let mut d = for_service(Severity::Warning, name, Some(&w.label), w.message);
        d.cluster = cluster.map(str::to_owned);
        diagnostics.push(d);
    }
    let extension = match assigned {
        Ok(ext) => ext,
        Err(d) => {
            diagnostics.push(d);
            return out;
        }
    };
    let in_cluster = |mut d: Diagnostic| {
        d.cluster = Some(extension.to_owned());
        d
    };
    // From here on a refused service still holds the hosts it had first.
    let left_out = |route: Box<labels::ServiceRoute>| Routed {
        name: name.to_owned(),
        route,
        servers: Vec::new(),
        network: None,
        created: Created::Docker(service.created_at.clone()),
        collection: service_labels.get(COLLECTION).cloned(),
        serves: false,
    };
    if let Some(d) = secrets.refused(name, service_labels, &route) {
        diagnostics.push(in_cluster(d));
        out.routed = Some((extension, left_out(route)));
        return out;
    }
    if let Some(d) = secrets.broken(name, &route) {
        diagnostics.push(in_cluster(d));
        let pair = route.ssl_cert.iter().chain(&route.ssl_key).cloned();
        out.still_mounted = Some((extension, pair.collect()));
        out.routed = Some((extension, left_out(route)));
        return out;
    }
    if let Some(d) = config
        .extensions
        .get(extension)
        .and_then(|ext| allowed_hosts::refused(ext, name, &route))
    {
        diagnostics.push(d);
        out.routed = Some((extension, left_out(route)));
        return out;
    }
    match targets::resolve_in(index, service, name, &route) {
        Ok(t) => {
            for w in t.warnings {
                diagnostics.push(in_cluster(for_service(Severity::Warning, name, None, w)));
            }
            out.routed = Some((
                extension,
                Routed {
                    servers: t.servers,
                    network: t.network,
                    serves: true,
                    ..left_out(route)
                },
            ));
        }
        Err(e) => {
            diagnostics.push(in_cluster(for_service(
                Severity::Error,
                name,
                e.label,
                e.message,
            )));
            out.routed = Some((extension, left_out(route)));
        }
    }
    out
}

/// Drop `value` on the pool, off the caller's path.
fn drop_later<T: Send + 'static>(value: T) {
    rayon::spawn(move || drop(value));
}

fn for_service(
    severity: Severity,
    service: &str,
    label: Option<&str>,
    message: String,
) -> Diagnostic {
    Diagnostic {
        severity,
        cluster: None,
        service: Some(service.to_owned()),
        label: label.map(str::to_owned),
        message,
    }
}

fn cluster_plan(ext: &Extension, mut services: Vec<Routed>) -> (ClusterPlan, Vec<Diagnostic>) {
    let merged = merge::merge_in_place(&mut services);
    let mut diagnostics = merged.diagnostics;
    let mut networks = BTreeSet::new();
    // Both in name order (merge sorts the services): walk them side by side
    // rather than look 10k names up.
    let mut used = merged.used.iter().map(String::as_str).peekable();
    let serving = services.iter().filter(|s| {
        while used.next_if(|u| *u < s.name.as_str()).is_some() {}
        used.peek() == Some(&s.name.as_str())
    });
    let networks_by_service = serving.filter_map(|s| Some((s.name.as_str(), s.network.as_ref()?)));
    for (service, net) in networks_by_service {
        if !networks.contains(&net.id) {
            networks.insert(net.id.clone());
        }
        // With a fixed `Networks` list the proxy joins only those (Interlock ≥ 3.0).
        if let Some(pinned) = &ext.networks
            && !pinned.iter().any(|p| p == &net.name || p == &net.id)
        {
            diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                cluster: None,
                service: Some(service.to_string()),
                label: Some(labels::NETWORK.to_owned()),
                message: format!(
                    "uses network {}, which is not in Extensions.{}.Networks; the proxy will not be able to reach it",
                    net.name, ext.name
                ),
            });
        }
    }
    for d in &mut diagnostics {
        d.cluster = Some(ext.name.clone());
    }
    let input = RenderInput {
        cluster: Cluster {
            name: ext.name.clone(),
            service_cluster: ext.service_cluster.clone(),
            http_port: ext.target_port,
            https_port: ext.target_ssl_port,
            config_path: ext.proxy_config_path.clone().unwrap_or_default(),
            settings: ext.config.clone(),
            server_info: SERVER_INFO.to_owned(),
        },
        hosts: merged.hosts,
        default_backend: merged.default_backend,
    };
    let plan = ClusterPlan {
        extension: ext.name.clone(),
        input,
        networks,
        secrets: merged.secrets,
    };
    // Freeing 10k services' routes takes ~2 ms; the plan is wanted now.
    drop_later(services);
    (plan, diagnostics)
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;
