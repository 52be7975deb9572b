//! One delivery mode's scene on the Swarm: overlay networks, the backend
//! services, three proxies (service clusters) and the daemon. Everything is
//! named `bench-MODE-*` (or labelled with that Sluice instance) and goes
//! when the scene is dropped, on failure too.

use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

use sluice_tests::ports::free_port;
use sluice_tests::swarm::cli::Docker;
use sluice_tests::swarm::{Scenario, SwarmEnv};

use sluice_tests::swarm::keyed::KeyedDaemon;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The agent images: a route change is a reload in the running proxy.
    Hitless,
    /// Interlock's way: a new config object and a proxy service update.
    Rolling,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hitless => "hitless",
            Mode::Rolling => "rolling",
        }
    }
}

/// The three proxies (clusters): `main` takes the convergence samples, the
/// steady load and the burst; `idle` is the cluster the burst must not
/// touch; `wide` is attached to every benchmark network.
pub struct Proxy {
    pub cluster: &'static str,
    pub port: u16,
    pub networks: Vec<String>,
}

/// Field order is drop order: the daemon stops before the scenario removes
/// the services, and the agent token secrets go once nothing uses them.
pub struct Scene {
    pub daemon: KeyedDaemon,
    pub s: Scenario,
    _secrets: Secrets,
    pub mode: Mode,
    pub proxies: Vec<Proxy>,
    /// `n01`..: the overlay networks; every backend is on `n01`.
    pub networks: Vec<String>,
}

impl Scene {
    pub fn proxy(&self, cluster: &str) -> &Proxy {
        self.proxies
            .iter()
            .find(|p| p.cluster == cluster)
            .expect("a benchmark cluster")
    }

    /// Where `cluster`'s proxy answers (host-mode port on the manager).
    pub fn addr(&self, cluster: &str) -> SocketAddr {
        format!("{}:{}", self.s.env.manager_addr, self.proxy(cluster).port)
            .parse()
            .expect("an IPv4 address")
    }

    /// The Swarm-side name of a benchmark cluster (its `ServiceCluster`).
    pub fn service_cluster(&self, cluster: &str) -> String {
        format!("{}-{cluster}", self.s.prefix)
    }

    pub fn proxy_service(&self, cluster: &str) -> String {
        format!("{}-proxy-{cluster}", self.s.prefix)
    }

    /// A whoami service `PREFIX-short` in `cluster` answering `host`, on `network`.
    pub fn backend(&self, short: &str, network: &str, cluster: &str, host: &str) -> String {
        let sc = self.service_cluster(cluster);
        self.s.whoami(
            short,
            network,
            "east",
            1,
            &[("hosts", host), ("port", "8000"), ("service_cluster", &sc)],
        )
    }
}

/// Builds the scene: `networks` overlay networks, one backend per network in
/// `wide`, `stable`/`churn` in `main`, `idle` in `idle`; then the daemon, and
/// waits until every proxy serves.
pub fn build(env: &'static SwarmEnv, mode: Mode, image: &str, networks: usize) -> Scene {
    let prefix = format!("bench-{}", mode.name());
    let s = Scenario::new(env, &prefix);
    let secrets = Secrets {
        docker: s.manager.clone(),
        instance: prefix.clone(),
    };
    secrets.clean();
    let nets: Vec<String> = s.step("networks", || {
        (1..=networks)
            .map(|i| s.network(&format!("n{i:02}")))
            .collect()
    });
    let proxies = vec![
        Proxy {
            cluster: "main",
            port: free_port(),
            networks: vec![nets[0].clone()],
        },
        Proxy {
            cluster: "idle",
            port: free_port(),
            networks: vec![nets[0].clone()],
        },
        Proxy {
            cluster: "wide",
            port: free_port(),
            networks: nets.clone(),
        },
    ];
    let api_port = free_port();
    let config = config(env, &prefix, mode, image, api_port, &proxies);
    let daemon = KeyedDaemon::start(&config, &prefix, api_port);
    let scene = Scene {
        daemon,
        s,
        _secrets: secrets,
        mode,
        proxies,
        networks: nets,
    };
    let n01 = scene.networks[0].clone();
    let (stable, idle) = scene.s.step("backends", || {
        for (i, net) in scene.networks.iter().enumerate() {
            let short = format!("w{:02}", i + 1);
            scene.backend(&short, net, "wide", &format!("{short}.bench"));
        }
        scene.backend("churn", &n01, "main", "churn-0.bench");
        (
            scene.backend("stable", &n01, "main", "stable.bench"),
            scene.backend("idle", &n01, "idle", "idle.bench"),
        )
    });
    let last_wide = format!("{prefix}-w{:02}", scene.networks.len());
    for (cluster, host, service) in [
        ("main", "stable.bench", stable.as_str()),
        ("idle", "idle.bench", idle.as_str()),
        (
            "wide",
            &format!("w{:02}.bench", scene.networks.len()),
            &last_wide,
        ),
    ] {
        let t = std::time::Instant::now();
        crate::probe::first_served(
            scene.addr(cluster),
            host,
            service,
            Duration::from_millis(100),
            Duration::from_secs(240),
        )
        .unwrap_or_else(|| panic!("{host} never served by the {cluster} proxy"));
        scene
            .s
            .timing(&format!("{cluster} proxy serves {host}"), t.elapsed());
    }
    scene
}

fn config(
    env: &SwarmEnv,
    prefix: &str,
    mode: Mode,
    image: &str,
    api_port: u16,
    proxies: &[Proxy],
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "DockerURL = \"unix://{}\"", env.manager_sock);
    // Fast: the benchmark measures delivery, not the periodic resync.
    let _ = writeln!(t, "PollInterval = \"500ms\"");
    // All addresses: hitless agents reach the API at the manager's address.
    let _ = writeln!(t, "ListenAddr = \":{api_port}\"");
    for p in proxies {
        let networks: Vec<String> = p.networks.iter().map(|n| format!("{n:?}")).collect();
        let _ = write!(
            t,
            r#"
[Extensions.{name}]
  Plugin = "nginx"
  ProxyImage = "{image}"
  ProxyServiceName = "{prefix}-proxy-{name}"
  ServiceCluster = "{prefix}-{name}"
  Delivery = "{delivery}"
  Networks = [{networks}]
  ProxyReplicas = 1
  ProxyStopSignal = "SIGQUIT"
  ProxyStopGracePeriod = "2s"
  ProxyConstraints = ["node.labels.region==east"]
  PublishMode = "host"
  PublishedPort = {port}
  TargetPort = 80
  PublishedSSLPort = {ssl_port}
  TargetSSLPort = 443
  [Extensions.{name}.ProxyLabels]
    "sluice.test" = "1"
"#,
            name = p.cluster,
            delivery = mode.name(),
            networks = networks.join(", "),
            port = p.port,
            ssl_port = free_port(),
        );
    }
    t
}

/// The agent token secrets the daemon made for instance `instance`
/// (Scenario's clean-up knows services, configs and networks only).
struct Secrets {
    docker: Docker,
    instance: String,
}

impl Secrets {
    fn clean(&self) {
        let filter = format!("label=com.docker.sluice.instance={}", self.instance);
        for name in
            self.docker
                .lines(&["secret", "ls", "--filter", &filter, "--format", "{{.Name}}"])
        {
            if let Err(e) = self.docker.try_run(&["secret", "rm", &name]) {
                eprintln!("{}: {e}", self.instance);
            }
        }
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        self.clean();
    }
}
