//! Swarm events as reconcile triggers.
//!
//! An event says what to read again (the service it names, or the list of
//! networks, nodes or secrets); what the round does with it does not depend
//! on why it came. A missed or duplicated event costs nothing but latency:
//! the periodic full read catches what events miss.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::follow::Reading;

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
    /// What to read again for this trigger.
    pub fn reading(&self) -> Reading {
        let mut r = Reading::default();
        match self {
            Trigger::Resubscribed => r.full = true,
            Trigger::Event { kind, id, .. } => match kind.as_str() {
                "service" if !id.is_empty() => {
                    r.services.insert(id.clone());
                }
                "network" => r.networks = true,
                // A node gone or back moves tasks, which sends no event.
                "node" => {
                    r.nodes = true;
                    r.tasks = true;
                }
                "secret" => r.secrets = true,
                // Config objects are the apply stage's (rolling delivery),
                // which reads them itself; anything else: read it all.
                "config" => {}
                _ => r.full = true,
            },
        }
        r
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, id: &str) -> Trigger {
        Trigger::Event {
            kind: kind.into(),
            action: "update".into(),
            id: id.into(),
        }
    }

    #[test]
    fn each_trigger_reads_what_it_names() {
        let service = event("service", "s1").reading();
        assert_eq!(service.services.iter().collect::<Vec<_>>(), ["s1"]);
        assert!(!service.full && !service.networks);
        assert!(event("network", "n").reading().networks);
        let node = event("node", "n").reading();
        assert!(node.nodes && node.tasks, "a node moves tasks");
        assert!(event("secret", "x").reading().secrets);
        assert!(event("config", "c").reading().is_empty());
        assert!(event("service", "").reading().full, "no ID: read it all");
        assert!(event("plugin", "p").reading().full);
        assert!(Trigger::Resubscribed.reading().full);
    }
}
