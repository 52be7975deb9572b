//! The daemon as operators deploy it: `examples/deploy/stack.yml` as shipped
//! (one replica on a manager, the Docker socket, the config as a Docker
//! config, the key in a volume), with an image of this checkout's `sluice`
//! and hitless delivery to agent images, on the real two-node Swarm:
//! - the seed scenario passes through it;
//! - a forced restart of its task under steady load loses no request and
//!   updates no proxy service;
//! - a service created while it is down routes once it is back (the time
//!   is printed).

#[path = "../benches/delivery/probe.rs"]
#[allow(dead_code)]
mod probe;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluice_tests::ports::free_port;
use sluice_tests::sluice_bin::sluice_bin;
use sluice_tests::swarm::config::{self, Seed};
use sluice_tests::swarm::env::repo_root;
use sluice_tests::swarm::images;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

const PORT: u16 = 18098;
const SSL_PORT: u16 = 18498;
const START: Duration = Duration::from_secs(180);

/// Removes the stack and its state volume, now and when dropped.
struct Stack<'a> {
    s: &'a Scenario,
    name: String,
}

impl Stack<'_> {
    fn remove(&self) {
        let _ = self.s.manager.try_run(&["stack", "rm", &self.name]);
        // Polled without panicking: this also runs from Drop.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline
            && !self.s.manager.containers_of(&[self.service()]).is_empty()
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        let _ = self
            .s
            .manager
            .try_run(&["volume", "rm", &format!("{}_sluice-state", self.name)]);
    }

    fn service(&self) -> String {
        format!("{}_sluice", self.name)
    }

    /// The daemon's running task, if one runs.
    fn running_task(&self) -> Option<String> {
        self.s
            .manager
            .lines(&[
                "service",
                "ps",
                "--filter",
                "desired-state=running",
                "--format",
                "{{.ID}} {{.CurrentState}}",
                &self.service(),
            ])
            .into_iter()
            .find(|l| l.contains(" Running"))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
    }

    /// The daemon's containers that run now (its old task's included while
    /// it shuts down, whatever Swarm's desired state).
    fn running_containers(&self) -> Vec<String> {
        self.s.manager.lines(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.swarm.service.name={}", self.service()),
        ])
    }

    fn logs(&self) -> String {
        self.s
            .manager
            .try_run(&["service", "logs", "--tail", "40", &self.service()])
            .unwrap_or_else(|e| e)
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}

fn replace(text: &mut String, from: &str, to: &str) {
    assert!(text.contains(from), "stack.yml no longer contains {from:?}");
    *text = text.replace(from, to);
}

fn version(s: &Scenario, service: &str) -> String {
    s.manager
        .run(&[
            "service",
            "inspect",
            "--format",
            "{{.Version.Index}}",
            service,
        ])
        .trim()
        .to_owned()
}

