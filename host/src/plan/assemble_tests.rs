use std::path::Path;

use serde_json::json;

use super::*;
use crate::config::{Extension, parse_str};
use crate::plan::fixtures::{APPNET, network, one_service_snapshot, snapshot, svc, task};
use crate::snapshot::Snapshot;
use crate::wit::latest::Host;

const SEED: &str = include_str!("../../../examples/seed/snapshot.json");
const FEATURES: &str = include_str!("../../../examples/features/snapshot.json");
const FEATURES_CONFIG: &str = include_str!("../../../examples/features/config.toml");

/// The plan without broken TLS pairs.
fn plan(snapshot: &Snapshot, config: &Config) -> Plan {
    crate::plan::plan(snapshot, config)
}

fn ext(name: &str, cluster: &str) -> Extension {
    let mut e = Extension::new(name);
    e.service_cluster = cluster.into();
    e
}

fn config(exts: Vec<Extension>) -> Config {
    let mut c = Config::new();
    for e in exts {
        c.extensions.insert(e.name.clone(), e);
    }
    c
}

fn host<'a>(p: &'a Plan, cluster: &str, name: &str) -> &'a Host {
    p.clusters[cluster]
        .input
        .hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn addrs(h: &Host) -> Vec<String> {
    h.upstream
        .as_ref()
        .unwrap()
        .servers
        .iter()
        .map(|s| format!("{}:{}", s.address, s.port))
        .collect()
}

/// (severity, service, label) of every diagnostic.
fn summary(p: &Plan) -> Vec<(Severity, Option<&str>, Option<&str>)> {
    p.diagnostics
        .iter()
        .map(|d| (d.severity, d.service.as_deref(), d.label.as_deref()))
        .collect()
}

fn seed_config() -> Config {
    let mut east = ext("east", "east");
    east.networks = Some(vec!["eastnet".into()]);
    east.proxy_config_path = Some("/etc/nginx/nginx.conf".into());
    east.target_ssl_port = 443;
    let mut west = ext("west", "west");
    west.networks = Some(vec!["westnet".into()]);
    config(vec![east, west])
}

#[test]
fn seed_scenario() {
    let snap: Snapshot = serde_json::from_str(SEED).unwrap();
    let p = plan(&snap, &seed_config());
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.clusters.keys().collect::<Vec<_>>(), ["east", "west"]);

    let east = &p.clusters["east"];
    assert_eq!(east.extension, "east");
    assert_eq!(east.input.hosts.len(), 1);
    let h = host(&p, "east", "demo.a");
    assert_eq!(addrs(h), ["10.0.1.3:8000"]);
    let u = h.upstream.as_ref().unwrap();
    assert_eq!(
        (
            u.name.as_str(),
            u.servers[0].service.as_str(),
            u.servers[0].weight
        ),
        ("demo_a", "demoeast", 1)
    );
    assert_eq!(
        east.networks,
        ["k4l0v2u1tn8dp0l5qjw3bzx7e".to_string()].into()
    );
    assert!(east.secrets.is_empty());
    let c = &east.input.cluster;
    assert_eq!(
        (c.name.as_str(), c.service_cluster.as_str()),
        ("east", "east")
    );
    assert_eq!((c.http_port, c.https_port), (80, 443));
    assert_eq!(c.config_path, "/etc/nginx/nginx.conf");
    assert_eq!(c.server_info, SERVER_INFO);
    assert!(east.input.default_backend.is_none());

    let west = &p.clusters["west"];
    assert_eq!(addrs(host(&p, "west", "demo.b")), ["10.0.2.3:8000"]);
    assert_eq!(
        west.networks,
        ["p8s2m6c9yf0rq3hv7nd1gtj4w".to_string()].into()
    );
    assert_eq!(
        west.input.cluster.config_path, "",
        "no ProxyConfigPath: the plugin's default"
    );
}

#[test]
fn seed_snapshot_round_trips_its_task_attachments() {
    let snap: Snapshot = serde_json::from_str(SEED).unwrap();
    assert_eq!(
        snap.tasks[0].networks_attachments[0].addresses,
        ["10.0.1.3/24"]
    );
    let again: Snapshot = serde_json::from_value(serde_json::to_value(&snap).unwrap()).unwrap();
    assert_eq!(
        again.tasks[0].networks_attachments[0].network.spec.name,
        "eastnet"
    );
}

