//! When to reconcile, and what to read first: at once on a Swarm event (the
//! services it names, or the list it concerns; events queued meanwhile are
//! taken together), the tasks of recently changed services every
//! [`FAST_POLL`] while they converge (Swarm sends no task events), and
//! everything every `PollInterval` (and after a failed round), which catches
//! whatever an event missed. Bursts need no waiting here: rounds run back to
//! back and the publication pacer (`serve::pacer`) spaces reloads.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep_until};

use super::reconcile::Reconciler;
use crate::allocator::Activity;
use crate::config::Config;
use crate::observe::follow::Reading;
use crate::observe::watch::Trigger;

/// Task poll period of a service that changed lately.
const FAST_POLL: Duration = Duration::from_millis(250);
/// How long after a service event its tasks are polled fast.
const FAST_WINDOW: Duration = Duration::from_secs(15);
/// Retry period after a failed round (engine away).
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

pub(super) async fn run(
    reconciler: &mut Reconciler,
    mut triggers: UnboundedReceiver<Trigger>,
    mut reloads: UnboundedReceiver<Config>,
    activity: &Activity,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let mut reloads_open = true;
    let mut retry = RETRY_MIN;
    let store = reconciler.store();
    let acme = reconciler.acme();
    // A new certificate goes out with the next round.
    let issued = || async {
        match &acme {
            Some(acme) => acme.issued().await,
            None => std::future::pending().await,
        }
    };
    // Right after start-up every service may still be converging: all
    // tasks are polled fast for a while (one list, not everything).
    let converging_until = Instant::now() + FAST_WINDOW;
    // Services whose tasks are polled fast, until when.
    let mut fast: BTreeMap<String, Instant> = BTreeMap::new();
    let mut polled = Instant::now();
    let mut next_full = Instant::now();
    // The first round after start-up reads everything and tries everything.
    let mut reading = Reading::full();
    let mut swarm_changed = true;
    loop {
        activity.round_started();
        let round = reconciler.round(swarm_changed, &reading).await;
        activity.round_ended();
        // An event is used up only by a round that reached the clusters.
        swarm_changed &= round.is_err();
        let now = Instant::now();
        let next = match round {
            Ok(_) => {
                retry = RETRY_MIN;
                if reading.full {
                    next_full = now + reconciler.poll_interval();
                }
                reading = Reading::default();
                fast.retain(|_, until| *until > now);
                if fast.is_empty() && now >= converging_until {
                    next_full
                } else {
                    (polled + FAST_POLL).max(now).min(next_full)
                }
            }
            Err(e) => {
                reconciler.metrics().round_failures.inc();
                // The engine is away: proxies keep what they run; try again,
                // reading everything (what was asked is part of it).
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?retry, "reconcile round failed");
                reading = Reading::full();
                let at = now + retry;
                retry = (retry * 2).min(RETRY_MAX);
                at
            }
        };
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = sleep_until(next) => {}
            _ = store.tls_reported() => {}
            _ = issued() => {}
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
                let mut next = Some(t);
                // Whatever else is queued goes into the same round.
                while let Some(t) = next {
                    if matches!(t, Trigger::Resubscribed) {
                        reconciler.metrics().event_stream_reconnects.inc();
                    }
                    let asked = t.reading();
                    let until = Instant::now() + FAST_WINDOW;
                    for id in &asked.services {
                        fast.insert(id.clone(), until);
                    }
                    reading.merge(asked);
                    next = triggers.try_recv().ok();
                }
            }
        }
        // Whichever woke the loop, what is due is read too: a stream of
        // events never starves the task polls or the full read.
        let now = Instant::now();
        if now >= next_full {
            reading.full = true;
        }
        if now >= polled + FAST_POLL {
            reading.services.extend(fast.keys().cloned());
            reading.tasks |= now < converging_until;
            polled = now;
        }
    }
}
