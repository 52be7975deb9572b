//! The observed Swarm state, in the Docker API's own JSON shapes, so a user can
//! capture a real cluster (`docker service inspect`, `docker inspect` of tasks,
//! `docker network inspect`) and replay it with `sluice render`.

use std::ops::Deref;

use bollard::models::{Network, Node, Secret, Service, Task};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub tasks: Vec<SwarmTask>,
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Needed only for services that publish in host mode (node address + port).
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Not needed for routing; lets `ssl_cert`/`ssl_key` names be checked.
    #[serde(default)]
    pub secrets: Vec<Secret>,
}

impl Snapshot {
    /// Without what a snapshot shared in a bug report must not carry:
    /// secrets' data (the Swarm API never returns it; cleared anyway) and
    /// every container's environment and arguments, where passwords live.
    /// Labels stay: they are the routes.
    pub fn scrubbed(mut self) -> Snapshot {
        for secret in &mut self.secrets {
            if let Some(spec) = &mut secret.spec {
                spec.data = None;
            }
        }
        let containers = self
            .services
            .iter_mut()
            .filter_map(|s| s.spec.as_mut()?.task_template.as_mut())
            .chain(self.tasks.iter_mut().filter_map(|t| t.task.spec.as_mut()))
            .filter_map(|t| t.container_spec.as_mut());
        for c in containers {
            c.env = None;
            c.args = None;
            c.command = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_leaves_out_env_args_commands_and_secret_data() {
        let container = serde_json::json!({"Image": "app", "Env": ["DB_PASSWORD=hunter2"], "Args": ["--token=hunter2"], "Command": ["sh", "-c", "hunter2"]});
        let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "services": [{"ID": "s1",
                "Spec": {"Name": "a", "Labels": {"com.docker.lb.hosts": "a.example"}, "TaskTemplate": {"ContainerSpec": container}},
                "PreviousSpec": {"Name": "a", "TaskTemplate": {"ContainerSpec": container}}}],
            "tasks": [{"ID": "t1", "ServiceID": "s1", "Spec": {"ContainerSpec": container}}],
            "secrets": [{"ID": "x", "Spec": {"Name": "a.pem", "Data": "aHVudGVyMg=="}}],
        }))
        .unwrap();
        let text = serde_json::to_string(&snapshot.clone().scrubbed()).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg"),
            "{text}"
        );
        assert!(
            text.contains("a.example") && text.contains("a.pem") && text.contains("\"app\""),
            "{text}"
        );
        assert!(
            serde_json::to_string(&snapshot)
                .unwrap()
                .contains("hunter2"),
            "the fixture has them"
        );
    }
}

/// A task as the Docker API returns it. bollard's `Task` lacks the engine's
/// `NetworksAttachments` (the Engine API's swagger omits it), and that is where
/// a task's address on each network lives, so it is kept beside the model.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SwarmTask {
    #[serde(flatten)]
    pub task: Task,
    #[serde(
        rename = "NetworksAttachments",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub networks_attachments: Vec<TaskNetworkAttachment>,
}

impl Deref for SwarmTask {
    type Target = Task;
    fn deref(&self) -> &Task {
        &self.task
    }
}

impl From<Task> for SwarmTask {
    fn from(task: Task) -> Self {
        SwarmTask {
            task,
            networks_attachments: Vec::new(),
        }
    }
}

/// One `NetworksAttachments` entry: the network (swarm form, only what routing
/// needs) and the task's addresses on it in CIDR form (`10.0.1.5/24`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TaskNetworkAttachment {
    #[serde(rename = "Network", default)]
    pub network: AttachedNetwork,
    #[serde(rename = "Addresses", default)]
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AttachedNetwork {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Spec", default)]
    pub spec: AttachedNetworkSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AttachedNetworkSpec {
    #[serde(rename = "Name", default)]
    pub name: String,
}