#[test]
fn stack_deployed_daemon_serves_the_seed_and_restarts_without_loss() {
    let _serial = serial();
    let Some(env) = swarm("stack") else {
        return;
    };
    let s = Scenario::new(env, "e2e-stack");
    let p = s.prefix.clone();
    let stack = Stack {
        s: &s,
        name: p.clone(),
    };
    stack.remove();

    let (daemon_image, agent_image) = s.step("images", || {
        (
            images::daemon(sluice_bin().to_str().unwrap()),
            images::nginx_agent(env!("CARGO_BIN_EXE_test-agent")),
        )
    });
    let api_port = free_port();
    let listen = format!(":{api_port}");
    let config_text = config::seed_with(
        env,
        &p,
        PORT,
        SSL_PORT,
        Seed::hitless(&agent_image, &listen),
    );
    // The shipped stack file, with this checkout's image and this test's names.
    let mut yml = std::fs::read_to_string(repo_root().join("examples/deploy/stack.yml")).unwrap();
    replace(
        &mut yml,
        "image: sluice/sluice:0.1.0",
        &format!("image: {daemon_image}"),
    );
    replace(
        &mut yml,
        "SLUICE_INSTANCE: sluice",
        &format!("SLUICE_INSTANCE: {p}"),
    );
    replace(
        &mut yml,
        "target: 8080\n        published: 8080",
        &format!("target: {api_port}\n        published: {api_port}"),
    );
    let dir = std::env::temp_dir().join(format!("{p}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stack.yml"), &yml).unwrap();
    std::fs::write(dir.join("config.toml"), &config_text).unwrap();

    let (demoeast, demowest) = s.seed_services();
    s.step("docker stack deploy", || {
        s.manager.run(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            dir.join("stack.yml").to_str().unwrap(),
            &stack.name,
        ])
    });
    let served = |node, host: &str, service: &str| {
        until(&format!("{host} via {node:?}"), START, || {
            let r = s.get(node, PORT, host)?;
            match (r.status, r.whoami_name()) {
                (200, Some(name)) if name == service => Ok(()),
                other => Err(format!("{other:?}\n{}", stack.logs())),
            }
        })
        .1
    };
    let t = served(Node::East, "demo.A", &demoeast);
    s.timing("stack deploy -> demo.A 200 via east", t);
    let t = served(Node::West, "demo.B", &demowest);
    s.timing("  then demo.B 200 via west", t);
    // The seed's checks: each host on its region only.
    for (node, host) in [(Node::West, "demo.A"), (Node::East, "demo.B")] {
        let r = s.get(node, PORT, host).expect("the proxy answers");
        assert_eq!(r.status, 503, "{host} via {node:?}: {r:?}");
    }
    let proxies = [format!("{p}-proxy-east"), format!("{p}-proxy-west")];
    let versions: Vec<String> = proxies.iter().map(|x| version(&s, x)).collect();
    let before = stack.running_task().expect("the daemon's task runs");

    // A forced restart of the daemon's task under steady load.
    let addr = |node: &str| -> SocketAddr { format!("{node}:{PORT}").parse().unwrap() };
    let period = Duration::from_millis(20);
    let cap = Duration::from_secs(240);
    let load_east = probe::Load::start(
        addr(&env.manager_addr),
        "demo.A".into(),
        demoeast.clone(),
        period,
        20_000,
        cap,
    );
    let load_west = probe::Load::start(
        addr(&env.worker_addr),
        "demo.B".into(),
        demowest.clone(),
        period,
        20_000,
        cap,
    );
    std::thread::sleep(Duration::from_secs(1));
    s.manager
        .run(&["service", "update", "--detach", "--force", &stack.service()]);
    // Down: no daemon container runs (stop-first), the new one not yet.
    let (_, t) = until(
        "the daemon's container to stop",
        Duration::from_secs(60),
        || {
            let running = stack.running_containers();
            if running.is_empty() {
                Ok(())
            } else {
                Err(format!("{running:?}"))
            }
        },
    );
    s.timing("forced update -> no daemon container runs", t);
    // A service created while the daemon is down.
    let late = s.seed_service("late", "east", "late.test");
    assert!(
        stack.running_containers().is_empty(),
        "the daemon came back before the service was created"
    );
    let (_, t) = until(
        "the new daemon task to run",
        Duration::from_secs(90),
        || match stack.running_task() {
            Some(id) if id != before && !stack.running_containers().is_empty() => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    s.timing("  then the new daemon task running", t);
    let back = Instant::now();
    let took = served(Node::East, "late.test", &late);
    println!(
        "[stack] service created while the daemon was down: routed {:.2} s after the daemon's task was running again",
        took.as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(1));
    let (east, west) = (load_east.finish(), load_west.finish());
    println!(
        "[stack] forced restart under load: east {} failed of {}, west {} failed of {} ({:.1} s after the new task ran); failures {:?} {:?}",
        east.failed(),
        east.requests,
        west.failed(),
        west.requests,
        back.elapsed().as_secs_f64(),
        east.samples,
        west.samples
    );
    assert_eq!(east.failed() + west.failed(), 0, "requests lost");
    let after: Vec<String> = proxies.iter().map(|x| version(&s, x)).collect();
    assert_eq!(
        after, versions,
        "a proxy service was updated by the restart"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
