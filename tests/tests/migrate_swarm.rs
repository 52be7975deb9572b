//! `sluice migrate` on the real two-node Swarm, against a deployment shaped
//! as Interlock leaves it:
//! - a core service that mounts `config.toml` from a config object;
//! - a proxy service running stock nginx, configured by its own config
//!   object, labelled `type=com.docker.interlock.core.proxy`, on a host-mode
//!   port;
//! - one routed service.
//!
//! Under steady load, in order: the take-over, the daemon on the migrated
//! config, then a rollback. Failed requests and times are printed per step.

#[path = "../benches/delivery/probe.rs"]
#[allow(dead_code)]
mod probe;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice_tests::sluice_bin::sluice_bin;
use sluice_tests::swarm::config::{self, Cluster};
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

const PORT: u16 = 18097;
const SSL_PORT: u16 = 18497;

/// nginx as Interlock's proxy would run it here: one server passing
/// everything to the routed service's tasks (DNS round robin).
fn interlock_nginx_conf(app: &str) -> String {
    format!(
        r#"worker_processes 1;
error_log stderr;
events {{ worker_connections 256; }}
http {{
    access_log off;
    server {{
        listen 80 default_server;
        location / {{
            resolver 127.0.0.11 valid=1s ipv6=off;
            set $up {app};
            proxy_pass http://$up:8000;
        }}
    }}
}}
"#
    )
}

