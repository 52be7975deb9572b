use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::serve::wire::FileDoc;
use crate::trust::{Signer, Verifier};

fn doc(cluster: &str, hash: &str) -> RevisionDoc {
    RevisionDoc {
        cluster: cluster.into(),
        hash: hash.into(),
        seq: 0,
        files: vec![FileDoc {
            path: "/etc/p.conf".into(),
            contents: hash.into(),
        }],
        tls: Vec::new(),
        slots: None,
    }
}

fn signer() -> Arc<Signer> {
    Arc::new(Signer::from_seed(&[3; 32]))
}

impl Store {
    fn test() -> Store {
        Store::new(signer())
    }
}

#[test]
fn publications_are_signed_with_rising_sequence_numbers() {
    let store = Store::test();
    let verifier = Verifier::new(vec![signer().public_key()]);
    let mut last = 0;
    for hash in ["a", "b", "c", "d"] {
        store.publish(&doc("east", hash));
        let p = store.newest_published("east").unwrap();
        verifier.verify(Some(&p.signature), &p.body).unwrap();
        let sent: RevisionDoc = serde_json::from_slice(&p.body).unwrap();
        assert_eq!((sent.seq, sent.hash.as_str()), (p.seq, hash));
        assert!(p.seq > last, "{} after {last}", p.seq);
        // At least the publication time: a restarted daemon still goes up.
        assert!(p.seq >= p.published_ms);
        last = p.seq;
    }
}

#[test]
fn replicas_per_cluster_are_bounded() {
    let store = Store::test();
    for i in 0..MAX_REPLICAS + 50 {
        store.seen("east", &format!("made-up-{i}"), "");
    }
    let status = store.status(None);
    assert_eq!(status.clusters["east"].replicas.len(), MAX_REPLICAS);
}

#[tokio::test]
async fn publish_is_idempotent_per_hash() {
    let store = Store::test();
    assert!(store.publish(&doc("east", "a")));
    assert!(!store.publish(&doc("east", "a")));
    assert!(store.publish(&doc("east", "b")));
    assert_eq!(store.newest("east").as_deref(), Some("b"));
    assert_eq!(store.newest("west"), None);
}

#[tokio::test]
async fn wait_returns_at_once_when_the_newest_differs() {
    let store = Store::test();
    store.publish(&doc("east", "a"));
    store.publish(&doc("east", "b"));
    // A replica that missed "b" (or runs nothing) gets the newest at once.
    for have in ["", "a", "stale"] {
        let got = store.wait_newer("east", have, Duration::from_secs(5)).await;
        assert_eq!(
            got.map(|p| p.hash.clone()).as_deref(),
            Some("b"),
            "{have:?}"
        );
    }
}

#[tokio::test]
async fn wait_times_out_when_up_to_date() {
    let store = Store::test();
    store.publish(&doc("east", "a"));
    let started = Instant::now();
    assert!(
        store
            .wait_newer("east", "a", Duration::from_millis(200))
            .await
            .is_none()
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn publish_wakes_waiters_of_that_cluster_only() {
    let store = Arc::new(Store::test());
    store.publish(&doc("east", "a"));
    let waiter = |cluster: &'static str, have: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let got = store
                .wait_newer(cluster, have, Duration::from_millis(1500))
                .await;
            (got.map(|p| p.hash.clone()), started.elapsed())
        })
    };
    let (east, west) = (waiter("east", "a"), waiter("west", ""));
    tokio::time::sleep(Duration::from_millis(100)).await;
    store.publish(&doc("east", "b"));
    let (got, took) = east.await.unwrap();
    assert_eq!(got.as_deref(), Some("b"));
    assert!(took < Duration::from_millis(500), "woken after {took:?}");
    let (got, took) = west.await.unwrap();
    assert_eq!(got, None);
    assert!(took >= Duration::from_millis(1500));
}

#[test]
fn status_has_the_newest_revision_and_each_replica() {
    let store = Store::test();
    store.publish(&doc("east", "a"));
    store.seen("east", "proxy.1", "a");
    store.report(
        "east",
        AgentReport {
            replica: "proxy.2".into(),
            running: Some("a".into()),
            failed: Some(crate::serve::wire::Failure {
                revision: "b".into(),
                message: "nginx: [emerg] ...".into(),
            }),
            time_ms: 1,
            reloads: 3,
            runtime_updates: 2,
            bad_tls: Vec::new(),
        },
    );
    let status = store.status(None);
    let east = &status.clusters["east"];
    assert_eq!(east.revision.as_deref(), Some("a"));
    assert_eq!(east.replicas["proxy.1"].running.as_deref(), Some("a"));
    assert_eq!(east.replicas["proxy.1"].failed, None);
    assert_eq!(
        east.replicas["proxy.2"].failed.as_ref().unwrap().revision,
        "b"
    );
    assert!(east.replicas["proxy.2"].last_seen_ms > 0);
    assert_eq!(east.replicas["proxy.2"].reloads, 3);
    assert_eq!(east.replicas["proxy.2"].runtime_updates, 2);
    // A poll says the replica is alive; it does not reset what it reported.
    store.seen("east", "proxy.2", "a");
    assert_eq!(
        store.status(None).clusters["east"].replicas["proxy.2"].reloads,
        3
    );
}

