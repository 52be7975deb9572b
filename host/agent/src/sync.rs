//! The agent's two conversations with the daemon, each a task: fetching
//! revisions (long-poll) and sending reports. Both keep only the newest item
//! in a `watch` channel, so a slow apply or an absent daemon coalesces
//! everything in between; both retry with backoff while the daemon is away.
//!
//! Every revision is checked before anything reads it: the signature over
//! the exact bytes, then its cluster and its sequence number (above every
//! one accepted before). What fails is refused and reported, the proxy keeps
//! serving, and the fetcher backs off before it asks again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::client::{DaemonClient, SignedAnswer};
use sluice_wire::docs::{AgentReport, RevisionDoc};
use sluice_wire::signing::Verifier;

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// While the daemon cannot be reached at all (restarting, rescheduled): a
/// refused connection costs it nothing, and a route created meanwhile must
/// go live within a second of its return.
const AWAY_BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Between answers refused in a row: whoever sends them may be an impostor
/// or a broken daemon, and the next genuine revision must still arrive soon.
const REFUSED_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// The wait the agent asks for; the daemon caps it at its own timeout.
const POLL_WAIT: Duration = Duration::from_secs(30);

/// Status codes after which retrying cannot help.
fn fatal(status: Option<u16>) -> bool {
    matches!(status, Some(401 | 403 | 404))
}

/// What the fetcher hands the agent: a verified revision, or why an answer
/// was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    Revision(RevisionDoc),
    Refused { revision: String, reason: String },
}

/// Checks answers: signature, cluster, sequence.
pub struct Gate {
    verifier: Verifier,
    cluster: String,
    /// The highest sequence number accepted so far.
    last_seq: u64,
}

impl Gate {
    pub fn new(verifier: Verifier, cluster: &str) -> Gate {
        Gate {
            verifier,
            cluster: cluster.to_owned(),
            last_seq: 0,
        }
    }

    /// The revision in `answer`, if it is signed by a trusted key, for this
    /// cluster, and newer than everything accepted before.
    pub fn check(&mut self, answer: &SignedAnswer) -> Result<RevisionDoc, String> {
        self.verifier
            .verify(answer.signature.as_deref(), &answer.body)
            .map_err(|e| e.to_string())?;
        let doc: RevisionDoc = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("the signed revision does not parse: {e}"))?;
        if doc.cluster != self.cluster {
            return Err(format!(
                "the revision is for cluster {:?}, not {:?}",
                doc.cluster, self.cluster
            ));
        }
        if doc.seq <= self.last_seq {
            return Err(format!(
                "the revision's sequence number {} is not above {} (already accepted): an old revision replayed",
                doc.seq, self.last_seq
            ));
        }
        self.last_seq = doc.seq;
        Ok(doc)
    }
}

/// Long-poll forever, publishing each new revision (or refusal) into
/// `newest`. `running` is what the proxy serves (sent along for
/// `/v2/status`). Returns only on a refusal that retrying cannot fix (bad
/// token or certificate).
pub async fn fetch(
    client: Arc<DaemonClient>,
    mut gate: Gate,
    replica: String,
    newest: watch::Sender<Option<Fetched>>,
    running: watch::Receiver<Option<String>>,
) -> String {
    let cluster = gate.cluster.clone();
    let mut have = String::new();
    let mut backoff = BACKOFF_MIN;
    let mut away_since: Option<std::time::Instant> = None;
    loop {
        let serving = running.borrow().clone();
        match client
            .poll_after(
                &cluster,
                &have,
                gate.last_seq,
                &replica,
                serving.as_deref(),
                POLL_WAIT,
            )
            .await
        {
            Ok(found) => {
                if let Some(since) = away_since.take() {
                    tracing::info!(after = ?since.elapsed(), "daemon reachable again");
                }
                let Some(answer) = found else {
                    backoff = BACKOFF_MIN;
                    continue;
                };
                match gate.check(&answer) {
                    Ok(doc) => {
                        backoff = BACKOFF_MIN;
                        have = doc.hash.clone();
                        newest.send_replace(Some(Fetched::Revision(doc)));
                    }
                    Err(reason) => {
                        newest.send_replace(Some(Fetched::Refused {
                            revision: claimed_hash(&answer),
                            reason,
                        }));
                        // Whoever answered may answer the same at once.
                        tokio::time::sleep(backoff.min(REFUSED_BACKOFF_MAX)).await;
                        backoff = (backoff * 2).min(REFUSED_BACKOFF_MAX);
                    }
                }
            }
            Err(e) if fatal(e.status()) => return e.to_string(),
            Err(e) => {
                if away_since.is_none() {
                    tracing::warn!("{e}; the proxy keeps serving, retrying");
                    away_since = Some(std::time::Instant::now());
                }
                // No HTTP status: nothing answered. A status: a daemon that
                // answers but fails, which backing off further spares.
                let cap = if e.status().is_none() {
                    AWAY_BACKOFF_MAX
                } else {
                    BACKOFF_MAX
                };
                tokio::time::sleep(backoff.min(cap)).await;
                backoff = (backoff * 2).min(cap);
            }
        }
    }
}

