//! The Swarm objects as routing reads them: the Docker API's JSON shapes
//! (same field names, same nesting, so `docker service inspect` output and
//! `GET /services` parse as they are), holding only the fields the planner
//! and the proxy spec read. Everything else in the engine's answer (container
//! specs, resources, status histories, IPAM, ...) is skipped while parsing
//! and never kept: bollard's full models made a 10,000-service Swarm ~2 KB of
//! scattered allocations per object, most of it `None`.
//!
//! Fields stay `Option` where the engine may omit them or send `null`, as in
//! the API's own models, so one reading of the JSON serves both.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub type Labels = HashMap<String, String>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectVersion {
    #[serde(rename = "Index", default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

/// `GET /services` (and `/services/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ObjectVersion>,
    #[serde(rename = "CreatedAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(rename = "Spec", default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ServiceSpec>,
    #[serde(rename = "Endpoint", default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<ServiceEndpoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(
        rename = "TaskTemplate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_template: Option<TaskTemplate>,
    /// Deprecated by the engine in favour of `TaskTemplate.Networks`; old
    /// services still carry it.
    #[serde(rename = "Networks", default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<NetworkAttachment>>,
    #[serde(
        rename = "EndpointSpec",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_spec: Option<EndpointSpec>,
}

/// Of the task template, only the networks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskTemplate {
    #[serde(rename = "Networks", default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<NetworkAttachment>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    /// A network ID, or a name.
    #[serde(rename = "Target", default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSpec {
    #[serde(rename = "Ports", default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortConfig>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceEndpoint {
    #[serde(rename = "Spec", default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<EndpointSpec>,
    #[serde(rename = "Ports", default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortConfig>>,
    #[serde(
        rename = "VirtualIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub virtual_ips: Option<Vec<VirtualIp>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualIp {
    #[serde(rename = "NetworkID", default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// CIDR form, `10.0.1.2/24`.
    #[serde(rename = "Addr", default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// A published or exposed port (`EndpointPortConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortConfig {
    #[serde(rename = "Protocol", default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(
        rename = "TargetPort",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_port: Option<i64>,
    #[serde(
        rename = "PublishedPort",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub published_port: Option<i64>,
    /// `ingress` or `host`.
    #[serde(
        rename = "PublishMode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub publish_mode: Option<String>,
}

impl PortConfig {
    /// Published straight on the node that runs the task (`mode=host`).
    pub fn is_host_mode(&self) -> bool {
        self.publish_mode.as_deref() == Some("host")
    }
}

/// `GET /tasks`. bollard's model lacks `NetworksAttachments` (the Engine
/// API's swagger omits it), and that is where a task's address on each
/// network lives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "ServiceID", default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(rename = "NodeID", default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// The engine's state name (`running`, `shutdown`, ...).
    #[serde(
        rename = "DesiredState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub desired_state: Option<String>,
    #[serde(
        rename = "NetworksAttachments",
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub networks_attachments: Vec<TaskNetworkAttachment>,
}

/// What the engine's state names mean for routing.
pub const RUNNING: &str = "running";

impl Task {
    /// Running, and meant to be: a task being shut down is not routed to.
    pub fn is_running(&self) -> bool {
        let state = self.status.as_ref().and_then(|s| s.state.as_deref());
        state == Some(RUNNING) && self.desired_state.as_deref() == Some(RUNNING)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    #[serde(rename = "State", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(
        rename = "PortStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub port_status: Option<PortStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortStatus {
    #[serde(rename = "Ports", default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortConfig>>,
}

/// One `NetworksAttachments` entry: the network (swarm form, only what routing
/// needs) and the task's addresses on it in CIDR form (`10.0.1.5/24`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskNetworkAttachment {
    #[serde(rename = "Network", default)]
    pub network: AttachedNetwork,
    #[serde(rename = "Addresses", default, deserialize_with = "null_as_empty")]
    pub addresses: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttachedNetwork {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Spec", default)]
    pub spec: AttachedNetworkSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttachedNetworkSpec {
    #[serde(rename = "Name", default)]
    pub name: String,
}

/// `GET /networks` (`docker network inspect` spells the ID `Id`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    #[serde(
        rename = "Id",
        alias = "ID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `GET /nodes`: only their addresses (host-mode publishing).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
    #[serde(
        rename = "ManagerStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manager_status: Option<ManagerStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    #[serde(rename = "Addr", default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagerStatus {
    /// `ip:2377`.
    #[serde(rename = "Addr", default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

/// `GET /secrets`: names and labels (the API never returns a secret's data).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Spec", default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SecretSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretSpec {
    #[serde(rename = "Name", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

/// `null` where a list is expected reads as an empty list.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
