//! Raw requests to the Docker API, for what bollard 0.19 lacks or drops:
//! `/tasks` with each task's `NetworksAttachments` (its address per network),
//! config objects (`/configs`), a service's `PreviousSpec`. Same transports as
//! the main client: unix socket, tcp, tcp + TLS. (bollard >= 0.21 covers
//! configs; tasks' attachments are still missing from its model.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
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

#[derive(Clone)]
enum Transport {
    Unix(PathBuf),
    Http(String),
    Https(String, Arc<rustls::ClientConfig>),
}

/// Raw requests to the Docker API over the transport `DockerURL` names.
#[derive(Clone)]
pub struct RawClient {
    transport: Transport,
    /// "v1.41": the version negotiated by the main client.
    version: String,
}

impl std::fmt::Debug for RawClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawClient")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl RawClient {
    /// For the config's `DockerURL` (and TLS files), speaking `version`.
    pub fn new(config: &Config, version: &bollard::ClientVersion) -> Result<RawClient, RawError> {
        let tls = match (&config.tls_ca_cert, &config.tls_cert, &config.tls_key) {
            (Some(ca), Some(cert), Some(key)) => {
                Some((ca.as_path(), cert.as_path(), key.as_path()))
            }
            _ => None,
        };
        RawClient::for_url(&config.docker_url, tls, version)
    }

    /// For `url` (`unix://`, `tcp://`, `http://`, `https://`); `tls` = (CA, cert, key).
    pub fn for_url(
        url: &str,
        tls: Option<(&Path, &Path, &Path)>,
        version: &bollard::ClientVersion,
    ) -> Result<RawClient, RawError> {
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
            match tls {
                Some((ca, cert, key)) => {
                    Transport::Https(authority, Arc::new(tls_config(ca, cert, key)?))
                }
                None => Transport::Http(authority),
            }
        };
        Ok(RawClient { transport, version })
    }

    /// GET `path` and parse the JSON body; any status but 200 is an error.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, RawError> {
        let (status, body) = self.request(Method::GET, path, None).await?;
        if status != 200 {
            return Err(RawError::Status {
                path: path.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|source| RawError::Json {
            path: path.to_string(),
            source,
        })
    }

    /// One request to `/v<version><path>`; the status and body as they came.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), RawError> {
        let full = format!("/{}{}", self.version, path);
        let err = |message: String| RawError::Request {
            path: path.to_string(),
            message,
        };
        let uri: hyper::Uri = match &self.transport {
            Transport::Unix(socket) => hyperlocal::Uri::new(socket, &full).into(),
            Transport::Http(authority) => format!("http://{authority}{full}")
                .parse()
                .map_err(|e| err(format!("{e}")))?,
            Transport::Https(authority, _) => format!("https://{authority}{full}")
                .parse()
                .map_err(|e| err(format!("{e}")))?,
        };
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| err(e.to_string()))?;
        let response = match &self.transport {
            Transport::Unix(_) => {
                Client::builder(TokioExecutor::new())
                    .build(hyperlocal::UnixConnector)
                    .request(request)
                    .await
            }
            Transport::Http(_) => {
                Client::builder(TokioExecutor::new())
                    .build(HttpConnector::new())
                    .request(request)
                    .await
            }
            Transport::Https(_, tls) => {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((**tls).clone())
                    .https_only()
                    .enable_http1()
                    .build();
                Client::builder(TokioExecutor::new())
                    .build(connector)
                    .request(request)
                    .await
            }
        }
        .map_err(|e| err(format!("{e}")))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| err(format!("{e}")))?
            .to_bytes();
        Ok((status, bytes))
    }
}

fn tls_config(ca: &Path, cert: &Path, key: &Path) -> Result<rustls::ClientConfig, RawError> {
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
