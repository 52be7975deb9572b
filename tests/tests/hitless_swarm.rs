//! Hitless delivery on the real Swarm (`tests/swarm/up.sh`): the daemon
//! (in-process) runs a proxy service of `sluice/nginx-agent` (built here
//! around this crate's `test-agent` binary (the agent crate)), and a route change made with
//! `docker service update --label-add` reaches the proxy without its
//! container changing and without a proxy service update.
//!
//! Without a Swarm this test prints SKIPPED and passes, unless
//! `SLUICE_REQUIRE_SWARM=1`. It creates only objects named `sluice-hitless-*`
//! (labelled `sluice.test=1`) and removes them. Run with `--nocapture` for
//! the timings.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluice::agent::client::DaemonClient;
use sluice::serve::Keyring;
use sluice_tests::ports::free_port;

const PREFIX: &str = "sluice-hitless";

struct Env {
    manager_addr: String,
    sock: String,
    whoami_image: String,
    cli: sluice_tests::swarm::cli::Docker,
}

/// The harness's Swarm (`tests/swarm/up.sh`, started on first use), or None
/// after a SKIPPED line when there can be none here.
fn swarm_env() -> Option<Env> {
    let env = sluice_tests::swarm::swarm("hitless_swarm")?;
    Some(Env {
        manager_addr: env.manager_addr.clone(),
        cli: sluice_tests::swarm::cli::Docker::new(&env.manager_sock),
        sock: env.manager_sock.clone(),
        whoami_image: env.whoami_image.clone(),
    })
}

impl Env {
    fn try_docker(&self, args: &[&str]) -> Result<String, String> {
        self.cli.try_run(args).map(|out| out.trim().to_owned())
    }

