//! The daemon's key and what derives from it ([`crate::trust`]): per-cluster
//! bearer tokens and the admin token (HMAC-SHA256 in separate namespaces, so
//! no cluster name yields the admin token), the revision signing key, the
//! agent channel's CA and each cluster's client certificate. The daemon
//! stores nothing but the key.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hmac::Mac;

use crate::trust::certs::{CertError, Issued};
use crate::trust::derive::{Purpose, mac, seed};
use crate::trust::{Authority, Credentials, Signer};

/// Where the daemon keeps its generated key by default.
pub const DEFAULT_KEY_FILE: &str = "/var/lib/sluice/agent.key";
/// Shorter keys are refused: a guessable key makes every token guessable.
const MIN_KEY_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("agent key file {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("agent key file {path}: {len} bytes, at least {MIN_KEY_BYTES} are needed")]
    TooShort { path: PathBuf, len: usize },
    #[error("generating an agent key: {0}")]
    Random(getrandom::Error),
}

#[derive(Clone)]
pub struct Keyring {
    key: Vec<u8>,
    signer: Arc<Signer>,
    authority: Arc<Authority>,
    /// Client certificates by cluster, issued on first use: the same one
    /// serves the credentials secret and the check of each connection.
    clients: Arc<Mutex<HashMap<String, Arc<Issued>>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

impl Keyring {
    pub fn new(key: impl Into<Vec<u8>>) -> Keyring {
        let key = key.into();
        let signer = Signer::from_seed(&seed(&key, Purpose::RevisionSigning, ""));
        // Only rcgen's own encoding could fail here, for any key alike.
        let authority = Authority::derive(&key).expect("the channel CA derives from any key");
        Keyring {
            key,
            signer: Arc::new(signer),
            authority: Arc::new(authority),
            clients: Arc::default(),
        }
    }

    /// The bearer token of `cluster`'s agents.
    pub fn cluster_token(&self, cluster: &str) -> String {
        hex::encode(
            mac(&self.key, Purpose::ClusterToken, cluster)
                .finalize()
                .into_bytes(),
        )
    }

    /// The bearer token with the full view of `/v2/status`.
    pub fn admin_token(&self) -> String {
        hex::encode(
            mac(&self.key, Purpose::AdminToken, "")
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of `presented` against `cluster`'s token.
    pub fn verify_cluster(&self, cluster: &str, presented: &str) -> bool {
        verify(mac(&self.key, Purpose::ClusterToken, cluster), presented)
    }

    /// Constant-time check of `presented` against the admin token.
    pub fn verify_admin(&self, presented: &str) -> bool {
        verify(mac(&self.key, Purpose::AdminToken, ""), presented)
    }

    /// The key revisions are signed with.
    pub fn signer(&self) -> &Arc<Signer> {
        &self.signer
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
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

    /// Whether `cert_der` is the client certificate of `cluster`.
    pub fn is_client_of(&self, cluster: &str, cert_der: &[u8]) -> bool {
        // Certificates are public: no secret to leak through timing.
        self.client(cluster)
            .is_ok_and(|issued| issued.cert_der.as_ref() == cert_der)
    }

    /// TLS for a client of the API with the full view (`sluice status` with
    /// the admin token): trusts the channel's CA, shows no certificate.
    pub fn admin_tls(&self) -> Result<rustls::ClientConfig, crate::trust::tls::TlsError> {
        crate::trust::tls::client_config(&self.authority.ca().cert_pem, None, "the admin client")
    }

    /// Everything `cluster`'s agents need, as their Docker secret holds it.
    pub fn credentials(&self, cluster: &str) -> Result<Credentials, CertError> {
        let client = self.client(cluster)?;
        Ok(Credentials {
            cluster: cluster.to_owned(),
            token: self.cluster_token(cluster),
            ca: self.authority.ca().cert_pem.clone(),
            cert: client.cert_pem.clone(),
            key: client.key_pem.clone(),
            revision_keys: vec![self.signer.public_key().to_hex()],
        })
    }

    /// The key in `path` (trailing whitespace ignored).
    pub fn load(path: &Path) -> Result<Keyring, KeyError> {
        let io = |error| KeyError::Io {
            path: path.to_owned(),
            error,
        };
        let mut key = std::fs::read(path).map_err(io)?;
        while key.last().is_some_and(u8::is_ascii_whitespace) {
            key.pop();
        }
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                path: path.to_owned(),
                len: key.len(),
            });
        }
        Ok(Keyring::new(key))
    }

    /// The key in `path`, generated there (32 random bytes, hex, mode 0600)
    /// when the file does not exist, so restarts keep tokens valid.
    pub fn load_or_create(path: &Path) -> Result<Keyring, KeyError> {
        match Keyring::load(path) {
            Err(KeyError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        let io = |error| KeyError::Io {
            path: path.to_owned(),
            error,
        };
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(KeyError::Random)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        // Write aside, then link: a concurrent start keeps whichever key won.
        let temp = dir.join(format!(".agent.key.{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        writeln!(file, "{}", hex::encode(bytes)).map_err(io)?;
        file.sync_all().map_err(io)?;
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        Keyring::load(path)
    }
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
    fn short_key_file_is_refused_naming_the_file() {
        let path = std::env::temp_dir().join(format!("sluice-short-key-{}", std::process::id()));
        std::fs::write(&path, "short\n").unwrap();
        let err = Keyring::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("5 bytes"), "{err}");
    }
}
