//! The newest revision of every cluster and what each proxy replica reported.
//! A `watch` channel per cluster wakes every long-poll the moment a revision
//! is published; only the newest is kept, so a replica that missed some
//! revisions gets the newest.

use crate::plan::view::Shown;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::watch;

use super::wire::{
    AcmeHostStatus, AgentReport, ClusterStatus, ReplicaStatus, RevisionDoc, StatusDoc, TlsPair,
    TlsProblem, now_ms,
};
use crate::metrics::Metrics;
use crate::trust::Signer;

/// Replicas not heard of for this long are dropped from the status (their
/// tasks are gone; a live agent polls at least every poll timeout).
const FORGET_REPLICA_MS: u64 = 10 * 60 * 1000;
/// How far past this daemon's clock an agent's sequence number may be.
const MAX_AHEAD_MS: u64 = 7 * 24 * 3600 * 1000;
/// Replicas kept per cluster: a caller that makes up replica names cannot
/// grow the daemon's memory; the longest unseen is forgotten first.
pub const MAX_REPLICAS: usize = 1024;

/// A published revision, serialised once for every replica.
#[derive(Debug)]
pub struct Published {
    pub hash: String,
    pub seq: u64,
    /// The revision without its server slots, for every agent.
    pub body: Bytes,
    /// The signature header's value over `body`.
    pub signature: String,
    /// With server slots: the revision with them, and its signature, for
    /// agents that ask for them (an older agent refuses the field).
    pub with_slots: Option<(Bytes, String)>,
    pub published_ms: u64,
    /// Made by [`Store::publish`] (so [`Store::raise_seq`] may number it
    /// again); false for what [`Store::publish_raw`] serves as it is.
    pub own: bool,
}

type Slot = Option<Arc<Published>>;

#[derive(Default)]
struct Cluster {
    tx: Option<watch::Sender<Slot>>,
    replicas: BTreeMap<String, ReplicaStatus>,
    /// The TLS pairs of every revision published for this cluster: an agent
    /// may report only those broken (never another cluster's).
    tls: std::collections::BTreeSet<TlsPair>,
    /// Per replica, the revision whose convergence latency was recorded
    /// (each replica and revision once; bounded as `replicas` is).
    measured: BTreeMap<String, String>,
    /// Per replica, when the daemon first heard of it: a replica born after
    /// a revision's publication did not converge to it, it started with it.
    first_seen: BTreeMap<String, u64>,
}

impl Cluster {
    fn sender(&mut self) -> &watch::Sender<Slot> {
        self.tx.get_or_insert_with(|| watch::channel(None).0)
    }
}

pub struct Store {
    clusters: Mutex<BTreeMap<String, Cluster>>,
    signer: Arc<Signer>,
    /// The last sequence number given out.
    seq: Mutex<u64>,
    /// Woken when an agent reports broken TLS pairs: the reconcile loop
    /// leaves their services out at once rather than at its next poll.
    tls_reported: tokio::sync::Notify,
    metrics: Arc<Metrics>,
    /// The last round's plan, for `/v2/status`.
    plan: Mutex<Option<Arc<Shown>>>,
    /// Where ACME certificates stand, asked at each status request.
    acme: Mutex<Option<AcmeSource>>,
}

