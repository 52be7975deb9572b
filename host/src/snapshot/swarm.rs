//! The Swarm as the planner reads it: each service with its running tasks,
//! shared by `Arc` between the daemon's observed state and the planner's
//! memory of what it planned from. A service nothing touched keeps its
//! `Arc`, so "did this service change since the last plan" is a pointer
//! comparison, and one service's event costs the daemon one service's work.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Snapshot;
use super::model::{Network, Node, Secret, Service, Task};

/// One service and its running tasks (state and desired state `running`:
/// the only ones routing reads).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub service: Service,
    pub tasks: Vec<Task>,
}

impl Observed {
    pub fn new(service: Service, tasks: impl IntoIterator<Item = Task>) -> Observed {
        Observed {
            service,
            tasks: tasks.into_iter().filter(Task::is_running).collect(),
        }
    }

    /// The service's name, if its spec has one.
    pub fn name(&self) -> Option<&str> {
        self.service.spec.as_ref()?.name.as_deref()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Swarm {
    /// By service ID.
    pub services: BTreeMap<String, Arc<Observed>>,
    pub networks: Arc<Vec<Network>>,
    pub nodes: Arc<Vec<Node>>,
    pub secrets: Arc<Vec<Secret>>,
}

impl Swarm {
    /// Group a snapshot's tasks under their services. Tasks of services the
    /// snapshot does not list are dropped (nothing routes to them).
    pub fn from_snapshot(snapshot: Snapshot) -> Swarm {
        let Snapshot {
            services,
            tasks,
            networks,
            nodes,
            secrets,
        } = snapshot;
        Swarm {
            services: group(services, tasks),
            networks: Arc::new(networks),
            nodes: Arc::new(nodes),
            secrets: Arc::new(secrets),
        }
    }

    /// Replace (or, with `None`, remove) the service `id` and its tasks,
    /// keeping the old `Arc` when nothing in it changed.
    pub fn set_service(&mut self, id: &str, observed: Option<Observed>) {
        match observed {
            None => {
                self.services.remove(id);
            }
            Some(new) => {
                if self.services.get(id).is_some_and(|old| **old == new) {
                    return;
                }
                self.services.insert(id.to_owned(), Arc::new(new));
            }
        }
    }

    /// Take every service of `fresh` (a full read), keeping the `Arc`s of
    /// those that did not change, so the planner re-plans only the others.
    pub fn refresh(&mut self, fresh: Swarm) {
        let Swarm {
            services,
            networks,
            nodes,
            secrets,
        } = fresh;
        let mut old = std::mem::take(&mut self.services);
        self.services = services
            .into_iter()
            .map(|(id, new)| match old.remove(&id) {
                Some(kept) if kept == new => (id, kept),
                _ => (id, new),
            })
            .collect();
        set_list(&mut self.networks, networks);
        set_list(&mut self.nodes, nodes);
        set_list(&mut self.secrets, secrets);
    }

    /// Take a fresh list of every task: each service gets its own running
    /// ones (a service whose tasks did not change keeps its `Arc`).
    pub fn set_tasks(&mut self, tasks: Vec<Task>) {
        let mut by_service: rustc_hash::FxHashMap<String, Vec<Task>> = Default::default();
        for task in tasks.into_iter().filter(Task::is_running) {
            if let Some(id) = &task.service_id {
                by_service.entry(id.clone()).or_default().push(task);
            }
        }
        for (id, observed) in self.services.iter_mut() {
            let tasks = by_service.remove(id).unwrap_or_default();
            if observed.tasks != tasks {
                *observed = Arc::new(Observed {
                    service: observed.service.clone(),
                    tasks,
                });
            }
        }
    }

    /// Take a fresh list of networks, nodes or secrets (see [`set_list`]).
    pub fn set_networks(&mut self, networks: Vec<Network>) {
        set_list(&mut self.networks, Arc::new(networks));
    }

    pub fn set_nodes(&mut self, nodes: Vec<Node>) {
        set_list(&mut self.nodes, Arc::new(nodes));
    }

    pub fn set_secrets(&mut self, secrets: Vec<Secret>) {
        set_list(&mut self.secrets, Arc::new(secrets));
    }

    /// Every service's `Labels`, for what is decided by them alone.
    pub fn service_labels(&self) -> impl Iterator<Item = &super::model::Labels> {
        self.services
            .values()
            .filter_map(|o| o.service.spec.as_ref()?.labels.as_ref())
    }

    /// The flat form `sluice render --snapshot` reads.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            services: self.services.values().map(|o| o.service.clone()).collect(),
            tasks: self
                .services
                .values()
                .flat_map(|o| o.tasks.iter().cloned())
                .collect(),
            networks: self.networks.to_vec(),
            nodes: self.nodes.to_vec(),
            secrets: self.secrets.to_vec(),
        }
    }
}

