use serde_json::json;

use super::*;
use crate::config::{Config, PluginRef};
use crate::plan::fixtures::{network, service, snapshot, task};

const NET: &str = "appnetid00000000000000001";

/// One HAProxy cluster; `hosts` services, each with `tasks` running tasks.
fn revision(hosts: &[(&str, usize)], first_address: u8) -> Revision {
    let services: Vec<_> = hosts
        .iter()
        .enumerate()
        .map(|(i, (host, _))| {
            service(
                &format!("s{i}"),
                &format!("svc{i}"),
                &[("com.docker.lb.hosts", host), ("com.docker.lb.port", "80")],
                &[(NET, "10.0.9.2/24")],
                &[],
            )
        })
        .collect();
    let tasks: Vec<_> = hosts
        .iter()
        .enumerate()
        .flat_map(|(i, (_, n))| {
            (0..*n).map(move |t| {
                let addr = format!("10.0.{i}.{}/24", usize::from(first_address) + t);
                task(
                    &format!("t{i}x{t}"),
                    &format!("s{i}"),
                    "n1",
                    "running",
                    "running",
                    &[(NET, "appnet", &addr)],
                    &[],
                )
            })
        })
        .collect();
    let snap = snapshot(json!({
        "services": services,
        "tasks": tasks,
        "networks": [network(NET, "appnet", "10.0.0.0/16")],
    }));
    let mut config = Config::new();
    let mut ext = crate::config::Extension::new("main");
    ext.plugin = PluginRef::Builtin("haproxy".into());
    config.extensions.insert("main".into(), ext.clone());
    let plan = crate::plan::plan(&snap, &config);
    let host = crate::render::PluginHost::new().unwrap();
    render_cluster(&host, &ext, &plan.clusters["main"]).unwrap()
}

/// What HAProxy's slots make of task changes: the same shape while the
/// tasks behind a backend move within its slots, another shape when a
/// backend outgrows them or anything else changes.
#[test]
fn haproxys_shape_changes_only_with_more_than_the_slots() {
    let base = revision(&[("a.test", 2), ("b.test", 1)], 10);
    let shape = base.shape.clone().expect("HAProxy renders slots");
    assert!(!base.slots.is_empty());
    // Tasks replaced (other addresses), scaled within the four slots.
    for (hosts, first) in [
        ([("a.test", 2), ("b.test", 1)], 20),
        ([("a.test", 3), ("b.test", 1)], 10),
        ([("a.test", 4), ("b.test", 2)], 10),
        ([("a.test", 0), ("b.test", 1)], 10),
    ] {
        let other = revision(&hosts, first);
        assert_ne!(other.hash, base.hash, "{hosts:?}: the files changed");
        assert_eq!(other.shape.as_deref(), Some(shape.as_str()), "{hosts:?}");
    }
    // More tasks than slots, another host, a renamed host: another shape.
    for hosts in [
        vec![("a.test", 5), ("b.test", 1)],
        vec![("a.test", 2), ("b.test", 1), ("c.test", 1)],
        vec![("a.test", 2), ("c.test", 1)],
    ] {
        let other = revision(&hosts, 10);
        assert_ne!(other.shape.as_deref(), Some(shape.as_str()), "{hosts:?}");
    }
}

#[test]
fn a_shape_leaves_out_exactly_the_slots() {
    let file = |contents: &str| OutputFile {
        path: "/etc/h/h.cfg".into(),
        contents: contents.into(),
    };
    let slot = |start, end| Slot {
        backend: "be".into(),
        name: "slot1".into(),
        server: None,
        file: 0,
        start,
        end,
    };
    let a = [file("server slot1 10.0.0.1:80 weight 1\nrest\n")];
    let b = [file("server slot1 10.0.0.22:8080 weight 9\nrest\n")];
    let c = [file("server slot1 10.0.0.1:80 weight 1\nREST\n")];
    let (sa, sb) = (shape_of(&a, &[slot(13, 33)]), shape_of(&b, &[slot(13, 36)]));
    assert_eq!(sa, sb);
    assert_ne!(sa, shape_of(&c, &[slot(13, 33)]));
    assert_ne!(sa, shape_of(&a, &[slot(13, 32)]), "a slot's reach counts");
    assert_ne!(sa, hash_files(&a));
    let mut renamed = slot(13, 33);
    renamed.name = "slot2".into();
    assert_ne!(sa, shape_of(&a, &[renamed]));
}