/// The ACME hosts' status, from the ACME task (which lives above this).
pub type AcmeSource = Arc<dyn Fn() -> BTreeMap<String, AcmeHostStatus> + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// A store whose revisions `signer` signs.
    pub fn new(signer: Arc<Signer>) -> Store {
        Store::with_metrics(signer, Arc::new(Metrics::new()))
    }

    /// A store that records agents' reports into `metrics`.
    pub fn with_metrics(signer: Arc<Signer>, metrics: Arc<Metrics>) -> Store {
        Store {
            clusters: Mutex::default(),
            signer,
            seq: Mutex::new(0),
            tls_reported: tokio::sync::Notify::new(),
            metrics,
            plan: Mutex::default(),
            acme: Mutex::default(),
        }
    }

    /// Make `doc` the cluster's newest revision, with the next sequence
    /// number, signed. Returns false (and wakes nobody) when it already is.
    pub fn publish(&self, doc: &RevisionDoc) -> bool {
        let mut clusters = self.lock();
        let cluster = clusters.entry(doc.cluster.clone()).or_default();
        // Bounded by what this daemon rendered; kept while it runs.
        cluster.tls.extend(doc.tls.iter().cloned());
        let tx = cluster.sender();
        if tx.borrow().as_ref().is_some_and(|p| p.hash == doc.hash) {
            return false;
        }
        let now = now_ms();
        let seq = {
            let mut last = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            // The clock keeps sequences rising across daemon restarts; the
            // counter keeps them rising within one.
            *last = last.saturating_add(1).max(now);
            *last
        };
        tx.send_replace(Some(Arc::new(self.sealed(doc.clone(), seq, now))));
        self.metrics
            .revisions_published
            .get_or_create(&Metrics::cluster(&doc.cluster))
            .inc();
        true
    }

    /// `doc` numbered `seq`, serialised and signed (with and without its
    /// slots, when it has some).
    fn sealed(&self, mut doc: RevisionDoc, seq: u64, now: u64) -> Published {
        doc.seq = seq;
        let sign = |doc: &RevisionDoc| {
            let mut body = serde_json::to_vec(doc).expect("a revision always serialises");
            // The buffer grew by doubling; the body is kept until the next
            // revision (up to 4 MB of spare room at 10,000 services).
            body.shrink_to_fit();
            let signature = self.signer.sign(&body);
            (Bytes::from(body), signature)
        };
        let with_slots = doc.slots.is_some().then(|| sign(&doc));
        doc.slots = None;
        let (body, signature) = sign(&doc);
        Published {
            hash: doc.hash,
            seq,
            body,
            signature,
            with_slots,
            published_ms: now,
            own: true,
        }
    }

    /// An agent of `cluster` that has `have` accepted sequence number `seq`:
    /// numbers given out from now on are above it, and when the cluster's
    /// newest revision (which that agent lacks) is not above it, it is
    /// published again, same contents, with a new number. So a daemon whose
    /// clock is behind the one that numbered the agent's revision (another
    /// manager, a clock step) is never taken for a replay.
    pub fn raise_seq(&self, cluster: &str, seq: u64, have: &str) {
        // An agent's word, even an authenticated one, moves the counter at
        // most a week past this daemon's clock: a compromised agent cannot
        // push every cluster's numbering to the end of the range.
        if seq > now_ms().saturating_add(MAX_AHEAD_MS) {
            tracing::warn!(cluster = %cluster, seq, "an agent claims a sequence number far past this daemon's clock; ignored");
            return;
        }
        {
            let mut last = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            *last = (*last).max(seq);
        }
        let Some(newest) = self.newest_published(cluster) else {
            return;
        };
        if newest.seq > seq || newest.hash == have || !newest.own {
            return;
        }
        let full = newest.with_slots.as_ref().map_or(&newest.body, |(b, _)| b);
        let Ok(doc) = serde_json::from_slice::<RevisionDoc>(full) else {
            return;
        };
        tracing::info!(cluster = %cluster, behind = newest.seq, agent = seq, "an agent has seen a higher sequence number than this daemon's: numbering the newest revision again");
        let mut clusters = self.lock();
        let tx = clusters.entry(cluster.to_owned()).or_default().sender();
        // Still the same publication (none raced in)?
        if !tx
            .borrow()
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &newest))
        {
            return;
        }
        let now = now_ms();
        let next = {
            let mut last = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            *last = last.saturating_add(1).max(now);
            *last
        };
        tx.send_replace(Some(Arc::new(self.sealed(doc, next, now))));
    }

    /// Serve `published` to `cluster`'s agents as it is, body and signature
    /// unchecked: only for tests of what agents refuse (replays, forgeries).
    #[doc(hidden)]
    pub fn publish_raw(&self, cluster: &str, published: Published) {
        let mut clusters = self.lock();
        let tx = clusters.entry(cluster.to_owned()).or_default().sender();
        tx.send_replace(Some(Arc::new(Published {
            own: false,
            ..published
        })));
    }

    /// The cluster's newest publication.
    pub fn newest_published(&self, cluster: &str) -> Option<Arc<Published>> {
        let clusters = self.lock();
        let tx = clusters.get(cluster)?.tx.as_ref()?;
        tx.borrow().clone()
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
        let entry = clusters.entry(cluster.to_owned()).or_default();
        born(entry, replica);
        let r = replica_entry(entry, replica);
        r.running = Some(running.to_owned()).filter(|h| !h.is_empty());
        r.last_seen_ms = now_ms();
        forget_gone(entry);
    }

    pub fn report(&self, cluster: &str, report: AgentReport) {
        let label = Metrics::cluster(cluster);
        self.metrics.agent_reports.get_or_create(&label).inc();
        let mut clusters = self.lock();
        let entry = clusters.entry(cluster.to_owned()).or_default();
        born(entry, &report.replica);
        // A replica that now runs the newest revision, and was there before
        // it was published: the time since is the real convergence latency.
        let newest = entry.tx.as_ref().and_then(|tx| tx.borrow().clone());
        if let (Some(p), Some(running)) = (&newest, &report.running)
            && *running == p.hash
            && entry.measured.get(&report.replica) != Some(running)
        {
            entry
                .measured
                .insert(report.replica.clone(), running.clone());
            if entry.first_seen.get(&report.replica).copied() < Some(p.published_ms) {
                let seconds = now_ms().saturating_sub(p.published_ms) as f64 / 1000.0;
                self.metrics
                    .publish_to_applied
                    .get_or_create(&label)
                    .observe(seconds);
            }
        }
        let mut bad_tls = report.bad_tls;
        bad_tls.retain(|p| entry.tls.contains(&p.pair));
        let r = replica_entry(entry, &report.replica);
        r.running = report.running;
        r.failed = report.failed;
        r.reloads = report.reloads;
        r.runtime_updates = report.runtime_updates;
        r.last_seen_ms = now_ms();
        let broken = !bad_tls.is_empty();
        r.bad_tls = bad_tls;
        forget_gone(entry);
        drop(clusters);
        if broken {
            self.tls_reported.notify_one();
        }
    }

    /// Every broken TLS pair the replicas last reported, by cluster.
    pub fn tls_problems(&self) -> Vec<(String, TlsProblem)> {
        let clusters = self.lock();
        clusters
            .iter()
            .flat_map(|(name, c)| {
                c.replicas
                    .values()
                    .flat_map(move |r| r.bad_tls.iter().map(move |p| (name.clone(), p.clone())))
            })
            .collect()
    }

    /// Completes when an agent has reported broken TLS pairs (since the
    /// last call, or from now).
    pub async fn tls_reported(&self) {
        self.tls_reported.notified().await
    }

    /// Whether `cluster` has been published or polled (tokens of unknown
    /// clusters do not open `/v2/status`).
    pub fn knows(&self, cluster: &str) -> bool {
        self.lock().contains_key(cluster)
    }

    pub fn cluster_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The last round's plan, as `/v2/status` shows it.
    pub fn set_plan(&self, plan: Arc<Shown>) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = Some(plan);
    }

    /// Show ACME hosts' status from `source` in the full status.
    pub fn show_acme(&self, source: AcmeSource) {
        *self.acme.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// Every cluster's status, or only `only`'s (with the plan's view: all
    /// of it, or only that cluster's part; ACME hosts in the full view).
    pub fn status_with_plan(&self, only: Option<&str>) -> StatusDoc {
        let mut doc = self.status(only);
        let plan = self.plan.lock().unwrap_or_else(|e| e.into_inner()).clone();
        doc.plan = plan.map(|p| serde_json::to_value(p.view(only)).expect("the view serialises"));
        if only.is_none() {
            let acme = self.acme.lock().unwrap_or_else(|e| e.into_inner()).clone();
            doc.acme = acme.map(|source| source()).unwrap_or_default();
        }
        doc
    }

    /// True when `cluster`'s proxy replicas heard from lately (within two
    /// poll timeouts: a live agent polls at least once per timeout) all
    /// serve `hash`, and there is at least one.
    pub fn serving(&self, cluster: &str, hash: &str) -> bool {
        let recent = now_ms().saturating_sub(2 * super::POLL_TIMEOUT.as_millis() as u64);
        let clusters = self.lock();
        let Some(c) = clusters.get(cluster) else {
            return false;
        };
        let mut live = c
            .replicas
            .values()
            .filter(|r| r.last_seen_ms >= recent)
            .peekable();
        live.peek().is_some() && live.all(|r| r.running.as_deref() == Some(hash))
    }

    /// Every cluster's status, or only `only`'s.
    pub fn status(&self, only: Option<&str>) -> StatusDoc {
        let now = now_ms();
        let mut clusters = self.lock();
        let mut doc = StatusDoc::default();
        for (name, c) in clusters.iter_mut() {
            if only.is_some_and(|o| o != name) {
                continue;
            }
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

/// `replica`'s entry, making room when the cluster has [`MAX_REPLICAS`].
/// Note when `replica` was first heard of.
fn born(cluster: &mut Cluster, replica: &str) {
    if !cluster.first_seen.contains_key(replica) {
        cluster.first_seen.insert(replica.to_owned(), now_ms());
    }
}

/// Keep the per-replica bookkeeping to the replicas kept (after
/// [`replica_entry`] made room, so a newcomer is not forgotten at once).
fn forget_gone(cluster: &mut Cluster) {
    if cluster.first_seen.len() > MAX_REPLICAS || cluster.measured.len() > MAX_REPLICAS {
        let Cluster {
            measured,
            first_seen,
            replicas,
            ..
        } = cluster;
        measured.retain(|name, _| replicas.contains_key(name));
        first_seen.retain(|name, _| replicas.contains_key(name));
    }
}

fn replica_entry<'a>(cluster: &'a mut Cluster, replica: &str) -> &'a mut ReplicaStatus {
    let replicas = &mut cluster.replicas;
    if !replicas.contains_key(replica) && replicas.len() >= MAX_REPLICAS {
        let oldest = replicas
            .iter()
            .min_by_key(|(_, r)| r.last_seen_ms)
            .map(|(name, _)| name.clone());
        if let Some(oldest) = oldest {
            replicas.remove(&oldest);
        }
    }
    replicas.entry(replica.to_owned()).or_default()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
