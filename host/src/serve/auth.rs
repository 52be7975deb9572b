//! Per-cluster bearer tokens: HMAC-SHA256(daemon key, cluster name), hex. An
//! agent holds only its own cluster's token, so it cannot read another
//! cluster's config; the daemon stores no tokens, only the key.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The subject of the token that opens `/v1/status` without a cluster.
pub const ADMIN: &str = "admin";

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
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

impl Keyring {
    pub fn new(key: impl Into<Vec<u8>>) -> Keyring {
        Keyring { key: key.into() }
    }

    /// The bearer token of `subject` (a cluster name, or [`ADMIN`]).
    pub fn token(&self, subject: &str) -> String {
        hex::encode(self.mac(subject).finalize().into_bytes())
    }

    /// Constant-time check of `presented` against `subject`'s token.
    pub fn verify(&self, subject: &str, presented: &str) -> bool {
        let Ok(bytes) = hex::decode(presented.trim()) else {
            return false;
        };
        self.mac(subject).verify_slice(&bytes).is_ok()
    }

    fn mac(&self, subject: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(subject.as_bytes());
        mac
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_subject_and_verify_only_their_own() {
        let keys = Keyring::new(b"0123456789abcdef0123".to_vec());
        let (a, b) = (keys.token("east"), keys.token("west"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let table = [
            ("east", a.as_str(), true),
            ("west", b.as_str(), true),
            ("east", b.as_str(), false),
            ("west", a.as_str(), false),
            ("east", "", false),
            ("east", "not hex", false),
            (ADMIN, a.as_str(), false),
        ];
        for (subject, token, ok) in table {
            assert_eq!(keys.verify(subject, token), ok, "{subject} {token:?}");
        }
        let other = Keyring::new(b"another key, other tokens".to_vec());
        assert!(!other.verify("east", &a));
    }

    #[test]
    fn generated_key_persists_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("sluice-key-test-{}", std::process::id()));
        let path = dir.join("sub/agent.key");
        let first = Keyring::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(first.token("east"), again.token("east"));
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
