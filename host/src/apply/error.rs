//! What can go wrong while applying a cluster to Swarm. Every variant names
//! the cluster, service, secret, network or config object at fault.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error(
        "cluster {cluster:?}: secret {secret:?} (named by an ssl_cert/ssl_key label) does not exist in Swarm; create it with `docker secret create {secret} FILE`"
    )]
    MissingSecret { cluster: String, secret: String },

    #[error("cluster {cluster:?}: network {network:?} (from Networks) does not exist in Swarm")]
    MissingNetwork { cluster: String, network: String },

    #[error(
        "cluster {cluster:?}: ProxyPlacementPreferences entry {value:?} is not \"spread=<descriptor>\" (Swarm supports only spread)"
    )]
    PlacementPreference { cluster: String, value: String },

    #[error(
        "cluster {cluster:?}: rendered file {path} is {size} bytes, over the {limit}-byte limit of a Docker config object; use Delivery = \"hitless\" for this cluster"
    )]
    ConfigTooLarge {
        cluster: String,
        path: String,
        size: usize,
        limit: usize,
    },

    #[error(
        "cluster {cluster:?}: config object {config:?} exists but belongs to {owner}, not to this cluster; remove or rename it"
    )]
    ConfigNotOwned {
        cluster: String,
        config: String,
        owner: String,
    },

    #[error(
        "service {service:?} exists but is not managed by {expected} (it belongs to {owner}); refusing to touch it: remove it or choose another ProxyServiceName"
    )]
    NotOwned {
        service: String,
        expected: String,
        owner: String,
    },

    #[error(
        "cluster {cluster:?}: hitless delivery runs no command a plugin chose, and plugin {plugin:?} drives proxy {proxy:?}, which has no built-in commands: set {missing} in [Extensions.{cluster}] (or Delivery = \"rolling\")"
    )]
    ProxyCommands {
        cluster: String,
        plugin: String,
        proxy: String,
        missing: String,
    },

    #[error(
        "cluster {cluster:?}: ProxyConfigPath {path:?}: the agent writes only under its directory, and {problem}"
    )]
    ConfigRoot {
        cluster: String,
        path: String,
        problem: String,
    },

    #[error("cluster {cluster:?}: agent credentials: {reason}")]
    Credentials { cluster: String, reason: String },

    #[error("desired spec of service {service:?} is incomplete: {reason}")]
    InvalidSpec { service: String, reason: String },

    #[error("Docker engine at {url:?}: {reason}")]
    Endpoint { url: String, reason: String },

    #[error("{action}: {source}")]
    Docker {
        action: String,
        #[source]
        source: bollard::errors::Error,
    },

    #[error("{action}: {message}")]
    Engine {
        action: String,
        /// HTTP status, when the engine answered.
        status: Option<u16>,
        message: String,
    },
}

impl ApplyError {
    /// A bollard failure while doing `action` (which names the object).
    pub fn docker(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> ApplyError {
        let action = action.into();
        move |source| ApplyError::Docker { action, source }
    }

    /// The HTTP status the engine answered with, if it did.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApplyError::Docker {
                source: bollard::errors::Error::DockerResponseServerError { status_code, .. },
                ..
            } => Some(*status_code),
            ApplyError::Engine { status, .. } => *status,
            _ => None,
        }
    }
}
