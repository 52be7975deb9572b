//! The daemon's side of hitless delivery: where agents reach the API, their
//! per-cluster tokens, and publishing each cluster's renders (paced).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::apply::AgentAccess;
use crate::config::Config;
use crate::plan::ClusterPlan;
use crate::render::Revision;
use crate::serve::wire::{
    FileDoc, RevisionDoc, SlotDoc, SlotServer, SlotsDoc, TlsPair, TlsProblem,
};
use crate::serve::{Keyring, Publisher, Store};
use crate::trust::certs::CertError;

pub(super) struct Agents {
    publisher: Publisher,
    store: Arc<Store>,
    keys: Arc<Keyring>,
    endpoint: String,
    /// Per cluster, the hash offered last. The pacer holds or has published
    /// it, so offering it again would change nothing; not building its
    /// document again saves copying every file each round (megabytes at
    /// 10,000 services, four times a second while tasks converge).
    offered: Mutex<HashMap<String, String>>,
}

impl Agents {
    pub(super) fn new(store: Arc<Store>, keys: Arc<Keyring>, endpoint: String) -> Agents {
        Agents {
            publisher: Publisher::spawn(store.clone()),
            store,
            keys,
            endpoint,
            offered: Mutex::default(),
        }
    }

    /// A reconcile round runs until the guard is dropped (the pacers wait
    /// for it before they call a held revision quiet).
    pub(super) fn round_running(&self) -> crate::serve::publisher::RoundRunning {
        self.publisher.round_running()
    }

    pub(super) fn offer(&self, cluster: &str, plan: &ClusterPlan, revision: &Revision) {
        {
            let mut offered = self.offered.lock().unwrap_or_else(|p| p.into_inner());
            if offered.get(cluster) == Some(&revision.hash) {
                return;
            }
            offered.insert(cluster.to_owned(), revision.hash.clone());
        }
        self.publisher.offer(revision_doc(cluster, plan, revision));
    }

    /// The broken TLS pairs the agents last reported, by cluster.
    pub(super) fn tls_problems(&self) -> Vec<(String, TlsProblem)> {
        self.store.tls_problems()
    }

    pub(super) fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    pub(super) fn access(&self, cluster: &str) -> Result<AgentAccess, String> {
        access(&self.endpoint, &self.keys, cluster)
    }
}

/// How `cluster`'s agents reach the daemon. No endpoint (none could be
/// found at start, when no cluster was hitless) is refused here, naming the
/// fix, rather than deploying agents that cannot connect.
fn access(endpoint: &str, keys: &Keyring, cluster: &str) -> Result<AgentAccess, String> {
    if endpoint.is_empty() {
        return Err(format!(
            "{NoEndpoint}; it is found when Sluice starts, so restart it after setting EndpointOverride"
        ));
    }
    let cert = |e: CertError| e.to_string();
    Ok(AgentAccess {
        endpoint: endpoint.to_owned(),
        credentials: keys.credentials(cluster).map_err(cert)?,
        previous: keys.previous_credentials(cluster).map_err(cert)?,
    })
}

/// What the agents get of a revision: its files (the plugin's commands
/// stay behind; the agents run their own) and the certificate/key pairs
/// its hosts use, for the agents to check. The store sets `seq`.
pub(super) fn revision_doc(cluster: &str, plan: &ClusterPlan, revision: &Revision) -> RevisionDoc {
    let secrets = format!("{}/", crate::plan::merge::SECRETS_DIR);
    let mut tls: Vec<TlsPair> = plan
        .input
        .hosts
        .iter()
        .filter_map(|h| h.tls.as_ref())
        // Docker secrets only: ACME certificates come with the revision's
        // files (not there yet when the pairs are checked), checked here.
        .filter(|t| t.cert_path.starts_with(&secrets))
        .map(|t| TlsPair {
            cert: t.cert_path.clone(),
            key: t.key_path.clone(),
        })
        .collect();
    tls.sort();
    tls.dedup();
    RevisionDoc {
        cluster: cluster.to_owned(),
        hash: revision.hash.clone(),
        seq: 0,
        files: revision
            .files
            .iter()
            .map(|f| FileDoc {
                path: f.path.clone(),
                contents: f.contents.clone(),
            })
            .collect(),
        tls,
        slots: revision
            .shape
            .as_ref()
            .map(|shape| slots_doc(shape, &revision.slots)),
    }
}

