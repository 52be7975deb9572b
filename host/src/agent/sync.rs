//! The agent's two conversations with the daemon, each a task: fetching
//! revisions (long-poll) and sending reports. Both keep only the newest item
//! in a `watch` channel, so a slow apply or an absent daemon coalesces
//! everything in between; both retry with backoff while the daemon is away.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::client::DaemonClient;
use crate::serve::wire::{AgentReport, RevisionDoc};

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// The wait the agent asks for; the daemon caps it at its own timeout.
const POLL_WAIT: Duration = Duration::from_secs(30);

/// Status codes after which retrying cannot help.
fn fatal(status: Option<u16>) -> bool {
    matches!(status, Some(401 | 403 | 404))
}

/// Long-poll forever, publishing each new revision into `newest`. `running`
/// is what the proxy serves (sent along for `/v1/status`). Returns only on
/// a refusal that retrying cannot fix (bad token).
pub async fn fetch(
    client: Arc<DaemonClient>,
    cluster: String,
    replica: String,
    newest: watch::Sender<Option<RevisionDoc>>,
    running: watch::Receiver<Option<String>>,
) -> String {
    let mut have = String::new();
    let mut backoff = BACKOFF_MIN;
    let mut away_since: Option<std::time::Instant> = None;
    loop {
        let serving = running.borrow().clone();
        match client
            .poll(&cluster, &have, &replica, serving.as_deref(), POLL_WAIT)
            .await
        {
            Ok(found) => {
                if let Some(since) = away_since.take() {
                    tracing::info!(after = ?since.elapsed(), "daemon reachable again");
                }
                backoff = BACKOFF_MIN;
                if let Some(doc) = found {
                    have = doc.hash.clone();
                    newest.send_replace(Some(doc));
                }
            }
            Err(e) if fatal(e.status()) => return e.to_string(),
            Err(e) => {
                if away_since.is_none() {
                    tracing::warn!("{e}; the proxy keeps serving, retrying");
                    away_since = Some(std::time::Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Send every report placed in `reports` (only the newest if several wait).
pub async fn report(
    client: Arc<DaemonClient>,
    cluster: String,
    mut reports: watch::Receiver<Option<AgentReport>>,
) {
    while reports.changed().await.is_ok() {
        let mut backoff = BACKOFF_MIN;
        loop {
            let Some(report) = reports.borrow_and_update().clone() else {
                break;
            };
            match client.report(&cluster, &report).await {
                Ok(()) => break,
                Err(e) if fatal(e.status()) => {
                    tracing::error!("{e}");
                    break;
                }
                Err(e) => {
                    tracing::debug!("{e}; retrying the report");
                    // A newer report replaces this one while waiting.
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}
