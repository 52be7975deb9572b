use serde_json::json;

use super::labels::{self, Parsed};
use super::*;
use crate::plan::fixtures::{network, node, service, snapshot, task};

const EAST: &str = "eastnetid000000000000000001";
const WEST: &str = "westnetid000000000000000002";

fn route(extra: &[(&str, &str)]) -> ServiceRoute {
    let mut l: std::collections::HashMap<String, String> = [
        ("com.docker.lb.hosts", "demo.a"),
        ("com.docker.lb.port", "8000"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    l.retain(|_, v| !v.is_empty());
    match labels::parse(&l) {
        Parsed::Routed(r, _) => *r,
        other => panic!("fixture labels do not parse: {other:?}"),
    }
}

/// Addresses (addr:port) of the servers, sorted.
fn addrs(t: &Targets) -> Vec<String> {
    let mut v: Vec<String> = t
        .servers
        .iter()
        .map(|s| format!("{}:{}", s.address, s.port))
        .collect();
    v.sort();
    v
}

fn nets() -> Vec<serde_json::Value> {
    vec![
        network(EAST, "eastnet", "10.0.1.0/24"),
        network(WEST, "westnet", "10.0.2.0/24"),
    ]
}

#[test]
fn task_mode_only_running_tasks_count() {
    // (task state, desired state, routed?)
    let cases = [
        ("running", "running", true),
        ("running", "shutdown", false), // being replaced
        ("starting", "running", false),
        ("preparing", "running", false),
        ("failed", "shutdown", false),
        ("complete", "shutdown", false),
    ];
    for (state, desired, routed) in cases {
        let snap = snapshot(json!({
            "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
            "tasks": [task("t1", "s1", "n1", state, desired, &[(EAST, "eastnet", "10.0.1.5/24")], &[])],
            "networks": nets(),
        }));
        let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
        assert_eq!(
            addrs(&t),
            if routed {
                vec!["10.0.1.5:8000"]
            } else {
                vec![]
            },
            "{state}/{desired}"
        );
        assert_eq!(
            t.warnings.is_empty(),
            routed,
            "{state}/{desired}: {:?}",
            t.warnings
        );
        assert_eq!(t.network.as_ref().unwrap().name, "eastnet");
    }
}

#[test]
fn task_mode_other_services_tasks_are_ignored() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [
            task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[]),
            task("t2", "s2", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.6/24")], &[]),
        ],
        "networks": nets(),
    }));
    let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
    assert_eq!(addrs(&t), ["10.0.1.5:8000"]);
    let s = &t.servers[0];
    assert_eq!((s.weight, s.service.as_str()), (1, "demo"));
}

