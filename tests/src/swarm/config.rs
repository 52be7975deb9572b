//! Sluice configs for the scenarios: the seed config as the demo runs it, or
//! one built from a few [`Cluster`]s. Every proxy gets `sluice.test=1` (for
//! tests/swarm/down.sh), host-mode ports of its own, its region's node, and
//! Interlock's rolling delivery (the harness's proxy images have no agent).

use std::fmt::Write;

use super::env::{SwarmEnv, repo_root};

/// examples/seed/config.local.toml.in (the seed config adapted to the test
/// Swarm), with this scenario's names and ports: proxies `PREFIX-proxy-east`
/// and `-west` on networks `PREFIX-eastnet`/`-westnet`, for service clusters
/// `PREFIX-east`/`-west`, on `port`/`ssl_port` of their node.
pub fn seed(env: &SwarmEnv, prefix: &str, port: u16, ssl_port: u16) -> String {
    seed_with(env, prefix, port, ssl_port, Seed::default())
}

/// How [`seed_with`] departs from the rolling seed.
#[derive(Default)]
pub struct Seed<'a> {
    /// A proxy image (with the agent, for hitless) instead of stock nginx.
    pub proxy_image: Option<&'a str>,
    /// "hitless" instead of "rolling".
    pub delivery: Option<&'a str>,
    /// The API's ListenAddr instead of a loopback port 0.
    pub listen: Option<&'a str>,
}

impl<'a> Seed<'a> {
    /// Hitless delivery with `agent_image`, the API on `listen`.
    pub fn hitless(agent_image: &'a str, listen: &'a str) -> Seed<'a> {
        Seed {
            proxy_image: Some(agent_image),
            delivery: Some("hitless"),
            listen: Some(listen),
        }
    }
}

/// [`seed`] with the image, delivery and API address of `how`.
pub fn seed_with(env: &SwarmEnv, prefix: &str, port: u16, ssl_port: u16, how: Seed) -> String {
    let path = repo_root().join("examples/seed/config.local.toml.in");
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut replace = |from: &str, to: &str| {
        assert!(
            text.contains(from),
            "{} no longer contains {from:?}",
            path.display()
        );
        text = text.replace(from, to);
    };
    replace("@PROXY_IMAGE@", how.proxy_image.unwrap_or(&env.nginx_image));
    replace("@DELIVERY@", how.delivery.unwrap_or("rolling"));
    // Port 0: the daemon's API (for hitless agents, unused with rolling
    // delivery) must not clash with another daemon's on this machine.
    replace(
        "ListenAddr = \":8080\"",
        &format!("ListenAddr = \"{}\"", how.listen.unwrap_or("127.0.0.1:0")),
    );
    replace(
        "DockerURL = \"unix:///var/run/docker.sock\"",
        &format!("DockerURL = \"unix://{}\"", env.manager_sock),
    );
    replace("PublishedPort = 80", &format!("PublishedPort = {port}"));
    replace(
        "PublishedSSLPort = 8443",
        &format!("PublishedSSLPort = {ssl_port}"),
    );
    for region in ["east", "west"] {
        replace(
            &format!("\"ucp-interlock-proxy-{region}\""),
            &format!("\"{prefix}-proxy-{region}\""),
        );
        replace(
            &format!("Networks=[\"{region}net\"]"),
            &format!("Networks=[\"{prefix}-{region}net\"]"),
        );
        replace(
            &format!("ServiceCluster=\"{region}\""),
            &format!("ServiceCluster=\"{prefix}-{region}\""),
        );
        replace(
            &format!("[Extensions.{region}.ProxyLabels]\n"),
            &format!("[Extensions.{region}.ProxyLabels]\n      \"sluice.test\" = \"1\"\n"),
        );
    }
    text
}

