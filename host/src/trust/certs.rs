//! The agent channel's certificate authority and the certificates it issues.
//!
//! The CA key and every cluster's client key are Ed25519 keys derived from
//! the daemon's key ([`super::derive`]), and Ed25519 signatures are
//! deterministic: the same daemon key always yields byte-identical
//! certificates. So a restarted daemon hands the proxies exactly the
//! credentials they already hold (no proxy task is updated), and the daemon
//! recognises a cluster's client certificate by comparing it with the one it
//! would issue, without parsing X.509 itself.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519, date_time_ymd,
};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use super::derive::{Purpose, seed};

/// Validity of everything issued. Fixed, so that issuing is deterministic;
/// a new daemon key (see docs/security.md) replaces all of it.
const NOT_BEFORE: (i32, u8, u8) = (2025, 1, 1);
const NOT_AFTER: (i32, u8, u8) = (2045, 1, 1);

#[derive(Debug, thiserror::Error)]
#[error("issuing the agent channel's {what}: {error}")]
pub struct CertError {
    what: String,
    error: rcgen::Error,
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_sha256", &hex::encode(fingerprint(&self.cert_der)))
            .finish_non_exhaustive()
    }
}

pub struct Authority {
    key: rcgen::KeyPair,
    params: CertificateParams,
    cert: Issued,
    /// The daemon key, for the cluster keys.
    master: Vec<u8>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// The CA of daemon key `master`.
    pub fn derive(master: &[u8]) -> Result<Authority, CertError> {
        let err = |error| CertError {
            what: "certificate authority".into(),
            error,
        };
        let key = ed25519_key(&seed(master, Purpose::Authority, "")).map_err(err)?;
        let mut params = base_params(Vec::new()).map_err(err)?;
        params.distinguished_name = name("Sluice agent channel CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(err)?;
        let cert = Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem: String::new(),
        };
        Ok(Authority {
            key,
            params,
            cert,
            master: master.to_vec(),
        })
    }

    /// The CA certificate (its key is never handed out).
    pub fn ca(&self) -> &Issued {
        &self.cert
    }

    /// The client certificate of `cluster`'s agents.
    pub fn client(&self, cluster: &str) -> Result<Issued, CertError> {
        let err = |error| CertError {
            what: format!("client certificate of cluster {cluster:?}"),
            error,
        };
        let key = ed25519_key(&seed(&self.master, Purpose::ClientKey, cluster)).map_err(err)?;
        let mut params = base_params(Vec::new()).map_err(err)?;
        params.distinguished_name = name(&format!("sluice agent of cluster {cluster}"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(&params, &key).map_err(err)
    }

    /// The daemon's server certificate for `names` (IP addresses or DNS
    /// names, as agents reach it), with a fresh key.
    pub fn server(&self, names: &[String]) -> Result<Issued, CertError> {
        let err = |error| CertError {
            what: format!("server certificate for {names:?}"),
            error,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut params = base_params(names.to_vec()).map_err(err)?;
        params.distinguished_name = name("sluice daemon");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(&params, &key).map_err(err)
    }

    fn issue(&self, params: &CertificateParams, key: &KeyPair) -> Result<Issued, rcgen::Error> {
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(key, &issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// SHA-256 of a certificate's DER, to name it in debug output.
fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

fn base_params(names: Vec<String>) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(names)?;
    params.not_before = date_time_ymd(NOT_BEFORE.0, NOT_BEFORE.1, NOT_BEFORE.2);
    params.not_after = date_time_ymd(NOT_AFTER.0, NOT_AFTER.1, NOT_AFTER.2);
    Ok(params)
}

fn name(common: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common);
    dn
}

/// An Ed25519 key from its seed, as PKCS#8 v1 (RFC 8410).
fn ed25519_key(seed: &[u8; 32]) -> Result<KeyPair, rcgen::Error> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(seed);
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(der), &PKCS_ED25519)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuing_is_deterministic_per_daemon_key_and_cluster() {
        let a = Authority::derive(b"daemon key one, 16+ bytes").unwrap();
        let again = Authority::derive(b"daemon key one, 16+ bytes").unwrap();
        let other = Authority::derive(b"daemon key two, 16+ bytes").unwrap();
        assert_eq!(a.ca().cert_der, again.ca().cert_der);
        assert_ne!(a.ca().cert_der, other.ca().cert_der);
        let east = a.client("east").unwrap();
        assert_eq!(east.cert_der, again.client("east").unwrap().cert_der);
        assert_eq!(east.key_pem, again.client("east").unwrap().key_pem);
        assert_ne!(east.cert_der, a.client("west").unwrap().cert_der);
        assert_ne!(east.cert_der, other.client("east").unwrap().cert_der);
        assert!(a.ca().key_pem.is_empty(), "the CA key is never handed out");
    }
}
