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

    /// Whether waiting alone can make this go away: the engine was away,
    /// busy or raced with another change (no answer, 5xx, 429, 404, 409).
    /// Everything else needs a person: a label, a setting or a Swarm object.
    pub fn is_transient(&self) -> bool {
        match self {
            ApplyError::Endpoint { .. } => true,
            ApplyError::Docker { .. } | ApplyError::Engine { .. } => self
                .status()
                .is_none_or(|s| s >= 500 || matches!(s, 404 | 409 | 429)),
            ApplyError::MissingSecret { .. }
            | ApplyError::MissingNetwork { .. }
            | ApplyError::PlacementPreference { .. }
            | ApplyError::ConfigTooLarge { .. }
            | ApplyError::ConfigNotOwned { .. }
            | ApplyError::NotOwned { .. }
            | ApplyError::ProxyCommands { .. }
            | ApplyError::ConfigRoot { .. }
            | ApplyError::Credentials { .. }
            | ApplyError::InvalidSpec { .. } => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(status: Option<u16>) -> ApplyError {
        ApplyError::Engine {
            action: "update service x".into(),
            status,
            message: "m".into(),
        }
    }

    #[test]
    fn transient_is_what_waiting_can_fix() {
        let cases = [
            (engine(None), true),
            (engine(Some(500)), true),
            (engine(Some(503)), true),
            (engine(Some(429)), true),
            (engine(Some(409)), true),
            (engine(Some(404)), true),
            (engine(Some(400)), false),
            (engine(Some(403)), false),
            (
                ApplyError::Endpoint {
                    url: "unix:///var/run/docker.sock".into(),
                    reason: "connection refused".into(),
                },
                true,
            ),
            (
                ApplyError::Docker {
                    action: "inspect".into(),
                    source: bollard::errors::Error::DockerResponseServerError {
                        status_code: 500,
                        message: "m".into(),
                    },
                },
                true,
            ),
            (
                ApplyError::NotOwned {
                    service: "proxy".into(),
                    expected: "sluice".into(),
                    owner: "someone".into(),
                },
                false,
            ),
            (
                ApplyError::MissingSecret {
                    cluster: "east".into(),
                    secret: "cert".into(),
                },
                false,
            ),
            (
                ApplyError::Credentials {
                    cluster: "east".into(),
                    reason: "no endpoint".into(),
                },
                false,
            ),
        ];
        for (error, transient) in cases {
            assert_eq!(error.is_transient(), transient, "{error}");
        }
    }
}
