use serde_json::json;

use super::*;
use crate::config::{Config, PluginRef};
use crate::plan::fixtures::{network, service, snapshot, task};
use crate::snapshot::Snapshot;

const NET: &str = "appnetid00000000000000001";

/// One cluster: service `s{i}` gets `labels[i]` and `tasks[i]` running
/// tasks, addressed from `first_address` on.
fn cluster(labels: &[Vec<(&str, &str)>], tasks: &[usize], first_address: u8) -> Snapshot {
    let services: Vec<_> = labels
        .iter()
        .enumerate()
        .map(|(i, labels)| {
            service(
                &format!("s{i}"),
                &format!("svc{i}"),
                labels,
                &[(NET, "10.0.9.2/24")],
                &[],
            )
        })
        .collect();
    let tasks: Vec<_> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
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
    snapshot(json!({
        "services": services,
        "tasks": tasks,
        "networks": [network(NET, "appnet", "10.0.0.0/16")],
    }))
}

/// `snap` planned as the one extension `main`, rendered by `plugin`.
fn render_main(snap: &Snapshot, plugin: PluginRef) -> Revision {
    let mut config = Config::new();
    let mut ext = crate::config::Extension::new("main");
    ext.plugin = plugin;
    config.extensions.insert("main".into(), ext.clone());
    let plan = crate::plan::plan(snap, &config);
    let host = crate::render::PluginHost::new().unwrap();
    render_cluster(&host, &ext, &plan.clusters["main"]).unwrap()
}

/// One HAProxy cluster; `hosts` services, each with `tasks` running tasks.
fn revision(hosts: &[(&str, usize)], first_address: u8) -> Revision {
    let labels: Vec<_> = hosts
        .iter()
        .map(|(host, _)| vec![("com.docker.lb.hosts", *host), ("com.docker.lb.port", "80")])
        .collect();
    let tasks: Vec<_> = hosts.iter().map(|(_, n)| *n).collect();
    let snap = cluster(&labels, &tasks, first_address);
    render_main(&snap, PluginRef::Builtin("haproxy".into()))
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

/// `sluice.*` labels reach the plugin as the route's policy: HAProxy
/// renders them; a 1.0.0 plugin refuses them, and only the host that uses
/// them is left out (named, with its service), the rest renders.
#[test]
fn policies_are_rendered_or_their_hosts_refused() {
    let snap = cluster(
        &[
            vec![
                ("com.docker.lb.hosts", "plain.test"),
                ("com.docker.lb.port", "80"),
            ],
            vec![
                ("com.docker.lb.hosts", "strict.test"),
                ("com.docker.lb.port", "80"),
                ("sluice.timeout.connect", "750ms"),
            ],
        ],
        &[1, 1],
        10,
    );
    let render = |plugin: PluginRef| render_main(&snap, plugin);
    let haproxy = render(PluginRef::Builtin("haproxy".into()));
    assert!(haproxy.refused.is_empty());
    assert!(haproxy.files[0].contents.contains("timeout connect 750ms"));
    let legacy = std::path::Path::new(crate::render::PLUGIN_DIR).join("sluice_fixture_legacy.wasm");
    let old = render(PluginRef::Path(legacy));
    let refused: Vec<(&str, &[String])> = old
        .refused
        .iter()
        .map(|r| (r.host.as_str(), r.services.as_slice()))
        .collect();
    assert_eq!(refused, [("strict.test", &["svc1".to_owned()][..])]);
    assert!(
        old.refused[0].reason.contains("sluice.*"),
        "{}",
        old.refused[0].reason
    );
    assert!(old.files[0].contents.contains("plain.test "));
    assert!(!old.files[0].contents.contains("strict.test"));
}
