//! A minimal JSON GET against the Docker API, for what bollard's models drop:
//! `/tasks` with each task's `NetworksAttachments` (its address per network).
//! Same transports as the main client: unix socket, tcp, tcp + TLS.

use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::DeserializeOwned;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum RawError {
    #[error("GET {path}: {message}")]
    Request { path: String, message: String },
    #[error("GET {path}: HTTP {status}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
    #[error("GET {path}: unexpected JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("TLS setup for DockerURL: {0}")]
    Tls(String),
}

enum Transport {
    Unix(PathBuf),
    Http(String),
    Https(String, Arc<rustls::ClientConfig>),
}

pub struct RawClient {
    transport: Transport,
    /// "v1.41": the version negotiated by the main client.
    version: String,
}

impl RawClient {
    pub fn new(config: &Config, version: &bollard::ClientVersion) -> Result<RawClient, RawError> {
        let url = config.docker_url.as_str();
        let version = format!("v{}.{}", version.major_version, version.minor_version);
        let transport = if let Some(path) = url.strip_prefix("unix://") {
            Transport::Unix(PathBuf::from(path))
        } else {
            let authority = url
                .trim_start_matches("tcp://")
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string();
            match (&config.tls_ca_cert, &config.tls_cert, &config.tls_key) {
                (Some(ca), Some(cert), Some(key)) => {
                    Transport::Https(authority, Arc::new(tls_config(ca, cert, key)?))
                }
                _ => Transport::Http(authority),
            }
        };
        Ok(RawClient { transport, version })
    }

    /// GET `/v<version><path>` and parse the JSON body.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, RawError> {
        let full = format!("/{}{}", self.version, path);
        let err = |message: String| RawError::Request {
            path: path.to_string(),
            message,
        };
        let response = match &self.transport {
            Transport::Unix(socket) => {
                let client: Client<_, Empty<Bytes>> =
                    Client::builder(TokioExecutor::new()).build(hyperlocal::UnixConnector);
                client.get(hyperlocal::Uri::new(socket, &full).into()).await
            }
            Transport::Http(authority) => {
                let client: Client<_, Empty<Bytes>> =
                    Client::builder(TokioExecutor::new()).build(HttpConnector::new());
                let uri = format!("http://{authority}{full}")
                    .parse()
                    .map_err(|e| err(format!("{e}")))?;
                client.get(uri).await
            }
            Transport::Https(authority, tls) => {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((**tls).clone())
                    .https_only()
                    .enable_http1()
                    .build();
                let client: Client<_, Empty<Bytes>> =
                    Client::builder(TokioExecutor::new()).build(connector);
                let uri = format!("https://{authority}{full}")
                    .parse()
                    .map_err(|e| err(format!("{e}")))?;
                client.get(uri).await
            }
        }
        .map_err(|e| err(format!("{e}")))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| err(format!("{e}")))?
            .to_bytes();
        if status != 200 {
            return Err(RawError::Status {
                path: path.to_string(),
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|source| RawError::Json {
            path: path.to_string(),
            source,
        })
    }
}

fn tls_config(
    ca: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ClientConfig, RawError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca)
        .map_err(|e| RawError::Tls(format!("TLSCACert {}: {e}", ca.display())))?
    {
        let c = c.map_err(|e| RawError::Tls(format!("TLSCACert {}: {e}", ca.display())))?;
        roots
            .add(c)
            .map_err(|e| RawError::Tls(format!("TLSCACert {}: {e}", ca.display())))?;
    }
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| RawError::Tls(format!("TLSCert {}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| RawError::Tls(format!("TLSKey {}: {e}", key.display())))?;
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| RawError::Tls(e.to_string()))
}
