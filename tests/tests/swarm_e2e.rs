//! Sluice's daemon end to end on a real two-node Swarm (tests/swarm/up.sh:
//! the manager is region=east, the worker region=west), asserted with plain
//! HTTP from the host to the proxies' host-mode ports on each node.
//!
//! The daemon runs in-process (`sluice::daemon::run`), one per scenario, as
//! Sluice instance `e2e-<scenario>`; each scenario names everything it makes
//! `e2e-<scenario>-*`, uses node ports of its own, and removes it all at the
//! end, on failure too. Scenarios run one at a time (the Swarm is shared).
//! Each step prints an `[e2e timing]` line: run with `--nocapture` to see them.
//!
//! Without a Swarm (not root, no Docker) every test prints SKIPPED and
//! passes, unless `SLUICE_REQUIRE_SWARM=1` (CI), which makes that a failure.
//!
//! Routes change by Interlock's rolling delivery: a new Docker config object
//! and a proxy service update, whose task is replaced; a few seconds a change.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice_tests::swarm::config::{self, Cluster};
use sluice_tests::swarm::logs;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

/// First convergence: networks, tasks, proxy creation and its first update.
const START: Duration = Duration::from_secs(120);
/// One change: a proxy service update (task replaced).
const CHANGE: Duration = Duration::from_secs(60);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Starts the daemon on the seed config and waits until demo.A serves on
/// the east node and demo.B on the west node.
fn seed_up(s: &mut Scenario, port: u16, ssl_port: u16) -> (String, String) {
    let (demoeast, demowest) = s.seed_services();
    let config = config::seed(s.env, &s.prefix, port, ssl_port);
    s.start_daemon(&config);
    let t = s.wait_served(Node::East, port, "demo.A", &demoeast, START);
    s.timing("daemon start -> demo.A 200 via east", t);
    let t = s.wait_served(Node::West, port, "demo.B", &demowest, START);
    s.timing("  then demo.B 200 via west", t);
    (demoeast, demowest)
}

#[test]
fn seed_scenario_each_host_answers_on_its_region_only() {
    let _serial = serial();
    let Some(env) = swarm("seed_scenario") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-seed");
    let port = 18080;
    let (demoeast, demowest) = seed_up(&mut s, port, 18443);

    let cases = [
        (Node::East, "demo.A", Some(&demoeast)),
        (Node::West, "demo.A", None),
        (Node::West, "demo.B", Some(&demowest)),
        (Node::East, "demo.B", None),
    ];
    for (node, host, want) in cases {
        let reply = s.get(node, port, host).expect("the proxy answers");
        println!(
            "{host} via {node:?}: {} {:?}",
            reply.status,
            reply.whoami_name()
        );
        match want {
            Some(service) => {
                assert_eq!(reply.status, 200, "{host} via {node:?}: {reply:?}");
                assert_eq!(reply.whoami_name(), Some(service.as_str()), "{reply:?}");
            }
            // The other region's proxy does not route this host at all.
            None => assert_eq!(reply.status, 503, "{host} via {node:?}: {reply:?}"),
        }
    }
}

