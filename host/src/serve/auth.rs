//! The daemon's keys and what derives from them ([`crate::trust`]): per-cluster
//! bearer tokens and the admin token (HMAC-SHA256 in separate namespaces, so
//! no cluster name yields the admin token), the revision signing key, the
//! agent channel's CA and each cluster's client certificate. The daemon
//! stores nothing but its key file ([`crate::trust::keyfile`]).
//!
//! Two generations are live at once: the *current* key signs revisions and
//! issues the API's certificate; the *next* key is published ahead. Every
//! credentials secret trusts both CAs and both signing keys and presents the
//! next generation's client certificate and token, which the daemon accepts
//! beside the current ones. So `sluice rotate-key` (next becomes current)
//! leaves every agent able to reach the daemon with what it already holds,
//! and no proxy task is restarted; a proxy moves to the new secret with its
//! next update. After a rotation the *previous* key only names the secret
//! such proxies still mount.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hmac::Mac;

use crate::trust::certs::{CertError, Issued};
use crate::trust::derive::{Purpose, mac, seed};
use crate::trust::keyfile::{self, KeyFile};
use crate::trust::{Authority, Credentials, Signer};

/// Where the daemon keeps its generated key by default.
pub const DEFAULT_KEY_FILE: &str = "/var/lib/sluice/agent.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("agent key file {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("agent key file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("generating an agent key: {0}")]
    Random(getrandom::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error(transparent)]
    Tls(#[from] crate::trust::tls::TlsError),
}

/// One key and what derives from it.
#[derive(Clone)]
struct Generation {
    key: Vec<u8>,
    signer: Arc<Signer>,
    authority: Arc<Authority>,
    /// Client certificates by cluster, issued on first use: the same one
    /// serves the credentials secret and the check of each connection.
    clients: Arc<Mutex<HashMap<String, Arc<Issued>>>>,
}

impl Generation {
    fn new(key: Vec<u8>) -> Generation {
        let signer = Signer::from_seed(&seed(&key, Purpose::RevisionSigning, ""));
        // Only rcgen's own encoding could fail here, for any key alike.
        let authority = Authority::derive(&key).expect("the channel CA derives from any key");
        Generation {
            key,
            signer: Arc::new(signer),
            authority: Arc::new(authority),
            clients: Arc::default(),
        }
    }

    fn cluster_token(&self, cluster: &str) -> String {
        hex::encode(
            mac(&self.key, Purpose::ClusterToken, cluster)
                .finalize()
                .into_bytes(),
        )
    }

    /// `cluster`'s client certificate (issued once, then remembered: it is
    /// the same every time, see [`crate::trust::certs`]).
    fn client(&self, cluster: &str) -> Result<Arc<Issued>, CertError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(issued) = clients.get(cluster) {
            return Ok(issued.clone());
        }
        let issued = Arc::new(self.authority.client(cluster)?);
        // Bounded: only configured clusters, and callers that showed a
        // cluster's token and a chain from the channel's CA, get here.
        if clients.len() < 4096 {
            clients.insert(cluster.to_owned(), issued.clone());
        }
        Ok(issued)
    }
}

#[derive(Clone)]
pub struct Keyring {
    current: Generation,
    next: Generation,
    previous: Option<Generation>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

impl Keyring {
    /// The keys of a file with `key` alone: the next generation is derived
    /// from it (a rotation then needs a file that names its next key).
    pub fn new(key: impl Into<Vec<u8>>) -> Keyring {
        let key = key.into();
        let next = derived_next(&key);
        Keyring::from_file(&KeyFile {
            previous: None,
            current: key,
            next: Some(next),
        })
    }

    pub fn from_file(file: &KeyFile) -> Keyring {
        let next = file
            .next
            .clone()
            .unwrap_or_else(|| derived_next(&file.current));
        Keyring {
            current: Generation::new(file.current.clone()),
            next: Generation::new(next),
            previous: file.previous.clone().map(Generation::new),
        }
    }

    /// The bearer token of `cluster`'s agents (the one their credentials
    /// secret carries: the next generation's).
    pub fn cluster_token(&self, cluster: &str) -> String {
        self.next.cluster_token(cluster)
    }

    /// The bearer token with the full view of `/v2/status`.
    pub fn admin_token(&self) -> String {
        hex::encode(
            mac(&self.current.key, Purpose::AdminToken, "")
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of `presented` against `cluster`'s tokens (the
    /// current generation's, carried by secrets made before the last
    /// rotation, and the next one's).
    pub fn verify_cluster(&self, cluster: &str, presented: &str) -> bool {
        [&self.current, &self.next]
            .iter()
            .any(|g| verify(mac(&g.key, Purpose::ClusterToken, cluster), presented))
    }

    /// Constant-time check of `presented` against the admin token.
    pub fn verify_admin(&self, presented: &str) -> bool {
        verify(mac(&self.current.key, Purpose::AdminToken, ""), presented)
    }

    /// The key revisions are signed with (the current generation's).
    pub fn signer(&self) -> &Arc<Signer> {
        &self.current.signer
    }

    /// The current generation's CA: it issues the API's certificate.
    pub fn authority(&self) -> &Authority {
        &self.current.authority
    }

    /// The CAs whose client certificates the API accepts (PEM): current
    /// and next.
    pub fn client_roots_pem(&self) -> String {
        format!(
            "{}{}",
            self.current.authority.ca().cert_pem,
            self.next.authority.ca().cert_pem
        )
    }

    /// The API's TLS: a certificate for `names` (as agents reach the daemon)
    /// from the current CA, with a fresh key; client certificates of both
    /// generations accepted.
    pub fn server_tls(&self, names: &[String]) -> Result<rustls::ServerConfig, ServerTlsError> {
        let cert = self.current.authority.server(names)?;
        Ok(crate::trust::tls::server_config(
            &self.client_roots_pem(),
            &cert.cert_pem,
            &cert.key_pem,
        )?)
    }

    /// Whether `cert_der` is a client certificate of `cluster` (the current
    /// or the next generation's).
    pub fn is_client_of(&self, cluster: &str, cert_der: &[u8]) -> bool {
        // Certificates are public: no secret to leak through timing.
        [&self.current, &self.next].iter().any(|g| {
            g.client(cluster)
                .is_ok_and(|issued| issued.cert_der.as_ref() == cert_der)
        })
    }

    /// TLS for a client of the API with the full view (`sluice status` with
    /// the admin token): trusts the channel's CAs, shows no certificate.
    pub fn admin_tls(&self) -> Result<rustls::ClientConfig, crate::trust::tls::TlsError> {
        crate::trust::tls::client_config(&self.client_roots_pem(), None, "the admin client")
    }

    /// Everything `cluster`'s agents need, as their Docker secret holds it:
    /// trust in the current and the next generation, the next one's client
    /// certificate and token.
    pub fn credentials(&self, cluster: &str) -> Result<Credentials, CertError> {
        credentials(&self.current, &self.next, cluster)
    }

    /// The credentials made before the last rotation (trusting the previous
    /// and the current generation), which still open the channel: a proxy
    /// that mounts them needs no update for the rotation's sake.
    pub fn previous_credentials(&self, cluster: &str) -> Result<Option<Credentials>, CertError> {
        self.previous
            .as_ref()
            .map(|previous| credentials(previous, &self.current, cluster))
            .transpose()
    }

    /// The keys in `path`.
    pub fn load(path: &Path) -> Result<Keyring, KeyError> {
        Ok(Keyring::from_file(&read(path)?))
    }

    /// The keys in `path`, created there (mode 0600) when the file does not
    /// exist, and given a next key when it has none (a file from before key
    /// generations), so restarts keep credentials valid.
    pub fn load_or_create(path: &Path) -> Result<Keyring, KeyError> {
        Keyring::load_upgrading(path, true)
    }

    /// The keys in `path` (which must exist unless `create`), given a next
    /// key when the file names none. A file the daemon cannot write keeps
    /// the next key derived from the current one (`rotate-key` then needs a
    /// file that names its next key).
    pub fn load_upgrading(path: &Path, create: bool) -> Result<Keyring, KeyError> {
        let io = |error| KeyError::Io {
            path: path.to_owned(),
            error,
        };
        let fresh = || keyfile::fresh_key().map_err(KeyError::Random);
        let file = match read(path) {
            Ok(file) if file.next.is_some() => return Ok(Keyring::from_file(&file)),
            Ok(file) => file,
            Err(KeyError::Io { error, .. })
                if create && error.kind() == std::io::ErrorKind::NotFound =>
            {
                let new = KeyFile {
                    previous: None,
                    current: fresh()?,
                    next: Some(fresh()?),
                };
                // Whoever created it first wins; everyone reads that.
                keyfile::create(path, &new).map_err(io)?;
                return Keyring::load(path);
            }
            Err(e) => return Err(e),
        };
        let upgraded = KeyFile {
            next: Some(fresh()?),
            ..file.clone()
        };
        let kept = |why: &dyn std::fmt::Display| {
            tracing::warn!(
                path = %path.display(),
                "agent key file: no next key added ({why}); using one derived from the current key \
                 (write `current KEY` and `next KEY` lines to rotate keys without restarting proxies)"
            );
            Keyring::from_file(&file)
        };
        if !keyfile::round_trips(&upgraded) {
            return Ok(kept(
                &"the key is not one line of text, and rewriting it would change it",
            ));
        }
        match keyfile::write(path, &upgraded) {
            Ok(()) => Keyring::load(path),
            Err(error) => Ok(kept(&error)),
        }
    }
}

/// The next key of a file that names none: fixed by the current key, so
/// every reader agrees on it.
fn derived_next(current: &[u8]) -> Vec<u8> {
    hex::encode(seed(current, Purpose::NextGeneration, "")).into_bytes()
}

fn read(path: &Path) -> Result<KeyFile, KeyError> {
    let text = std::fs::read(path).map_err(|error| KeyError::Io {
        path: path.to_owned(),
        error,
    })?;
    KeyFile::parse(&text).map_err(|reason| KeyError::Invalid {
        path: path.to_owned(),
        reason,
    })
}

/// Credentials trusting `older` and `newer`, presenting `newer`'s.
fn credentials(
    older: &Generation,
    newer: &Generation,
    cluster: &str,
) -> Result<Credentials, CertError> {
    let client = newer.client(cluster)?;
    Ok(Credentials {
        cluster: cluster.to_owned(),
        token: newer.cluster_token(cluster),
        ca: format!(
            "{}{}",
            older.authority.ca().cert_pem,
            newer.authority.ca().cert_pem
        ),
        cert: client.cert_pem.clone(),
        key: client.key_pem.clone(),
        revision_keys: vec![
            older.signer.public_key().to_hex(),
            newer.signer.public_key().to_hex(),
        ],
    })
}

/// Constant-time: the MAC of the expected token checks the presented one.
fn verify(mac: hmac::Hmac<sha2::Sha256>, presented: &str) -> bool {
    let Ok(bytes) = hex::decode(presented.trim()) else {
        return false;
    };
    mac.verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn tokens_are_per_subject_and_verify_only_their_own() {
        let keys = Keyring::new(b"0123456789abcdef0123".to_vec());
        let (a, b) = (keys.cluster_token("east"), keys.cluster_token("west"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let table = [
            ("east", a.as_str(), true),
            ("west", b.as_str(), true),
            ("east", b.as_str(), false),
            ("west", a.as_str(), false),
            ("east", "", false),
            ("east", "not hex", false),
        ];
        for (cluster, token, ok) in table {
            assert_eq!(
                keys.verify_cluster(cluster, token),
                ok,
                "{cluster} {token:?}"
            );
        }
        let other = Keyring::new(b"another key, other tokens".to_vec());
        assert!(!other.verify_cluster("east", &a));
    }

    #[test]
    fn no_cluster_name_yields_the_admin_token() {
        let keys = Keyring::new(b"0123456789abcdef0123".to_vec());
        for name in ["admin", "", "ADMIN", "admin\0"] {
            assert!(!keys.verify_admin(&keys.cluster_token(name)), "{name:?}");
        }
        assert!(keys.verify_admin(&keys.admin_token()));
        assert!(!keys.verify_cluster("admin", &keys.admin_token()));
    }

    #[test]
    fn client_certificates_open_only_their_cluster() {
        let keys = Keyring::new(b"0123456789abcdef0123".to_vec());
        let east = keys.credentials("east").unwrap();
        let der = |pem: &str| {
            use rustls_pki_types::pem::PemObject;
            rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
        };
        assert!(keys.is_client_of("east", &der(&east.cert)));
        assert!(!keys.is_client_of("west", &der(&east.cert)));
        let other = Keyring::new(b"another daemon key, 16+".to_vec());
        assert!(!keys.is_client_of("east", &der(&other.credentials("east").unwrap().cert)));
        assert_eq!(east.cluster, "east");
        assert!(east.verifier().is_ok() && east.tls().is_ok());
    }

    #[test]
    fn generated_key_persists_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("sluice-key-test-{}", std::process::id()));
        let path = dir.join("sub/agent.key");
        let first = Keyring::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(first.cluster_token("east"), again.cluster_token("east"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_from_before_generations_gets_a_next_key_once() {
        let dir = std::env::temp_dir().join(format!("sluice-key-upgrade-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.key");
        std::fs::write(&path, "a key from before generations, 16+\n").unwrap();
        let legacy = Keyring::load(&path).unwrap();
        let upgraded = Keyring::load_upgrading(&path, false).unwrap();
        // Same current key: same admin token and server CA; a random next.
        assert_eq!(legacy.admin_token(), upgraded.admin_token());
        assert_ne!(legacy.cluster_token("east"), upgraded.cluster_token("east"));
        let file = KeyFile::parse(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(file.current, b"a key from before generations, 16+");
        assert!(file.next.is_some());
        let again = Keyring::load_upgrading(&path, false).unwrap();
        assert_eq!(again.cluster_token("east"), upgraded.cluster_token("east"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            Keyring::load_upgrading(&path, false).is_err(),
            "not created"
        );
    }

    #[test]
    fn credentials_trust_both_generations_and_show_the_next() {
        let file = KeyFile::parse(
            b"current 0123456789abcdef0123456789abcdef\nnext fedcba9876543210fedcba9876543210",
        )
        .unwrap();
        let keys = Keyring::from_file(&file);
        let east = keys.credentials("east").unwrap();
        assert_eq!(east.revision_keys.len(), 2);
        assert!(east.ca.matches("BEGIN CERTIFICATE").count() == 2);
        assert!(keys.verify_cluster("east", &east.token));
        let rotated = Keyring::from_file(&file.rotated(b"a third key, sixteen+".to_vec()).unwrap());
        assert!(rotated.verify_cluster("east", &east.token));
        assert!(
            !rotated.verify_admin(&keys.admin_token()),
            "admin follows current"
        );
        assert_eq!(
            rotated.previous_credentials("east").unwrap(),
            Some(east.clone())
        );
        let twice = Keyring::from_file(
            &file
                .rotated(b"a third key, sixteen+".to_vec())
                .unwrap()
                .rotated(b"a fourth key, sixteen+".to_vec())
                .unwrap(),
        );
        assert!(!twice.verify_cluster("east", &east.token));
        assert_eq!(
            twice
                .previous_credentials("east")
                .unwrap()
                .map(|c| c == east),
            Some(false)
        );
    }

    #[test]
    fn short_key_file_is_refused_naming_the_file() {
        let path = std::env::temp_dir().join(format!("sluice-short-key-{}", std::process::id()));
        std::fs::write(&path, "short\n").unwrap();
        let err = Keyring::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("5 bytes"), "{err}");
    }
}
