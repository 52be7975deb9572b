//! The newest revision of every cluster and what each proxy replica reported.
//! A `watch` channel per cluster wakes every long-poll the moment a revision
//! is published; only the newest is kept, so a replica that missed some
//! revisions gets the newest.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::watch;

use super::wire::{AgentReport, ClusterStatus, ReplicaStatus, RevisionDoc, StatusDoc, now_ms};

/// Replicas not heard of for this long are dropped from the status (their
/// tasks are gone; a live agent polls at least every poll timeout).
const FORGET_REPLICA_MS: u64 = 10 * 60 * 1000;

/// A published revision, serialised once for every replica.
#[derive(Debug)]
pub struct Published {
    pub hash: String,
    pub body: Bytes,
    pub published_ms: u64,
}

type Slot = Option<Arc<Published>>;

#[derive(Default)]
struct Cluster {
    tx: Option<watch::Sender<Slot>>,
    replicas: BTreeMap<String, ReplicaStatus>,
}

impl Cluster {
    fn sender(&mut self) -> &watch::Sender<Slot> {
        self.tx.get_or_insert_with(|| watch::channel(None).0)
    }
}

#[derive(Default)]
pub struct Store {
    clusters: Mutex<BTreeMap<String, Cluster>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Make `doc` the cluster's newest revision. Returns false (and wakes
    /// nobody) when it already is.
    pub fn publish(&self, doc: &RevisionDoc) -> bool {
        let mut clusters = self.lock();
        let tx = clusters.entry(doc.cluster.clone()).or_default().sender();
        if tx.borrow().as_ref().is_some_and(|p| p.hash == doc.hash) {
            return false;
        }
        let body = serde_json::to_vec(doc).expect("a revision always serialises");
        tx.send_replace(Some(Arc::new(Published {
            hash: doc.hash.clone(),
            body: Bytes::from(body),
            published_ms: now_ms(),
        })));
        true
    }

    /// Hash of the cluster's newest revision.
    pub fn newest(&self, cluster: &str) -> Option<String> {
        let clusters = self.lock();
        let tx = clusters.get(cluster)?.tx.as_ref()?;
        tx.borrow().as_ref().map(|p| p.hash.clone())
    }

    /// Wait up to `timeout` for a revision of `cluster` whose hash is not
    /// `have`; None at timeout.
    pub async fn wait_newer(
        &self,
        cluster: &str,
        have: &str,
        timeout: Duration,
    ) -> Option<Arc<Published>> {
        let mut rx = self
            .lock()
            .entry(cluster.to_owned())
            .or_default()
            .sender()
            .subscribe();
        let newer = |slot: &Slot| slot.as_ref().is_some_and(|p| p.hash != have);
        match tokio::time::timeout(timeout, rx.wait_for(newer)).await {
            Ok(Ok(slot)) => slot.clone(),
            // Timeout, or the store is gone (daemon stopping).
            _ => None,
        }
    }

    /// A poll from `replica`, which serves `running` ("" for nothing): it is alive.
    pub fn seen(&self, cluster: &str, replica: &str, running: &str) {
        let mut clusters = self.lock();
        let r = clusters
            .entry(cluster.to_owned())
            .or_default()
            .replicas
            .entry(replica.to_owned())
            .or_default();
        r.running = Some(running.to_owned()).filter(|h| !h.is_empty());
        r.last_seen_ms = now_ms();
    }

    pub fn report(&self, cluster: &str, report: AgentReport) {
        let mut clusters = self.lock();
        let r = clusters
            .entry(cluster.to_owned())
            .or_default()
            .replicas
            .entry(report.replica)
            .or_default();
        r.running = report.running;
        r.failed = report.failed;
        r.reloads = report.reloads;
        r.last_seen_ms = now_ms();
    }

    /// Whether `cluster` has been published or polled (tokens of unknown
    /// clusters do not open `/v1/status`).
    pub fn knows(&self, cluster: &str) -> bool {
        self.lock().contains_key(cluster)
    }

    pub fn cluster_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn status(&self) -> StatusDoc {
        let now = now_ms();
        let mut clusters = self.lock();
        let mut doc = StatusDoc::default();
        for (name, c) in clusters.iter_mut() {
            c.replicas
                .retain(|_, r| now.saturating_sub(r.last_seen_ms) < FORGET_REPLICA_MS);
            let published = c.tx.as_ref().and_then(|tx| tx.borrow().clone());
            doc.clusters.insert(
                name.clone(),
                ClusterStatus {
                    revision: published.as_ref().map(|p| p.hash.clone()),
                    published_ms: published.as_ref().map(|p| p.published_ms),
                    replicas: c.replicas.clone(),
                },
            );
        }
        doc
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Cluster>> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.clusters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