/// One `[Extensions.NAME]` of a built config.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Extension name; also its ServiceCluster (prefixed) and proxy name.
    pub name: String,
    pub plugin: &'static str,
    pub proxy_image: String,
    pub networks: Vec<String>,
    /// `region` node label the proxy is pinned to.
    pub region: &'static str,
    pub port: u16,
    pub ssl_port: u16,
}

impl Cluster {
    pub fn proxy_service(&self, prefix: &str) -> String {
        format!("{prefix}-proxy-{}", self.name)
    }

    /// An nginx cluster `name` on `net`, its proxy on the east node (the
    /// manager) with the harness's nginx image.
    pub fn nginx_east(env: &SwarmEnv, name: &str, net: &str, port: u16, ssl_port: u16) -> Cluster {
        Cluster::east(name, "nginx", &env.nginx_image, net, (port, ssl_port))
    }

    /// A `plugin` cluster `name` on `net`, its proxy (`image`) on the east
    /// node, publishing `ports` (HTTP, HTTPS).
    pub fn east(
        name: &str,
        plugin: &'static str,
        image: &str,
        net: &str,
        ports: (u16, u16),
    ) -> Cluster {
        Cluster {
            name: name.into(),
            plugin,
            proxy_image: image.to_owned(),
            networks: vec![net.to_owned()],
            region: "east",
            port: ports.0,
            ssl_port: ports.1,
        }
    }

    pub fn service_cluster(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.name)
    }
}

/// How a built config's clusters get their routes.
#[derive(Clone, Copy, Debug)]
pub enum Delivery {
    /// Interlock's way: config objects and proxy service updates.
    Rolling,
    /// Sluice's agent in the proxy (an agent image): the API listens on
    /// `api_port` of every address, so proxy tasks reach it.
    Hitless { api_port: u16 },
}

/// A config with these clusters, rolling delivery, polling every 3 s (as
/// the seed).
pub fn build(env: &SwarmEnv, prefix: &str, clusters: &[Cluster]) -> String {
    build_with(env, prefix, clusters, Delivery::Rolling)
}

/// [`build`] with the delivery of every cluster chosen.
pub fn build_with(
    env: &SwarmEnv,
    prefix: &str,
    clusters: &[Cluster],
    delivery: Delivery,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "DockerURL = \"unix://{}\"", env.manager_sock);
    let _ = writeln!(t, "PollInterval = \"3s\"");
    let (listen, delivery) = match delivery {
        Delivery::Rolling => ("127.0.0.1:0".to_owned(), "rolling"),
        Delivery::Hitless { api_port } => (format!(":{api_port}"), "hitless"),
    };
    let _ = writeln!(t, "ListenAddr = \"{listen}\"");
    for c in clusters {
        let networks: Vec<String> = c.networks.iter().map(|n| format!("{n:?}")).collect();
        let _ = write!(
            t,
            r#"
[Extensions.{name}]
  Plugin = "{plugin}"
  ProxyImage = "{image}"
  ProxyServiceName = "{service}"
  ServiceCluster = "{cluster}"
  Delivery = "{delivery}"
  Networks = [{networks}]
  ProxyReplicas = 1
  ProxyStopSignal = "{signal}"
  ProxyStopGracePeriod = "2s"
  ProxyConstraints = ["node.labels.region=={region}"]
  PublishMode = "host"
  PublishedPort = {port}
  TargetPort = 80
  PublishedSSLPort = {ssl_port}
  TargetSSLPort = 443
  [Extensions.{name}.ProxyLabels]
    "sluice.test" = "1"
"#,
            name = c.name,
            plugin = c.plugin,
            image = c.proxy_image,
            service = c.proxy_service(prefix),
            cluster = c.service_cluster(prefix),
            networks = networks.join(", "),
            region = c.region,
            port = c.port,
            ssl_port = c.ssl_port,
            // Each proxy's graceful stop: nginx quits on SIGQUIT, HAProxy's
            // master on SIGUSR1.
            signal = if c.plugin == "haproxy" {
                "SIGUSR1"
            } else {
                "SIGQUIT"
            },
        );
    }
    t
}
