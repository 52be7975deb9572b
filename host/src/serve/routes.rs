//! The HTTP routes of the daemon's API.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::watch;

use super::wire::{AgentReport, MAX_TLS_PROBLEMS};
use super::{Api, PeerCert};
use crate::trust::signing;

pub(super) struct Shared {
    pub api: Api,
    /// Flips to true when the server stops, ending pending long-polls.
    pub closing: watch::Receiver<bool>,
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/clusters/{name}/revision", get(revision))
        .route("/v2/clusters/{name}/status", post(report))
        .route("/v2/status", get(status))
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
    /// The highest sequence number the agent accepted.
    seq: Option<u64>,
    /// `1`: the agent sets server slots at runtime; send them.
    slots: Option<u8>,
}

/// Longer replica names and hashes are refused: they are kept per replica.
const MAX_FIELD: usize = 256;
/// An agent's words on one broken TLS pair (two paths and a sentence).
const MAX_REASON: usize = 1024;

/// Long-poll: the newest revision as soon as its hash differs from `have`,
/// else 204 when the wait ends. `seq` is the highest sequence number the
/// agent accepted: a daemon whose clock is behind (restarted on another
/// manager, or after a clock step) raises its own above it, so the agent
/// never takes a genuine revision for a replay.
async fn revision(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    Query(q): Query<PollQuery>,
    Extension(peer): Extension<PeerCert>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refuse(&shared.api, &headers, &peer, &cluster) {
        return denied;
    }
    let fields = [Some(&q.have), q.replica.as_ref(), q.running.as_ref()];
    if fields.into_iter().flatten().any(|f| f.len() > MAX_FIELD) {
        return too_long();
    }
    let store = &shared.api.store;
    if let Some(seq) = q.seq {
        store.raise_seq(&cluster, seq, &q.have);
    }
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
        Some(p) => {
            let (body, signature) = match (&p.with_slots, q.slots) {
                (Some((body, signature)), Some(1)) => (body, signature),
                _ => (&p.body, &p.signature),
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (header::ETAG, format!("\"{}\"", p.hash)),
                    (
                        header::HeaderName::from_static(signing::HEADER),
                        signature.clone(),
                    ),
                ],
                body.clone(),
            )
                .into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// The body is read (bounded) and parsed only once the caller is known.
async fn report(
    State(shared): State<Arc<Shared>>,
    Path(cluster): Path<String>,
    Extension(peer): Extension<PeerCert>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(denied) = refuse(&shared.api, &headers, &peer, &cluster) {
        return denied;
    }
    let limit = shared.api.limits.max_body;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a report is at most {limit} bytes\n"),
        )
            .into_response();
    };
    let report: AgentReport = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an agent report: {e}\n"),
            )
                .into_response();
        }
    };
    let fields = [Some(&report.replica), report.running.as_ref()];
    let failed_revision = report.failed.as_ref().map(|f| &f.revision);
    let tls_paths = report
        .bad_tls
        .iter()
        .flat_map(|p| [Some(&p.pair.cert), p.pair.key.as_ref()]);
    if fields
        .into_iter()
        .chain([failed_revision])
        .chain(tls_paths)
        .flatten()
        .any(|f| f.len() > MAX_FIELD)
        || report.bad_tls.len() > MAX_TLS_PROBLEMS
        || report.bad_tls.iter().any(|p| p.reason.len() > MAX_REASON)
    {
        return too_long();
    }
    if let Some(failed) = &report.failed {
        // The agent's words are data: escaped (`?`), so they cannot forge log lines.
        tracing::warn!(cluster = %cluster, replica = ?report.replica, revision = ?failed.revision, message = ?failed.message, "proxy refused a revision");
    }
    for p in &report.bad_tls {
        tracing::warn!(cluster = %cluster, replica = ?report.replica, cert = ?p.pair.cert, key = ?p.pair.key, reason = ?p.reason, "proxy found a broken certificate/key pair");
    }
    shared.api.store.report(&cluster, report);
    StatusCode::NO_CONTENT.into_response()
}

/// The admin token sees every cluster; a cluster's credentials (token and
/// client certificate, of a cluster the daemon knows) see that cluster only.
async fn status(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<PeerCert>,
    headers: HeaderMap,
) -> Response {
    let api = &shared.api;
    let Some(token) = bearer(&headers) else {
        return unauthorised();
    };
    if api.keys.verify_admin(token) {
        return Json(api.store.status_with_plan(None)).into_response();
    }
    let own = api
        .store
        .cluster_names()
        .into_iter()
        .find(|c| api.keys.verify_cluster(c, token));
    match own {
        Some(cluster) => match refuse(api, &headers, &peer, &cluster) {
            Some(denied) => denied,
            None => Json(api.store.status_with_plan(Some(&cluster))).into_response(),
        },
        None => forbidden("/v2/status"),
    }
}

/// The refusal, unless the request carries `cluster`'s token and came over a
/// connection that presented `cluster`'s client certificate.
fn refuse(api: &Api, headers: &HeaderMap, peer: &PeerCert, cluster: &str) -> Option<Response> {
    let Some(token) = bearer(headers) else {
        return Some(unauthorised());
    };
    if !api.keys.verify_cluster(cluster, token) {
        return Some(forbidden(&format!("cluster {cluster:?}")));
    }
    match &peer.0 {
        Some(cert) if api.keys.is_client_of(cluster, cert) => None,
        Some(_) => Some(refusal(
            StatusCode::FORBIDDEN,
            format!("the client certificate is not cluster {cluster:?}'s\n"),
        )),
        None => Some(refusal(
            StatusCode::FORBIDDEN,
            format!("cluster {cluster:?} needs its client certificate\n"),
        )),
    }
}

/// A refusal that also ends the connection: a refused peer does not get to
/// keep a slot by asking again.
fn refusal(status: StatusCode, message: String) -> Response {
    (status, [(header::CONNECTION, "close")], message).into_response()
}

fn too_long() -> Response {
    refusal(
        StatusCode::BAD_REQUEST,
        format!(
            "replica names, hashes and paths are at most {MAX_FIELD} bytes, TLS problems at most {MAX_TLS_PROBLEMS} with reasons of at most {MAX_REASON} bytes\n"
        ),
    )
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
        [
            (header::WWW_AUTHENTICATE, "Bearer realm=\"sluice\""),
            (header::CONNECTION, "close"),
        ],
        "missing bearer token\n",
    )
        .into_response()
}

fn forbidden(what: &str) -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        format!("the bearer token is not valid for {what}\n"),
    )
}