#[test]
fn features_example_plans_every_label() {
    let snap: Snapshot = serde_json::from_str(FEATURES).unwrap();
    let cfg = parse_str(FEATURES_CONFIG, Path::new(".")).unwrap().config;
    let p = plan(&snap, &cfg);
    assert_eq!(
        summary(&p),
        [
            (Severity::Warning, Some("empty"), None),
            (
                Severity::Warning,
                Some("legacy"),
                Some("com.docker.lb.ssl_only")
            ),
        ],
        "{:#?}",
        p.diagnostics
    );
    let main = &p.clusters["main"].input;
    let names: Vec<&str> = main.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "*.books.example",
            "app.example.org",
            "backend.example.org",
            "demo.local",
            "empty.local",
            "hostmode.local",
            "legacy.local",
            "multi.local",
            "old.local",
            "secure.example.org",
            "shop.local",
            "xn--bcher-kva.example"
        ]
    );
    // Canary weight 10 vs unlabelled demo (100) over 3 tasks.
    let demo = host(&p, "main", "demo.local").upstream.as_ref().unwrap();
    let w: Vec<(&str, u32, Option<u32>)> = demo
        .servers
        .iter()
        .map(|s| (s.service.as_str(), s.weight, s.max_fails))
        .collect();
    assert_eq!(
        w,
        [
            ("demo", 10, Some(3)),
            ("demo", 10, Some(3)),
            ("demo", 10, Some(3)),
            ("demo-canary", 3, None)
        ]
    );
    let app = host(&p, "main", "app.example.org");
    assert_eq!(app.websocket_endpoints, ["/live", "/ws"]);
    assert_eq!(app.redirects.len(), 1);
    assert_eq!(
        app.tls.as_ref().unwrap().key_path.as_deref(),
        Some("/run/secrets/app.example.org.key")
    );
    assert!(host(&p, "main", "secure.example.org").passthrough);
    assert_eq!(host(&p, "main", "shop.local").context_roots.len(), 2);
    assert!(
        host(&p, "main", "empty.local")
            .upstream
            .as_ref()
            .unwrap()
            .servers
            .is_empty()
    );
    assert_eq!(
        host(&p, "main", "hostmode.local")
            .upstream
            .as_ref()
            .unwrap()
            .servers
            .len(),
        2
    );
    assert_eq!(
        host(&p, "main", "backend.example.org")
            .upstream
            .as_ref()
            .unwrap()
            .servers
            .len(),
        1
    );
    assert!(main.default_backend.is_some());
    assert_eq!(p.clusters["main"].secrets.len(), 2);
    assert_eq!(p.clusters["main"].networks.len(), 2, "appnet and backnet");

    let edge = &p.clusters["edge"];
    assert_eq!(edge.input.hosts.len(), 3);
    assert_eq!(edge.secrets, ["edge.example.com.pem".to_string()].into());
    assert_eq!(edge.networks.len(), 1);
    assert_eq!(
        edge.input.cluster.config_path,
        "/usr/local/etc/haproxy/haproxy.cfg"
    );
    assert!(edge.input.default_backend.is_some());
}

#[test]
fn bad_label_excludes_only_that_service() {
    let snap = one_service_snapshot(vec![
        svc(
            "s1",
            "good",
            &[
                ("com.docker.lb.hosts", "good.local"),
                ("com.docker.lb.port", "80"),
            ],
        ),
        svc(
            "s2",
            "bad",
            &[
                ("com.docker.lb.hosts", "bad.local"),
                ("com.docker.lb.port", "eighty"),
            ],
        ),
        svc("s3", "ignored", &[("com.docker.stack.namespace", "x")]),
    ]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("bad"), Some("com.docker.lb.port"))]
    );
    assert!(p.diagnostics[0].message.contains("eighty"));
    let hosts: Vec<&str> = p.clusters["default"]
        .input
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(hosts, ["good.local"]);
}

