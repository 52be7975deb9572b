//! Pure planning: snapshot + config → what each service cluster should route.
//!
//! No I/O here; every function is deterministic in its inputs.
//!
//! Stages, one file each: [`crate::labels`] (one service's labels),
//! [`partition`] (service → Extension), [`targets`] (network and servers),
//! [`merge`] (services sharing hosts, conflicts), [`naming`] (upstream names),
//! [`weights`] (`com.docker.lb.weight`), [`secrets`] and `allowed_hosts`
//! (what a service may claim); `assemble` runs them.
//!
//! A routed service with no running task keeps its hosts with an upstream that
//! has **no servers** (and a Warning): renderers must answer such routes with
//! 503 rather than drop them, so the host does not fall through to another
//! route or the default backend while a service restarts.

mod allowed_hosts;
mod assemble;
mod conflicts;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod labels;
pub mod merge;
pub mod naming;
pub mod partition;
pub mod secrets;
mod shown;
pub mod targets;
pub mod view;
pub mod weights;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::snapshot::{Snapshot, Swarm};
use crate::wit::latest::RenderInput;
pub use assemble::Planner;
pub use secrets::BrokenTls;

/// Controller identity for info headers.
pub const SERVER_INFO: &str = concat!("sluice/", env!("CARGO_PKG_VERSION"));

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A finding about the routes, naming what is at fault.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Extension name, when the finding concerns one cluster.
    pub cluster: Option<String>,
    /// Swarm service name.
    pub service: Option<String>,
    /// The label at fault, e.g. `com.docker.lb.port`.
    pub label: Option<String>,
    pub message: String,
}

/// What one service cluster should serve.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterPlan {
    /// Extension name.
    pub extension: String,
    /// The plugin's input. `cluster.config_path` is empty when the Extension sets
    /// no `ProxyConfigPath` (the render stage fills in the plugin's default).
    pub input: RenderInput,
    /// IDs of the networks the routes need the proxy on.
    pub networks: BTreeSet<String>,
    /// Docker secret names the routes need attached to the proxy (ssl_cert/ssl_key).
    pub secrets: BTreeSet<String>,
    /// The routes' policies (`sluice.*` labels), by upstream name; the
    /// plugin gets them beside `input` (renderer interface 1.2.0).
    pub policies: Vec<crate::wit::latest::RoutePolicy>,
    /// Hosts whose certificates come from ACME (`sluice.tls = acme`): the
    /// daemon adds their challenge route and, once issued, their TLS files.
    pub acme_hosts: BTreeSet<String>,
}

impl ClusterPlan {
    /// Every upstream of the cluster's routes ([`upstreams`]).
    pub fn upstreams(&self) -> impl Iterator<Item = &crate::wit::latest::Upstream> {
        upstreams(&self.input)
    }
}

/// Every upstream of `input`: each host's, then the default backend (an
/// upstream shared by hosts comes once per host).
pub fn upstreams(input: &RenderInput) -> impl Iterator<Item = &crate::wit::latest::Upstream> {
    input
        .hosts
        .iter()
        .flat_map(|h| {
            h.upstream
                .iter()
                .chain(h.context_roots.iter().map(|c| &c.upstream))
        })
        .chain(input.default_backend.iter())
}

/// The plan for every cluster, plus everything excluded or resolved on the way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// By Extension name; every Extension has an entry, even with no routes.
    /// Shared: a planner hands out the same `Arc` while nothing in the
    /// cluster changed.
    pub clusters: BTreeMap<String, std::sync::Arc<ClusterPlan>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// `f` over `items` in order, on the rayon pool when there are enough items
/// for that to pay (below a few hundred, one thread is cheaper).
fn map_in_order<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    const PARALLEL_MIN: usize = 256;
    if items.len() < PARALLEL_MIN {
        items.iter().map(f).collect()
    } else {
        use rayon::prelude::*;
        items.par_iter().with_min_len(64).map(f).collect()
    }
}

/// Plan every cluster. A service with bad labels (or that cannot be reached)
/// is left out with an Error naming it; everything else is still planned.
pub fn plan(snapshot: &Snapshot, config: &Config) -> Plan {
    plan_with(snapshot, config, &BrokenTls::default())
}

/// [`plan`], also leaving out the services whose certificate/key pair a
/// proxy found broken. (The daemon keeps a [`Planner`] instead, which plans
/// only what changed since its last plan.)
pub fn plan_with(snapshot: &Snapshot, config: &Config, broken: &BrokenTls) -> Plan {
    Planner::new().plan(&Swarm::from_snapshot(snapshot.clone()), config, broken)
}
