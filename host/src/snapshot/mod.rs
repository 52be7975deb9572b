//! The observed Swarm state, in the Docker API's own JSON shapes, so a user can
//! capture a real cluster (`sluice snapshot`, or `docker service inspect`,
//! `docker inspect` of tasks, `docker network inspect`) and replay it with
//! `sluice render`.
//!
//! - [`model`]: the objects, holding only what routing reads (everything
//!   else in the engine's JSON is skipped while parsing).
//! - [`Snapshot`]: the flat lists, as captured and as `sluice render` reads.
//! - [`Swarm`]: each service with its running tasks, shared by `Arc`, which
//!   the daemon keeps up to date one service at a time and the planner reads.

pub mod model;
pub mod swarm;

use serde::{Deserialize, Serialize};

pub use model::{Network, Node, Secret, Service, Task, TaskNetworkAttachment};
pub use swarm::{Observed, Swarm};

/// A task as the Docker API returns it (kept under its old name).
pub type SwarmTask = Task;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Needed only for services that publish in host mode (node address + port).
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Not needed for routing; lets `ssl_cert`/`ssl_key` names be checked.
    #[serde(default)]
    pub secrets: Vec<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot holds only what routing reads: what a bug report must not
    /// carry (containers' environment, arguments and commands, secrets'
    /// data) is never even kept. Labels stay: they are the routes.
    #[test]
    fn only_what_routing_reads_is_kept() {
        let container = serde_json::json!({"Image": "app", "Env": ["DB_PASSWORD=hunter2"], "Args": ["--token=hunter2"], "Command": ["sh", "-c", "hunter2"]});
        let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "services": [{"ID": "s1",
                "Spec": {"Name": "a", "Labels": {"com.docker.lb.hosts": "a.example"}, "TaskTemplate": {"ContainerSpec": container, "Networks": [{"Target": "n1"}]}},
                "PreviousSpec": {"Name": "a", "TaskTemplate": {"ContainerSpec": container}}}],
            "tasks": [{"ID": "t1", "ServiceID": "s1", "Spec": {"ContainerSpec": container},
                "NetworksAttachments": [{"Network": {"ID": "n1", "Spec": {"Name": "front"}}, "Addresses": ["10.0.0.3/24"]}]}],
            "networks": [{"Id": "n1", "Name": "front", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}, "Containers": null}],
            "secrets": [{"ID": "x", "Spec": {"Name": "a.pem", "Data": "aHVudGVyMg=="}}],
        }))
        .unwrap();
        let text = serde_json::to_string(&snapshot).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg") && !text.contains("IPAM"),
            "{text}"
        );
        for kept in [
            "a.example",
            "a.pem",
            "10.0.0.3/24",
            "\"Target\":\"n1\"",
            "front",
        ] {
            assert!(text.contains(kept), "{kept}: {text}");
        }
        let again: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(again, snapshot, "what is written reads back the same");
    }

    #[test]
    fn nulls_where_lists_are_expected_read_as_empty() {
        let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "services": [{"ID": "s1", "Spec": {"Name": "a", "Labels": null, "TaskTemplate": {"Networks": null}}, "Endpoint": {"Ports": null, "VirtualIPs": null}}],
            "tasks": [{"ID": "t1", "NetworksAttachments": null}, {"ID": "t2", "NetworksAttachments": [{"Network": {"ID": "n"}, "Addresses": null}]}],
        }))
        .unwrap();
        assert!(snapshot.tasks[0].networks_attachments.is_empty());
        assert!(
            snapshot.tasks[1].networks_attachments[0]
                .addresses
                .is_empty()
        );
    }
}
