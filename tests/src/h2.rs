//! An HTTP/2 client that sends several requests on one TLS connection, as a
//! browser reusing a connection for every name its certificate covers
//! ("connection coalescing", RFC 9113 §9.1.1). reqwest cannot be told to do
//! that, so this speaks h2 through hyper over one rustls stream.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, pki_types};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One answer on the shared connection.
#[derive(Debug)]
pub struct H2Reply {
    pub status: u16,
    pub body: String,
}

/// Connects to the proxy's `port` with SNI `sni`, offering only `h2` by
/// ALPN (trusting only `ca_pem`), then sends `GET https://{authority}{path}`
/// for each of `requests` on that one connection. Panics if the server did
/// not choose h2.
pub fn get_on_one_connection(
    port: u16,
    sni: &str,
    ca_pem: &str,
    requests: &[(&str, &str)],
) -> Vec<H2Reply> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(TIMEOUT, run(port, sni, ca_pem, requests))
            .await
            .unwrap_or_else(|_| panic!("h2 requests to port {port} took over {TIMEOUT:?}"))
    })
}

async fn run(port: u16, sni: &str, ca_pem: &str, requests: &[(&str, &str)]) -> Vec<H2Reply> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .expect("connect to proxy");
    let name = pki_types::ServerName::try_from(sni.to_string()).expect("SNI name");
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS to port {port} as {sni}: {e}"));
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    assert_eq!(
        alpn.as_deref(),
        Some(&b"h2"[..]),
        "the proxy did not choose h2 by ALPN"
    );
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let mut replies = Vec::new();
    for (authority, path) in requests {
        let uri = format!("https://{authority}{path}");
        let req = hyper::Request::get(&uri)
            .body(Empty::<Bytes>::new())
            .expect("request");
        let resp = sender
            .send_request(req)
            .await
            .unwrap_or_else(|e| panic!("h2 GET {uri}: {e}"));
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("h2 GET {uri} body: {e}"))
            .to_bytes();
        replies.push(H2Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    replies
}
