//! HTTPS client of the daemon's API (the daemon's `serve` module), used by the agent and
//! by `sluice status`. TLS only, trusting only the agent channel's CA (see
//! [`sluice_wire::tls`]); answers are read up to a size limit.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use sluice_wire::docs::{AgentReport, StatusDoc};
use sluice_wire::signing;

/// The largest answer read: a revision of the largest render the host
/// allows, JSON-escaped, with room to spare.
pub const MAX_ANSWER_BYTES: usize = 96 << 20;

/// Extra time over the server's wait before a long-poll counts as lost.
const POLL_SLACK: Duration = Duration::from_secs(10);
/// Plain requests (reports, status).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "daemon endpoint {url:?}: expected https://HOST:PORT (the agent channel is TLS only; plain http is refused)"
    )]
    Endpoint { url: String },
    #[error("{what} at {url}: {reason}")]
    Transport {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("{what} at {url}: the daemon answered {status}: {body}")]
    Status {
        what: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error("{what} at {url}: unexpected answer: {reason}")]
    Decode {
        what: &'static str,
        url: String,
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status the daemon answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An HTTP/1.1 client that speaks only HTTPS, believing whom `tls` says.
pub fn https_client(
    tls: rustls::ClientConfig,
) -> Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    connector.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new()).build(https)
}

/// A revision as it arrived: the exact bytes and the signature header,
/// both unverified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAnswer {
    pub body: Bytes,
    pub signature: Option<String>,
}

#[derive(Clone)]
pub struct DaemonClient {
    base: String,
    token: String,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// Whether polls ask for server slots.
    slots: bool,
}

impl std::fmt::Debug for DaemonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("DaemonClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl DaemonClient {
    /// `endpoint` is the daemon's base URL, `https://host:port`; `tls`
    /// decides which server is believed (and which client certificate is
    /// shown).
    pub fn new(
        endpoint: &str,
        token: &str,
        tls: rustls::ClientConfig,
    ) -> Result<DaemonClient, ClientError> {
        let base = endpoint.trim_end_matches('/');
        let rest = base.strip_prefix("https://").ok_or(ClientError::Endpoint {
            url: endpoint.to_owned(),
        })?;
        if rest.is_empty() || rest.contains('/') {
            return Err(ClientError::Endpoint {
                url: endpoint.to_owned(),
            });
        }
        Ok(DaemonClient {
            base: base.to_owned(),
            token: token.trim().to_owned(),
            http: https_client(tls),
            slots: false,
        })
    }

    /// Ask for revisions with their server slots (an agent that can set
    /// them at runtime).
    pub fn with_slots(mut self) -> DaemonClient {
        self.slots = true;
        self
    }

    /// Long-poll: a revision of `cluster` other than `have`, or None when
    /// the daemon's wait (at most `wait`) ended without one. `running` is
    /// what this replica serves, for `/v2/status`; `seq` the highest
    /// sequence number accepted (the daemon numbers above it).
    pub async fn poll(
        &self,
        cluster: &str,
        have: &str,
        replica: &str,
        running: Option<&str>,
        wait: Duration,
    ) -> Result<Option<SignedAnswer>, ClientError> {
        self.poll_after(cluster, have, 0, replica, running, wait)
            .await
    }

    /// [`DaemonClient::poll`], telling the daemon the highest sequence
    /// number this agent accepted.
    pub async fn poll_after(
        &self,
        cluster: &str,
        have: &str,
        seq: u64,
        replica: &str,
        running: Option<&str>,
        wait: Duration,
    ) -> Result<Option<SignedAnswer>, ClientError> {
        let mut query = vec![
            ("have", have.to_owned()),
            ("seq", seq.to_string()),
            ("replica", replica.to_owned()),
            ("wait", wait.as_secs().to_string()),
            ("running", running.unwrap_or_default().to_owned()),
        ];
        if self.slots {
            query.push(("slots", "1".to_owned()));
        }
        let query = serde_urlencoded::to_string(&query).expect("strings always encode");
        let path = format!("/v2/clusters/{cluster}/revision?{query}");
        let (status, headers, body) = self
            .send(Method::GET, &path, None, wait + POLL_SLACK, "revision poll")
            .await?;
        match status {
            StatusCode::NO_CONTENT => Ok(None),
            _ => Ok(Some(SignedAnswer {
                body,
                signature: headers
                    .get(signing::HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            })),
        }
    }

    pub async fn report(&self, cluster: &str, report: &AgentReport) -> Result<(), ClientError> {
        let path = format!("/v2/clusters/{cluster}/status");
        self.send(
            Method::POST,
            &path,
            Some(json(report)),
            REQUEST_TIMEOUT,
            "status report",
        )
        .await
        .map(drop)
    }

    pub async fn status(&self) -> Result<StatusDoc, ClientError> {
        let (_, _, body) = self
            .send(Method::GET, "/v2/status", None, REQUEST_TIMEOUT, "status")
            .await?;
        decode(&body, &self.url("/v2/status"), "status")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
        what: &'static str,
    ) -> Result<(StatusCode, header::HeaderMap, Bytes), ClientError> {
        let url = self.url(path);
        let transport = |reason: String| ClientError::Transport {
            what,
            url: url.clone(),
            reason,
        };
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| transport(e.to_string()))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                // The legacy client's Display says only "client error (Connect)".
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text = format!("{text}: {s}");
                    source = s.source();
                }
                transport(text)
            })?;
            let status = response.status();
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    transport(format!(
                        "reading the answer (at most {MAX_ANSWER_BYTES} bytes): {e}"
                    ))
                })?
                .to_bytes();
            Ok::<_, ClientError>((status, parts.headers, body))
        };
        let (status, headers, body) = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| transport(format!("no answer within {timeout:?}")))??;
        if !status.is_success() {
            let mut text = String::from_utf8_lossy(&body[..body.len().min(1000)])
                .trim()
                .to_owned();
            text.retain(|c| !c.is_control() || c == '\n');
            return Err(ClientError::Status {
                what,
                url,
                status: status.as_u16(),
                body: text,
            });
        }
        Ok((status, headers, body))
    }
}

fn json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("wire documents always serialise")
}

fn decode<T: DeserializeOwned>(
    body: &[u8],
    url: &str,
    what: &'static str,
) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        what,
        url: url.to_owned(),
        reason: e.to_string(),
    })
}