#[test]
fn nginx_and_haproxy_clusters_serve_side_by_side() {
    let _serial = serial();
    let Some(env) = swarm("nginx_and_haproxy") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-mix");
    let p = s.prefix.clone();
    let (ngx_net, hap_net) = s.step("networks", || (s.network("ngxnet"), s.network("hapnet")));
    let clusters = [
        Cluster {
            name: "ngx".into(),
            plugin: "nginx",
            proxy_image: env.nginx_image.clone(),
            networks: vec![ngx_net.clone()],
            region: "east",
            port: 18081,
            ssl_port: 18444,
        },
        Cluster {
            name: "hap".into(),
            plugin: "haproxy",
            proxy_image: env.haproxy_image.clone(),
            networks: vec![hap_net.clone()],
            region: "west",
            port: 18082,
            ssl_port: 18445,
        },
    ];
    let (a, b) = s.step("whoami services", || {
        (
            s.whoami(
                "a",
                &ngx_net,
                "east",
                1,
                &[
                    ("hosts", "a.mix.test"),
                    ("port", "8000"),
                    ("service_cluster", &clusters[0].service_cluster(&p)),
                ],
            ),
            s.whoami(
                "b",
                &hap_net,
                "west",
                1,
                &[
                    ("hosts", "b.mix.test"),
                    ("port", "8000"),
                    ("service_cluster", &clusters[1].service_cluster(&p)),
                ],
            ),
        )
    });
    s.start_daemon(&config::build(env, &p, &clusters));
    let t = s.wait_served(Node::East, 18081, "a.mix.test", &a, START);
    s.timing("daemon start -> a 200 via nginx (east)", t);
    let t = s.wait_served(Node::West, 18082, "b.mix.test", &b, START);
    s.timing("  then b 200 via HAProxy (west)", t);

    // Each proxy service runs the image of its renderer.
    for (cluster, image) in [
        (&clusters[0], &env.nginx_image),
        (&clusters[1], &env.haproxy_image),
    ] {
        let svc = s
            .manager
            .service(&cluster.proxy_service(&p))
            .expect("the proxy service exists");
        assert_eq!(
            svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].as_str(),
            Some(image.as_str()),
            "{}",
            cluster.name
        );
    }
    // And each routes only its own cluster's hosts.
    for (node, port, host) in [
        (Node::East, 18081, "b.mix.test"),
        (Node::West, 18082, "a.mix.test"),
    ] {
        let reply = s.get(node, port, host).expect("the proxy answers");
        assert_eq!(reply.status, 503, "{host} via {node:?}:{port}: {reply:?}");
    }
}

/// Distinct whoami task hostnames among `n` answers for `host`, all 200;
/// counts the answers that were not 200 into `failed` (reported, not
/// asserted: what a client sees while routes change).
fn hostnames(
    s: &Scenario,
    port: u16,
    host: &str,
    n: usize,
    failed: &mut usize,
) -> Result<BTreeSet<String>, String> {
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        let r = s
            .get(Node::East, port, host)
            .inspect_err(|_| *failed += 1)?;
        if r.status != 200 {
            *failed += 1;
            return Err(format!("{} {:?}", r.status, r.body.lines().next()));
        }
        seen.insert(r.whoami_hostname().unwrap_or_default().to_owned());
    }
    Ok(seen)
}