#[test]
fn partition_and_empty_clusters() {
    let l = |cluster: Option<&'static str>, host: &'static str| {
        let mut v = vec![("com.docker.lb.hosts", host), ("com.docker.lb.port", "80")];
        if let Some(c) = cluster {
            v.push(("com.docker.lb.service_cluster", c));
        }
        v
    };
    let snap = one_service_snapshot(vec![
        svc("s1", "a", &l(Some("east"), "a.local")),
        svc("s2", "b", &l(None, "b.local")),
        svc("s3", "c", &l(Some("north"), "c.local")),
    ]);
    // No "" cluster: b is warned about; c names no cluster: error.
    let p = plan(
        &snap,
        &config(vec![ext("east", "east"), ext("west", "west")]),
    );
    assert_eq!(
        summary(&p),
        [
            (Severity::Warning, Some("b"), None),
            (
                Severity::Error,
                Some("c"),
                Some("com.docker.lb.service_cluster")
            ),
        ]
    );
    assert_eq!(p.clusters["east"].input.hosts.len(), 1);
    assert!(
        p.clusters["west"].input.hosts.is_empty(),
        "every Extension gets a plan"
    );
    assert!(p.clusters["west"].networks.is_empty());

    let p = plan(
        &snap,
        &config(vec![ext("east", "east"), ext("default", "")]),
    );
    assert_eq!(p.clusters["default"].input.hosts[0].name, "b.local");
}

#[test]
fn no_extensions_means_no_clusters() {
    let snap = one_service_snapshot(vec![svc(
        "s1",
        "a",
        &[
            ("com.docker.lb.hosts", "a.local"),
            ("com.docker.lb.port", "80"),
        ],
    )]);
    let p = plan(&snap, &Config::new());
    assert!(p.clusters.is_empty());
    assert_eq!(p.diagnostics.len(), 1);
}

#[test]
fn unreachable_service_is_an_error_in_its_cluster() {
    let snap = one_service_snapshot(vec![svc(
        "s1",
        "a",
        &[
            ("com.docker.lb.hosts", "a.local"),
            ("com.docker.lb.port", "80"),
            ("com.docker.lb.network", "nope"),
        ],
    )]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    let d = &p.diagnostics[0];
    assert_eq!(
        (d.severity, d.cluster.as_deref(), d.label.as_deref()),
        (
            Severity::Error,
            Some("default"),
            Some("com.docker.lb.network")
        )
    );
    assert!(p.clusters["default"].input.hosts.is_empty());
}

#[test]
fn missing_secret_is_an_error_when_secrets_are_known() {
    let labels = [
        ("com.docker.lb.hosts", "a.local"),
        ("com.docker.lb.port", "80"),
        ("com.docker.lb.ssl_cert", "a.cert"),
    ];
    let mut snap = one_service_snapshot(vec![svc("s1", "a", &labels)]);
    // Secrets not captured: no check.
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert!(p.diagnostics.is_empty());
    assert_eq!(p.clusters["default"].secrets, ["a.cert".to_string()].into());

    snap.secrets =
        serde_json::from_value(json!([{"ID": "x", "Spec": {"Name": "other.cert"}}])).unwrap();
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("a"), Some("com.docker.lb.ssl_cert"))]
    );
    assert!(p.clusters["default"].secrets.is_empty());
}

#[test]
fn pinned_networks_warn_about_networks_outside_them() {
    let snap = one_service_snapshot(vec![svc(
        "s1",
        "a",
        &[
            ("com.docker.lb.hosts", "a.local"),
            ("com.docker.lb.port", "80"),
        ],
    )]);
    let mut e = ext("default", "");
    e.networks = Some(vec!["othernet".into()]);
    let p = plan(&snap, &config(vec![e]));
    assert_eq!(
        summary(&p),
        [(Severity::Warning, Some("a"), Some("com.docker.lb.network"))]
    );
    assert!(p.diagnostics[0].message.contains("appnet"));
    let mut e = ext("default", "");
    e.networks = Some(vec!["appnet".into()]);
    assert!(plan(&snap, &config(vec![e])).diagnostics.is_empty());
}

#[test]
fn plan_is_independent_of_snapshot_order() {
    let snap: Snapshot = serde_json::from_str(FEATURES).unwrap();
    let cfg = parse_str(FEATURES_CONFIG, Path::new(".")).unwrap().config;
    let mut reversed = snap.clone();
    reversed.services.reverse();
    reversed.tasks.reverse();
    reversed.networks.reverse();
    assert_eq!(plan(&snap, &cfg), plan(&reversed, &cfg));
}

