//! The HTTP routes of the daemon's API.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::watch;

use super::Api;
use super::auth::ADMIN;
use super::wire::AgentReport;

pub(super) struct Shared {
    pub api: Api,
    /// Flips to true when the server stops, ending pending long-polls.
    pub closing: watch::Receiver<bool>,
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/clusters/{name}/revision", get(revision))
        .route("/v1/clusters/{name}/status", post(report))
        .route("/v1/status", get(status))
        .with_state(shared)
}

#[derive(Deserialize)]
struct PollQuery {
    /// Hash the replica serves; the answer is any other revision.
    #[serde(default)]
    have: String,
    /// Who polls: recorded as seen, serving `running` (default `have`;
    /// empty for nothing).
    replica: Option<String>,
    running: Option<String>,
    /// Seconds to wait at most (capped by the server's poll timeout).
    wait: Option<u64>,
}

/// Long-poll: the newest revision as soon as its hash differs from `have`,
/// else 204 when the wait ends.
async fn revision(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    Query(q): Query<PollQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refuse(&shared.api, &headers, &cluster) {
        return denied;
    }
    let store = &shared.api.store;
    if let Some(replica) = &q.replica {
        store.seen(&cluster, replica, q.running.as_deref().unwrap_or(&q.have));
    }
    let wait = q
        .wait
        .map_or(shared.api.poll_timeout, Duration::from_secs)
        .min(shared.api.poll_timeout);
    let mut closing = shared.closing.clone();
    let found = tokio::select! {
        found = store.wait_newer(&cluster, &q.have, wait) => found,
        _ = closing.wait_for(|c| *c) => None,
    };
    match found {
        Some(p) => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::ETAG, format!("\"{}\"", p.hash)),
            ],
            p.body.clone(),
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn report(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    Json(report): Json<AgentReport>,
) -> Response {
    if let Some(denied) = refuse(&shared.api, &headers, &cluster) {
        return denied;
    }
    if let Some(failed) = &report.failed {
        tracing::warn!(cluster = %cluster, replica = %report.replica, revision = %failed.revision, "proxy refused a revision: {}", failed.message);
    }
    shared.api.store.report(&cluster, report);
    StatusCode::NO_CONTENT.into_response()
}

/// Open to the admin token and to the token of any cluster the daemon knows.
async fn status(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let api = &shared.api;
    let Some(token) = bearer(&headers) else {
        return unauthorised();
    };
    let allowed = api.keys.verify(ADMIN, token)
        || api
            .store
            .cluster_names()
            .iter()
            .any(|c| api.keys.verify(c, token));
    if !allowed {
        return forbidden("/v1/status");
    }
    Json(api.store.status()).into_response()
}

/// The refusal, unless the request carries `cluster`'s token.
fn refuse(api: &Api, headers: &HeaderMap, cluster: &str) -> Option<Response> {
    match bearer(headers) {
        None => Some(unauthorised()),
        Some(token) if api.keys.verify(cluster, token) => None,
        Some(_) => Some(forbidden(&format!("cluster {cluster:?}"))),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"sluice\"")],
        "missing bearer token\n",
    )
        .into_response()
}

fn forbidden(what: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        format!("the bearer token is not valid for {what}\n"),
    )
        .into_response()
}