#[test]
fn routes_follow_scaling_label_updates_and_removal() {
    let _serial = serial();
    let Some(env) = swarm("routes_follow") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-routes");
    let p = s.prefix.clone();
    let port = 18083;
    let net = s.step("network", || s.network("net"));
    let cluster = Cluster::nginx_east(env, "web", &net, port, 18446);
    let sc = cluster.service_cluster(&p);
    let app = s.step("whoami service", || {
        s.routed_whoami("app", &net, "east", "app.test", &sc)
    });
    s.start_daemon(&config::build(env, &p, std::slice::from_ref(&cluster)));
    let t = s.wait_served(Node::East, port, "app.test", &app, START);
    s.timing("daemon start -> app.test 200", t);

    s.manager
        .run(&["service", "scale", "--detach", &format!("{app}=2")]);
    let mut failed = 0;
    let (seen, t) = until("answers from 2 tasks", CHANGE, || {
        let seen = hostnames(&s, port, "app.test", 6, &mut failed)?;
        if seen.len() == 2 {
            Ok(seen)
        } else {
            Err(format!("{seen:?}"))
        }
    });
    s.timing("scale 1->2 -> answers from 2 tasks", t);
    println!("tasks answering: {seen:?}; failed answers meanwhile: {failed}");

    s.manager
        .run(&["service", "scale", "--detach", &format!("{app}=1")]);
    let mut failed = 0;
    let (left, t) = until("answers from 1 task only", CHANGE, || {
        let seen = hostnames(&s, port, "app.test", 6, &mut failed)?;
        if seen.len() == 1 {
            Ok(seen)
        } else {
            Err(format!("{seen:?}"))
        }
    });
    s.timing("scale 2->1 -> answers from 1 task, all 200", t);
    println!("failed answers meanwhile: {failed}");
    assert!(
        left.is_subset(&seen),
        "{left:?} answers, but was not one of {seen:?}"
    );

    s.manager.label_add(&app, "com.docker.lb.hosts=app2.test");
    let t = s.wait_served(Node::East, port, "app2.test", &app, CHANGE);
    s.timing("hosts label changed -> new host 200", t);

    // A `sluice.*` policy label reaches the proxy like any label.
    s.manager
        .label_add(&app, "sluice.response_header.X-Sluice-Policy=e2e");
    let ((), t) = until("the policy's response header", CHANGE, || {
        let r = s.get(Node::East, port, "app2.test")?;
        let has = r
            .head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("x-sluice-policy: e2e"));
        if r.status == 200 && has {
            Ok(())
        } else {
            Err(format!("{} {}", r.status, r.head))
        }
    });
    s.timing("sluice.response_header label -> header on the answer", t);
    let old = s
        .get(Node::East, port, "app.test")
        .expect("the proxy answers");
    assert_eq!(old.status, 503, "the old host still routes: {old:?}");

    s.manager.run(&["service", "rm", &app]);
    let t = s.wait_status(Node::East, port, "app2.test", 503, CHANGE);
    s.timing("service removed -> its host 503", t);
}

#[test]
fn a_change_in_east_does_not_update_west() {
    let _serial = serial();
    let Some(env) = swarm("cluster_isolation") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-iso");
    let port = 18084;
    let (_, demowest) = seed_up(&mut s, port, 18447);
    let (east_proxy, west_proxy) = (
        format!("{}-proxy-east", s.prefix),
        format!("{}-proxy-west", s.prefix),
    );
    let t = s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    s.timing("both proxies converged (3 quiet rounds)", t);
    let east_before = s.settled_state(&east_proxy, CHANGE);
    let west_before = s.settled_state(&west_proxy, CHANGE);
    let since = now();
    let mark = logs::mark();

    // The change: a new service in east.
    let eastnet = format!("{}-eastnet", s.prefix);
    let east_cluster = format!("{}-east", s.prefix);
    let demo_c = s.routed_whoami("democ", &eastnet, "east", "demo.C", &east_cluster);
    let t = s.wait_served(Node::East, port, "demo.C", &demo_c, CHANGE);
    s.timing("new east service -> first 200 via east", t);
    s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    let writes: Vec<String> = logs::since(mark)
        .lines()
        .filter(|l| l.contains("proxy service reconciled"))
        .map(str::to_owned)
        .collect();
    println!("the daemon's proxy writes for the change: {writes:#?}");
    let east_after = s.settled_state(&east_proxy, CHANGE);
    let west_after = s.settled_state(&west_proxy, CHANGE);
    let west_updates = s.update_events(&west_proxy, since);
    let east_updates = s.update_events(&east_proxy, since);
    println!(
        "east proxy: version {} -> {}, {east_updates} update events; west proxy: version {} -> {}, {west_updates} update events",
        east_before.version, east_after.version, west_before.version, west_after.version
    );
    // The change did reach east (else the rest proves nothing)...
    assert!(
        east_after.version > east_before.version && east_updates > 0,
        "east's proxy was not updated: {east_before:?} -> {east_after:?}"
    );
    // ...and wrote nothing to west.
    assert_eq!(west_after, west_before, "west's proxy service changed");
    assert_eq!(west_updates, 0, "update events on {west_proxy}");
    let b = s.get(Node::West, port, "demo.B").expect("west answers");
    assert_eq!((b.status, b.whoami_name()), (200, Some(demowest.as_str())));
    let c = s.get(Node::West, port, "demo.C").expect("west answers");
    assert_eq!(c.status, 503, "west routes east's new host: {c:?}");
}

