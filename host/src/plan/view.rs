//! Pure: what the daemon says about a round's plan, as the status page,
//! `/v2/status` and `sluice status` show it: each cluster's plugin,
//! revision and routes per host, and every excluded service with the label
//! at fault.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Plan, Severity};
use crate::wit::latest::Upstream;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// When the daemon last planned, ms since the Unix epoch.
    pub updated_ms: u64,
    pub clusters: Vec<ClusterView>,
    /// Every service left out, with the label at fault and why.
    pub excluded: Vec<Excluded>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    pub name: String,
    pub plugin: Option<String>,
    /// The current revision's hash (12 characters), once rendered.
    pub revision: Option<String>,
    /// Why the cluster is not up to date, when it is not.
    pub failing: Option<String>,
    pub routes: Vec<RouteView>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteView {
    pub host: String,
    /// `/` for the host's root, else the context root.
    pub path: String,
    pub services: Vec<ServiceView>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub service: String,
    /// Servers (tasks, or the VIP) it contributes.
    pub servers: usize,
    /// Its share of the route, summed over its servers.
    pub weight: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    pub cluster: Option<String>,
    pub service: String,
    pub label: Option<String>,
    pub message: String,
}

impl View {
    /// Only what concerns `cluster` (what its own credentials may see).
    pub fn only(&self, cluster: &str) -> View {
        View {
            updated_ms: self.updated_ms,
            clusters: self
                .clusters
                .iter()
                .filter(|c| c.name == cluster)
                .cloned()
                .collect(),
            excluded: self
                .excluded
                .iter()
                .filter(|e| e.cluster.as_deref() == Some(cluster))
                .cloned()
                .collect(),
        }
    }
}

/// A round's plan and what its renders gave: the view is made from it when
/// someone asks.
#[derive(Debug)]
pub struct Shown {
    pub plan: Plan,
    pub rendered: BTreeMap<String, Rendered>,
    pub updated_ms: u64,
}

impl Shown {
    /// The view, of every cluster or only of `cluster`.
    pub fn view(&self, cluster: Option<&str>) -> View {
        let all = view(&self.plan, &self.rendered, self.updated_ms);
        match cluster {
            Some(c) => all.only(c),
            None => all,
        }
    }
}

/// What a cluster's last render gave, as the page shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    pub plugin: String,
    pub revision: Option<String>,
    pub failing: Option<String>,
}

pub fn view(plan: &Plan, rendered: &BTreeMap<String, Rendered>, updated_ms: u64) -> View {
    let clusters = plan
        .clusters
        .iter()
        .map(|(name, cluster)| {
            let mut routes = Vec::new();
            for h in &cluster.input.hosts {
                if let Some(up) = &h.upstream {
                    routes.push(route(&h.name, "/", up));
                }
                for c in &h.context_roots {
                    routes.push(route(&h.name, &c.path, &c.upstream));
                }
            }
            if let Some(up) = &cluster.input.default_backend {
                routes.push(route("(default backend)", "/", up));
            }
            let r = rendered.get(name);
            ClusterView {
                name: name.clone(),
                plugin: r.map(|r| r.plugin.clone()),
                revision: r.and_then(|r| r.revision.clone()),
                failing: r.and_then(|r| r.failing.clone()),
                routes,
            }
        })
        .collect();
    let mut seen = BTreeSet::new();
    let excluded = plan
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter_map(|d| {
            let service = d.service.clone()?;
            seen.insert((service.clone(), d.label.clone(), d.message.clone()))
                .then(|| Excluded {
                    cluster: d.cluster.clone(),
                    service,
                    label: d.label.clone(),
                    message: d.message.clone(),
                })
        })
        .collect();
    View {
        updated_ms,
        clusters,
        excluded,
    }
}

fn route(host: &str, path: &str, up: &Upstream) -> RouteView {
    let mut by_service: BTreeMap<&str, ServiceView> = BTreeMap::new();
    for s in &up.servers {
        let v = by_service
            .entry(s.service.as_str())
            .or_insert_with(|| ServiceView {
                service: s.service.clone(),
                ..ServiceView::default()
            });
        v.servers += 1;
        v.weight += u64::from(s.weight);
    }
    RouteView {
        host: host.to_owned(),
        path: path.to_owned(),
        services: by_service.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Diagnostic;

    fn features_plan() -> Plan {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/features");
        let config = crate::config::load(&root.join("config.toml"))
            .unwrap()
            .config;
        let text = std::fs::read_to_string(root.join("snapshot.json")).unwrap();
        let snapshot: crate::snapshot::Snapshot = serde_json::from_str(&text).unwrap();
        crate::plan::plan(&snapshot, &config)
    }

    #[test]
    fn routes_per_host_and_each_exclusion_once() {
        let mut plan = features_plan();
        let bad = Diagnostic {
            severity: Severity::Error,
            cluster: Some("main".into()),
            service: Some("web".into()),
            label: Some("com.docker.lb.port".into()),
            message: "must be a port number from 1 to 65535 (value \"<b>x</b>\")".into(),
        };
        plan.diagnostics.push(bad.clone());
        plan.diagnostics.push(bad);
        let rendered = BTreeMap::from([(
            "main".to_string(),
            Rendered {
                plugin: "nginx".into(),
                revision: Some("abc".into()),
                failing: None,
            },
        )]);
        let v = view(&plan, &rendered, 7);
        assert_eq!(v.updated_ms, 7);
        let main = v.clusters.iter().find(|c| c.name == "main").unwrap();
        assert_eq!(main.plugin.as_deref(), Some("nginx"));
        assert!(!main.routes.is_empty());
        for r in &main.routes {
            // A host whose service has no running task has no servers (503).
            assert_eq!(r.services.is_empty(), r.host == "empty.local", "{r:?}");
            for s in &r.services {
                assert!(s.servers > 0 && s.weight >= s.servers as u64, "{s:?}");
            }
        }
        let web: Vec<&Excluded> = v.excluded.iter().filter(|e| e.service == "web").collect();
        assert_eq!(web.len(), 1, "said once: {web:?}");
        // Kept verbatim: the page writes it as text, never as markup.
        assert!(web[0].message.contains("<b>x</b>"));
    }
}
