//! Connecting to the Docker engine named by `DockerURL`.

use bollard::{API_DEFAULT_VERSION, Docker};

use crate::config::Config;

/// Seconds a single Docker API request may take.
const REQUEST_TIMEOUT_SECS: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DockerURL `{url}`: {message}")]
    Url { url: String, message: String },
    #[error("cannot reach the Docker engine at `{url}`: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error(
        "the Docker engine at `{url}` is not a Swarm manager ({state}); Sluice must run on a \
         manager node (deploy it with the constraint node.role==manager)"
    )]
    NotManager { url: String, state: String },
}

/// Connect as the config says, negotiate the API version (the engine may be
/// older than bollard's default), and check the engine is a Swarm manager.
pub async fn connect(config: &Config) -> Result<Docker, ConnectError> {
    let url = config.docker_url.as_str();
    let docker = client(config)?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|source| ConnectError::Unreachable {
            url: url.to_string(),
            source,
        })?;
    let info = docker
        .info()
        .await
        .map_err(|source| ConnectError::Unreachable {
            url: url.to_string(),
            source,
        })?;
    let swarm = info.swarm.unwrap_or_default();
    if swarm.control_available != Some(true) {
        let state = match swarm.local_node_state {
            Some(s) => format!("local node state: {s}"),
            None => "not in a swarm".into(),
        };
        return Err(ConnectError::NotManager {
            url: url.to_string(),
            state,
        });
    }
    Ok(docker)
}

fn client(config: &Config) -> Result<Docker, ConnectError> {
    let url = config.docker_url.as_str();
    let err = |e: bollard::errors::Error| ConnectError::Url {
        url: url.to_string(),
        message: e.to_string(),
    };
    if let Some(path) = url.strip_prefix("unix://") {
        return Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .map_err(err);
    }
    if url.starts_with("tcp://") || url.starts_with("http://") || url.starts_with("https://") {
        return match (&config.tls_ca_cert, &config.tls_cert, &config.tls_key) {
            (Some(ca), Some(cert), Some(key)) => {
                if config.allow_insecure {
                    tracing::warn!(
                        "AllowInsecure is ignored: the engine's certificate is always verified against TLSCACert"
                    );
                }
                Docker::connect_with_ssl(
                    url,
                    key,
                    cert,
                    ca,
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
                .map_err(err)
            }
            (None, None, None) => {
                Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(err)
            }
            _ => Err(ConnectError::Url {
                url: url.to_string(),
                message: "TLS needs all three of TLSCACert, TLSCert and TLSKey".into(),
            }),
        };
    }
    Err(ConnectError::Url {
        url: url.to_string(),
        message: "expected unix:///path, tcp://host:port, http:// or https://".into(),
    })
}