    fn docker(&self, args: &[&str]) -> String {
        self.try_docker(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Removes everything named `PREFIX-*`, and the agent token secret
    /// (services first: they hold the network and the secrets).
    fn clean(&self) {
        for kind in ["service", "secret", "config"] {
            let names = self
                .try_docker(&[kind, "ls", "--format", "{{.Name}}"])
                .unwrap_or_default();
            // The daemon names the agent token secret after the extension.
            let ours = |n: &&str| n.starts_with(PREFIX) || n.starts_with("sluice-agent-hitless-");
            for name in names.lines().filter(ours) {
                let _ = self.try_docker(&[kind, "rm", name]);
            }
        }
        // Swarm frees the network only once the tasks are gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let nets = self
                .try_docker(&["network", "ls", "--format", "{{.Name}}"])
                .unwrap_or_default();
            let left: Vec<&str> = nets.lines().filter(|n| n.starts_with(PREFIX)).collect();
            if left.is_empty()
                || left
                    .iter()
                    .all(|n| self.try_docker(&["network", "rm", n]).is_ok())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The service's spec version (it rises with every update).
    fn version(&self, service: &str) -> String {
        self.docker(&[
            "service",
            "inspect",
            "--format",
            "{{.Version.Index}}",
            service,
        ])
    }

    /// Route `host` to `service` (a label change, as a user makes it).
    fn add_host(&self, service: &str, host: &str) {
        self.cli
            .label_add(service, &format!("com.docker.lb.hosts={host}"));
    }

    /// ID of the running container of service `name`, if one runs.
    fn container(&self, service: &str) -> Option<String> {
        let filter = format!("label=com.docker.swarm.service.name={service}");
        let ids = self
            .try_docker(&["ps", "-q", "--no-trunc", "--filter", &filter])
            .ok()?;
        let mut ids = ids.lines().filter(|l| !l.is_empty());
        let first = ids.next()?.to_owned();
        ids.next().is_none().then_some(first)
    }
}

/// Everything named `PREFIX-*` goes when the test ends, failed or not.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.clean();
    }
}

/// `sluice/nginx-agent` around this crate's `test-agent` binary (the agent crate).
fn agent_image() -> String {
    sluice_tests::swarm::images::nginx_agent(env!("CARGO_BIN_EXE_test-agent"))
}

/// Polls until `host` answers 200 from service `service`; how long it took.
fn wait_served(addr: SocketAddr, host: &str, service: &str, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    let name = format!("Name: {service}");
    while started.elapsed() < timeout {
        let reply = sluice_tests::swarm::http::get(&addr.ip().to_string(), addr.port(), host, "/");
        if matches!(reply, Ok(r) if r.status == 200 && r.body.contains(&name)) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn route_change_reaches_a_hitless_proxy_without_replacing_it() {
    let Some(env) = swarm_env() else { return };
    env.clean();
    let _cleanup = Cleanup(&env);
    let image = agent_image();

    let net = format!("{PREFIX}-net");
    env.docker(&[
        "network",
        "create",
        "--driver",
        "overlay",
        "--label",
        "sluice.test=1",
        &net,
    ]);
    let whoami = |short: &str, hosts: Option<&str>| {
        let name = format!("{PREFIX}-{short}");
        let mut args = vec![
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--endpoint-mode",
            "dnsrr",
            "--label",
            "sluice.test=1",
            "--label",
            "com.docker.lb.port=8000",
            "--label",
            "com.docker.lb.service_cluster=hitless",
            "--env",
            "WHOAMI_NAME={{.Service.Name}}",
            "--constraint",
            "node.labels.region==east",
            "--network",
            &net,
            "--name",
            &name,
        ];
        let hosts = hosts.map(|h| format!("com.docker.lb.hosts={h}"));
        if let Some(h) = &hosts {
            args.extend(["--label", h]);
        }
        args.push(&env.whoami_image);
        env.docker(&args);
        name
    };
    let app_a = whoami("a", Some("a.hitless"));
    let app_b = whoami("b", None);

    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("agent.key");
    std::fs::write(&key_file, "hitless swarm test key, not secret\n").unwrap();
    let (api_port, proxy_port) = (free_port(), free_port());
    let proxy = format!("{PREFIX}-proxy");
    let config = format!(
        r#"
DockerURL = "unix://{sock}"
ListenAddr = ":{api_port}"
PollInterval = "3s"
[Extensions.hitless]
  Plugin = "nginx"
  ProxyImage = "{image}"
  # An image ID can't say it runs the agent: ask for hitless delivery.
  Delivery = "hitless"
  ProxyServiceName = "{proxy}"
  ServiceCluster = "hitless"
  Networks = ["{net}"]
  ProxyReplicas = 1
  ProxyStopSignal = "SIGQUIT"
  ProxyStopGracePeriod = "2s"
  ProxyConstraints = ["node.labels.region==east"]
  PublishMode = "host"
  PublishedPort = {proxy_port}
  TargetPort = 80
  PublishedSSLPort = {ssl_port}
  TargetSSLPort = 443
  [Extensions.hitless.ProxyLabels]
    "sluice.test" = "1"
"#,
        sock = env.sock,
        ssl_port = free_port(),
    );
    let start_daemon = || {
        sluice_tests::swarm::daemon::Daemon::start_with_key(
            &config,
            &format!("{PREFIX}-test"),
            Some(key_file.clone()),
        )
    };
    let daemon = start_daemon();

    let addr: SocketAddr = format!("{}:{proxy_port}", env.manager_addr)
        .parse()
        .unwrap();
    let started = Instant::now();
    let first = wait_served(addr, "a.hitless", &app_a, Duration::from_secs(120));
    assert!(
        first.is_some(),
        "a.hitless never served; proxy tasks:\n{}",
        env.try_docker(&["service", "ps", "--no-trunc", &proxy])
            .unwrap_or_else(|e| e)
    );
    eprintln!(
        "[hitless swarm] first route served after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let container = env.container(&proxy).expect("one proxy container");
    let version = env.version(&proxy);

    let mut latencies = Vec::new();
    let hosts = [
        "b.hitless",
        "b2.hitless",
        "b3.hitless",
        "b4.hitless",
        "b5.hitless",
    ];
    for (round, host) in hosts.iter().enumerate() {
        // Separate changes (the daemon paces bursts: see serve::pacer).
        std::thread::sleep(Duration::from_millis(500));
        let changed = Instant::now();
        env.add_host(&app_b, host);
        let took = wait_served(addr, host, &app_b, Duration::from_secs(10));
        let took = took.map(|_| changed.elapsed());
        assert!(took.is_some(), "round {round}: {host} never served");
        latencies.push(took.unwrap());
        assert!(
            wait_served(addr, "a.hitless", &app_a, Duration::from_secs(1)).is_some(),
            "a.hitless stopped answering"
        );
    }
    let list: Vec<String> = latencies
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    eprintln!(
        "[hitless swarm] label change → first 200 through the proxy, ms: {}",
        list.join(" ")
    );

    assert_eq!(
        env.container(&proxy),
        Some(container.clone()),
        "proxy container replaced"
    );
    assert_eq!(
        env.version(&proxy),
        version,
        "the proxy service was updated for a route change"
    );
    for took in &latencies {
        assert!(*took < Duration::from_secs(2), "route change took {took:?}");
    }

    // The agent reports what it runs.
    let keys = Keyring::load(&key_file).unwrap();
    let client = DaemonClient::new(
        &format!("https://127.0.0.1:{api_port}"),
        &keys.admin_token(),
        keys.admin_tls().unwrap(),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(client.status()).expect("status");
    let cluster = &status.clusters["hitless"];
    let replica = cluster
        .replicas
        .values()
        .next()
        .expect("a replica reported");
    assert_eq!(replica.running, cluster.revision, "{status:?}");
    assert_eq!(replica.failed, None);
    // `sluice status` (the real CLI, admin view) shows the plan too: the
    // routes per host, as the status page does.
    let out = std::process::Command::new(sluice_tests::sluice_bin::sluice_bin())
        .args([
            "status",
            "--endpoint",
            &format!("https://127.0.0.1:{api_port}"),
        ])
        .arg("--agent-key-file")
        .arg(&key_file)
        .output()
        .expect("run sluice status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("plan (made "), "{text}");
    // Each change moved app b to the next host: the last one is routed.
    for host in ["a.hitless", hosts[hosts.len() - 1]] {
        assert!(
            text.contains(&format!("    {host} -> ")),
            "{host} missing:\n{text}"
        );
    }
    println!("[hitless swarm] sluice status:\n{text}");

    // `sluice rotate-key`, then the daemon restarted on the rotated file:
    // the agent keeps its channel with the secret it mounts, and neither the
    // proxy service nor its container changes.
    daemon.stop().expect("daemon ended cleanly");
    let file = sluice::trust::keyfile::KeyFile::parse(&std::fs::read(&key_file).unwrap()).unwrap();
    assert!(file.next.is_some(), "the daemon added a next key");
    let rotated = file
        .rotated(sluice::trust::keyfile::fresh_key().unwrap())
        .unwrap();
    sluice::trust::keyfile::write(&key_file, &rotated).unwrap();
    let daemon = start_daemon();
    let changed = Instant::now();
    env.add_host(&app_b, "rotated.hitless");
    let took = wait_served(addr, "rotated.hitless", &app_b, Duration::from_secs(15));
    assert!(
        took.is_some(),
        "no route change after the key rotation; proxy tasks:\n{}",
        env.try_docker(&["service", "ps", "--no-trunc", &proxy])
            .unwrap_or_else(|e| e)
    );
    eprintln!(
        "[hitless swarm] after the key rotation and a daemon restart: label change → first 200 in {:.0} ms",
        changed.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(
        env.container(&proxy),
        Some(container),
        "proxy container replaced by the key rotation"
    );
    assert_eq!(
        env.version(&proxy),
        version,
        "the proxy service was updated for the key rotation"
    );
    daemon.stop().expect("daemon ended cleanly");
}
