//! Test fixtures in the Docker API's JSON shapes (`docker service inspect`,
//! `docker inspect <task>`, `docker network inspect`, `docker node inspect`),
//! trimmed to the fields routing reads plus enough context to recognise them.

use serde_json::{Value, json};

use crate::snapshot::Snapshot;

/// An overlay network as `docker network inspect` prints it.
pub fn network(id: &str, name: &str, subnet: &str) -> Value {
    json!({
        "Name": name,
        "Id": id,
        "Created": "2024-05-02T09:10:00.000000000Z",
        "Scope": "swarm",
        "Driver": "overlay",
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": [{"Subnet": subnet, "Gateway": gateway(subnet)}]},
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": null,
        "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
        "Labels": {}
    })
}

fn gateway(subnet: &str) -> String {
    let base = subnet.split('/').next().unwrap_or_default();
    let mut parts: Vec<&str> = base.split('.').collect();
    parts.pop();
    format!("{}.1", parts.join("."))
}

/// A replicated service as `docker service inspect` prints it. `networks` are
/// (id, vip) pairs; `ports` are (target, published, mode) endpoint ports.
pub fn service(
    id: &str,
    name: &str,
    labels: &[(&str, &str)],
    networks: &[(&str, &str)],
    ports: &[(u16, u16, &str)],
) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let attach: Vec<Value> = networks
        .iter()
        .map(|(id, _)| json!({"Target": id}))
        .collect();
    let vips: Vec<Value> = networks
        .iter()
        .map(|(id, vip)| json!({"NetworkID": id, "Addr": vip}))
        .collect();
    let ports: Vec<Value> = ports
        .iter()
        .map(|(t, p, mode)| json!({"Protocol": "tcp", "TargetPort": t, "PublishedPort": p, "PublishMode": mode}))
        .collect();
    let mut endpoint_spec = json!({"Mode": "vip"});
    if !ports.is_empty() {
        endpoint_spec["Ports"] = json!(ports);
    }
    let mut endpoint = json!({"Spec": endpoint_spec});
    if !ports.is_empty() {
        endpoint["Ports"] = json!(ports);
    }
    if !vips.is_empty() {
        endpoint["VirtualIPs"] = json!(vips);
    }
    json!({
        "ID": id,
        "Version": {"Index": 42},
        "CreatedAt": "2024-05-02T09:14:03.000000000Z",
        "UpdatedAt": "2024-05-02T09:14:03.000000000Z",
        "Spec": {
            "Name": name,
            "Labels": labels,
            "TaskTemplate": {
                "ContainerSpec": {"Image": "training/whoami:latest", "Init": false, "StopGracePeriod": 10000000000u64, "Isolation": "default"},
                "Resources": {"Limits": {}, "Reservations": {}},
                "RestartPolicy": {"Condition": "any", "Delay": 5000000000u64, "MaxAttempts": 0},
                "Placement": {},
                "Networks": attach,
                "ForceUpdate": 0,
                "Runtime": "container"
            },
            "Mode": {"Replicated": {"Replicas": 1}},
            "EndpointSpec": endpoint_spec
        },
        "Endpoint": endpoint
    })
}

/// A task as `docker inspect <task>` prints it. `attachments` are
/// (network id, network name, address/prefix); `ports` are host-mode
/// (target, published) pairs in `Status.PortStatus`.
pub fn task(
    id: &str,
    service_id: &str,
    node_id: &str,
    state: &str,
    desired: &str,
    attachments: &[(&str, &str, &str)],
    ports: &[(u16, u16)],
) -> Value {
    let nets: Vec<Value> = attachments
        .iter()
        .map(|(nid, name, addr)| {
            json!({
                "Network": {
                    "ID": nid,
                    "Version": {"Index": 7},
                    "CreatedAt": "2024-05-02T09:10:00.000000000Z",
                    "UpdatedAt": "2024-05-02T09:10:00.000000000Z",
                    "Spec": {
                        "Name": name,
                        "Labels": {},
                        "DriverConfiguration": {"Name": "overlay"},
                        "IPAMOptions": {"Driver": {"Name": "default"}},
                        "Scope": "swarm"
                    },
                    "DriverState": {"Name": "overlay", "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"}},
                    "IPAMOptions": {"Driver": {"Name": "default"}, "Configs": [{"Subnet": "10.0.0.0/8", "Gateway": "10.0.0.1"}]}
                },
                "Addresses": [addr]
            })
        })
        .collect();
    let port_status: Vec<Value> = ports
        .iter()
        .map(|(t, p)| json!({"Protocol": "tcp", "TargetPort": t, "PublishedPort": p, "PublishMode": "host"}))
        .collect();
    let mut status = json!({
        "Timestamp": "2024-05-02T09:14:09.000000000Z",
        "State": state,
        "Message": state,
        "ContainerStatus": {"ContainerID": format!("c0ffee{id}"), "PID": 4242, "ExitCode": 0},
        "PortStatus": {}
    });
    if !port_status.is_empty() {
        status["PortStatus"] = json!({"Ports": port_status});
    }
    json!({
        "ID": id,
        "Version": {"Index": 50},
        "CreatedAt": "2024-05-02T09:14:03.000000000Z",
        "UpdatedAt": "2024-05-02T09:14:09.000000000Z",
        "Labels": {},
        "Spec": {"ContainerSpec": {"Image": "training/whoami:latest"}, "ForceUpdate": 0},
        "ServiceID": service_id,
        "Slot": 1,
        "NodeID": node_id,
        "Status": status,
        "DesiredState": desired,
        "NetworksAttachments": nets
    })
}

/// A node as `docker node inspect` prints it.
pub fn node(id: &str, hostname: &str, addr: &str) -> Value {
    json!({
        "ID": id,
        "Version": {"Index": 9},
        "CreatedAt": "2024-05-02T08:00:00.000000000Z",
        "UpdatedAt": "2024-05-02T08:00:00.000000000Z",
        "Spec": {"Labels": {}, "Role": "worker", "Availability": "active"},
        "Description": {"Hostname": hostname, "Platform": {"Architecture": "x86_64", "OS": "linux"}},
        "Status": {"State": "ready", "Addr": addr}
    })
}

pub fn snapshot(v: Value) -> Snapshot {
    serde_json::from_value(v).expect("fixture is a valid snapshot")
}

/// The overlay network of [`one_service_snapshot`].
pub const APPNET: &str = "appnetid00000000000000001";

/// `services` (each from [`svc`]) with one running task each on appnet.
pub fn one_service_snapshot(services: Vec<serde_json::Value>) -> Snapshot {
    let tasks: Vec<_> = (0..services.len())
        .map(|i| {
            let sid = services[i]["ID"].as_str().unwrap().to_owned();
            task(
                &format!("t{i}"),
                &sid,
                "n1",
                "running",
                "running",
                &[(APPNET, "appnet", &format!("10.0.9.{}/24", i + 10))],
                &[],
            )
        })
        .collect();
    snapshot(
        json!({"services": services, "tasks": tasks, "networks": [network(APPNET, "appnet", "10.0.9.0/24")]}),
    )
}

/// A service on appnet (VIP 10.0.9.2).
pub fn svc(id: &str, name: &str, labels: &[(&str, &str)]) -> serde_json::Value {
    service(id, name, labels, &[(APPNET, "10.0.9.2/24")], &[])
}
