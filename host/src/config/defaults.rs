//! Interlock's defaults (reference §3.1/§3.2), where Sluice can honour them.
//!
//! Deliberate departures, because UCP wrote its defaults into the generated
//! `config.toml` rather than into the binary, and they name UCP-only things:
//! - `ProxyImage` defaults to Sluice's own proxy images (`sluice/nginx:<v>`,
//!   `sluice/haproxy:<v>`, built from `examples/deploy/`): stock nginx or
//!   HAProxy plus the Sluice agent, so the default delivery is hitless. Any
//!   other image (Interlock's `docker/ucp-interlock-proxy`, `nginx:alpine`)
//!   gets Interlock's rolling delivery unless `Delivery` says otherwise.
//! - `ProxyServiceName` defaults to `sluice-proxy-<name>`: Interlock's
//!   `ucp-interlock-proxy` would collide as soon as there are two extensions,
//!   and `ucp-*` services belong to UCP.
//! - `ProxyConstraints` default to none: UCP's
//!   `node.labels.com.docker.ucp.orchestrator.swarm==true` would make proxies
//!   unschedulable outside UCP.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{Config, Delivery, Extension, PluginRef, PublishMode};

pub const LISTEN_ADDR: &str = ":8080";
pub const DOCKER_URL: &str = "unix:///var/run/docker.sock";
pub const POLL_INTERVAL: Duration = Duration::from_secs(3);

pub const PROXY_IMAGE: &str = concat!("sluice/nginx:", env!("CARGO_PKG_VERSION"));
pub const HAPROXY_PROXY_IMAGE: &str = concat!("sluice/haproxy:", env!("CARGO_PKG_VERSION"));
pub const PROXY_REPLICAS: u64 = 2;
pub const PROXY_STOP_SIGNAL: &str = "SIGQUIT";
pub const PROXY_STOP_GRACE_PERIOD: Duration = Duration::from_secs(5);
pub const PUBLISHED_PORT: u16 = 80;
pub const TARGET_PORT: u16 = 80;
pub const PUBLISHED_SSL_PORT: u16 = 8443;
pub const TARGET_SSL_PORT: u16 = 443;
pub const PLUGIN: &str = "nginx";

/// The proxy service name of an Extension that does not set `ProxyServiceName`.
pub fn proxy_service_name(extension: &str) -> String {
    format!("sluice-proxy-{extension}")
}

impl Config {
    /// Core defaults and no extensions (a loadable file needs at least one).
    pub fn new() -> Config {
        Config {
            listen_addr: LISTEN_ADDR.to_owned(),
            docker_url: DOCKER_URL.to_owned(),
            tls_ca_cert: None,
            tls_cert: None,
            tls_key: None,
            allow_insecure: false,
            poll_interval: POLL_INTERVAL,
            endpoint_override: None,
            metrics_addr: None,
            status_page: false,
            acme: None,
            extensions: BTreeMap::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Extension {
    /// An `[Extensions.<name>]` block with every key left out.
    pub fn new(name: &str) -> Extension {
        Extension {
            name: name.to_owned(),
            image: None,
            args: Vec::new(),
            service_name: None,
            labels: BTreeMap::new(),
            container_labels: BTreeMap::new(),
            constraints: Vec::new(),
            placement_preferences: Vec::new(),
            template: None,
            hitless_service_update: false,
            config_image: None,
            config_service_name: None,
            networks: None,
            proxy_image: PROXY_IMAGE.to_owned(),
            proxy_args: Vec::new(),
            proxy_service_name: proxy_service_name(name),
            proxy_config_path: None,
            proxy_command: None,
            allowed_hosts: None,
            proxy_validate_command: None,
            proxy_reload: None,
            proxy_replicas: PROXY_REPLICAS,
            proxy_stop_signal: PROXY_STOP_SIGNAL.to_owned(),
            proxy_stop_grace_period: PROXY_STOP_GRACE_PERIOD,
            proxy_constraints: Vec::new(),
            proxy_placement_preferences: Vec::new(),
            proxy_labels: BTreeMap::new(),
            proxy_container_labels: BTreeMap::new(),
            proxy_update_delay: None,
            service_cluster: String::new(),
            publish_mode: PublishMode::Ingress,
            published_port: PUBLISHED_PORT,
            target_port: TARGET_PORT,
            published_ssl_port: PUBLISHED_SSL_PORT,
            target_ssl_port: TARGET_SSL_PORT,
            config: Vec::new(),
            plugin: PluginRef::Builtin(PLUGIN.to_owned()),
            plugin_sha256: None,
            delivery: Delivery::Hitless,
            agent_metrics_port: None,
        }
    }
}