/// The hash an unverified answer claims, for the report: hex digits only
/// (whoever answered chose it), "unverified" when there is none.
fn claimed_hash(answer: &SignedAnswer) -> String {
    #[derive(serde::Deserialize)]
    struct Claim {
        hash: String,
    }
    let hash: String = serde_json::from_slice::<Claim>(&answer.body)
        .map(|c| c.hash)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    if hash.is_empty() {
        "unverified".to_owned()
    } else {
        hash
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

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_wire::docs::FileDoc;
    use sluice_wire::signing::Signer;

    fn answer(signer: &Signer, cluster: &str, seq: u64) -> SignedAnswer {
        let doc = RevisionDoc {
            cluster: cluster.into(),
            hash: format!("h{seq}"),
            seq,
            files: vec![FileDoc {
                path: "/etc/nginx/nginx.conf".into(),
                contents: "events {}".into(),
            }],
            tls: Vec::new(),
            slots: None,
        };
        let body = serde_json::to_vec(&doc).unwrap();
        SignedAnswer {
            signature: Some(signer.sign(&body)),
            body: body.into(),
        }
    }

    #[test]
    fn the_gate_takes_only_signed_newer_revisions_of_its_cluster() {
        let daemon = Signer::from_seed(&[1; 32]);
        let impostor = Signer::from_seed(&[2; 32]);
        let mut gate = Gate::new(Verifier::new(vec![daemon.public_key()]), "east");
        let unsigned = SignedAnswer {
            signature: None,
            ..answer(&daemon, "east", 20)
        };
        let mut altered = answer(&daemon, "east", 20);
        altered.body = String::from_utf8(altered.body.to_vec())
            .unwrap()
            .replace("events {}", "events {} include /etc/shadow;")
            .into_bytes()
            .into();
        // (answer, accepted, reason contains)
        let table: [(SignedAnswer, bool, &str); 7] = [
            (answer(&daemon, "east", 10), true, ""),
            (answer(&daemon, "east", 10), false, "not above 10"),
            (answer(&daemon, "east", 5), false, "replayed"),
            (unsigned, false, "unsigned"),
            (altered, false, "forged"),
            (answer(&impostor, "east", 30), false, "does not trust"),
            (answer(&daemon, "west", 40), false, "cluster \"west\""),
        ];
        for (i, (a, ok, why)) in table.into_iter().enumerate() {
            match gate.check(&a) {
                Ok(doc) => assert!(ok, "case {i}: accepted {}", doc.hash),
                Err(e) => assert!(!ok && e.contains(why), "case {i}: {e}"),
            }
        }
        // Still takes what is genuinely newer.
        assert_eq!(gate.check(&answer(&daemon, "east", 11)).unwrap().seq, 11);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Whatever arrives, the gate answers (no panic) and takes nothing a
        /// trusted key did not sign.
        #[test]
        fn the_gate_never_takes_unsigned_bytes(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            header in proptest::option::of(".{0,120}"),
            json_seq in proptest::prelude::any::<u64>(),
        ) {
            let daemon = Signer::from_seed(&[1; 32]);
            let mut gate = Gate::new(Verifier::new(vec![daemon.public_key()]), "east");
            let random = SignedAnswer { body: body.into(), signature: header.clone() };
            proptest::prop_assert!(gate.check(&random).is_err());
            let _ = claimed_hash(&random);
            // A well-formed revision with a made-up header: refused too.
            let doc = serde_json::to_vec(&serde_json::json!({
                "cluster": "east", "hash": "h", "seq": json_seq, "files": []
            })).unwrap();
            let unsigned = SignedAnswer { body: doc.into(), signature: header };
            proptest::prop_assert!(gate.check(&unsigned).is_err());
        }

        /// Signed bytes that are not a revision are refused, not a panic.
        #[test]
        fn signed_junk_is_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let daemon = Signer::from_seed(&[1; 32]);
            let mut gate = Gate::new(Verifier::new(vec![daemon.public_key()]), "east");
            let answer = SignedAnswer { signature: Some(daemon.sign(&body)), body: body.into() };
            if let Ok(doc) = gate.check(&answer) {
                proptest::prop_assert_eq!(doc.cluster.as_str(), "east");
            }
        }
    }

    #[test]
    fn refusals_name_only_hex_from_the_answer() {
        let a = SignedAnswer {
            body: br#"{"hash":"abc\u001b[31mdef; rm -rf /"}"#.to_vec().into(),
            signature: None,
        };
        assert_eq!(claimed_hash(&a), "abc31deff");
        let junk = SignedAnswer {
            body: b"not json".to_vec().into(),
            signature: None,
        };
        assert_eq!(claimed_hash(&junk), "unverified");
    }
}
