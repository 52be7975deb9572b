//! rustls configurations of the agent channel: the daemon's API asks for a
//! client certificate from the channel's CA (and accepts none, for `sluice
//! status` with the admin token); agents trust only that CA and present
//! their cluster's certificate. No system roots anywhere: a certificate from
//! any public CA proves nothing here.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what}: no PEM certificate in it")]
    NoCertificate { what: String },
    #[error("{what}: {error}")]
    Pem {
        what: String,
        error: rustls_pki_types::pem::Error,
    },
    #[error("{what}: {error}")]
    Rustls { what: String, error: rustls::Error },
    #[error("{what}: {error}")]
    Verifier {
        what: String,
        error: rustls::server::VerifierBuilderError,
    },
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The CA certificates in `pem` (`what` names the source in errors).
pub fn roots(pem: &str, what: &str) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|error| TlsError::Pem {
            what: what.to_owned(),
            error,
        })?;
        store.add(cert).map_err(|error| TlsError::Rustls {
            what: what.to_owned(),
            error,
        })?;
    }
    if store.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        });
    }
    Ok(store)
}

fn chain_and_key(
    cert_pem: &str,
    key_pem: &str,
    what: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let pem = |error| TlsError::Pem {
        what: what.to_owned(),
        error,
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(pem)?;
    Ok((chain, key))
}

/// The daemon's API: `cert_pem`/`key_pem` as its certificate; client
/// certificates are verified against `ca_pem` when presented.
pub fn server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<rustls::ServerConfig, TlsError> {
    let what = "the daemon's TLS configuration";
    let rustls = |error| TlsError::Rustls {
        what: what.to_owned(),
        error,
    };
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca_pem, "the agent channel's CA")?),
        provider(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|error| TlsError::Verifier {
        what: what.to_owned(),
        error,
    })?;
    let (chain, key) = chain_and_key(cert_pem, key_pem, what)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(rustls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(rustls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client of the daemon's API trusting only `ca_pem`, presenting
/// `client` (certificate and key PEM) when given.
pub fn client_config(
    ca_pem: &str,
    client: Option<(&str, &str)>,
    what: &str,
) -> Result<rustls::ClientConfig, TlsError> {
    let rustls = |error| TlsError::Rustls {
        what: what.to_owned(),
        error,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(rustls)?
        .with_root_certificates(roots(ca_pem, what)?);
    // ALPN is the HTTP connector's to set.
    match client {
        Some((cert, key)) => {
            let (chain, key) = chain_and_key(cert, key, what)?;
            builder.with_client_auth_cert(chain, key).map_err(rustls)
        }
        None => Ok(builder.with_no_client_auth()),
    }
}
