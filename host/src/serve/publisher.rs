//! Drives a [`Pacer`] per cluster: the reconcile loop offers every render,
//! the store gets what the pacers let through, when they let it through.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::pacer::Pacer;
use super::store::Store;
use super::wire::RevisionDoc;

/// Handle to the publishing task; it ends when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Message>,
}

/// A reconcile round in progress (see [`Publisher::round_running`]).
#[derive(Debug)]
pub struct RoundRunning(mpsc::UnboundedSender<Message>);

impl Drop for RoundRunning {
    fn drop(&mut self) {
        let _ = self.0.send(Message::Round(false));
    }
}

#[derive(Debug)]
enum Message {
    Offer(RevisionDoc),
    /// A reconcile round started (`true`) or ended.
    Round(bool),
}

impl Publisher {
    /// Start the task (needs a Tokio runtime).
    pub fn spawn(store: Arc<Store>) -> Publisher {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(store, rx));
        Publisher { tx }
    }

    /// A fresh render of `doc.cluster`; published now, later, or (when
    /// superseded before its turn) never.
    pub fn offer(&self, doc: RevisionDoc) {
        // Only fails when the task is gone, i.e. the runtime stops.
        let _ = self.tx.send(Message::Offer(doc));
    }

    /// A reconcile round starts; it ends when the guard is dropped. No
    /// held revision goes out for quiet meanwhile (see [`Pacer`]).
    pub fn round_running(&self) -> RoundRunning {
        let _ = self.tx.send(Message::Round(true));
        RoundRunning(self.tx.clone())
    }
}

async fn drive(store: Arc<Store>, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut pacers: BTreeMap<String, Pacer<RevisionDoc>> = BTreeMap::new();
    let mut busy = false;
    loop {
        let next = pacers.values().filter_map(Pacer::due).min();
        let wake = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = rx.recv() => match message {
                None => return,
                Some(Message::Offer(doc)) => {
                    let hash = doc.hash.clone();
                    let pacer = pacers.entry(doc.cluster.clone()).or_insert_with(|| {
                        let mut pacer = Pacer::default();
                        pacer.round(Instant::now().into_std(), busy);
                        pacer
                    });
                    if let Some(doc) = pacer.offer(Instant::now().into_std(), &hash, doc) {
                        publish(&store, &doc);
                    }
                }
                Some(Message::Round(running)) => {
                    busy = running;
                    let now = Instant::now().into_std();
                    for pacer in pacers.values_mut() {
                        pacer.round(now, running);
                    }
                }
            },
            _ = wake => {
                let now = Instant::now().into_std();
                for pacer in pacers.values_mut() {
                    if let Some(doc) = pacer.take_due(now) {
                        publish(&store, &doc);
                    }
                }
            }
        }
    }
}

fn publish(store: &Store, doc: &RevisionDoc) {
    if store.publish(doc) {
        tracing::info!(cluster = %doc.cluster, revision = %&doc.hash[..doc.hash.len().min(12)], "revision published to the proxy agents");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::trust::Signer;

    fn doc(cluster: &str, hash: &str) -> RevisionDoc {
        RevisionDoc {
            cluster: cluster.into(),
            hash: hash.into(),
            seq: 0,
            files: vec![],
            tls: Vec::new(),
            slots: None,
        }
    }

    /// What an agent of `cluster` would apply: every revision it receives.
    fn agent(store: Arc<Store>, cluster: &'static str) -> tokio::task::JoinHandle<Vec<String>> {
        tokio::spawn(async move {
            let (mut have, mut applied) = (String::new(), Vec::new());
            while let Some(p) = store
                .wait_newer(cluster, &have, Duration::from_secs(2))
                .await
            {
                have = p.hash.clone();
                applied.push(have.clone());
            }
            applied
        })
    }

    // Tokio's paused clock: the pacing windows are exact whatever the
    // machine is doing (the real clock made this a race on a busy host).
    #[tokio::test(start_paused = true)]
    async fn a_burst_is_at_most_two_reloads_and_none_elsewhere() {
        let store = Arc::new(Store::new(Arc::new(Signer::from_seed(&[5; 32]))));
        let publisher = Publisher::spawn(store.clone());
        publisher.offer(doc("west", "w0"));
        let (east, west) = (agent(store.clone(), "east"), agent(store.clone(), "west"));
        // 100 label changes within a second: each round renders east anew,
        // west the same as before.
        for i in 0..100 {
            publisher.offer(doc("east", &format!("e{i}")));
            publisher.offer(doc("west", "w0"));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let east = east.await.unwrap();
        assert!(
            east.len() <= 2,
            "east reloaded {} times: {east:?}",
            east.len()
        );
        assert_eq!(east.last().map(String::as_str), Some("e99"));
        assert_eq!(west.await.unwrap(), ["w0"]);
    }
}
