//! A revision's certificate/key pairs, checked before anything is
//! installed: one service's broken or mismatched pair would make the proxy
//! refuse the whole config, freezing every other route of the cluster. A
//! pair that fails is reported (the daemon then leaves out only the services
//! that use it and publishes again); the revision is refused meanwhile.
//!
//! Only what is certainly broken is reported: a file that is not there yet
//! (its secret is mounted once the proxy task is replaced) or a key type this
//! check cannot load is left to the proxy's own validation.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sluice_wire::docs::{MAX_TLS_PROBLEMS, SECRETS_DIR, TlsPair, TlsProblem};

/// A certificate or key file larger than this is not a PEM file we check.
const MAX_PEM: u64 = 1 << 20;

/// The pairs that are certainly broken, each with why (at most
/// [`MAX_TLS_PROBLEMS`]: the daemon takes no more in one report).
pub fn check(pairs: &[TlsPair]) -> Vec<TlsProblem> {
    check_under(SECRETS_DIR, pairs)
}

/// [`check`] with the secrets in `dir` (tests).
fn check_under(dir: &str, pairs: &[TlsPair]) -> Vec<TlsProblem> {
    pairs
        .iter()
        .filter_map(|pair| {
            check_pair(dir, pair).err().map(|mut reason| {
                // The daemon takes at most 1024 bytes of it.
                let mut cut = reason.len().min(1000);
                while !reason.is_char_boundary(cut) {
                    cut -= 1;
                }
                reason.truncate(cut);
                TlsProblem {
                    pair: pair.clone(),
                    reason,
                }
            })
        })
        .take(MAX_TLS_PROBLEMS)
        .collect()
}

fn check_pair(dir: &str, pair: &TlsPair) -> Result<(), String> {
    let Some(cert_pem) = read(dir, &pair.cert)? else {
        return Ok(());
    };
    let key_pem = match &pair.key {
        Some(key) => match read(dir, key)? {
            Some(pem) => pem,
            None => return Ok(()),
        },
        None => cert_pem.clone(),
    };
    let key_file = pair.key.as_deref().unwrap_or(&pair.cert);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", pair.cert))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no certificate", pair.cert));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("{key_file}: holds no private key: {e}"))?;
    let Ok(signing) = any_supported_type(&key) else {
        // A key type ring cannot load: the proxy's own check decides.
        return Ok(());
    };
    match CertifiedKey::new(certs, signing).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(format!(
                "the private key in {key_file} does not belong to the certificate in {}",
                pair.cert
            ))
        }
        Err(e) => Err(format!(
            "{}: the certificate does not parse: {e}",
            pair.cert
        )),
    }
}

/// A secret file's bytes; None when it is not there. Only regular files
/// directly under `dir` are read (the revision names the paths).
fn read(dir: &str, path: &str) -> Result<Option<Vec<u8>>, String> {
    if sluice_wire::paths::name_in(dir, path).is_none() {
        return Err(format!("{path:?} is not a file directly under {dir}"));
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        // A symlink where Docker mounts a secret file: certainly wrong.
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(format!("{path}: {e}"));
        }
        // Missing, or a passing failure (EMFILE, ...): not certainly broken,
        // so left to the proxy's own check rather than reported.
        Err(_) => return Ok(None),
    };
    let meta = file.metadata().map_err(|e| format!("{path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path}: not a regular file"));
    }
    let mut bytes = Vec::new();
    if file.take(MAX_PEM + 1).read_to_end(&mut bytes).is_err() {
        return Ok(None);
    }
    if bytes.len() as u64 > MAX_PEM {
        return Err(format!("{path}: larger than {MAX_PEM} bytes"));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(cert: &str, key: Option<&str>) -> TlsPair {
        TlsPair {
            cert: cert.into(),
            key: key.map(str::to_owned),
        }
    }

    #[test]
    fn paths_outside_the_secrets_directory_are_refused() {
        for path in [
            "/etc/shadow",
            "/run/secrets",
            "/run/secrets/",
            "/run/secrets/../../etc/shadow",
            "/run/secrets/a/b",
            "/run/secretsx/a",
            "run/secrets/a",
            "/run/secrets//a",
        ] {
            let problems = check(&[pair(path, None)]);
            assert_eq!(problems.len(), 1, "{path}");
            assert!(
                problems[0].reason.contains("not a file directly under"),
                "{path}: {}",
                problems[0].reason
            );
        }
    }

    /// A certificate and its key for `name`, as PEM.
    fn issued(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn broken_and_mismatched_pairs_are_reported() {
        let dir = std::env::temp_dir().join(format!("sluice-tls-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap().to_owned();
        let (a_cert, a_key) = issued("a.example");
        let (_, b_key) = issued("b.example");
        let files = [
            ("a.crt", a_cert.clone()),
            ("a.key", a_key.clone()),
            ("b.key", b_key),
            ("a.pem", format!("{a_cert}{a_key}")),
            ("garbage", "not pem at all\n".to_owned()),
            ("cert-only.pem", a_cert.clone()),
            ("big", "x".repeat(MAX_PEM as usize + 1)),
        ];
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
        let at = |name: &str| format!("{d}/{name}");
        // (cert, key, problem mentions or None for a good pair)
        let table: [(&str, Option<&str>, Option<&str>); 9] = [
            ("a.crt", Some("a.key"), None),
            ("a.pem", None, None),
            ("a.crt", Some("missing.key"), None),
            ("a.crt", Some("b.key"), Some("does not belong")),
            ("garbage", Some("a.key"), Some("holds no certificate")),
            ("a.crt", Some("garbage"), Some("holds no private key")),
            ("cert-only.pem", None, Some("holds no private key")),
            ("big", Some("a.key"), Some("larger than")),
            ("link", Some("a.key"), Some("link")),
        ];
        for (cert, key, want) in table {
            let p = pair(&at(cert), key.map(&at).as_deref());
            let got = check_under(&d, std::slice::from_ref(&p));
            match want {
                None => assert!(got.is_empty(), "{cert}/{key:?}: {got:?}"),
                Some(w) => {
                    assert_eq!(got.len(), 1, "{cert}/{key:?}");
                    assert!(
                        got[0].reason.contains(w),
                        "{cert}/{key:?}: {}",
                        got[0].reason
                    );
                    assert_eq!(got[0].pair, p);
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_files_are_left_to_the_proxy() {
        let missing = "/run/secrets/sluice-test-missing-0c1d7a";
        assert!(check(&[pair(missing, None), pair(missing, Some(missing))]).is_empty());
    }
}
