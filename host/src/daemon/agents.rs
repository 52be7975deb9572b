//! The daemon's side of hitless delivery: where agents reach the API, their
//! per-cluster tokens, and publishing each cluster's renders (paced).

use std::sync::Arc;

use crate::apply::AgentAccess;
use crate::config::Config;
use crate::render::Revision;
use crate::serve::wire::RevisionDoc;
use crate::serve::{Keyring, Publisher};

pub(super) struct Agents {
    publisher: Publisher,
    keys: Arc<Keyring>,
    endpoint: String,
}

impl Agents {
    pub(super) fn new(publisher: Publisher, keys: Arc<Keyring>, endpoint: String) -> Agents {
        Agents {
            publisher,
            keys,
            endpoint,
        }
    }

    pub(super) fn offer(&self, cluster: &str, revision: &Revision) {
        self.publisher
            .offer(RevisionDoc::from_revision(cluster, revision));
    }

    pub(super) fn access(&self, cluster: &str) -> AgentAccess {
        AgentAccess {
            endpoint: self.endpoint.clone(),
            token: self.keys.token(cluster),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "hitless delivery needs an address where proxy tasks reach this daemon: set EndpointOverride (e.g. \"http://10.0.0.5:8080\"), or run on a Swarm manager"
)]
pub struct NoEndpoint;

/// The API's URL as the proxy tasks see it: `EndpointOverride` (a bare
/// `host:port` gets `http://`), else this manager's Swarm address with the
/// port the API listens on.
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
        return Ok(if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        });
    }
    let addr = node_addr.filter(|a| !a.is_empty()).ok_or(NoEndpoint)?;
    Ok(if addr.contains(':') {
        format!("http://[{addr}]:{port}")
    } else {
        format!("http://{addr}:{port}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let table: [(Option<&str>, Option<&str>, Option<&str>); 6] = [
            (None, Some("10.213.0.1"), Some("http://10.213.0.1:8080")),
            (None, Some("fd00::1"), Some("http://[fd00::1]:8080")),
            (
                Some("10.0.0.5:9000"),
                Some("10.213.0.1"),
                Some("http://10.0.0.5:9000"),
            ),
            (
                Some("http://sluice.internal:80/"),
                None,
                Some("http://sluice.internal:80"),
            ),
            (None, None, None),
            (None, Some(""), None),
        ];
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
