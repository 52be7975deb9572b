//! Swarm events as reconcile triggers.
//!
//! Events only say "look again": the reconcile reads the whole state anyway
//! (it ignores why it was triggered), so a missed or duplicated event costs
//! nothing but latency, and the periodic resync catches what events miss.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

/// Why a reconcile was asked for (for logs and for choosing the poll rate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A Swarm object changed: `kind` is service, network, secret, config or node.
    Event {
        kind: String,
        action: String,
        id: String,
    },
    /// The event stream was (re)established: events may have been missed.
    Resubscribed,
}

impl Trigger {
    /// Service changes start task convergence, which Swarm reports through no
    /// event: poll fast for a while after one.
    pub fn wants_fast_poll(&self) -> bool {
        matches!(self, Trigger::Event { kind, .. } if kind == "service")
    }
}

/// Forward Swarm events to `tx` until the receiver is gone. A broken stream is
/// re-subscribed with backoff (1 s doubling to 30 s); the engine being away
/// never ends this task.
pub async fn events(docker: Docker, tx: UnboundedSender<Trigger>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let filters = HashMap::from([(
            "type".to_string(),
            ["service", "network", "secret", "config", "node"]
                .map(String::from)
                .to_vec(),
        )]);
        let mut stream = docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        if tx.send(Trigger::Resubscribed).is_err() {
            return;
        }
        while let Some(item) = stream.next().await {
            match item {
                Ok(msg) => {
                    backoff = Duration::from_secs(1);
                    let trigger = Trigger::Event {
                        kind: msg.typ.map(|t| t.to_string()).unwrap_or_default(),
                        action: msg.action.unwrap_or_default(),
                        id: msg.actor.and_then(|a| a.id).unwrap_or_default(),
                    };
                    tracing::debug!(?trigger, "swarm event");
                    if tx.send(trigger).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Docker event stream failed; proxies keep their config");
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
