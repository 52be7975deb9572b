//! The Swarm as the daemon last read it, kept up to date by reading only
//! what changed: the services an event named (with their tasks), the list
//! of networks, nodes or secrets whose event came, and everything now and
//! then (at start, after the event stream broke, every `PollInterval`), so
//! whatever an event missed is caught. A service whose read gave what the
//! daemon already had keeps its `Arc`, so the planner skips it.

use std::collections::BTreeSet;

use super::fetch::{self, FetchError};
use super::raw::RawClient;
use crate::snapshot::Swarm;

/// What a round reads before it plans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Everything (the other fields are then implied).
    pub full: bool,
    /// Services (by ID) to read again, with their tasks.
    pub services: BTreeSet<String>,
    /// Every service's running tasks (a node went away or came back;
    /// the daemon just started and services may still be converging).
    pub tasks: bool,
    pub networks: bool,
    pub nodes: bool,
    pub secrets: bool,
}

impl Reading {
    pub fn full() -> Reading {
        Reading {
            full: true,
            ..Reading::default()
        }
    }

    /// Nothing to read (the round plans what it has: a config reload, a
    /// broken TLS pair reported).
    pub fn is_empty(&self) -> bool {
        !self.full
            && !self.tasks
            && self.services.is_empty()
            && !self.networks
            && !self.nodes
            && !self.secrets
    }

    /// Both readings' worth.
    pub fn merge(&mut self, other: Reading) {
        self.full |= other.full;
        self.services.extend(other.services);
        self.tasks |= other.tasks;
        self.networks |= other.networks;
        self.nodes |= other.nodes;
        self.secrets |= other.secrets;
    }
}

#[derive(Default)]
pub struct Follower {
    swarm: Swarm,
    /// Whether a full read ever succeeded: until then every round is one.
    read: bool,
}

impl Follower {
    pub fn swarm(&self) -> &Swarm {
        &self.swarm
    }

    /// Read what `reading` asks; on an error the state is as it was before
    /// the part that failed. A partial read that fails is tried as a full
    /// one.
    pub async fn read(&mut self, raw: &RawClient, reading: &Reading) -> Result<(), FetchError> {
        if reading.full || !self.read {
            return self.read_all(raw).await;
        }
        let ids: Vec<String> = reading.services.iter().cloned().collect();
        let (services, tasks, networks, nodes, secrets) = tokio::join!(
            fetch::services(raw, &ids),
            maybe(reading.tasks, fetch::running_tasks(raw)),
            maybe(reading.networks, fetch::networks(raw)),
            maybe(reading.nodes, fetch::nodes(raw)),
            maybe(reading.secrets, fetch::secrets(raw)),
        );
        let read = (|| Ok::<_, FetchError>((services?, tasks?, networks?, nodes?, secrets?)))();
        let (services, tasks, networks, nodes, secrets) = match read {
            Ok(parts) => parts,
            Err(e) => {
                tracing::debug!(error = %e, "partial read failed; reading everything");
                return self.read_all(raw).await;
            }
        };
        if let Some(tasks) = tasks {
            self.swarm.set_tasks(tasks);
        }
        // After the task list: a service read now brings its own tasks.
        for (id, observed) in services {
            self.swarm.set_service(&id, observed);
        }
        if let Some(n) = networks {
            self.swarm.set_networks(n);
        }
        if let Some(n) = nodes {
            self.swarm.set_nodes(n);
        }
        if let Some(s) = secrets {
            self.swarm.set_secrets(s);
        }
        Ok(())
    }

    async fn read_all(&mut self, raw: &RawClient) -> Result<(), FetchError> {
        let fresh = fetch::swarm(raw).await?;
        self.swarm.refresh(fresh);
        self.read = true;
        Ok(())
    }
}

async fn maybe<T>(
    wanted: bool,
    read: impl std::future::Future<Output = Result<T, super::raw::RawError>>,
) -> Result<Option<T>, FetchError> {
    if wanted {
        Ok(Some(read.await?))
    } else {
        Ok(None)
    }
}