/// A revision's server slots as agents get them.
pub fn slots_doc(shape: &str, slots: &[crate::wit::latest::Slot]) -> SlotsDoc {
    SlotsDoc {
        shape: shape.to_owned(),
        slots: slots
            .iter()
            .map(|s| SlotDoc {
                backend: s.backend.clone(),
                name: s.name.clone(),
                server: s.server.as_ref().map(|v| SlotServer {
                    address: v.address.clone(),
                    port: v.port,
                    weight: v.weight,
                }),
            })
            .collect(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "hitless delivery needs an address where proxy tasks reach this daemon: set EndpointOverride (e.g. \"https://10.0.0.5:8080\"), or run on a Swarm manager"
)]
pub struct NoEndpoint;

/// The API's URL as the proxy tasks see it: `EndpointOverride` (a bare
/// `host:port` gets `https://`; `http://` becomes `https://`, the API
/// speaks nothing else), else this manager's Swarm address with the port the
/// API listens on.
pub(super) fn endpoint(
    config: &Config,
    node_addr: Option<&str>,
    port: u16,
) -> Result<String, NoEndpoint> {
    if let Some(url) = config
        .endpoint_override
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        let url = url.trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        return Ok(format!("https://{rest}"));
    }
    let addr = node_addr.filter(|a| !a.is_empty()).ok_or(NoEndpoint)?;
    Ok(if addr.contains(':') {
        format!("https://[{addr}]:{port}")
    } else {
        format!("https://{addr}:{port}")
    })
}

/// The names the daemon's certificate is for: the endpoint's host, and
/// loopback for `sluice status` on the daemon's own machine.
pub(super) fn server_names(endpoint: &str) -> Vec<String> {
    let rest = endpoint.strip_prefix("https://").unwrap_or(endpoint);
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !host.is_empty() && !names.iter().any(|n| n == host) {
        names.push(host.to_owned());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_endpoint_is_refused_not_deployed() {
        let keys = Keyring::new(b"a daemon key, 16+ bytes".to_vec());
        let err = access("", &keys, "east").unwrap_err();
        assert!(
            err.contains("EndpointOverride") && err.contains("restart"),
            "{err}"
        );
        let ok = access("https://10.0.0.5:8080", &keys, "east").unwrap();
        assert_eq!(ok.endpoint, "https://10.0.0.5:8080");
        assert_eq!(ok.previous, None);
    }

    #[test]
    fn endpoints() {
        let table: [(Option<&str>, Option<&str>, Option<&str>); 6] = [
            (None, Some("10.213.0.1"), Some("https://10.213.0.1:8080")),
            (None, Some("fd00::1"), Some("https://[fd00::1]:8080")),
            (
                Some("10.0.0.5:9000"),
                Some("10.213.0.1"),
                Some("https://10.0.0.5:9000"),
            ),
            (
                Some("http://sluice.internal:80/"),
                None,
                Some("https://sluice.internal:80"),
            ),
            (None, None, None),
            (None, Some(""), None),
        ];
        for (endpoint, want) in [
            ("https://10.213.0.1:8080", "10.213.0.1"),
            ("https://[fd00::1]:8080", "fd00::1"),
            ("https://sluice.internal:80", "sluice.internal"),
            ("https://127.0.0.1:80", "127.0.0.1"),
        ] {
            let names = server_names(endpoint);
            assert!(names.iter().any(|n| n == want), "{endpoint}: {names:?}");
            assert!(
                names.iter().any(|n| n == "localhost"),
                "{endpoint}: {names:?}"
            );
        }
        for (over, node, want) in table {
            let mut config = Config::new();
            config.endpoint_override = over.map(str::to_owned);
            assert_eq!(
                endpoint(&config, node, 8080).ok().as_deref(),
                want,
                "{over:?} {node:?}"
            );
        }
    }
}