/// A list that did not change keeps its `Arc` (the planner compares them).
fn set_list<T: PartialEq>(slot: &mut Arc<Vec<T>>, fresh: Arc<Vec<T>>) {
    if **slot != *fresh {
        *slot = fresh;
    }
}

/// Services by ID with their running tasks. A service without an ID (a
/// hand-written snapshot) is keyed by its position.
pub fn group(services: Vec<Service>, tasks: Vec<Task>) -> BTreeMap<String, Arc<Observed>> {
    let mut by_service: rustc_hash::FxHashMap<String, Vec<Task>> = Default::default();
    for task in tasks.into_iter().filter(Task::is_running) {
        if let Some(id) = &task.service_id {
            by_service.entry(id.clone()).or_default().push(task);
        }
    }
    services
        .into_iter()
        .enumerate()
        .map(|(i, service)| {
            let id = service.id.clone().unwrap_or_else(|| format!("\0{i:08}"));
            let tasks = by_service.remove(&id).unwrap_or_default();
            (id, Arc::new(Observed { service, tasks }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        serde_json::from_value(serde_json::json!({
            "services": [
                {"ID": "s1", "Spec": {"Name": "a"}},
                {"ID": "s2", "Spec": {"Name": "b"}},
            ],
            "tasks": [
                {"ID": "t1", "ServiceID": "s1", "Status": {"State": "running"}, "DesiredState": "running"},
                {"ID": "t2", "ServiceID": "s1", "Status": {"State": "running"}, "DesiredState": "shutdown"},
                {"ID": "t3", "ServiceID": "s1", "Status": {"State": "starting"}, "DesiredState": "running"},
                {"ID": "t4", "ServiceID": "gone", "Status": {"State": "running"}, "DesiredState": "running"},
                {"ID": "t5", "ServiceID": "s2", "Status": {"State": "running"}, "DesiredState": "running"},
            ],
        }))
        .unwrap()
    }

    #[test]
    fn tasks_are_grouped_under_their_service_and_only_running_ones_kept() {
        let swarm = Swarm::from_snapshot(snapshot());
        let ids = |id: &str| -> Vec<String> {
            swarm.services[id]
                .tasks
                .iter()
                .map(|t| t.id.clone().unwrap())
                .collect()
        };
        assert_eq!(ids("s1"), ["t1"]);
        assert_eq!(ids("s2"), ["t5"]);
        assert_eq!(swarm.services.len(), 2);
    }

    #[test]
    fn a_refresh_keeps_what_did_not_change() {
        let mut swarm = Swarm::from_snapshot(snapshot());
        let (s1, s2) = (swarm.services["s1"].clone(), swarm.services["s2"].clone());
        let networks = swarm.networks.clone();
        let mut fresh = snapshot();
        fresh.services[1].spec.as_mut().unwrap().name = Some("renamed".into());
        swarm.refresh(Swarm::from_snapshot(fresh));
        assert!(
            Arc::ptr_eq(&swarm.services["s1"], &s1),
            "unchanged: same Arc"
        );
        assert!(!Arc::ptr_eq(&swarm.services["s2"], &s2), "changed: new Arc");
        assert_eq!(swarm.services["s2"].name(), Some("renamed"));
        assert!(Arc::ptr_eq(&swarm.networks, &networks));

        // A task list: each service gets its own; unchanged ones keep their Arc.
        let (s1, s2) = (swarm.services["s1"].clone(), swarm.services["s2"].clone());
        let mut tasks = snapshot().tasks;
        tasks.retain(|t| t.id.as_deref() != Some("t5"));
        swarm.set_tasks(tasks);
        assert!(Arc::ptr_eq(&swarm.services["s1"], &s1));
        assert!(swarm.services["s2"].tasks.is_empty());
        assert_eq!(swarm.services["s2"].service, s2.service);

        let same = swarm.services["s1"].clone();
        swarm.set_service("s1", Some((*same).clone()));
        assert!(Arc::ptr_eq(&swarm.services["s1"], &same));
        swarm.set_service("s1", None);
        assert!(!swarm.services.contains_key("s1"));
    }
}
