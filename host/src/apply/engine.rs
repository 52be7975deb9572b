//! The connection to the Docker engine the apply stage uses: bollard for
//! services, plus a small HTTP client for what bollard 0.19 does not cover,
//! config objects (`/configs`, bollard ≥ 0.21 has them) and a service's
//! `PreviousSpec` (absent from bollard's `Service` model). Replace the latter
//! with bollard's own calls once the workspace moves to bollard ≥ 0.21.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{Config, ConfigSpec, IdResponse, ServiceSpec};
use bollard::{API_DEFAULT_VERSION, Docker};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ApplyError;

/// Seconds bollard waits for one request.
const TIMEOUT_SECS: u64 = 120;

/// Where the engine listens (the config's `DockerURL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port`, plain HTTP.
    Tcp(String),
}

impl Endpoint {
    /// `unix:///path` or `tcp://host:port` (also `http://`). TLS is not
    /// supported by this build.
    pub fn parse(url: &str) -> Result<Endpoint, ApplyError> {
        let bad = |reason: &str| ApplyError::Endpoint {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(path) = url.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let addr = url
            .strip_prefix("tcp://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                bad("expected unix:///path or tcp://host:port (TLS is not supported yet)")
            })?;
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() || addr.contains('/') {
            return Err(bad("expected tcp://host:port"));
        }
        Ok(Endpoint::Tcp(addr.to_owned()))
    }
}

/// A connected engine: the bollard client and the same endpoint for raw calls.
#[derive(Clone, Debug)]
pub struct Engine {
    pub docker: Docker,
    endpoint: Endpoint,
    url: String,
}

/// A service as `GET /services` returns it, with the `PreviousSpec` a failed
/// update rolls back to.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServiceSpecs {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Spec", default)]
    pub spec: Option<ServiceSpec>,
    #[serde(rename = "PreviousSpec", default)]
    pub previous_spec: Option<ServiceSpec>,
}

impl Engine {
    /// Connect to `url` and agree on an API version with the engine (an
    /// engine older than bollard's default version refuses it otherwise).
    pub async fn connect(url: &str) -> Result<Engine, ApplyError> {
        let endpoint = Endpoint::parse(url)?;
        let docker = match &endpoint {
            Endpoint::Unix(path) => Docker::connect_with_unix(
                &path.to_string_lossy(),
                TIMEOUT_SECS,
                API_DEFAULT_VERSION,
            ),
            Endpoint::Tcp(addr) => {
                Docker::connect_with_http(addr, TIMEOUT_SECS, API_DEFAULT_VERSION)
            }
        }
        .map_err(|e| ApplyError::Endpoint {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| ApplyError::Endpoint {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Engine {
            docker,
            endpoint,
            url: url.to_owned(),
        })
    }

    /// Use an already connected (and version-negotiated) client, e.g. from
    /// `observe::connect`, for the same `DockerURL`.
    pub fn new(docker: Docker, url: &str) -> Result<Engine, ApplyError> {
        Ok(Engine {
            endpoint: Endpoint::parse(url)?,
            docker,
            url: url.to_owned(),
        })
    }

    /// Configs whose labels match every `key=value` in `labels` (and whose
    /// name starts with `name_prefix`, when given: Docker matches by prefix).
    pub async fn list_configs(
        &self,
        labels: &[String],
        name_prefix: Option<&str>,
    ) -> Result<Vec<Config>, ApplyError> {
        let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
        if !labels.is_empty() {
            filters.insert("label", labels.to_vec());
        }
        if let Some(name) = name_prefix {
            filters.insert("name", vec![name.to_owned()]);
        }
        let query = query(
            "filters",
            &serde_json::to_string(&filters).expect("filters serialise"),
        );
        self.call(
            Method::GET,
            &format!("/configs?{query}"),
            None,
            "list config objects",
        )
        .await
    }

    pub async fn create_config(&self, spec: &ConfigSpec) -> Result<String, ApplyError> {
        let name = spec.name.clone().unwrap_or_default();
        let body = serde_json::to_vec(spec).expect("a ConfigSpec always serialises");
        let created: IdResponse = self
            .call(
                Method::POST,
                "/configs/create",
                Some(body),
                &format!("create config object {name:?}"),
            )
            .await?;
        Ok(created.id)
    }

    pub async fn remove_config(&self, id: &str, name: &str) -> Result<(), ApplyError> {
        self.call::<serde_json::Value>(
            Method::DELETE,
            &format!("/configs/{id}"),
            None,
            &format!("remove config object {name:?}"),
        )
        .await
        .map(drop)
    }

    /// Every service with its current and previous spec.
    pub async fn list_service_specs(&self) -> Result<Vec<ServiceSpecs>, ApplyError> {
        self.call(Method::GET, "/services", None, "list services")
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        action: &str,
    ) -> Result<T, ApplyError> {
        let failed = |status: Option<u16>, message: String| ApplyError::Engine {
            action: format!("{action} (Docker engine {})", self.url),
            status,
            message,
        };
        let uri = format!("/v{}{path}", self.docker.client_version());
        let (status, bytes) = self
            .send(method, &uri, body)
            .await
            .map_err(|e| failed(None, e))?;
        if !status.is_success() {
            #[derive(Deserialize)]
            struct Message {
                message: String,
            }
            let message = serde_json::from_slice::<Message>(&bytes)
                .map(|m| m.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(failed(Some(status.as_u16()), message));
        }
        // DELETE answers with an empty body.
        let bytes = if bytes.is_empty() {
            Bytes::from_static(b"null")
        } else {
            bytes
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| failed(Some(status.as_u16()), format!("unexpected answer: {e}")))
    }

    /// One request on its own connection (the engine closes idle ones anyway).
    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(hyper::StatusCode, Bytes), String> {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, "docker")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let response = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| e.to_string())?;
                exchange(stream, request).await?
            }
            Endpoint::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| e.to_string())?;
                exchange(stream, request).await?
            }
        };
        Ok(response)
    }
}

async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string());
    let result = match response {
        Ok(response) => {
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok((status, body.to_bytes()))
        }
        Err(e) => Err(e),
    };
    drop(sender);
    driver.abort();
    result
}

fn query(key: &str, value: &str) -> String {
    serde_urlencoded::to_string([(key, value)]).expect("a string pair always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let table: [(&str, Option<Endpoint>); 6] = [
            (
                "unix:///var/run/docker.sock",
                Some(Endpoint::Unix("/var/run/docker.sock".into())),
            ),
            (
                "tcp://10.0.0.1:2375",
                Some(Endpoint::Tcp("10.0.0.1:2375".into())),
            ),
            (
                "http://docker:2375/",
                Some(Endpoint::Tcp("docker:2375".into())),
            ),
            ("https://docker:2376", None),
            ("tcp://", None),
            ("/var/run/docker.sock", None),
        ];
        for (url, want) in table {
            match (Endpoint::parse(url), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{url}"),
                (Err(e), None) => assert!(e.to_string().contains(url), "{url}: {e}"),
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn filters_are_url_encoded() {
        assert_eq!(
            query("filters", r#"{"label":["a=b"]}"#),
            "filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
