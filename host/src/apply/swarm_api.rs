//! The connection to the Docker engine the apply stage uses: bollard for
//! services and secrets, and [`RawClient`] (the observe stage's raw client,
//! same transport and TLS) for what bollard 0.19 does not cover: config
//! objects (`/configs`; bollard >= 0.21 has them) and a service's
//! `PreviousSpec` (absent from bollard's `Service` model).

use std::collections::HashMap;

use bollard::models::{Config, ConfigSpec, IdResponse, ServiceSpec};
use bollard::{API_DEFAULT_VERSION, Docker};
use hyper::Method;
use hyper::body::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ApplyError;
use crate::observe::raw::RawClient;

/// Seconds bollard waits for one request.
const TIMEOUT_SECS: u64 = 120;

/// A connected engine: the bollard client and the raw client for the same
/// `DockerURL`.
#[derive(Clone, Debug)]
pub struct SwarmApi {
    pub docker: Docker,
    raw: RawClient,
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

impl SwarmApi {
    /// Connect to `url` (`unix://` or plain `tcp://`) and agree on an API
    /// version with the engine (an engine older than bollard's default
    /// version refuses it otherwise). The daemon uses [`SwarmApi::new`] with the
    /// clients it already has (TLS included).
    pub async fn connect(url: &str) -> Result<SwarmApi, ApplyError> {
        let bad = |reason: String| ApplyError::Endpoint {
            url: url.to_owned(),
            reason,
        };
        let docker = if let Some(path) = url.strip_prefix("unix://") {
            Docker::connect_with_unix(path, TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else {
            Docker::connect_with_http(url, TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        .map_err(|e| bad(e.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| bad(e.to_string()))?;
        let raw = RawClient::for_url(url, None, &docker.client_version())
            .map_err(|e| bad(e.to_string()))?;
        Ok(SwarmApi::new(docker, raw, url))
    }

    /// Use already connected (and version-negotiated) clients for `url`.
    pub fn new(docker: Docker, raw: RawClient, url: &str) -> SwarmApi {
        SwarmApi {
            docker,
            raw,
            url: url.to_owned(),
        }
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

    /// One config object, its data included.
    pub async fn inspect_config(&self, id: &str, name: &str) -> Result<Config, ApplyError> {
        self.call(
            Method::GET,
            &format!("/configs/{id}"),
            None,
            &format!("read config object {name:?}"),
        )
        .await
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
        let (status, bytes) = self
            .raw
            .request(method, path, body)
            .await
            .map_err(|e| failed(None, e.to_string()))?;
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
}

fn query(key: &str, value: &str) -> String {
    serde_urlencoded::to_string([(key, value)]).expect("a string pair always encodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_url_encoded() {
        assert_eq!(
            query("filters", r#"{"label":["a=b"]}"#),
            "filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