#[test]
fn network_choice_table() {
    // (service networks, network label, Ok(address) or Err(label))
    type Want = Result<&'static str, Option<&'static str>>;
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, Want);
    let both: &[(&str, &str)] = &[(EAST, "10.0.1.2/24"), (WEST, "10.0.2.2/24")];
    let east: &[(&str, &str)] = &[(EAST, "10.0.1.2/24")];
    let cases: &[Case] = &[
        (east, "", Ok("10.0.1.5:8000")),
        (east, "eastnet", Ok("10.0.1.5:8000")),
        // A label may give the network ID too.
        (east, EAST, Ok("10.0.1.5:8000")),
        (both, "westnet", Ok("10.0.2.5:8000")),
        (both, "eastnet", Ok("10.0.1.5:8000")),
        (both, "", Err(Some(labels::NETWORK))),
        (both, "northnet", Err(Some(labels::NETWORK))),
        (east, "westnet", Err(Some(labels::NETWORK))),
        (&[], "eastnet", Err(Some(labels::NETWORK))),
        (&[], "", Err(None)),
    ];
    for (svc_nets, label, want) in cases {
        let snap = snapshot(json!({
            "services": [service("s1", "demo", &[], svc_nets, &[])],
            "tasks": [task("t1", "s1", "n1", "running", "running",
                &[(EAST, "eastnet", "10.0.1.5/24"), (WEST, "westnet", "10.0.2.5/24")], &[])],
            "networks": nets(),
        }));
        let got = resolve(
            &snap,
            &snap.services[0],
            "demo",
            &route(&[(labels::NETWORK, label)]),
        );
        match (got, want) {
            (Ok(t), Ok(addr)) => assert_eq!(addrs(&t), [*addr], "{svc_nets:?} {label}"),
            (Err(e), Err(l)) => {
                assert_eq!(e.label, *l, "{svc_nets:?} {label}: {}", e.message);
                if !label.is_empty() {
                    assert!(e.message.contains(label), "{}", e.message);
                }
            }
            (got, want) => panic!("{svc_nets:?} {label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn passthrough_with_one_network_needs_no_network_label() {
    let snap = snapshot(json!({
        "services": [service("s1", "secure", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[])],
        "networks": nets(),
    }));
    let t = resolve(
        &snap,
        &snap.services[0],
        "secure",
        &route(&[(labels::SSL_PASSTHROUGH, "true")]),
    )
    .unwrap();
    assert_eq!(addrs(&t), ["10.0.1.5:8000"]);
}

#[test]
fn network_name_known_only_from_task_attachments() {
    // No `networks` in the snapshot: the name comes from NetworksAttachments.
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[])],
    }));
    let t = resolve(
        &snap,
        &snap.services[0],
        "demo",
        &route(&[(labels::NETWORK, "eastnet")]),
    )
    .unwrap();
    assert_eq!(
        t.network,
        Some(NetRef {
            id: EAST.into(),
            name: "eastnet".into()
        })
    );
}

#[test]
fn dual_stack_task_uses_ipv4_and_ipv6_only_task_uses_ipv6() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [
            task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "fd00::5/64"), (EAST, "eastnet", "10.0.1.5/24")], &[]),
            task("t2", "s1", "n1", "running", "running", &[(EAST, "eastnet", "fd00::6/64")], &[]),
        ],
        "networks": nets(),
    }));
    let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
    assert_eq!(addrs(&t), ["10.0.1.5:8000", "fd00::6:8000"]);
}

#[test]
fn task_without_address_on_chosen_network_is_skipped_with_warning() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [task("t1", "s1", "n1", "running", "running", &[(WEST, "westnet", "10.0.2.5/24")], &[])],
        "networks": nets(),
    }));
    let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
    assert!(t.servers.is_empty());
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("t1") && w.contains("eastnet")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn vip_mode_uses_the_vip_on_the_chosen_network() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24"), (WEST, "10.0.2.2/24")], &[])],
        "tasks": [
            task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[]),
            task("t2", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.6/24")], &[]),
        ],
        "networks": nets(),
    }));
    let r = route(&[(labels::BACKEND_MODE, "vip"), (labels::NETWORK, "westnet")]);
    let t = resolve(&snap, &snap.services[0], "demo", &r).unwrap();
    assert_eq!(addrs(&t), ["10.0.2.2:8000"]);
}

#[test]
fn vip_mode_keeps_the_vip_with_no_running_task() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "networks": nets(),
    }));
    let t = resolve(
        &snap,
        &snap.services[0],
        "demo",
        &route(&[(labels::BACKEND_MODE, "vip")]),
    )
    .unwrap();
    assert_eq!(addrs(&t), ["10.0.1.2:8000"]);
    assert!(t.warnings.is_empty());
}

#[test]
fn vip_mode_without_vip_or_network_is_an_error() {
    // dnsrr services have no VirtualIPs.
    let mut dnsrr = service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[]);
    dnsrr["Endpoint"]
        .as_object_mut()
        .unwrap()
        .remove("VirtualIPs");
    let host_only = service("s2", "hostonly", &[], &[], &[(8000, 30000, "host")]);
    let snap = snapshot(json!({"services": [dnsrr, host_only], "networks": nets()}));
    let r = route(&[(labels::BACKEND_MODE, "vip")]);
    for svc in &snap.services {
        let e = resolve(&snap, svc, "x", &r).unwrap_err();
        assert_eq!(e.label, Some(labels::BACKEND_MODE), "{}", e.message);
    }
}