#[test]
fn the_older_service_keeps_its_host_and_certificate() {
    // "aaa" sorts first but was created later: 03.5 s is before 03.50001 s,
    // though the strings compare the other way round.
    let tls = |cert: &'static str| {
        [
            ("com.docker.lb.hosts", "app.local"),
            ("com.docker.lb.port", "80"),
            ("com.docker.lb.ssl_cert", cert),
        ]
    };
    let mut owner = svc("s1", "owner", &tls("owner.pem"));
    owner["CreatedAt"] = json!("2024-05-02T09:14:03.5Z");
    let mut newcomer = svc("s2", "aaa", &tls("aaa.pem"));
    newcomer["CreatedAt"] = json!("2024-05-02T09:14:03.50001Z");
    let snap = one_service_snapshot(vec![newcomer, owner]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    let h = host(&p, "default", "app.local");
    assert_eq!(h.tls.as_ref().unwrap().cert_path, "/run/secrets/owner.pem");
    assert_eq!(addrs(h), ["10.0.9.11:80"], "only the owner's task");
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("aaa"), Some("com.docker.lb.ssl_cert"))]
    );
    assert!(p.diagnostics[0].message.contains("created first"));
    assert_eq!(
        p.clusters["default"].secrets,
        ["owner.pem".to_string()].into()
    );
}

#[test]
fn allowed_hosts_refuse_services_outside_them() {
    let snap = one_service_snapshot(vec![
        svc(
            "s1",
            "inside",
            &[
                ("com.docker.lb.hosts", "app.a.example"),
                ("com.docker.lb.port", "80"),
            ],
        ),
        svc(
            "s2",
            "outside",
            &[
                ("com.docker.lb.hosts", "app.b.example"),
                ("com.docker.lb.port", "80"),
            ],
        ),
    ]);
    let mut e = ext("default", "");
    e.allowed_hosts = Some(crate::config::HostPatterns::new(vec!["*.a.example".into()]).unwrap());
    let p = plan(&snap, &config(vec![e]));
    assert_eq!(
        summary(&p),
        [(
            Severity::Error,
            Some("outside"),
            Some("com.docker.lb.hosts")
        )]
    );
    assert!(p.diagnostics[0].message.contains("app.b.example"));
    let hosts: Vec<&str> = p.clusters["default"]
        .input
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(hosts, ["app.a.example"]);
}

#[test]
fn a_broken_pair_leaves_its_service_out_but_its_secrets_attached() {
    let tls = |host: &'static str, cert: &'static str| {
        [
            ("com.docker.lb.hosts", host),
            ("com.docker.lb.port", "80"),
            ("com.docker.lb.ssl_cert", cert),
        ]
    };
    let snap = one_service_snapshot(vec![
        svc("s1", "good", &tls("good.local", "good.pem")),
        svc("s2", "bad", &tls("bad.local", "bad.pem")),
    ]);
    let broken = crate::plan::BrokenTls(
        [(
            ("bad.pem".to_owned(), None),
            "holds no private key".to_owned(),
        )]
        .into(),
    );
    let cfg = config(vec![ext("default", "")]);
    let p = crate::plan::plan_with(&snap, &cfg, &broken);
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("bad"), Some("com.docker.lb.ssl_cert"))]
    );
    assert!(p.diagnostics[0].message.contains("holds no private key"));
    let hosts: Vec<&str> = p.clusters["default"]
        .input
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(hosts, ["good.local"]);
    // Still mounted: detaching would restart the proxy for nothing.
    assert_eq!(
        p.clusters["default"].secrets,
        ["bad.pem".to_string(), "good.pem".to_string()].into()
    );
}

#[test]
fn plan_is_independent_of_snapshot_order_on_the_parallel_path() {
    // Above `map_in_order`'s threshold (256), services are planned on the
    // rayon pool; shared hosts, creation-time ties, collections and
    // competing certificates make merge order matter.
    const N: usize = 600;
    let services: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            let host = format!("h{}.local", i % 150);
            let cert = format!("cert{}.pem", i % 7);
            let collection = ["team-a", "team-b"][i % 2];
            let mut labels = vec![
                ("com.docker.lb.hosts", host.as_str()),
                ("com.docker.lb.port", "80"),
                ("com.docker.ucp.access.label", collection),
            ];
            if i % 3 == 0 {
                labels.push(("com.docker.lb.ssl_cert", cert.as_str()));
            }
            let mut s = svc(&format!("s{i}"), &format!("svc{i:03}"), &labels);
            // Ties on purpose: 40 services per creation second.
            s["CreatedAt"] = json!(format!("2024-05-02T09:14:{:02}.5Z", (N - i) / 40));
            s
        })
        .collect();
    let tasks: Vec<serde_json::Value> = (0..N)
        .map(|i| {
            let addr = format!("10.0.{}.{}/24", i / 200, i % 200 + 10);
            task(
                &format!("t{i}"),
                &format!("s{i}"),
                "n1",
                "running",
                "running",
                &[(APPNET, "appnet", &addr)],
                &[],
            )
        })
        .collect();
    let snap = snapshot(
        json!({"services": services, "tasks": tasks, "networks": [network(APPNET, "appnet", "10.0.0.0/16")]}),
    );
    let cfg = config(vec![ext("default", "")]);
    let p = plan(&snap, &cfg);
    assert_eq!(p.clusters["default"].input.hosts.len(), 150);
    assert!(
        p.diagnostics.iter().any(|d| d.severity == Severity::Error),
        "conflicts exercised"
    );
    for turn in [1, N / 3, N - 1] {
        let mut moved = snap.clone();
        moved.services.rotate_left(turn);
        moved.tasks.rotate_right(turn);
        assert_eq!(plan(&moved, &cfg), p, "rotated by {turn}");
    }
    let mut reversed = snap.clone();
    reversed.services.reverse();
    assert_eq!(plan(&reversed, &cfg), p, "reversed");
}

