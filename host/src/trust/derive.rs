//! Named seeds from the daemon's key: HMAC-SHA256(key, purpose ‖ 0 ‖ name).
//! Each purpose is its own namespace, so no cluster name can produce
//! another purpose's seed (an Extension named `admin` included).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a seed is for; the tag is part of the HMAC input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The bearer token of a cluster's agents.
    ClusterToken,
    /// The bearer token of `sluice status` with full view.
    AdminToken,
    /// The key that signs revisions.
    RevisionSigning,
    /// The agent channel's certificate authority.
    Authority,
    /// A cluster's client certificate key.
    ClientKey,
    /// The next generation's key, for a key file that names none.
    NextGeneration,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::ClusterToken => b"sluice/cluster-token",
            Purpose::AdminToken => b"sluice/admin-token",
            Purpose::RevisionSigning => b"sluice/revision-signing",
            Purpose::Authority => b"sluice/authority",
            Purpose::ClientKey => b"sluice/client-key",
            Purpose::NextGeneration => b"sluice/next-generation",
        }
    }
}

/// The HMAC of `purpose` and `name` under `key`.
pub fn mac(key: &[u8], purpose: Purpose, name: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.tag());
    mac.update(&[0]);
    mac.update(name.as_bytes());
    mac
}

/// A 32-byte seed for `purpose` and `name`.
pub fn seed(key: &[u8], purpose: Purpose, name: &str) -> [u8; 32] {
    mac(key, purpose, name).finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_names_never_share_a_seed() {
        let key = b"0123456789abcdef";
        let all = [
            seed(key, Purpose::ClusterToken, "admin"),
            seed(key, Purpose::AdminToken, ""),
            seed(key, Purpose::ClusterToken, ""),
            seed(key, Purpose::RevisionSigning, ""),
            seed(key, Purpose::Authority, ""),
            seed(key, Purpose::ClientKey, "east"),
            seed(key, Purpose::ClientKey, "west"),
            seed(key, Purpose::ClusterToken, "east"),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            seed(key, Purpose::ClientKey, "east"),
            seed(key, Purpose::ClientKey, "east")
        );
        assert_ne!(
            seed(key, Purpose::ClientKey, "east"),
            seed(b"another key 0123", Purpose::ClientKey, "east")
        );
    }
}
