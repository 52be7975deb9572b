//! Where a routed service's traffic goes: the network the proxy reaches it on,
//! and one server per running task (task mode), the service VIP (vip mode), or
//! node address + published port (host-mode publishing without a network).
//!
//! Network choice departs from Interlock in one place: with `ssl_passthrough`
//! Interlock rendered an incomplete config unless `com.docker.lb.network` was
//! set, even for a single-network service (reference §5.5). Here the only
//! network is used whenever there is exactly one, passthrough or not.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::labels::{self, BackendMode, ServiceRoute};
use crate::snapshot::model::{Node, PortConfig, Service, Task};
use crate::snapshot::{Observed, Snapshot, Swarm};
use crate::wit::latest::Server;

/// A swarm network by ID, with its name when known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetRef {
    pub id: String,
    pub name: String,
}

/// A service's servers (weight 1, unsorted) and the network they are reached on.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    /// None for host-mode publishing (the proxy reaches node addresses).
    pub network: Option<NetRef>,
    pub servers: Vec<Server>,
    /// Things worth telling the user that do not stop routing.
    pub warnings: Vec<String>,
}

/// Why a service cannot be reached; excludes the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetError {
    pub label: Option<&'static str>,
    pub message: String,
}

fn err(label: Option<&'static str>, message: String) -> TargetError {
    TargetError { label, message }
}

/// Resolve one routed service of a snapshot (tests and tools; the planner
/// resolves against an [`Index`] of its [`Swarm`]).
pub fn resolve(
    snapshot: &Snapshot,
    service: &Service,
    name: &str,
    route: &ServiceRoute,
) -> Result<Targets, TargetError> {
    let swarm = Swarm::from_snapshot(snapshot.clone());
    let id = service.id.as_deref().unwrap_or_default();
    let tasks = swarm
        .services
        .get(id)
        .map(|o| o.tasks.clone())
        .unwrap_or_default();
    let observed = Observed {
        service: service.clone(),
        tasks,
    };
    resolve_in(&Index::new(&swarm), &observed, name, route)
}

/// What every service's resolution looks up besides its own tasks, made
/// once per plan: network names and node addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    names: BTreeMap<String, String>,
    nodes: std::sync::Arc<Vec<Node>>,
}

impl Index {
    pub fn new(swarm: &Swarm) -> Index {
        Index {
            names: network_names(swarm),
            nodes: swarm.nodes.clone(),
        }
    }
}

/// [`resolve`] against a prebuilt [`Index`].
pub fn resolve_in(
    index: &Index,
    observed: &Observed,
    name: &str,
    route: &ServiceRoute,
) -> Result<Targets, TargetError> {
    let service = &observed.service;
    let mut networks = service_networks(service, &index.names);
    let network = choose_network(&networks, route)?.map(|i| networks.swap_remove(i));
    let tasks = &observed.tasks;
    let mut warnings = Vec::new();
    let servers = match (route.backend_mode, &network) {
        (BackendMode::Vip, Some(net)) => vec![vip_server(service, net, name, route)?],
        (BackendMode::Vip, None) => {
            return Err(err(
                Some(labels::BACKEND_MODE),
                "is vip, but the service is on no network, so it has no virtual IP".into(),
            ));
        }
        (BackendMode::Task, Some(net)) => task_servers(tasks, net, name, route, &mut warnings),
        (BackendMode::Task, None) if publishes_in_host_mode(service, route.port) => {
            host_mode_servers(&index.nodes, tasks, name, route, &mut warnings)
        }
        (BackendMode::Task, None) => {
            return Err(err(
                None,
                format!(
                    "the service is on no network and does not publish port {} in host mode, \
                     so the proxy cannot reach it",
                    route.port
                ),
            ));
        }
    };
    if route.backend_mode == BackendMode::Task && servers.is_empty() {
        warnings.push("has no running task; its routes answer 503 until one runs".into());
    }
    Ok(Targets {
        network,
        servers,
        warnings,
    })
}