#[test]
fn restarted_daemon_with_nothing_changed_updates_nothing() {
    let _serial = serial();
    let Some(env) = swarm("restart") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-restart");
    let port = 18086;
    let (demoeast, demowest) = seed_up(&mut s, port, 18449);
    let proxies = [
        format!("{}-proxy-east", s.prefix),
        format!("{}-proxy-west", s.prefix),
    ];
    let t = s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    s.timing("converged (3 quiet rounds)", t);
    let t = std::time::Instant::now();
    s.stop_daemon();
    s.timing("stop the daemon", t.elapsed());
    let before: Vec<_> = proxies.iter().map(|p| s.settled_state(p, CHANGE)).collect();
    let since = now();

    let mark = logs::mark();
    let config = config::seed(env, &s.prefix, port, 18449);
    s.start_daemon(&config);
    // A round runs at once, then every 250 ms while converging: 8 rounds
    // is ~2 s of a daemon that would have written by then if it meant to.
    let t = s.wait_quiet_rounds(mark, 8, CHANGE);
    s.timing("restarted daemon: 8 rounds", t);
    let after: Vec<_> = proxies.iter().map(|p| s.settled_state(p, CHANGE)).collect();
    let log = logs::since(mark);
    let rounds = logs::rounds(&log);
    println!(
        "{} rounds after restart, first: {:?}",
        rounds.len(),
        rounds.first()
    );
    assert!(
        rounds.iter().all(|r| logs::quiet(r)),
        "a round after restart wrote: {rounds:#?}"
    );
    assert!(!log.contains("proxy service reconciled"), "{log}");
    assert_eq!(after, before, "proxy services changed on restart");
    for p in &proxies {
        assert_eq!(s.update_events(p, since), 0, "update events on {p}");
    }
    let a = s.get(Node::East, port, "demo.A").expect("east answers");
    assert_eq!(a.whoami_name(), Some(demoeast.as_str()), "{a:?}");
    let b = s.get(Node::West, port, "demo.B").expect("west answers");
    assert_eq!(b.whoami_name(), Some(demowest.as_str()), "{b:?}");
}

#[test]
fn a_bad_label_excludes_its_service_only_and_is_named_in_the_log() {
    let _serial = serial();
    let Some(env) = swarm("bad_label") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-bad");
    let p = s.prefix.clone();
    let port = 18087;
    let net = s.step("network", || s.network("net"));
    let cluster = Cluster::nginx_east(env, "web", &net, port, 18450);
    let sc = cluster.service_cluster(&p);
    let (good, broken) = s.step("whoami services", || {
        (
            s.routed_whoami("good", &net, "east", "good.test", &sc),
            s.whoami(
                "broken",
                &net,
                "east",
                1,
                &[
                    ("hosts", "broken.test"),
                    ("port", "notaport"),
                    ("service_cluster", &sc),
                ],
            ),
        )
    });
    s.start_daemon(&config::build(env, &p, std::slice::from_ref(&cluster)));
    let t = s.wait_served(Node::East, port, "good.test", &good, START);
    s.timing("daemon start -> good.test 200", t);
    let r = s
        .get(Node::East, port, "broken.test")
        .expect("the proxy answers");
    assert_eq!(r.status, 503, "the broken service is routed: {r:?}");

    let log = s.log();
    let named: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&broken) && l.contains("com.docker.lb.port"))
        .collect();
    println!("log lines naming the bad label: {named:#?}");
    assert!(
        named
            .iter()
            .any(|l| l.contains("ERROR") || l.contains("WARN")),
        "no error or warning names service {broken} and com.docker.lb.port:\n{log}"
    );

    // The cluster keeps following changes with the bad service in it.
    let late = s.routed_whoami("late", &net, "east", "late.test", &sc);
    let t = s.wait_served(Node::East, port, "late.test", &late, CHANGE);
    s.timing("new neighbour -> first 200", t);
    let g = s
        .get(Node::East, port, "good.test")
        .expect("the proxy answers");
    assert_eq!((g.status, g.whoami_name()), (200, Some(good.as_str())));
}