#[test]
fn a_daemon_behind_an_agents_sequence_renumbers_its_newest() {
    let store = Store::test();
    store.publish(&doc("east", "a"));
    let first = store.newest_published("east").unwrap();
    // An agent that accepted a far higher number (from a daemon whose clock
    // ran ahead) and serves something else.
    let agents = first.seq + 1_000_000;
    store.raise_seq("east", agents, "older");
    let again = store.newest_published("east").unwrap();
    assert_eq!(again.hash, "a");
    assert!(again.seq > agents, "{} after {agents}", again.seq);
    let verifier = Verifier::new(vec![signer().public_key()]);
    verifier
        .verify(Some(&again.signature), &again.body)
        .unwrap();
    let sent: RevisionDoc = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(sent.seq, again.seq);
    // An agent that has the newest: nothing is renumbered.
    store.raise_seq("east", again.seq + 5, "a");
    assert_eq!(store.newest_published("east").unwrap().seq, again.seq);
    // Later publications are above everything seen.
    store.publish(&doc("east", "b"));
    let b = store.newest_published("east").unwrap().seq;
    assert!(b > again.seq + 5);
    // Not past a week ahead of the clock, whoever asks.
    store.raise_seq("east", u64::MAX, "older");
    store.publish(&doc("east", "c"));
    let c = store.newest_published("east").unwrap().seq;
    assert!(c > b && c < u64::MAX / 2, "{c}");
}

#[test]
fn agents_report_broken_pairs_of_their_own_cluster_only() {
    let store = Store::new(signer());
    let pair = |cert: &str| crate::serve::wire::TlsPair {
        cert: format!("/run/secrets/{cert}"),
        key: None,
    };
    let mut east = doc("east", "e1");
    east.tls = vec![pair("east.pem")];
    let mut west = doc("west", "w1");
    west.tls = vec![pair("west.pem")];
    store.publish(&east);
    store.publish(&west);
    let problem = |cert: &str| crate::serve::wire::TlsProblem {
        pair: pair(cert),
        reason: "mismatch".into(),
    };
    // An east agent names its own pair and west's: only its own counts.
    store.report(
        "east",
        AgentReport {
            replica: "proxy.1".into(),
            running: None,
            failed: None,
            time_ms: 0,
            reloads: 0,
            runtime_updates: 0,
            bad_tls: vec![
                problem("east.pem"),
                problem("west.pem"),
                problem("never.pem"),
            ],
        },
    );
    let reported: Vec<(String, String)> = store
        .tls_problems()
        .into_iter()
        .map(|(c, p)| (c, p.pair.cert))
        .collect();
    assert_eq!(
        reported,
        [("east".to_string(), "/run/secrets/east.pem".to_string())]
    );
}

/// Convergence is measured for replicas that were there when the revision
/// was published, once per replica and revision; a replica started later
/// (a scale-up, a reschedule) began with it and is not counted.
#[test]
fn convergence_counts_replicas_that_were_there_before_the_publication() {
    let metrics = Arc::new(Metrics::new());
    let store = Store::with_metrics(signer(), metrics.clone());
    let report = |replica: &str, running: &str| AgentReport {
        replica: replica.into(),
        running: Some(running.into()),
        failed: None,
        time_ms: 1,
        reloads: 0,
        runtime_updates: 0,
        bad_tls: Vec::new(),
    };
    store.seen("east", "old", "");
    std::thread::sleep(Duration::from_millis(5));
    store.publish(&doc("east", "r1"));
    store.report("east", report("old", "r1"));
    store.report("east", report("old", "r1"));
    std::thread::sleep(Duration::from_millis(5));
    store.report("east", report("new", "r1"));
    let count = |m: &Metrics| {
        let text = m.encode();
        text.lines()
            .find(|l| l.starts_with("sluice_publish_to_applied_seconds_count{cluster=\"east\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(count(&metrics), 1, "{}", metrics.encode());
}

/// ACME orders wait for this: every live replica serves the revision with
/// the challenge route. No replica, or one still on another revision, is
/// not serving.
#[test]
fn serving_needs_every_replica_on_the_revision() {
    let store = Store::with_metrics(signer(), Arc::new(Metrics::new()));
    assert!(!store.serving("east", "r2"), "no replica yet");
    store.seen("east", "a", "r1");
    store.seen("east", "b", "r2");
    assert!(!store.serving("east", "r2"), "replica a is on r1");
    store.seen("east", "a", "r2");
    assert!(store.serving("east", "r2"));
    assert!(!store.serving("west", "r2"), "another cluster's replicas");
    store.seen("east", "c", "");
    assert!(!store.serving("east", "r2"), "replica c serves nothing yet");
}