/// Network ID → name, from `docker network inspect` and from task attachments.
fn network_names(swarm: &Swarm) -> BTreeMap<String, String> {
    // Every task repeats its networks: collect borrowed, copy each once.
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    // Neighbouring tasks (a service's replicas) are mostly on the same
    // networks: skip those before searching the map.
    let mut last: Option<(&str, &str)> = None;
    let attachments = swarm
        .services
        .values()
        .flat_map(|o| &o.tasks)
        .flat_map(|t| &t.networks_attachments);
    for a in attachments {
        let entry = (a.network.id.as_str(), a.network.spec.name.as_str());
        if entry.0.is_empty() || entry.1.is_empty() || last == Some(entry) {
            continue;
        }
        last = Some(entry);
        names.insert(entry.0, entry.1);
    }
    for n in swarm.networks.iter() {
        if let (Some(id), Some(name)) = (&n.id, &n.name) {
            names.insert(id, name);
        }
    }
    names
        .into_iter()
        .map(|(id, name)| (id.to_owned(), name.to_owned()))
        .collect()
}

/// The networks in the service spec (`TaskTemplate.Networks`, else the deprecated
/// `Spec.Networks`). Their `Target` is usually an ID, but may be a name.
fn service_networks(service: &Service, names: &BTreeMap<String, String>) -> Vec<NetRef> {
    let spec = service.spec.as_ref();
    let attached = spec
        .and_then(|s| s.task_template.as_ref())
        .and_then(|t| t.networks.as_deref())
        .filter(|n| !n.is_empty())
        .or_else(|| spec.and_then(|s| s.networks.as_deref()))
        .unwrap_or_default();
    let mut out: Vec<NetRef> = attached
        .iter()
        .filter_map(|a| a.target.as_deref())
        .map(|target| match names.get(target) {
            Some(name) => NetRef {
                id: target.to_owned(),
                name: name.clone(),
            },
            None => match names.iter().find(|(_, n)| n.as_str() == target) {
                Some((id, name)) => NetRef {
                    id: id.clone(),
                    name: name.clone(),
                },
                None => NetRef {
                    id: target.to_owned(),
                    name: target.to_owned(),
                },
            },
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Which of the service's networks the proxy uses, by index.
fn choose_network(networks: &[NetRef], route: &ServiceRoute) -> Result<Option<usize>, TargetError> {
    let listed = || {
        networks
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (&route.network, networks) {
        (Some(wanted), _) => match networks
            .iter()
            .position(|n| &n.name == wanted || &n.id == wanted)
        {
            Some(i) => Ok(Some(i)),
            None if networks.is_empty() => Err(err(
                Some(labels::NETWORK),
                format!("names network {wanted:?}, but the service is attached to no network"),
            )),
            None => Err(err(
                Some(labels::NETWORK),
                format!(
                    "names network {wanted:?}, which is not one of the service's networks ({})",
                    listed()
                ),
            )),
        },
        (None, []) => Ok(None),
        (None, [_only]) => Ok(Some(0)),
        (None, _) => Err(err(
            Some(labels::NETWORK),
            format!(
                "is required: the service is on several networks ({}); name the one the proxy should use",
                listed()
            ),
        )),
    }
}

fn server(address: String, port: u16, name: &str, route: &ServiceRoute) -> Server {
    Server {
        address,
        port,
        weight: 1,
        max_fails: route.max_fails,
        fail_timeout_seconds: route.fail_timeout_seconds,
        service: name.to_owned(),
    }
}

/// `10.0.1.5/24` → `10.0.1.5`, if it is an IP literal.
fn strip_prefix_len(cidr: &str) -> Option<IpAddr> {
    cidr.split('/').next()?.parse().ok()
}

/// An address as servers carry it. IPv4 parses only from its canonical text,
/// so that text is reused; IPv6 is written canonically (`fd00::1`).
fn address_text(cidr: &str, addr: IpAddr) -> String {
    match (addr, cidr.split('/').next()) {
        (IpAddr::V4(_), Some(text)) => text.to_owned(),
        _ => addr.to_string(),
    }
}

fn task_label(task: &Task) -> String {
    task.name
        .clone()
        .or_else(|| task.id.clone())
        .unwrap_or_else(|| "(unnamed)".into())
}

fn task_servers(
    tasks: &[Task],
    net: &NetRef,
    name: &str,
    route: &ServiceRoute,
    warnings: &mut Vec<String>,
) -> Vec<Server> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let mut addrs = task
            .networks_attachments
            .iter()
            .filter(|a| a.network.id == net.id)
            .flat_map(|a| a.addresses.iter())
            .filter_map(|c| Some((c.as_str(), strip_prefix_len(c)?)));
        // Dual-stack tasks have both; IPv4 is what Interlock used.
        let first = addrs.next();
        let chosen = match first {
            Some((_, a)) if !a.is_ipv4() => addrs.find(|(_, a)| a.is_ipv4()).or(first),
            _ => first,
        };
        match chosen {
            Some((cidr, addr)) => {
                out.push(server(address_text(cidr, addr), route.port, name, route))
            }
            None => warnings.push(format!(
                "task {} has no address on network {}; skipped",
                task_label(task),
                net.name
            )),
        }
    }
    out
}

fn vip_server(
    service: &Service,
    net: &NetRef,
    name: &str,
    route: &ServiceRoute,
) -> Result<Server, TargetError> {
    let vips = service
        .endpoint
        .as_ref()
        .and_then(|e| e.virtual_ips.as_ref());
    let addr = vips
        .into_iter()
        .flatten()
        .filter(|v| v.network_id.as_deref() == Some(net.id.as_str()))
        .find_map(|v| v.addr.as_deref().and_then(strip_prefix_len));
    match addr {
        Some(addr) => Ok(server(addr.to_string(), route.port, name, route)),
        None => Err(err(
            Some(labels::BACKEND_MODE),
            format!(
                "is vip, but the service has no virtual IP on network {} (endpoint mode dnsrr?)",
                net.name
            ),
        )),
    }
}

fn is_host_port(p: &PortConfig, port: u16) -> bool {
    p.target_port == Some(i64::from(port)) && p.is_host_mode()
}

fn publishes_in_host_mode(service: &Service, port: u16) -> bool {
    let endpoint = service.endpoint.as_ref();
    let ports = endpoint
        .and_then(|e| e.ports.as_ref())
        .or_else(|| {
            endpoint
                .and_then(|e| e.spec.as_ref())
                .and_then(|s| s.ports.as_ref())
        })
        .or_else(|| {
            let spec = service.spec.as_ref()?.endpoint_spec.as_ref()?;
            spec.ports.as_ref()
        });
    ports.into_iter().flatten().any(|p| is_host_port(p, port))
}

/// The address other nodes reach a node on. Managers may report `0.0.0.0` in
/// `Status.Addr`; their `ManagerStatus.Addr` (`ip:2377`) is then the answer.
fn node_address(nodes: &[Node], node_id: &str) -> Option<IpAddr> {
    let node = nodes.iter().find(|n| n.id.as_deref() == Some(node_id))?;
    let status = node
        .status
        .as_ref()
        .and_then(|s| s.addr.as_deref())
        .and_then(|a| a.parse::<IpAddr>().ok());
    match status {
        Some(a) if !a.is_unspecified() => Some(a),
        _ => {
            let addr = node.manager_status.as_ref()?.addr.as_deref()?;
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            host.trim_matches(['[', ']']).parse().ok()
        }
    }
}

fn host_mode_servers(
    nodes: &[Node],
    tasks: &[Task],
    name: &str,
    route: &ServiceRoute,
    warnings: &mut Vec<String>,
) -> Vec<Server> {
    let mut out = Vec::new();
    for task in tasks {
        let published = task
            .status
            .as_ref()
            .and_then(|s| s.port_status.as_ref())
            .and_then(|p| p.ports.as_ref())
            .into_iter()
            .flatten()
            .find(|p| is_host_port(p, route.port))
            .and_then(|p| p.published_port)
            .and_then(|p| u16::try_from(p).ok());
        let node = task
            .node_id
            .as_deref()
            .and_then(|id| node_address(nodes, id));
        match (node, published) {
            (Some(addr), Some(port)) => out.push(server(addr.to_string(), port, name, route)),
            (None, _) => warnings.push(format!(
                "task {} runs on node {} whose address is unknown; skipped",
                task_label(task),
                task.node_id.as_deref().unwrap_or("(none)")
            )),
            (_, None) => warnings.push(format!(
                "task {} reports no host-mode published port for {}; skipped",
                task_label(task),
                route.port
            )),
        }
    }
    out
}

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
