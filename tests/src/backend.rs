//! Small HTTP backends on 127.0.0.x that answer with who they are, what path,
//! Host and headers they received, and echo websocket messages. Optionally
//! behind TLS, and optionally an app with a session cookie. `/sleep/<ms>`
//! answers after that long; `/big` answers 32 KiB of text. `/healthz` is
//! its health path: counted apart from the other requests, and, like every
//! path, answered 503 while the backend is told to fail.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, pki_types};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::certs::Leaf;

/// What a backend answers to every HTTP request, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Which backend answered.
    pub backend: String,
    /// Path and query as the backend received them.
    pub path: String,
    /// The Host header it received.
    pub host: Option<String>,
    /// The session cookie it received, when it runs a session app.
    pub session: Option<String>,
    /// Every request header (lower-case names; repeated ones joined by ", ").
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// A running backend; stops accepting when dropped.
pub struct Backend {
    pub id: String,
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    health_hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    accept_loop: JoinHandle<()>,
}

/// How a backend behaves besides answering with its identity.
#[derive(Default)]
pub struct Options<'a> {
    /// Serve TLS with this certificate.
    pub tls: Option<&'a Leaf>,
    /// Act as an app keeping sessions in this cookie: hand one out when the
    /// request has none, and report the one received.
    pub session_cookie: Option<&'a str>,
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("backend")
            .enable_all()
            .build()
            .expect("backend runtime")
    })
}

struct App {
    id: String,
    session_cookie: Option<String>,
    hits: Arc<AtomicUsize>,
    health_hits: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Backend {
    /// A plain HTTP backend named `id` on `ip` and an ephemeral port.
    pub fn http(id: &str, ip: &str) -> Backend {
        Backend::start(id, ip, Options::default())
    }

    pub fn start(id: &str, ip: &str, options: Options) -> Backend {
        let ip: IpAddr = ip.parse().expect("backend address");
        let std_listener = std::net::TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("backend {id}: bind {ip}:0: {e}"));
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("backend address");
        let hits = Arc::new(AtomicUsize::new(0));
        let health_hits = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let app = Arc::new(App {
            id: id.to_string(),
            session_cookie: options.session_cookie.map(String::from),
            hits: hits.clone(),
            health_hits: health_hits.clone(),
            failing: failing.clone(),
        });
        let acceptor = options.tls.map(tls_acceptor);
        let rt = runtime();
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(std_listener).expect("tokio listener")
        };
        let accept_loop = rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (app, acceptor) = (app.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve(tls, app).await;
                            }
                        }
                        None => serve(stream, app).await,
                    }
                });
            }
        });
        Backend {
            id: id.to_string(),
            addr,
            hits,
            health_hits,
            failing,
            accept_loop,
        }
    }

    /// Requests answered so far (websocket upgrades included; `/healthz`
    /// not).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests for `/healthz` so far.
    pub fn health_hits(&self) -> usize {
        self.health_hits.load(Ordering::SeqCst)
    }

    /// From now on answer every request 503 (`true`), or as usual.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

fn tls_acceptor(leaf: &Leaf) -> TlsAcceptor {
    let cert = pki_types::CertificateDer::from(leaf.der.clone());
    let key =
        pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("backend key PEM");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("backend TLS config");
    TlsAcceptor::from(Arc::new(config))
}

async fn serve<S>(io: S, app: Arc<App>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move {
            let path = req.uri().path().to_owned();
            let health = path == "/healthz";
            if app.failing.load(Ordering::SeqCst) || health {
                let counter = if health { &app.health_hits } else { &app.hits };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut reply = Response::new(Full::new(Bytes::from_static(b"health\n")));
                if app.failing.load(Ordering::SeqCst) {
                    *reply.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                }
                return Ok::<_, Infallible>(reply);
            }
            if let Some(ms) = path
                .strip_prefix("/sleep/")
                .and_then(|m| m.parse::<u64>().ok())
            {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            if path == "/big" {
                app.hits.fetch_add(1, Ordering::SeqCst);
                let mut big =
                    Response::new(Full::new(Bytes::from("sluice ".repeat(32 * 1024 / 7))));
                big.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                return Ok::<_, Infallible>(big);
            }
            Ok::<_, Infallible>(answer(req, &app))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
}

fn cookie<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn answer(req: Request<Incoming>, app: &Arc<App>) -> Response<Full<Bytes>> {
    let n = app.hits.fetch_add(1, Ordering::SeqCst);
    let is_websocket = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if is_websocket {
        return upgrade(req, app.id.clone());
    }
    let session = app
        .session_cookie
        .as_deref()
        .and_then(|name| cookie(&req, name));
    let identity = Identity {
        backend: app.id.clone(),
        path: req
            .uri()
            .path_and_query()
            .map_or("/".to_string(), |p| p.to_string()),
        host: req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(String::from),
        session: session.map(String::from),
        headers: {
            let mut all = std::collections::BTreeMap::<String, String>::new();
            for (name, value) in req.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                all.entry(name.as_str().to_owned())
                    .and_modify(|v| {
                        v.push_str(", ");
                        v.push_str(&value);
                    })
                    .or_insert(value);
            }
            all
        },
    };
    let mut response = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&identity).expect("identity JSON"),
    )));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let (Some(name), None) = (&app.session_cookie, session) {
        let set = format!("{name}={}-{n}; Path=/", app.id);
        response.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&set).expect("cookie header"),
        );
    }
    response
}

/// 101 and an echo loop that prefixes each message with the backend's id.
fn upgrade(mut req: Request<Incoming>, id: String) -> Response<Full<Bytes>> {
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        let mut bad = Response::new(Full::new(Bytes::from_static(b"no Sec-WebSocket-Key")));
        *bad.status_mut() = StatusCode::BAD_REQUEST;
        return bad;
    };
    let upgraded = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgraded.await else { return };
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            let reply = match msg {
                Message::Text(t) => Message::text(format!("{id}: {}", t.as_str())),
                Message::Close(_) => break,
                _ => continue,
            };
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&derive_accept_key(key.as_bytes())).expect("accept key"),
    );
    response
}
