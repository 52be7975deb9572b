//! Revision signatures: Ed25519 over a context string and the BLAKE3 digest
//! of the exact response body. The daemon signs what it serves; an agent
//! verifies before it parses, so a body nobody signed is never even read.
//!
//! The signature travels in the [`HEADER`] response header as
//! `ed25519 <key id> <base64 signature>`. Agents accept any key of their
//! [`Verifier`], which is how a key rotation overlaps old and new.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// The response header carrying the signature.
pub const HEADER: &str = "sluice-signature";
/// Signed ahead of the digest: a signature made for anything else (another
/// protocol, another version) never verifies as a revision.
const CONTEXT: &[u8] = b"sluice revision v2\0";
const SCHEME: &str = "ed25519";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the revision is unsigned (no {HEADER} header)")]
    Missing,
    #[error("the revision's signature is malformed: {0}")]
    Malformed(&'static str),
    #[error("the revision is signed by key {key_id}, which this agent does not trust")]
    UnknownKey { key_id: String },
    #[error(
        "the revision's signature does not match its contents (key {key_id}): forged or altered"
    )]
    Forged { key_id: String },
}

/// A revision signing key.
pub struct Signer {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public.key_id())
    }
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).expect("any 32 bytes are a seed");
        let public = PublicKey(
            pair.public_key()
                .as_ref()
                .try_into()
                .expect("Ed25519 public keys are 32 bytes"),
        );
        Signer { pair, public }
    }

    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The [`HEADER`] value for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        let signature = self.pair.sign(&message(body));
        format!(
            "{SCHEME} {} {}",
            self.public.key_id(),
            STANDARD.encode(signature.as_ref())
        )
    }
}

/// An Ed25519 public key; in credentials as 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// 16 hex digits naming the key in headers and messages.
    pub fn key_id(&self) -> String {
        hex::encode(&blake3::hash(&self.0).as_bytes()[..8])
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<PublicKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(PublicKey(bytes.try_into().ok()?))
    }
}

/// The keys an agent accepts revisions from.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: Vec<PublicKey>,
}

impl Verifier {
    pub fn new(keys: Vec<PublicKey>) -> Verifier {
        Verifier { keys }
    }

    /// Ok when `header` is a valid signature of `body` by a trusted key.
    pub fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(SignatureError::Missing)?;
        let mut parts = header.split(' ');
        let (Some(scheme), Some(key_id), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SignatureError::Malformed(
                "expected `ed25519 <key id> <signature>`",
            ));
        };
        if scheme != SCHEME {
            return Err(SignatureError::Malformed("not an ed25519 signature"));
        }
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Malformed("the signature is not base64"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.key_id() == key_id)
            .ok_or_else(|| SignatureError::UnknownKey {
                key_id: printable(key_id),
            })?;
        UnparsedPublicKey::new(&ED25519, key.0)
            .verify(&message(body), &signature)
            .map_err(|_| SignatureError::Forged {
                key_id: key.key_id(),
            })
    }
}

fn message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + 32);
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(blake3::hash(body).as_bytes());
    m
}

/// A peer's string made safe for a message: at most 32 characters, no
/// control characters.
fn printable(text: &str) -> String {
    text.chars()
        .take(32)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trusted_untampered_signatures_verify() {
        let signer = Signer::from_seed(&[7; 32]);
        let other = Signer::from_seed(&[8; 32]);
        let verifier = Verifier::new(vec![signer.public_key()]);
        let body = br#"{"cluster":"east","seq":3}"#;
        let good = signer.sign(body);
        let tampered = br#"{"cluster":"east","seq":4}"#;
        let (id, sig) = {
            let mut p = good.split(' ').skip(1);
            (p.next().unwrap().to_owned(), p.next().unwrap().to_owned())
        };
        let other_sig = other.sign(body);
        let other_sig_under_trusted_id =
            format!("ed25519 {id} {}", other_sig.rsplit(' ').next().unwrap());
        // (header, body, Ok or what the refusal says)
        type Case<'a> = (Option<&'a str>, &'a [u8], Result<(), &'a str>);
        let table: [Case; 9] = [
            (Some(&good), body, Ok(())),
            (None, body, Err("unsigned")),
            (Some(" "), body, Err("unsigned")),
            (Some(&good), tampered, Err("forged")),
            (Some(&other_sig), body, Err("does not trust")),
            (Some(&other_sig_under_trusted_id), body, Err("forged")),
            (Some("ed25519 abc"), body, Err("malformed")),
            (Some(&format!("rsa {id} {sig}")), body, Err("malformed")),
            (Some(&format!("ed25519 {id} !!")), body, Err("malformed")),
        ];
        for (header, body, want) in table {
            let got = verifier.verify(header, body).map_err(|e| e.to_string());
            match (got, want) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(w)) => assert!(e.contains(w), "{header:?}: {e}"),
                (got, want) => panic!("{header:?}: got {got:?}, want {want:?}"),
            }
        }
        // Rotation: both keys trusted during the overlap.
        let both = Verifier::new(vec![signer.public_key(), other.public_key()]);
        assert!(both.verify(Some(&good), body).is_ok());
        assert!(both.verify(Some(&other_sig), body).is_ok());
    }

    #[test]
    fn public_keys_round_trip_as_hex() {
        let k = Signer::from_seed(&[1; 32]).public_key();
        assert_eq!(PublicKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(PublicKey::from_hex("abcd"), None);
        assert_eq!(k.key_id().len(), 16);
    }
}
