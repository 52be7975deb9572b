//! When to reconcile: at once on a Swarm event (bursts coalesced) or when an
//! agent reports a broken TLS pair, fast while services converge (Swarm
//! sends no task events), every `PollInterval` otherwise.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep, sleep_until};

use super::reconcile::Reconciler;
use crate::config::Config;
use crate::observe::watch::Trigger;

/// Events arriving within this window after the first are handled together.
const COALESCE: Duration = Duration::from_millis(100);
/// Task poll period while a service converges.
const FAST_POLL: Duration = Duration::from_millis(250);
/// How long after a service event tasks are polled fast.
const FAST_WINDOW: Duration = Duration::from_secs(15);
/// Retry period after a failed round (engine away).
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

pub(super) async fn run(
    reconciler: &mut Reconciler,
    mut triggers: UnboundedReceiver<Trigger>,
    mut reloads: UnboundedReceiver<Config>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let mut reloads_open = true;
    // Converge fast right after start-up too.
    let mut fast_until = Instant::now() + FAST_WINDOW;
    let mut retry = RETRY_MIN;
    let store = reconciler.store();
    // The first round after start-up tries everything.
    let mut swarm_changed = true;
    loop {
        let round = reconciler.round(swarm_changed).await;
        // An event is used up only by a round that reached the clusters.
        swarm_changed &= round.is_err();
        let next = match round {
            Ok(_) => {
                retry = RETRY_MIN;
                let period = if Instant::now() < fast_until {
                    FAST_POLL
                } else {
                    reconciler.poll_interval()
                };
                Instant::now() + period
            }
            Err(e) => {
                reconciler.metrics().round_failures.inc();
                // The engine is away: proxies keep what they run; try again.
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?retry, "reconcile round failed");
                let at = Instant::now() + retry;
                retry = (retry * 2).min(RETRY_MAX);
                at
            }
        };
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = sleep_until(next) => {}
            _ = store.tls_reported() => {}
            new = reloads.recv(), if reloads_open => match new {
                Some(config) => reconciler.reload(config),
                None => reloads_open = false,
            },
            t = triggers.recv() => {
                // The watcher is supervised and holds the sender: this is a bug, not an end.
                let Some(t) = t else {
                    anyhow::bail!("the Docker event watcher stopped; the daemon cannot follow the Swarm");
                };
                swarm_changed = true;
                if matches!(t, Trigger::Resubscribed) {
                    reconciler.metrics().event_stream_reconnects.inc();
                }
                let mut fast = t.wants_fast_poll();
                // Coalesce a burst into one round.
                sleep(COALESCE).await;
                while let Ok(more) = triggers.try_recv() {
                    fast |= more.wants_fast_poll();
                }
                if fast {
                    fast_until = Instant::now() + FAST_WINDOW;
                }
            }
        }
    }
}
