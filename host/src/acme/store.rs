//! `StateDir`: `account.json` (the ACME account's credentials) and
//! `certs/<host>.crt` + `certs/<host>.key` per issued host. Keys and the
//! account are written owner-only, every file atomically (as the agent key
//! is: [`crate::trust::keyfile::write_file`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

/// An issued certificate: its chain and key (PEM) and when it expires.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub not_after: SystemTime,
}

impl std::fmt::Debug for Issued {
    // The key never goes to a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Creates the directory (owner-only) when missing.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs)
            .with_context(|| format!("ACME.StateDir: creating {}", certs.display()))?;
        for d in [dir, &certs] {
            set_mode(d, 0o700)?;
        }
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    pub fn account(&self) -> anyhow::Result<Option<String>> {
        read_optional(&self.dir.join("account.json"))
    }

    pub fn save_account(&self, json: &str) -> anyhow::Result<()> {
        write_atomic(&self.dir.join("account.json"), json.as_bytes(), 0o600)
    }

    /// Every readable certificate; one that cannot be read or parsed is
    /// skipped with a warning (it is ordered again).
    pub fn certificates(&self) -> BTreeMap<String, Issued> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join("certs")) else {
            return out;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(host) = name.strip_suffix(".crt") else {
                continue;
            };
            match self.load(host) {
                Ok(issued) => {
                    out.insert(host.to_owned(), issued);
                }
                Err(e) => tracing::warn!(host, "ACME certificate in StateDir not used: {e:#}"),
            }
        }
        out
    }

    fn load(&self, host: &str) -> anyhow::Result<Issued> {
        let (crt, key) = self.paths(host)?;
        let chain_pem = std::fs::read_to_string(&crt)?;
        let key_pem = std::fs::read_to_string(&key).with_context(|| key.display().to_string())?;
        let not_after = not_after(&chain_pem)?;
        Ok(Issued {
            chain_pem,
            key_pem,
            not_after,
        })
    }

    /// The key first: a certificate is only read with its key beside it.
    pub fn save(&self, host: &str, issued: &Issued) -> anyhow::Result<()> {
        let (crt, key) = self.paths(host)?;
        write_atomic(&key, issued.key_pem.as_bytes(), 0o600)?;
        write_atomic(&crt, issued.chain_pem.as_bytes(), 0o644)
    }

    fn paths(&self, host: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        // Host names are normalised by the label rules; this keeps a file
        // name a file name whatever reaches here.
        let safe = !host.is_empty()
            && !host.starts_with('.')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        anyhow::ensure!(safe, "host {host:?} is not a file name");
        let certs = self.dir.join("certs");
        Ok((
            certs.join(format!("{host}.crt")),
            certs.join(format!("{host}.key")),
        ))
    }
}

/// The leaf's (first certificate's) expiry.
pub fn not_after(chain_pem: &str) -> anyhow::Result<SystemTime> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("not a PEM certificate: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| anyhow::anyhow!("not an X.509 certificate: {e}"))?;
    let secs = cert.validity().not_after.timestamp();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    crate::trust::keyfile::write_file(path, bytes, mode)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_survive_a_new_store_and_keys_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let issued = Issued {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_after: not_after(&cert.pem()).unwrap(),
        };
        Store::open(dir.path())
            .unwrap()
            .save("a.test", &issued)
            .unwrap();
        let again = Store::open(dir.path()).unwrap().certificates();
        assert_eq!(again.get("a.test"), Some(&issued));
        let mode = std::fs::metadata(dir.path().join("certs/a.test.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            !format!("{issued:?}").contains("PRIVATE"),
            "no key in Debug"
        );
    }

    #[test]
    fn a_host_that_is_not_a_file_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for host in ["../x", "a/b", "", ".hidden"] {
            assert!(store.paths(host).is_err(), "{host:?}");
        }
    }
}
