//! The typed form of Interlock's `config.toml` (reference §3), plus Sluice's own
//! keys (`Plugin`, `PluginSha256`, `Delivery`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::HostPatterns;
use crate::wit::latest::Setting;

/// The whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `ListenAddr`: where the daemon's API listens (default `:8080`).
    pub listen_addr: String,
    /// `DockerURL` (default `unix:///var/run/docker.sock`).
    pub docker_url: String,
    pub tls_ca_cert: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub allow_insecure: bool,
    /// `PollInterval` (default 3s).
    pub poll_interval: Duration,
    /// `EndpointOverride`: address agents use to reach the daemon.
    pub endpoint_override: Option<String>,
    /// `MetricsAddr` (Sluice's own): where `GET /metrics` is served, plain
    /// HTTP without credentials; none (the default) serves no metrics.
    pub metrics_addr: Option<String>,
    /// `StatusPage` (Sluice's own): also serve the status page on
    /// `MetricsAddr` (`/status`).
    pub status_page: bool,
    /// `[ACME]` (Sluice's own): certificates for `sluice.tls = "acme"`
    /// hosts; none turns the label into an error.
    pub acme: Option<super::acme::AcmeConfig>,
    /// `[Extensions.NAME]`, by name.
    pub extensions: BTreeMap<String, Extension>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PublishMode {
    #[default]
    Ingress,
    Host,
}

/// Which renderer an Extension uses (the runtime's type).
pub use sluice_render::PluginRef;

/// How rendered configs reach the proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Sluice's agent in the proxy task reloads in place (default).
    #[default]
    Hitless,
    /// Interlock's way: a new Docker config object and a service update.
    Rolling,
}

/// `ProxyReload`: a signal name (a string) or a command (a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyReload {
    Signal(String),
    Command(Vec<String>),
}

/// One `[Extensions.NAME]` block: one service cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    pub name: String,
    // Interlock's extension-service keys. Rendering runs in-process, so these are
    // accepted and kept for reference only.
    pub image: Option<String>,
    pub args: Vec<String>,
    pub service_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub container_labels: BTreeMap<String, String>,
    pub constraints: Vec<String>,
    pub placement_preferences: Vec<String>,
    pub template: Option<String>,
    pub hitless_service_update: bool,
    pub config_image: Option<String>,
    pub config_service_name: Option<String>,

    /// `Networks`: when set, the proxy joins exactly these (by name). An empty
    /// list reads as unset, as in Interlock.
    pub networks: Option<Vec<String>>,
    /// `ProxyImage`; unset → `sluice/haproxy:<v>` for the haproxy plugin, else
    /// `sluice/nginx:<v>` (see `defaults`).
    pub proxy_image: String,
    pub proxy_args: Vec<String>,
    /// `ProxyServiceName`; unset → `sluice-proxy-<name>` (unique per extension).
    pub proxy_service_name: String,
    /// `ProxyConfigPath`; None → the proxy kind's built-in path (else the
    /// plugin's default).
    pub proxy_config_path: Option<String>,
    /// `AllowedHosts` (Sluice): when set, a service of this cluster that
    /// claims a host outside these globs is not routed.
    pub allowed_hosts: Option<HostPatterns>,
    /// `ProxyCommand` (Sluice): the proxy's full argv (`{config}`: the main
    /// config) for hitless delivery of a proxy kind the host does not know.
    pub proxy_command: Option<Vec<String>>,
    /// `ProxyValidateCommand` (Sluice): argv with `{config}` that checks a
    /// config in the proxy container; None → the proxy kind's built-in one.
    pub proxy_validate_command: Option<Vec<String>>,
    /// `ProxyReload` (Sluice): how a running proxy loads a new config; None
    /// → the proxy kind's built-in way.
    pub proxy_reload: Option<ProxyReload>,
    pub proxy_replicas: u64,
    pub proxy_stop_signal: String,
    pub proxy_stop_grace_period: Duration,
    pub proxy_constraints: Vec<String>,
    pub proxy_placement_preferences: Vec<String>,
    pub proxy_labels: BTreeMap<String, String>,
    pub proxy_container_labels: BTreeMap<String, String>,
    pub proxy_update_delay: Option<Duration>,
    /// `ServiceCluster`: matched against `com.docker.lb.service_cluster`.
    pub service_cluster: String,
    pub publish_mode: PublishMode,
    pub published_port: u16,
    pub target_port: u16,
    pub published_ssl_port: u16,
    pub target_ssl_port: u16,
    /// `[Extensions.NAME.Config]`, passed to the plugin as is (sorted by key).
    pub config: Vec<Setting>,

    /// `Plugin` (Sluice), else derived from `Image`/`ProxyImage`.
    pub plugin: PluginRef,
    /// `PluginSha256` (Sluice): the plugin file must have this digest.
    pub plugin_sha256: Option<String>,
    /// `Delivery` (Sluice): "hitless" (default) or "rolling".
    pub delivery: Delivery,
    /// `AgentMetricsPort` (Sluice): each proxy replica's agent serves
    /// `/metrics` on this container port (hitless delivery).
    pub agent_metrics_port: Option<u16>,
}
