//! What a cluster's agents hold: one JSON document, delivered as a Docker
//! secret (`/run/secrets/sluice-agent`), with the channel's CA, the
//! cluster's client certificate and key, its bearer token, and the keys
//! revisions must be signed with. Derived from the daemon's key, so the same
//! key gives the same document (and the same secret name).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::signing::{PublicKey, Verifier};
use crate::tls::{self, TlsError};

/// Larger files are not credentials; refused before parsing.
const MAX_BYTES: u64 = 256 * 1024;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The cluster these credentials open, and only it.
    pub cluster: String,
    pub token: String,
    /// PEM: the CA the daemon's certificate must chain to.
    pub ca: String,
    /// PEM: the cluster's client certificate and its key.
    pub cert: String,
    pub key: String,
    /// Hex Ed25519 public keys; a revision signed by any other is refused.
    pub revision_keys: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("cluster", &self.cluster)
            .field("revision_keys", &self.revision_keys)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("agent credentials {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("agent credentials {path}: larger than {MAX_BYTES} bytes")]
    TooLarge { path: String },
    #[error("agent credentials {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl Credentials {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("credentials always serialise")
    }

    /// Read and check `path`; `cluster` must be the one they open.
    pub fn load(path: &Path, cluster: &str) -> Result<Credentials, CredentialsError> {
        let shown = path.display().to_string();
        let io = |error| CredentialsError::Io {
            path: shown.clone(),
            error,
        };
        if std::fs::metadata(path).map_err(io)?.len() > MAX_BYTES {
            return Err(CredentialsError::TooLarge { path: shown });
        }
        let text = std::fs::read(path).map_err(io)?;
        let invalid = |reason: String| CredentialsError::Invalid {
            path: shown.clone(),
            reason,
        };
        let creds: Credentials =
            serde_json::from_slice(&text).map_err(|e| invalid(e.to_string()))?;
        if creds.cluster != cluster {
            return Err(invalid(format!(
                "they open cluster {:?}, not {cluster:?}",
                creds.cluster
            )));
        }
        creds.verifier().map_err(invalid)?;
        creds.tls()?;
        Ok(creds)
    }

    /// The revision keys.
    pub fn verifier(&self) -> Result<Verifier, String> {
        let keys = self
            .revision_keys
            .iter()
            .map(|k| {
                PublicKey::from_hex(k)
                    .ok_or_else(|| format!("revision key {k:?} is not 64 hex digits"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("no revision keys: every revision would be refused".into());
        }
        Ok(Verifier::new(keys))
    }

    /// The agent's TLS client: trusts only `ca`, presents `cert`.
    pub fn tls(&self) -> Result<rustls::ClientConfig, TlsError> {
        tls::client_config(
            &self.ca,
            Some((&self.cert, &self.key)),
            &format!("agent credentials of cluster {:?}", self.cluster),
        )
    }
}