/// The seed config with east switched to `plugin` (a built-in name or a
/// path) on `image`: `[Extensions.east.Config]` (nginx keys) dropped, the
/// proxy's config path and stop signal to HAProxy's.
fn east_swapped(seed: &str, plugin: &str, image: &str, nginx_image: &str) -> String {
    let (east, west) = seed.split_at(seed.find("[Extensions.west]").expect("a west block"));
    let east = match east.find("[Extensions.east.Config]") {
        Some(i) => &east[..i],
        None => east,
    };
    let east = east
        .replace(
            &format!("ProxyImage = \"{nginx_image}\""),
            &format!("ProxyImage = \"{image}\"\n    Plugin = \"{plugin}\""),
        )
        .replace(
            "ProxyConfigPath = \"/etc/nginx/nginx.conf\"",
            "ProxyConfigPath = \"/usr/local/etc/haproxy/haproxy.cfg\"",
        )
        .replace(
            "ProxyStopSignal = \"SIGQUIT\"",
            "ProxyStopSignal = \"SIGUSR1\"",
        );
    assert!(
        east.contains(&format!("Plugin = \"{plugin}\"")),
        "the east block changed shape:\n{east}"
    );
    format!("{east}\n  {west}")
}

#[test]
fn swapping_east_from_nginx_to_haproxy_leaves_west_untouched() {
    let _serial = serial();
    let Some(env) = swarm("plugin_swap") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-swap");
    let (port, ssl_port) = (18088, 18451);
    let (demoeast, demowest) = seed_up(&mut s, port, ssl_port);
    let (east_proxy, west_proxy) = (
        format!("{}-proxy-east", s.prefix),
        format!("{}-proxy-west", s.prefix),
    );
    s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    let west_before = s.settled_state(&west_proxy, CHANGE);
    let since = now();
    let seed = config::seed(s.env, &s.prefix, port, ssl_port);

    // Before: nginx answers (the check below relies on its Server header).
    let before = s.get(Node::East, port, "demo.A").expect("east answers");
    assert!(
        before
            .header("Server")
            .is_some_and(|v| v.starts_with("nginx")),
        "{before:?}"
    );

    // Swap east's renderer and image together, as one reload.
    let started = std::time::Instant::now();
    s.reload_daemon(&east_swapped(
        &seed,
        "haproxy",
        &env.haproxy_image,
        &env.nginx_image,
    ));
    until("east's proxy on the HAProxy image", CHANGE, || {
        let svc = s.manager.service(&east_proxy).ok_or("no east proxy")?;
        let image = svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if image == env.haproxy_image {
            Ok(())
        } else {
            Err(format!("image {image}"))
        }
    });
    // nginx names itself in `Server`; HAProxy passes the backend's answer
    // (whoami sends no Server header) as it is.
    let (a, _) = until("demo.A answered by HAProxy", CHANGE, || {
        let a = s.get(Node::East, port, "demo.A")?;
        match a.header("Server") {
            Some(server) if server.starts_with("nginx") => Err(format!("still nginx: {server}")),
            _ if a.status == 200 => Ok(a),
            _ => Err(format!("status {}", a.status)),
        }
    });
    assert_eq!(a.whoami_name(), Some(demoeast.as_str()));
    s.timing("reload -> demo.A 200 via east's HAProxy", started.elapsed());
    s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    let west_after = s.settled_state(&west_proxy, CHANGE);
    assert_eq!(west_after, west_before, "west's proxy service changed");
    assert_eq!(
        s.update_events(&west_proxy, since),
        0,
        "update events on {west_proxy}"
    );
    let b = s.get(Node::West, port, "demo.B").expect("west answers");
    assert_eq!((b.status, b.whoami_name()), (200, Some(demowest.as_str())));

    // A plugin that can't load: east keeps what it runs, and the log says why.
    let mark = logs::mark();
    let east_before = s.settled_state(&east_proxy, CHANGE);
    s.reload_daemon(&east_swapped(
        &seed,
        "/nonexistent/renderer.wasm",
        &env.haproxy_image,
        &env.nginx_image,
    ));
    until("the refused reload in the log", CHANGE, || {
        let log = logs::since(mark);
        if log.contains("Extensions.east") && log.contains("keeps running as before") {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    });
    s.wait_quiet_rounds(logs::mark(), 3, CHANGE);
    assert_eq!(
        s.settled_state(&east_proxy, CHANGE),
        east_before,
        "east's proxy changed after a refused plugin"
    );
    let a = s.get(Node::East, port, "demo.A").expect("east answers");
    assert_eq!((a.status, a.whoami_name()), (200, Some(demoeast.as_str())));
}

#[test]
fn snapshot_captures_the_live_swarm_for_a_dry_run_without_secrets() {
    let _serial = serial();
    let Some(env) = swarm("snapshot") else {
        return;
    };
    let s = Scenario::new(env, "e2e-snap");
    let p = s.prefix.clone();
    let net = s.network("net");
    let cluster = Cluster::nginx_east(env, "web", &net, 18089, 18452);
    let sc = cluster.service_cluster(&p);
    let app = s.whoami(
        "app",
        &net,
        "east",
        2,
        &[
            ("hosts", "snap.test"),
            ("port", "8000"),
            ("service_cluster", &sc),
        ],
    );
    s.manager.run(&[
        "service",
        "update",
        "--detach",
        "--env-add",
        "SNAP_PASSWORD=hunter2-not-for-reports",
        &app,
    ]);
    // The rolling update over (it replaces the tasks one by one), then both
    // tasks of the updated spec running, with their addresses.
    until("the env update to complete", CHANGE, || {
        let state = s.settled_state(&app, CHANGE).update_state;
        if state == "completed" {
            Ok(())
        } else {
            Err(state)
        }
    });
    let (addrs, t) = until("two running tasks with addresses", CHANGE, || {
        let ids = s.manager.lines(&[
            "service",
            "ps",
            "-q",
            "--filter",
            "desired-state=running",
            &app,
        ]);
        let mut addrs = Vec::new();
        for id in &ids {
            let state = s.manager.run(&["inspect", "--format", "{{.Status.State}} {{range .NetworksAttachments}}{{range .Addresses}}{{.}} {{end}}{{end}}", id]);
            let mut words = state.split_whitespace();
            if words.next() != Some("running") {
                return Err(format!("task {id}: {state}"));
            }
            addrs.extend(words.filter_map(|a| a.split('/').next()).map(str::to_owned));
        }
        if ids.len() == 2 && addrs.len() >= 2 {
            Ok(addrs)
        } else {
            Err(format!("{ids:?} {addrs:?}"))
        }
    });
    s.timing("tasks running", t);

    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("config.toml");
    std::fs::write(
        &config_file,
        config::build(env, &p, std::slice::from_ref(&cluster)),
    )
    .unwrap();
    let snapshot_file = dir.path().join("snapshot.json");
    let sluice = |args: &[&str]| {
        let out = std::process::Command::new(sluice_tests::sluice_bin::sluice_bin())
            .args(args)
            .output()
            .expect("run sluice");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (config_path, snap_path) = (
        config_file.to_str().unwrap(),
        snapshot_file.to_str().unwrap(),
    );
    let (ok, _, err) = sluice(&["snapshot", "-c", config_path, "-o", snap_path]);
    assert!(ok, "sluice snapshot failed:\n{err}");
    println!("{}", err.trim());
    let text = std::fs::read_to_string(&snapshot_file).unwrap();
    assert!(
        text.contains(&app) && text.contains("snap.test"),
        "the service is in the snapshot"
    );
    assert!(
        !text.contains("hunter2"),
        "an environment value reached the snapshot"
    );

    // The dry run renders the cluster's route to the tasks the Swarm runs.
    let (_, rendered, err) = sluice(&[
        "render",
        "-c",
        config_path,
        "--snapshot",
        snap_path,
        "--cluster",
        "web",
    ]);
    assert!(
        rendered.contains("snap.test"),
        "no route for snap.test:\n{rendered}\n{err}"
    );
    for addr in &addrs {
        assert!(
            rendered.contains(&format!("{addr}:8000")),
            "task {addr} is not an upstream server:\n{rendered}"
        );
    }
}

#[test]
fn a_cluster_that_cannot_be_applied_backs_off_says_so_once_and_recovers() {
    let _serial = serial();
    let Some(env) = swarm("backoff") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-squat");
    let p = s.prefix.clone();
    let net = s.network("net");
    let port = 18091;
    let cluster = Cluster::nginx_east(env, "web", &net, port, 18454);
    let sc = cluster.service_cluster(&p);
    // Someone else's service holds the proxy's name.
    let squatter = cluster.proxy_service(&p);
    s.manager.run(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--label",
        "sluice.test=1",
        "--name",
        &squatter,
        &env.whoami_image,
    ]);
    let app = s.routed_whoami("app", &net, "east", "squat.test", &sc);
    s.start_daemon(&config::build(env, &p, std::slice::from_ref(&cluster)));
    let watched = Duration::from_secs(10);
    std::thread::sleep(watched);

    let log = s.log();
    let rounds = logs::rounds(&log);
    let attempts = rounds
        .iter()
        .filter(|r| r.contains("failed=[\"web\"]"))
        .count();
    let waiting = rounds
        .iter()
        .filter(|r| r.contains("waiting=[\"web\"]"))
        .count();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("is not managed by"))
        .collect();
    println!(
        "[backoff] in {watched:?}: {} rounds, {attempts} apply attempts, {waiting} rounds waiting, {} error lines",
        rounds.len(),
        said.len()
    );
    assert_eq!(said.len(), 1, "the refusal is said once:\n{said:#?}");
    assert!(said[0].contains(&squatter), "{}", said[0]);
    // A name someone else holds needs a person: retried after 30 s, or at
    // once for a new revision (the app's task starting makes one) or a
    // Swarm event (the app's network and node events in its first second:
    // 4-5 attempts then). Every round (the fast poll's 250 ms) tried once:
    // 39 in 10 s.
    assert!(
        (1..=8).contains(&attempts),
        "{attempts} attempts in {watched:?}"
    );
    assert!(
        waiting > attempts,
        "{waiting} rounds waited, {attempts} tried"
    );

    // Quiet afterwards: the next try is 30 s after the last (a transient
    // failure's 1-2-4-8-15 s would have tried again at 15 s).
    std::thread::sleep(Duration::from_secs(8));
    let later = logs::rounds(&s.log())
        .iter()
        .filter(|r| r.contains("failed=[\"web\"]"))
        .count();
    println!("[backoff] 8 s later: {later} apply attempts in all");
    assert_eq!(
        later, attempts,
        "a permanent failure was retried within 8 s"
    );

    // Once the name is free (a Swarm event), the cluster comes up at once.
    s.manager.run(&["service", "rm", &squatter]);
    let t = s.wait_served(Node::East, port, "squat.test", &app, CHANGE);
    s.timing("name freed -> squat.test 200", t);
}
