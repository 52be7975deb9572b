//! Clients as a user would point them at the proxy: by host name (resolved
//! to the proxy's loopback port), over HTTP, HTTPS with SNI, or websocket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use reqwest::blocking::{Client, ClientBuilder};
use reqwest::redirect::Policy;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::backend::Identity;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What came back, with the bits scenarios look at.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    /// `name=value` of each Set-Cookie.
    pub cookies: Vec<String>,
    pub body: String,
    /// The leaf certificate the TLS server presented (DER).
    pub peer_certificate: Option<Vec<u8>>,
    /// Every response header (lower-case names), in order.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The (first) value of response header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The backend's answer; panics (showing the reply) if it is not one.
    pub fn identity(&self) -> Identity {
        assert_eq!(self.status, 200, "expected a backend's answer: {self:?}");
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not a backend identity ({e}): {self:?}"))
    }
}

/// A client for one host name on the proxy.
pub struct HostClient {
    client: Client,
    base: String,
}

fn builder(host: &str, port: u16) -> ClientBuilder {
    Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .timeout(TIMEOUT)
        .resolve(host, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

impl HostClient {
    /// Plain HTTP to `host` on the proxy's `port`.
    pub fn http(host: &str, port: u16) -> HostClient {
        HostClient::from_builder(builder(host, port), "http", host, port)
    }

    /// Plain HTTP from the local address `from` (a 127.x.y.z).
    pub fn http_from(host: &str, port: u16, from: IpAddr) -> HostClient {
        let b = builder(host, port).local_address(from);
        HostClient::from_builder(b, "http", host, port)
    }

    /// HTTPS with SNI `host`, trusting only `ca_pem`.
    pub fn https(host: &str, port: u16, ca_pem: &str) -> HostClient {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM");
        let b = builder(host, port)
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .tls_info(true);
        HostClient::from_builder(b, "https", host, port)
    }

    fn from_builder(b: ClientBuilder, scheme: &str, host: &str, port: u16) -> HostClient {
        HostClient {
            client: b.build().expect("HTTP client"),
            base: format!("{scheme}://{host}:{port}"),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.get(&url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Self::reply(&url, req)
    }

    /// POST `body` to `path`.
    pub fn post(&self, path: &str, body: Vec<u8>) -> Reply {
        let url = format!("{}{path}", self.base);
        Self::reply(&url, self.client.post(&url).body(body))
    }

    fn reply(url: &str, req: reqwest::blocking::RequestBuilder) -> Reply {
        let resp = req.send().unwrap_or_else(|e| panic!("{url}: {e:?}"));
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let header = |name| {
            resp.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok().map(String::from))
                .collect::<Vec<_>>()
        };
        let location = header(reqwest::header::LOCATION).into_iter().next();
        let cookies = header(reqwest::header::SET_COOKIE)
            .into_iter()
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_string())
            .collect();
        let peer_certificate = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate().map(<[u8]>::to_vec));
        Reply {
            status: resp.status().as_u16(),
            location,
            cookies,
            peer_certificate,
            headers,
            body: resp.text().unwrap_or_else(|e| panic!("{url} body: {e}")),
        }
    }
}

/// Opens a websocket to `ws://host:port{path}` through the proxy, sends
/// `message` and returns the status of the handshake and the reply.
pub fn websocket_echo(host: &str, port: u16, path: &str, message: &str) -> (u16, String) {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect to proxy");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("read timeout");
    let url = format!("ws://{host}:{port}{path}");
    let (mut ws, response) =
        tungstenite::client(url.as_str(), stream).unwrap_or_else(|e| panic!("{url}: {e}"));
    ws.send(Message::text(message))
        .unwrap_or_else(|e| panic!("{url} send: {e}"));
    let reply = loop {
        match ws.read().unwrap_or_else(|e| panic!("{url} read: {e}")) {
            Message::Text(t) => break t.as_str().to_string(),
            Message::Close(c) => panic!("{url}: closed before replying: {c:?}"),
            _ => continue,
        }
    };
    let _ = ws.close(None);
    (response.status().as_u16(), reply)
}
