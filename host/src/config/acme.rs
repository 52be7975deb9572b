//! `[ACME]` (Sluice's own): where certificates for `sluice.tls = "acme"`
//! hosts come from, and where the daemon answers the HTTP-01 challenges the
//! proxies pass on to it.

use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::values::{Reader, join_key};
use toml::de::DeTable;

pub const LETSENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
pub const STATE_DIR: &str = "/var/lib/sluice/acme";
pub const CHALLENGE_ADDR: &str = ":8402";
/// Let's Encrypt renews at a third of 90 days left; so do we by default.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);

pub(super) const KEYS: &[&str] = &[
    "Directory",
    "DirectoryCA",
    "Email",
    "StateDir",
    "ChallengeAddr",
    "ChallengeEndpoint",
    "RenewBefore",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeConfig {
    /// `Directory`: the ACME directory URL (`letsencrypt`, the default, and
    /// `letsencrypt-staging` name Let's Encrypt's).
    pub directory: String,
    /// `DirectoryCA`: a root to trust for the directory instead of the
    /// system's (a test CA such as pebble's).
    pub directory_ca: Option<PathBuf>,
    /// `Email`: the account's contact, if any.
    pub email: Option<String>,
    /// `StateDir`: the account and certificates (keep it on a volume).
    pub state_dir: PathBuf,
    /// `ChallengeAddr`: where the daemon answers HTTP-01 challenges (plain
    /// HTTP; the proxies pass `/.well-known/acme-challenge/` on to it).
    pub challenge_addr: String,
    /// `ChallengeEndpoint`: `IP:port` where proxy tasks reach that listener
    /// (default: this manager's Swarm address and ChallengeAddr's port).
    pub challenge_endpoint: Option<String>,
    /// `RenewBefore`: a certificate with less left than this is renewed.
    pub renew_before: Duration,
}

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            directory: LETSENCRYPT.to_owned(),
            directory_ca: None,
            email: None,
            state_dir: PathBuf::from(STATE_DIR),
            challenge_addr: CHALLENGE_ADDR.to_owned(),
            challenge_endpoint: None,
            renew_before: RENEW_BEFORE,
        }
    }
}

/// Reads the `[ACME]` table; unknown keys go to `unknown`.
pub(super) fn parse(
    r: Reader<'_>,
    path: &str,
    table: &DeTable<'_>,
    mut unknown: impl FnMut(&str, &toml::Spanned<toml::de::DeString<'_>>),
) -> Result<AcmeConfig, ConfigError> {
    let mut acme = AcmeConfig::default();
    for (key, item) in table {
        let key_path = join_key(path, key.get_ref());
        match key.get_ref().as_ref() {
            "Directory" => {
                let url = r.string(&key_path, item)?;
                acme.directory = match url.as_str() {
                    "letsencrypt" => LETSENCRYPT.to_owned(),
                    "letsencrypt-staging" => LETSENCRYPT_STAGING.to_owned(),
                    u if u.starts_with("https://") && !u.contains(char::is_whitespace) => url,
                    _ => {
                        return Err(r.bad(
                            &key_path,
                            item,
                            "must be an https:// URL, `letsencrypt` or `letsencrypt-staging`",
                        ));
                    }
                }
            }
            "DirectoryCA" => acme.directory_ca = Some(r.path(&key_path, item)?),
            "Email" => {
                let email = r.string(&key_path, item)?;
                let ok = email.split_once('@').is_some_and(|(user, domain)| {
                    !user.is_empty()
                        && domain.contains('.')
                        && email.chars().all(|c| c.is_ascii_graphic() && c != ',')
                });
                if !ok {
                    return Err(r.bad(&key_path, item, "must be one e-mail address"));
                }
                acme.email = Some(email);
            }
            "StateDir" => acme.state_dir = r.path(&key_path, item)?,
            "ChallengeAddr" => acme.challenge_addr = r.string(&key_path, item)?,
            "ChallengeEndpoint" => {
                let endpoint = r.string(&key_path, item)?;
                if endpoint.parse::<std::net::SocketAddr>().is_err() {
                    return Err(r.bad(
                        &key_path,
                        item,
                        "must be IP:port (e.g. \"10.0.0.5:8402\"), where proxy tasks reach ChallengeAddr",
                    ));
                }
                acme.challenge_endpoint = Some(endpoint);
            }
            "RenewBefore" => acme.renew_before = r.duration(&key_path, item)?,
            _ => unknown(&key_path, key),
        }
    }
    Ok(acme)
}
