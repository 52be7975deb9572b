//! The benchmarks' synthetic cluster: every service routes its own host
//! (`svc-N.bench.example.com`), with a mix of the other Interlock labels on a
//! fraction of them (TLS on every 13th, context roots, sticky sessions, ...).
//! Shared by the render bench and the proxy scale bench so both measure the
//! same input.

use serde_json::{Value, json};

pub const TASKS_PER_SERVICE: usize = 2;
pub const NETWORKS: usize = 8;

/// The benchmarks' `config.toml` for this cluster planned and rendered in
/// process: one Extension, `main`, rendered by nginx.
pub const CONFIG: &str = r#"
[Extensions.main]
  Plugin = "nginx"
  ServiceCluster = ""
  [Extensions.main.Config]
    WorkerProcesses = "auto"
    MaxConnections = 4096
"#;

fn network_id(n: usize) -> String {
    format!("benchnet{n:017}")
}

/// Labels for service `i`: every service has its own host; a mix of the
/// other labels on a fraction of them.
pub fn labels(i: usize) -> Value {
    let host = format!("svc-{i}.bench.example.com");
    let mut l = serde_json::Map::new();
    let mut set = |k: &str, v: String| {
        l.insert(format!("com.docker.lb.{k}"), Value::String(v));
    };
    set("hosts", host.clone());
    set("port", "8080".into());
    if i % 10 == 1 {
        set("context_root", format!("/app{}", i % 7));
        set("context_root_rewrite", "true".into());
    }
    if i % 7 == 2 {
        set("sticky_session_cookie", "sid".into());
    } else if i % 11 == 3 {
        set("ip_hash", "true".into());
    }
    if i % 13 == 4 {
        set("ssl_cert", format!("svc-{i}.cert"));
        set("ssl_key", format!("svc-{i}.key"));
        set("redirects", format!("http://{host},https://{host}"));
    }
    if i % 17 == 5 {
        set("websocket_endpoints", "/ws".into());
    }
    if i % 19 == 6 {
        set("backend_mode", "vip".into());
    }
    if i % 23 == 7 {
        set("max_fails", "3".into());
        set("fail_timeout", "30s".into());
    }
    if i % 29 == 8 {
        set("ssl_backend", "true".into());
    }
    Value::Object(l)
}

fn address(net: usize, n: usize) -> String {
    format!("10.{}.{}.{}/16", 100 + net, (n / 250) % 250, n % 250 + 2)
}

/// The Docker API objects (`sluice render --snapshot` format) of `count`
/// services with [`TASKS_PER_SERVICE`] running tasks each.
pub fn snapshot_json(count: usize) -> String {
    let mut services = Vec::with_capacity(count);
    let mut tasks = Vec::with_capacity(count * TASKS_PER_SERVICE);
    let mut next_addr = [0usize; NETWORKS];
    for i in 0..count {
        let net = i % NETWORKS;
        let id = format!("svc{i:022}");
        let mut addr = || {
            next_addr[net] += 1;
            address(net, next_addr[net])
        };
        services.push(json!({
            "ID": id,
            "Version": {"Index": i + 10},
            "Spec": {
                "Name": format!("svc-{i}"),
                "Labels": labels(i),
                "TaskTemplate": {
                    "ContainerSpec": {"Image": "training/whoami:latest"},
                    "Networks": [{"Target": network_id(net)}]
                },
                "Mode": {"Replicated": {"Replicas": TASKS_PER_SERVICE}},
                "EndpointSpec": {"Mode": "vip"}
            },
            "Endpoint": {
                "Spec": {"Mode": "vip"},
                "VirtualIPs": [{"NetworkID": network_id(net), "Addr": addr()}]
            }
        }));
        for t in 0..TASKS_PER_SERVICE {
            tasks.push(json!({
                "ID": format!("{id}t{t}"),
                "ServiceID": id,
                "Slot": t + 1,
                "NodeID": format!("node{:021}", t),
                "Status": {"State": "running"},
                "DesiredState": "running",
                "NetworksAttachments": [{
                    "Network": {"ID": network_id(net), "Spec": {"Name": format!("net{net}")}},
                    "Addresses": [addr()]
                }]
            }));
        }
    }
    let networks: Vec<Value> = (0..NETWORKS)
        .map(|n| json!({"Name": format!("net{n}"), "Id": network_id(n), "Scope": "swarm", "Driver": "overlay"}))
        .collect();
    json!({"services": services, "tasks": tasks, "networks": networks}).to_string()
}