/// The daemon's planner keeps each service's part between plans; whatever
/// changes, its plan must be the one planned from scratch.
#[test]
fn plan_is_the_same_as_from_scratch() {
    let base: Snapshot = serde_json::from_str(FEATURES).unwrap();
    let cfg = parse_str(FEATURES_CONFIG, Path::new(".")).unwrap().config;
    let none = crate::plan::BrokenTls::default();
    let mut planner = crate::plan::Planner::new();
    let mut swarm = crate::snapshot::Swarm::from_snapshot(base.clone());
    let check = |planner: &mut crate::plan::Planner,
                 swarm: &crate::snapshot::Swarm,
                 cfg: &Config,
                 broken: &crate::plan::BrokenTls,
                 step: &str| {
        let kept = planner.plan(swarm, cfg, broken);
        let fresh = crate::plan::plan_with(&swarm.to_snapshot(), cfg, broken);
        assert_eq!(kept, fresh, "after {step}");
        kept
    };
    let first = check(&mut planner, &swarm, &cfg, &none, "the first plan");
    assert!(!first.clusters.values().all(|c| c.input.hosts.is_empty()));

    // One service's labels.
    let id = |name: &str| {
        base.services
            .iter()
            .find(|s| s.spec.as_ref().unwrap().name.as_deref() == Some(name))
            .and_then(|s| s.id.clone())
            .unwrap()
    };
    let demo = id("demo");
    let mut o = (*swarm.services[&demo]).clone();
    let labels = o.service.spec.as_mut().unwrap().labels.as_mut().unwrap();
    labels.insert("com.docker.lb.hosts".into(), "renamed.example".into());
    swarm.set_service(&demo, Some(o));
    let p = check(&mut planner, &swarm, &cfg, &none, "a host renamed");
    assert_ne!(p, first);
    // The cluster the change is not in keeps its plan, not a copy.
    let (mine, other) = if first.clusters["main"] == p.clusters["main"] {
        ("edge", "main")
    } else {
        ("main", "edge")
    };
    assert!(std::sync::Arc::ptr_eq(
        &first.clusters[other],
        &p.clusters[other]
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &first.clusters[mine],
        &p.clusters[mine]
    ));
    assert!(p.diagnostics.len() <= first.diagnostics.len() + 1);

    // One service's tasks: one fewer.
    let app = id("app");
    let mut o = (*swarm.services[&app]).clone();
    assert!(!o.tasks.is_empty(), "the fixture's app has tasks");
    o.tasks.pop();
    swarm.set_service(&app, Some(o));
    check(&mut planner, &swarm, &cfg, &none, "a task gone");

    // A service gone, a bad label on another.
    swarm.set_service(&id("shop-api"), None);
    let secure = id("secure");
    let mut o = (*swarm.services[&secure]).clone();
    let labels = o.service.spec.as_mut().unwrap().labels.as_mut().unwrap();
    labels.insert("com.docker.lb.port".into(), "not-a-port".into());
    swarm.set_service(&secure, Some(o));
    check(
        &mut planner,
        &swarm,
        &cfg,
        &none,
        "a removal and a bad label",
    );

    // Context: networks renamed, secrets gone, a broken pair, the config.
    let mut networks = (*swarm.networks).clone();
    for n in &mut networks {
        n.name = n.name.as_ref().map(|n| format!("{n}-new"));
    }
    swarm.set_networks(networks);
    check(&mut planner, &swarm, &cfg, &none, "networks renamed");
    swarm.set_secrets(Vec::new());
    check(&mut planner, &swarm, &cfg, &none, "secrets gone");
    swarm.refresh(crate::snapshot::Swarm::from_snapshot(base.clone()));
    let broken = crate::plan::BrokenTls(
        base.services
            .iter()
            .filter_map(|s| {
                let l = s.spec.as_ref()?.labels.as_ref()?;
                let cert = l.get("com.docker.lb.ssl_cert")?.clone();
                Some((
                    (cert, l.get("com.docker.lb.ssl_key").cloned()),
                    "bad".to_owned(),
                ))
            })
            .take(1)
            .collect(),
    );
    assert_eq!(broken.0.len(), 1, "the fixture has a TLS service");
    check(&mut planner, &swarm, &cfg, &broken, "a broken pair");
    let mut other = cfg.clone();
    other.extensions.retain(|name, _| name != "main");
    check(&mut planner, &swarm, &other, &none, "an Extension removed");
    let back = check(&mut planner, &swarm, &cfg, &none, "back to the start");
    assert_eq!(back, crate::plan::plan(&base, &cfg));
}