fn create_config(s: &Scenario, name: &str, text: &str) {
    let dir = std::env::temp_dir().join(format!("{}-{}", s.prefix, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    s.manager.run(&[
        "config",
        "create",
        "--label",
        "sluice.test=1",
        name,
        file.to_str().unwrap(),
    ]);
}

fn migrate(env_sock: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(sluice_bin())
        .arg("migrate")
        .args(["--docker", &format!("unix://{env_sock}")])
        .args(args)
        .output()
        .expect("run sluice migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether the proxy's answer was rendered by Sluice's nginx plugin.
fn served_by_sluice(s: &Scenario) -> Result<(), String> {
    let r = s.get(Node::East, PORT, "mig.test")?;
    let head = r.head.to_ascii_lowercase();
    if r.status == 200 && head.contains("x-server-info: sluice/") {
        Ok(())
    } else {
        Err(format!("{} without Sluice's header", r.status))
    }
}

/// The replica count in `service`'s spec.
fn replicas(s: &Scenario, service: &str) -> String {
    s.manager
        .run(&[
            "service",
            "inspect",
            "--format",
            "{{.Spec.Mode.Replicated.Replicas}}",
            service,
        ])
        .trim()
        .to_owned()
}

fn task_ids(s: &Scenario, service: &str) -> Vec<String> {
    s.manager.lines(&[
        "service",
        "ps",
        "-q",
        "--filter",
        "desired-state=running",
        service,
    ])
}

#[test]
fn interlock_is_taken_over_in_place_and_rolled_back() {
    let _serial = serial();
    let Some(env) = swarm("migrate") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-mig");
    let p = s.prefix.clone();
    // A failed run's backups (not named by the prefix, so not cleaned).
    let leftovers = s.manager.lines(&[
        "config",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.sluice.migrate.backup={p}"),
    ]);
    for id in &leftovers {
        let _ = s.manager.try_run(&["config", "rm", id]);
    }
    let net = s.network("net");
    let cluster = Cluster {
        name: "east".into(),
        plugin: "nginx",
        proxy_image: env.nginx_image.clone(),
        networks: vec![net.clone()],
        region: "east",
        port: PORT,
        ssl_port: SSL_PORT,
    };
    let sc = cluster.service_cluster(&p);
    let proxy = cluster.proxy_service(&p);
    let core = format!("{p}-interlock");
    // Interlock's config has no Sluice keys: migrate adds the delivery.
    let interlock_toml = config::build(env, &p, std::slice::from_ref(&cluster))
        .replace("  Delivery = \"rolling\"\n", "");
    assert!(!interlock_toml.contains("Delivery"));

    let app = s.routed_whoami("app", &net, "east", "mig.test", &sc);
    // Interlock's deployment: core with its config, proxy with its own.
    create_config(&s, &format!("{p}-interlock-conf"), &interlock_toml);
    create_config(
        &s,
        &format!("{p}-proxy-conf-1"),
        &interlock_nginx_conf(&app),
    );
    s.manager.run(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--label",
        "sluice.test=1",
        "--name",
        &core,
        "--config",
        &format!("source={p}-interlock-conf,target=/config.toml"),
        "--constraint",
        "node.labels.region==east",
        &env.whoami_image,
    ]);
    s.manager.run(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--label",
        "sluice.test=1",
        "--label",
        "type=com.docker.interlock.core.proxy",
        "--name",
        &proxy,
        "--network",
        &net,
        "--config",
        &format!("source={p}-proxy-conf-1,target=/etc/nginx/nginx.conf"),
        "--publish",
        &format!("mode=host,published={PORT},target=80"),
        "--constraint",
        "node.labels.region==east",
        "--stop-signal",
        "SIGQUIT",
        "--stop-grace-period",
        "2s",
        &env.nginx_image,
    ]);
    let t = s.wait_served(Node::East, PORT, "mig.test", &app, Duration::from_secs(60));
    s.timing("Interlock-shaped proxy serves mig.test", t);
    let tasks_before = task_ids(&s, &proxy);

    let addr: SocketAddr = format!("{}:{PORT}", env.manager_addr).parse().unwrap();
    let period = Duration::from_millis(20);
    let cap = Duration::from_secs(240);
    let load = probe::Load::start(addr, "mig.test".into(), app.clone(), period, 20_000, cap);

    // 1. Dry run: says what it will do, changes nothing.
    let (ok, dry) = migrate(&env.manager_sock, &["--interlock", &core, "--instance", &p]);
    assert!(ok, "{dry}");
    assert!(dry.contains(&format!("proxy service {proxy}")), "{dry}");
    assert!(dry.contains("is taken over in place"), "{dry}");
    assert!(dry.contains("stop-first"), "{dry}");
    assert!(dry.contains("Delivery = \"rolling\""), "{dry}");
    assert!(dry.contains("nothing changed (dry run)"), "{dry}");

    // 2. Take-over: labels only, the proxy's task keeps running.
    let dir = std::env::temp_dir().join(format!("{p}-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let migrated = dir.join("sluice.toml");
    let t = Instant::now();
    let (ok, out) = migrate(
        &env.manager_sock,
        &[
            "--interlock",
            &core,
            "--instance",
            &p,
            "--take-over",
            "-o",
            migrated.to_str().unwrap(),
        ],
    );
    s.timing("sluice migrate --take-over", t.elapsed());
    assert!(ok, "{out}");
    println!("[migrate] take-over said:\n{out}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        task_ids(&s, &proxy),
        tasks_before,
        "the take-over restarted the proxy's task"
    );
    assert_eq!(replicas(&s, &core), "0", "the core is scaled to 0");
    let through_takeover = load.finish();
    println!(
        "[migrate] during the take-over: {} failed of {} requests",
        through_takeover.failed(),
        through_takeover.requests
    );
    assert_eq!(
        through_takeover.failed(),
        0,
        "the take-over lost requests: {:?}",
        through_takeover.samples
    );

    // 3. The daemon on the migrated config updates the proxy in place.
    let load = probe::Load::start(addr, "mig.test".into(), app.clone(), period, 20_000, cap);
    let text = std::fs::read_to_string(&migrated).unwrap();
    assert!(text.contains("Delivery = \"rolling\""), "{text}");
    let t = Instant::now();
    s.start_daemon(&text);
    let (_, took) = until("Sluice's config served", Duration::from_secs(90), || {
        served_by_sluice(&s)
    });
    s.timing("daemon start -> mig.test served by Sluice's config", took);
    std::thread::sleep(Duration::from_secs(2));
    let cut_over = load.finish();
    println!(
        "[migrate] cut-over (host mode, 1 replica, stop-first): {} failed of {} requests in {:.1} s; \
         Sluice serving {:.2} s after the daemon started; failures: {:?}",
        cut_over.failed(),
        cut_over.requests,
        cut_over.seconds,
        t.elapsed().as_secs_f64() - 2.0,
        cut_over.samples
    );
    assert!(cut_over.ok > 0);

    // 4. Rollback: daemon stopped, Interlock's specs back.
    s.stop_daemon();
    let load = probe::Load::start(addr, "mig.test".into(), app.clone(), period, 20_000, cap);
    let t = Instant::now();
    let (ok, out) = migrate(
        &env.manager_sock,
        &["--rollback", "--instance", &p, "--interlock", &core],
    );
    assert!(ok, "{out}");
    println!("[migrate] rollback said:\n{out}");
    assert!(!out.contains("had no saved spec"), "{out}");
    let (_, took) = until(
        "Interlock's config served again",
        Duration::from_secs(90),
        || match served_by_sluice(&s) {
            Ok(()) => Err("still Sluice's config".to_string()),
            Err(_) => {
                let r = s.get(Node::East, PORT, "mig.test")?;
                match (r.status, r.whoami_name()) {
                    (200, Some(name)) if name == app => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    );
    s.timing("rollback -> Interlock's config served", took);
    let back = load.finish();
    println!(
        "[migrate] rollback: {} failed of {} requests in {:.1} s ({:.2} s until Interlock's config served)",
        back.failed(),
        back.requests,
        back.seconds,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(replicas(&s, &core), "1", "the core's replicas are back");
    let backups = s.manager.lines(&[
        "config",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.sluice.migrate.backup={p}"),
    ]);
    assert!(backups.is_empty(), "backups left: {backups:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
