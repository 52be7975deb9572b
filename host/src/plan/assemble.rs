//! The planner's pipeline: labels → cluster → targets → merge, per service,
//! then one [`ClusterPlan`] per Extension.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::allowed_hosts;
use super::labels::{self, Parsed};
use super::merge::{self, Created, Routed};
use super::partition::Partition;
use super::secrets::{BrokenTls, COLLECTION, SecretNames};
use super::targets;
use super::{ClusterPlan, Diagnostic, Plan, SERVER_INFO, Severity};
use crate::config::{Config, Extension};
use crate::snapshot::{Observed, Secret, Swarm};
use crate::wit::latest::{Cluster, RenderInput};

/// The planner, keeping each service's part of the last plan: a service
/// whose observed state (the same `Arc`, or an equal value) and context
/// (config, network names, node addresses, secrets, broken pairs) did not
/// change is not planned again, so a one-service change in a 10,000-service
/// Swarm plans one service; only the merge of the cluster it is in runs over
/// all of that cluster's services, and a cluster none of whose services
/// changed keeps its plan (the same `Arc`). The plan is the same as one
/// made from scratch (`plan_is_the_same_as_from_scratch`).
#[derive(Default)]
pub struct Planner {
    planned: FxHashMap<String, Planned>,
    context: Option<Context>,
    /// Each cluster's last plan and what its merge found.
    clusters: BTreeMap<String, (Arc<ClusterPlan>, Vec<Diagnostic>)>,
}

struct Planned {
    from: Arc<Observed>,
    outcome: Outcome,
}

/// What every service's part of the plan depends on besides itself.
#[derive(PartialEq)]
struct Context {
    config: Config,
    index: targets::Index,
    secrets: Arc<Vec<Secret>>,
    broken: BrokenTls,
}

impl Planner {
    pub fn new() -> Planner {
        Planner::default()
    }

    /// Plan every cluster of `swarm`. A service with bad labels (or that
    /// cannot be reached) is left out with an Error naming it; everything
    /// else is still planned.
    pub fn plan(&mut self, swarm: &Swarm, config: &Config, broken: &BrokenTls) -> Plan {
        let mut diagnostics = Vec::new();
        let partition = Partition::new(config, &mut diagnostics);
        let context = Context {
            config: config.clone(),
            index: targets::Index::new(swarm),
            secrets: swarm.secrets.clone(),
            broken: broken.clone(),
        };
        if self.context.as_ref() != Some(&context) {
            self.planned.clear();
            self.clusters.clear();
            self.context = Some(context);
        }
        let context = self.context.as_ref().expect("set above");
        let secrets = SecretNames::new(&context.secrets, &context.broken);

        // Clusters a changed service was or is in: their merge runs again.
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let extension = |p: &Planned| p.outcome.routed.as_ref().map(|(e, _)| e.clone());
        self.planned.retain(|id, p| {
            let keep = swarm.services.contains_key(id);
            if !keep {
                changed.extend(extension(p));
            }
            keep
        });
        let stale: Vec<(&String, &Arc<Observed>)> = swarm
            .services
            .iter()
            .filter(|(id, observed)| {
                self.planned
                    .get(*id)
                    .is_none_or(|p| !Arc::ptr_eq(&p.from, observed) && *p.from != ***observed)
            })
            .collect();
        // Each service plans on its own (labels, cluster, targets), so they
        // are spread over the cores.
        let plan_one = |(_, observed): &(&String, &Arc<Observed>)| {
            plan_service(config, &partition, &context.index, &secrets, observed)
        };
        let outcomes: Vec<Outcome> = super::map_in_order(&stale, plan_one);
        self.planned.reserve(stale.len());
        for ((id, observed), outcome) in stale.into_iter().zip(outcomes) {
            let planned = Planned {
                from: (*observed).clone(),
                outcome,
            };
            changed.extend(extension(&planned));
            if let Some(old) = self.planned.insert(id.clone(), planned) {
                changed.extend(extension(&old));
            }
        }

        // In service ID order, so the plan does not depend on the order
        // services were planned or read in.
        let mut routed: BTreeMap<&str, Vec<&Routed>> = BTreeMap::new();
        let mut still_mounted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for id in swarm.services.keys() {
            let outcome = &self.planned[id].outcome;
            diagnostics.extend(outcome.diagnostics.iter().cloned());
            // Left-out services too: they keep the hosts they had first.
            if let Some((extension, r)) = &outcome.routed {
                routed.entry(extension).or_default().push(r);
            }
            if let Some((extension, secrets)) = &outcome.still_mounted {
                still_mounted
                    .entry(extension)
                    .or_default()
                    .extend(secrets.iter().cloned());
            }
        }

        let mut clusters = BTreeMap::new();
        for (ext_name, ext) in &config.extensions {
            let services = routed.remove(ext_name.as_str()).unwrap_or_default();
            let kept = self
                .clusters
                .get(ext_name)
                .filter(|_| !changed.contains(ext_name));
            let (cluster, found) = match kept {
                Some(kept) => kept.clone(),
                None => {
                    let (mut cluster, found) = cluster_plan(ext, services);
                    // A broken pair's secrets stay attached while a service
                    // names them: detaching would restart the proxy tasks
                    // for nothing, and the fix (a new secret) restarts them
                    // once anyway.
                    cluster
                        .secrets
                        .extend(still_mounted.remove(ext_name.as_str()).unwrap_or_default());
                    let made = (Arc::new(cluster), found);
                    self.clusters.insert(ext_name.clone(), made.clone());
                    made
                }
            };
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
}

/// One service's part of the plan: its route in its Extension, if it has
/// one, and what was found on the way.
#[derive(Clone, Default)]
struct Outcome {
    routed: Option<(String, Routed)>,
    /// Secrets a service left out for a broken pair names (see `plan`).
    still_mounted: Option<(String, Vec<String>)>,
    diagnostics: Vec<Diagnostic>,
}

fn plan_service(
    config: &Config,
    partition: &Partition,
    index: &targets::Index,
    secrets: &SecretNames,
    observed: &Observed,
) -> Outcome {
    let mut out = Outcome::default();
    let Some(name) = observed.name() else {
        return out;
    };
    let service = &observed.service;
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
    let ext = extension.to_owned();
    if let Some(d) = secrets.refused(name, service_labels, &route) {
        diagnostics.push(in_cluster(d));
        out.routed = Some((ext, left_out(route)));
        return out;
    }
    if let Some(d) = secrets.broken(name, &route) {
        diagnostics.push(in_cluster(d));
        let pair = route.ssl_cert.iter().chain(&route.ssl_key).cloned();
        out.still_mounted = Some((ext.clone(), pair.collect()));
        out.routed = Some((ext, left_out(route)));
        return out;
    }
    if let Some(d) = config
        .extensions
        .get(extension)
        .and_then(|e| allowed_hosts::refused(e, name, &route))
    {
        diagnostics.push(d);
        out.routed = Some((ext, left_out(route)));
        return out;
    }
    match targets::resolve_in(index, observed, name, &route) {
        Ok(t) => {
            for w in t.warnings {
                diagnostics.push(in_cluster(for_service(Severity::Warning, name, None, w)));
            }
            out.routed = Some((
                ext,
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
            out.routed = Some((ext, left_out(route)));
        }
    }
    out
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

fn cluster_plan(ext: &Extension, mut services: Vec<&Routed>) -> (ClusterPlan, Vec<Diagnostic>) {
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
        policies: merged.policies,
        acme_hosts: merged.acme_hosts,
    };
    (plan, diagnostics)
}

#[cfg(test)]
#[path = "assemble_tests.rs"]
mod tests;