/// `sluice.*` labels reach the plugin as their upstream's policy; services
/// sharing an upstream share the first one's, with a warning naming both.
#[test]
fn policies_go_with_their_upstream() {
    let labels = |host: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut l = vec![("com.docker.lb.hosts", host), ("com.docker.lb.port", "80")];
        l.extend_from_slice(extra);
        l
    };
    let snap = one_service_snapshot(vec![
        svc(
            "s1",
            "a",
            &labels("a.local", &[("sluice.timeout.read", "5s")]),
        ),
        svc("s2", "b", &labels("b.local", &[])),
        svc(
            "s3",
            "a-canary",
            &labels(
                "a.local",
                &[("sluice.timeout.read", "9s"), ("com.docker.lb.weight", "1")],
            ),
        ),
    ]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    let c = &p.clusters["default"];
    let ups: Vec<(&str, Option<u32>)> = c
        .policies
        .iter()
        .map(|x| (x.upstream.as_str(), x.read_timeout_ms))
        .collect();
    let a = host(&p, "default", "a.local")
        .upstream
        .as_ref()
        .unwrap()
        .name
        .clone();
    assert_eq!(ups, [(a.as_str(), Some(5000))], "b.local has none");
    let warned: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.label.as_deref() == Some("sluice.*"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", p.diagnostics);
    assert_eq!(warned[0].service.as_deref(), Some("a-canary"));
    assert!(
        warned[0].message.contains("sluice.timeout.read"),
        "{}",
        warned[0].message
    );

    // A bad value leaves the service out, naming the label.
    let bad = one_service_snapshot(vec![svc(
        "s1",
        "a",
        &labels("a.local", &[("sluice.allow", "10.0.0.0/33")]),
    )]);
    let p = plan(&bad, &config(vec![ext("default", "")]));
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("a"), Some("sluice.allow"))]
    );
}

/// `sluice.auth.basic` names a secret as `ssl_cert` does: it is mounted
/// into the proxy, and the same rules keep a service off secrets that are
/// not its own.
#[test]
fn basic_auth_secrets_are_mounted_and_guarded() {
    let labels = |secret: &'static str| {
        [
            ("com.docker.lb.hosts", "a.local"),
            ("com.docker.lb.port", "80"),
            ("sluice.auth.basic", secret),
        ]
    };
    let snap = one_service_snapshot(vec![svc("s1", "a", &labels("a-users"))]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let cluster = &p.clusters["default"];
    assert_eq!(cluster.secrets, ["a-users".to_string()].into());
    let auth = cluster.policies[0].basic_auth.as_ref().unwrap();
    assert_eq!(auth.users_path, "/run/secrets/a-users");

    let snap = one_service_snapshot(vec![svc("s1", "a", &labels("sluice-agent-east"))]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert_eq!(
        summary(&p),
        [(Severity::Error, Some("a"), Some("sluice.auth.basic"))]
    );
    assert!(p.clusters["default"].secrets.is_empty());
}

#[test]
fn acme_hosts_are_collected() {
    let acme = [
        ("com.docker.lb.hosts", "a.local"),
        ("com.docker.lb.port", "80"),
        ("sluice.tls", "acme"),
    ];
    let snap = one_service_snapshot(vec![svc("s1", "a", &acme)]);
    let p = plan(&snap, &config(vec![ext("default", "")]));
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.clusters["default"].acme_hosts,
        ["a.local".to_string()].into()
    );
}
