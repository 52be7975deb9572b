//! Certificate/key pairs the proxies' agents found broken, remembered by
//! secret names so the plan leaves out only the services that use them
//! (see [`crate::plan::BrokenTls`]). Docker secrets cannot change, so a pair
//! stays broken; it is forgotten once no service names it any more.

use std::collections::BTreeSet;

use crate::labels;
use crate::plan::BrokenTls;
use crate::serve::wire::{SECRETS_DIR, TlsProblem};
use crate::snapshot::Swarm;

#[derive(Default)]
pub(super) struct Quarantine {
    pub(super) broken: BrokenTls,
}

impl Quarantine {
    /// Take in what the agents reported (cluster, problem); each pair new
    /// here is logged once.
    pub(super) fn learn(&mut self, reported: Vec<(String, TlsProblem)>) {
        for (cluster, problem) in reported {
            let Some(cert) = secret_name(&problem.pair.cert) else {
                continue;
            };
            let key = match &problem.pair.key {
                Some(k) => match secret_name(k) {
                    Some(k) => Some(k),
                    None => continue,
                },
                None => None,
            };
            if let std::collections::btree_map::Entry::Vacant(slot) =
                self.broken.0.entry((cert, key))
            {
                let (cert, key) = slot.key();
                tracing::error!(cluster = %cluster, cert = ?cert, key = ?key, reason = ?problem.reason, "broken certificate/key pair: the services that use it are left out");
                slot.insert(problem.reason);
            }
        }
    }

    /// Forget the pairs no service of `swarm` names any more.
    pub(super) fn forget_unused(&mut self, swarm: &Swarm) {
        if self.broken.0.is_empty() {
            return;
        }
        let named: BTreeSet<(&str, Option<&str>)> = swarm
            .service_labels()
            .filter_map(|l| {
                let cert = l.get(labels::SSL_CERT)?.trim();
                Some((cert, l.get(labels::SSL_KEY).map(|k| k.trim())))
            })
            .collect();
        self.broken
            .0
            .retain(|(cert, key), _| named.contains(&(cert.as_str(), key.as_deref())));
    }
}

/// `/run/secrets/NAME` → NAME (an agent only checks files there).
fn secret_name(path: &str) -> Option<String> {
    sluice_wire::paths::name_in(SECRETS_DIR, path).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::wire::TlsPair;
    use serde_json::json;

    fn problem(cert: &str, key: Option<&str>) -> (String, TlsProblem) {
        (
            "east".into(),
            TlsProblem {
                pair: TlsPair {
                    cert: cert.into(),
                    key: key.map(str::to_owned),
                },
                reason: "mismatch".into(),
            },
        )
    }

    #[test]
    fn learns_pairs_by_secret_name_and_forgets_unused_ones() {
        let mut q = Quarantine::default();
        q.learn(vec![
            problem("/run/secrets/a.crt", Some("/run/secrets/a.key")),
            problem("/run/secrets/b.pem", None),
            // Not where secrets are mounted: not a secret's name.
            problem("/etc/x.crt", None),
            problem("/run/secrets/c.crt", Some("/tmp/c.key")),
        ]);
        let pairs: Vec<_> = q.broken.0.keys().cloned().collect();
        assert_eq!(
            pairs,
            [
                ("a.crt".to_owned(), Some("a.key".to_owned())),
                ("b.pem".to_owned(), None)
            ]
        );
        let snapshot: crate::snapshot::Snapshot = serde_json::from_value(json!({
            "services": [{"ID": "s1", "Spec": {"Name": "a", "Labels": {
                "com.docker.lb.ssl_cert": "a.crt", "com.docker.lb.ssl_key": "a.key"}}}],
        }))
        .unwrap();
        q.forget_unused(&Swarm::from_snapshot(snapshot));
        let pairs: Vec<_> = q.broken.0.keys().cloned().collect();
        assert_eq!(pairs, [("a.crt".to_owned(), Some("a.key".to_owned()))]);
    }
}