#[test]
fn host_mode_publishing_uses_node_address_and_published_port() {
    let mut manager = node("n2", "manager-0", "0.0.0.0");
    manager["ManagerStatus"] =
        json!({"Leader": true, "Reachability": "reachable", "Addr": "172.20.0.3:2377"});
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[], &[(8000, 0, "host")])],
        "tasks": [
            task("t1", "s1", "n1", "running", "running", &[], &[(8000, 32768)]),
            task("t2", "s1", "n2", "running", "running", &[], &[(8000, 32769)]),
            task("t3", "s1", "n9", "running", "running", &[], &[(8000, 32770)]),
            task("t4", "s1", "n1", "running", "running", &[], &[]),
        ],
        "nodes": [node("n1", "worker-0", "172.20.0.4"), manager],
    }));
    let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
    assert_eq!(addrs(&t), ["172.20.0.3:32769", "172.20.0.4:32768"]);
    assert!(t.network.is_none());
    assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("t3") && w.contains("n9"))
    );
    assert!(t.warnings.iter().any(|w| w.contains("t4")));
}

#[test]
fn host_mode_applies_only_to_the_label_port_and_only_without_a_network() {
    // Publishes 9000 in host mode, but routes port 8000: unreachable.
    let wrong_port = service("s1", "demo", &[], &[], &[(9000, 0, "host")]);
    // Ingress publishing does not help the proxy either.
    let ingress = service("s2", "demo2", &[], &[], &[(8000, 8000, "ingress")]);
    let snap = snapshot(json!({"services": [wrong_port, ingress]}));
    for svc in &snap.services {
        let e = resolve(&snap, svc, "demo", &route(&[])).unwrap_err();
        assert_eq!(e.label, None);
        assert!(e.message.contains("8000"), "{}", e.message);
    }
    // With an overlay network the overlay wins even if host mode is published.
    let both = service(
        "s3",
        "demo3",
        &[],
        &[(EAST, "10.0.1.2/24")],
        &[(8000, 0, "host")],
    );
    let snap = snapshot(json!({
        "services": [both],
        "tasks": [task("t1", "s3", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[(8000, 31000)])],
        "nodes": [node("n1", "worker-0", "172.20.0.4")],
    }));
    let t = resolve(&snap, &snap.services[0], "demo3", &route(&[])).unwrap();
    assert_eq!(addrs(&t), ["10.0.1.5:8000"]);
}

#[test]
fn servers_carry_max_fails_and_fail_timeout() {
    let snap = snapshot(json!({
        "services": [service("s1", "demo", &[], &[(EAST, "10.0.1.2/24")], &[])],
        "tasks": [task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[])],
    }));
    let r = route(&[(labels::MAX_FAILS, "3"), (labels::FAIL_TIMEOUT, "1m")]);
    let t = resolve(&snap, &snap.services[0], "demo", &r).unwrap();
    assert_eq!(
        (t.servers[0].max_fails, t.servers[0].fail_timeout_seconds),
        (Some(3), Some(60))
    );
}

#[test]
fn deprecated_spec_networks_are_read_too() {
    let mut svc = service("s1", "demo", &[], &[], &[]);
    svc["Spec"]["Networks"] = json!([{"Target": EAST}]);
    let snap = snapshot(json!({
        "services": [svc],
        "tasks": [task("t1", "s1", "n1", "running", "running", &[(EAST, "eastnet", "10.0.1.5/24")], &[])],
        "networks": nets(),
    }));
    let t = resolve(&snap, &snap.services[0], "demo", &route(&[])).unwrap();
    assert_eq!(addrs(&t), ["10.0.1.5:8000"]);
}
