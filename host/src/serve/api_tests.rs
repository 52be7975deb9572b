//! The API over real HTTP on 127.0.0.1:0, with the agent's own client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wire::{AgentReport, FileDoc, RevisionDoc};
use super::*;
use crate::agent::client::{DaemonClient, SignedAnswer};

struct Server {
    url: String,
    addr: std::net::SocketAddr,
    store: Arc<Store>,
    keys: Arc<Keyring>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn test_keys() -> Keyring {
    Keyring::new(b"test key, sixteen bytes or more".to_vec())
}

async fn server(poll_timeout: Duration) -> Server {
    server_with(poll_timeout, Limits::default()).await
}

async fn server_with(poll_timeout: Duration, limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("https://{addr}");
    let keys = Arc::new(test_keys());
    let store = Arc::new(Store::new(keys.signer().clone()));
    let mut api = Api::new(store.clone(), keys.clone());
    api.poll_timeout = poll_timeout;
    api.limits = limits;
    let tls = keys.server_tls(&["127.0.0.1".into()]).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, api, Arc::new(tls), async {
        let _ = stopped.await;
    }));
    Server {
        url,
        addr,
        store,
        keys,
        stop: Some(stop),
        task,
    }
}

impl Server {
    /// An agent of `cluster`: its certificate, and `token`.
    fn agent(&self, cluster: &str, token: &str) -> DaemonClient {
        let creds = self.keys.credentials(cluster).unwrap();
        DaemonClient::new(&self.url, token, creds.tls().unwrap()).unwrap()
    }

    /// `cluster`'s agent as the daemon made it.
    fn client(&self, cluster: &str) -> DaemonClient {
        self.agent(cluster, &self.keys.cluster_token(cluster))
    }

    /// No client certificate (as `sluice status`), trusting the daemon's CA.
    fn anonymous(&self, token: &str) -> DaemonClient {
        let tls =
            crate::trust::tls::client_config(&self.keys.authority().ca().cert_pem, None, "test")
                .unwrap();
        DaemonClient::new(&self.url, token, tls).unwrap()
    }
}

fn doc(cluster: &str, hash: &str) -> RevisionDoc {
    RevisionDoc {
        cluster: cluster.into(),
        hash: hash.into(),
        seq: 0,
        files: vec![FileDoc {
            path: "/etc/nginx/nginx.conf".into(),
            contents: format!("# {hash}\n"),
        }],
        tls: Vec::new(),
        slots: None,
    }
}

/// The revision in a poll's answer, its signature checked.
fn opened(s: &Server, answer: Option<SignedAnswer>) -> Option<RevisionDoc> {
    let a = answer?;
    let verifier = crate::trust::Verifier::new(vec![s.keys.signer().public_key()]);
    verifier
        .verify(a.signature.as_deref(), &a.body)
        .expect("signed by the daemon");
    Some(serde_json::from_slice(&a.body).unwrap())
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn long_poll_answers_the_moment_a_revision_is_published() {
    let s = server(Duration::from_secs(10)).await;
    let east = s.client("east");
    s.store.publish(&doc("east", "h1"));
    let got = opened(&s, east.poll("east", "", "r1", None, WAIT).await.unwrap()).unwrap();
    assert_eq!((got.cluster.as_str(), got.hash.as_str()), ("east", "h1"));
    assert!(got.seq > 0);

    let poll = tokio::spawn(async move {
        let started = Instant::now();
        let got = east.poll("east", "h1", "r1", Some("h1"), WAIT).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.store.publish(&doc("east", "h2"));
    let (got, took) = poll.await.unwrap();
    assert_eq!(
        opened(&s, got.unwrap()).map(|d| d.hash).as_deref(),
        Some("h2")
    );
    assert!(
        took < Duration::from_millis(300 + 200),
        "answered {took:?} after the poll began"
    );
}

/// Server slots go only to agents that ask for them (an older agent refuses
/// a field it does not know), each answer signed as it is, and a renumbered
/// revision keeps them.
#[tokio::test]
async fn slots_go_only_to_agents_that_ask() {
    use crate::serve::wire::{SlotDoc, SlotsDoc};
    let s = server(Duration::from_secs(10)).await;
    let mut with = doc("east", "h1");
    with.slots = Some(SlotsDoc {
        shape: "s1".into(),
        slots: vec![SlotDoc {
            backend: "up_a".into(),
            name: "slot1".into(),
            server: None,
        }],
    });
    s.store.publish(&with);
    let plain = opened(
        &s,
        s.client("east")
            .poll("east", "", "r1", None, WAIT)
            .await
            .unwrap(),
    );
    assert_eq!(plain.unwrap().slots, None);
    let asks = s.client("east").with_slots();
    let got = opened(&s, asks.poll("east", "", "r1", None, WAIT).await.unwrap()).unwrap();
    assert_eq!(got.slots, with.slots);
    // An agent that saw a higher sequence number makes the daemon number
    // the revision again: the slots stay.
    let ahead = got.seq + 1_000;
    let again = asks
        .poll_after("east", "other", ahead, "r1", None, WAIT)
        .await
        .unwrap();
    let again = opened(&s, again).unwrap();
    assert!(again.seq > ahead);
    assert_eq!(again.slots, with.slots);
}

#[tokio::test]
async fn long_poll_ends_with_204_when_nothing_is_newer() {
    let s = server(Duration::from_millis(400)).await;
    s.store.publish(&doc("east", "h1"));
    let east = s.client("east");
    let started = Instant::now();
    // The server caps the wait the client asks for.
    let got = east.poll("east", "h1", "r1", None, WAIT).await.unwrap();
    assert_eq!(got, None);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn cluster_routes_need_the_clusters_certificate_and_token() {
    let s = server(Duration::from_millis(100)).await;
    s.store.publish(&doc("east", "h1"));
    s.store.publish(&doc("west", "h2"));
    let report = AgentReport {
        replica: "r1".into(),
        running: None,
        failed: None,
        time_ms: 0,
        reloads: 0,
        runtime_updates: 0,
        bad_tls: Vec::new(),
    };
    let other_daemon = Keyring::new(b"some other daemon key".to_vec());
    let east_token = s.keys.cluster_token("east");
    // (case, client, cluster asked for, expected HTTP status or None for OK)
    let table: Vec<(&str, DaemonClient, &str, Option<u16>)> = vec![
        ("own cluster", s.client("east"), "east", None),
        ("another cluster", s.client("east"), "west", Some(403)),
        (
            "east's token with west's certificate",
            s.agent("west", &east_token),
            "east",
            Some(403),
        ),
        (
            "admin token",
            s.agent("east", &s.keys.admin_token()),
            "east",
            Some(403),
        ),
        ("no token", s.agent("east", ""), "east", Some(401)),
        (
            "bogus token",
            s.agent("east", "deadbeef"),
            "east",
            Some(403),
        ),
        (
            "token without a certificate",
            s.anonymous(&east_token),
            "east",
            Some(403),
        ),
        (
            "another daemon's token",
            s.agent("east", &other_daemon.cluster_token("east")),
            "east",
            Some(403),
        ),
    ];
    for (case, c, cluster, want) in table {
        let poll = c.poll(cluster, "", "r1", None, WAIT).await;
        assert_eq!(poll.err().and_then(|e| e.status()), want, "poll: {case}");
        let sent = c.report(cluster, &report).await;
        assert_eq!(sent.err().and_then(|e| e.status()), want, "report: {case}");
    }
}

#[tokio::test]
async fn only_the_channels_ca_opens_a_connection() {
    let s = server(Duration::from_millis(100)).await;
    s.store.publish(&doc("east", "h1"));
    let other = Keyring::new(b"some other daemon key".to_vec());
    // A client certificate of another CA: the handshake fails.
    let foreign = other.credentials("east").unwrap();
    let tls = crate::trust::tls::client_config(
        &format!("{}{}", s.keys.authority().ca().cert_pem, foreign.ca),
        Some((&foreign.cert, &foreign.key)),
        "test",
    )
    .unwrap();
    let c = DaemonClient::new(&s.url, &s.keys.cluster_token("east"), tls).unwrap();
    let err = c.poll("east", "", "r1", None, WAIT).await.unwrap_err();
    assert_eq!(err.status(), None, "{err}");
    // An agent trusting another CA refuses this server.
    let c =
        DaemonClient::new(&s.url, &other.cluster_token("east"), foreign.tls().unwrap()).unwrap();
    let err = c
        .poll("east", "", "r1", None, WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("certificate"), "{err}");
    // Plain http is not spoken, and an agent will not try it.
    let plain = format!("http://{}", s.addr);
    let err = DaemonClient::new(
        &plain,
        "t",
        s.keys.credentials("east").unwrap().tls().unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("plain http is refused"), "{err}");
}

#[tokio::test]
async fn reports_are_authorised_before_their_body_is_read() {
    let s = server(Duration::from_millis(100)).await;
    let url = format!("{}/v2/clusters/east/status", s.url);
    // Raw requests through the agent's TLS, without the client's JSON.
    let creds = s.keys.credentials("east").unwrap();
    let post = |token, body| post_as_agent(&creds, &url, token, body);
    // No token: 401 whatever the body.
    assert_eq!(post(None, b"{not json".to_vec()).await, 401);
    assert_eq!(post(None, vec![b'x'; 1 << 20]).await, 401);
    let token = s.keys.cluster_token("east");
    assert_eq!(post(Some(&token), b"{not json".to_vec()).await, 400);
    assert_eq!(post(Some(&token), vec![b' '; 1 << 20]).await, 413);
}

/// POST `body` to `url` with the agent's TLS (and `token`); the status code.
async fn post_as_agent(
    creds: &crate::trust::Credentials,
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> u16 {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let client = crate::agent::client::https_client(creds.tls().unwrap());
    let mut req = hyper::Request::post(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await;
    resp.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test]
async fn status_is_scoped_to_the_callers_cluster() {
    let s = server(Duration::from_millis(100)).await;
    s.store.publish(&doc("east", "h2"));
    s.store.publish(&doc("west", "w1"));
    s.client("east")
        .report(
            "east",
            &AgentReport {
                replica: "proxy.1".into(),
                running: Some("h1".into()),
                failed: Some(wire::Failure {
                    revision: "h2".into(),
                    message: "nginx: [emerg] unknown directive".into(),
                }),
                time_ms: 0,
                reloads: 0,
                runtime_updates: 0,
                bad_tls: Vec::new(),
            },
        )
        .await
        .unwrap();
    // The plan's view: each cluster's routes, and its excluded services.
    use crate::plan::view::{Shown, View};
    use crate::plan::{Diagnostic, Plan, Severity};
    let config = crate::config::parse_str(
        "[Extensions.east]\n  ServiceCluster = \"east\"\n  ProxyServiceName = \"pe\"\n  PublishMode = \"host\"\n\
         [Extensions.west]\n  ServiceCluster = \"west\"\n  ProxyServiceName = \"pw\"\n  PublishMode = \"host\"\n",
        std::path::Path::new("."),
    )
    .unwrap()
    .config;
    let mut plan: Plan = crate::plan::plan(&Default::default(), &config);
    assert_eq!(plan.clusters.len(), 2);
    for (cluster, service) in [
        (Some("east"), "e1"),
        (Some("west"), "w1"),
        (None, "nowhere"),
    ] {
        plan.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            cluster: cluster.map(str::to_owned),
            service: Some(service.into()),
            label: None,
            message: "bad".into(),
        });
    }
    s.store.set_plan(std::sync::Arc::new(Shown {
        plan,
        rendered: Default::default(),
        updated_ms: 1,
    }));
    let shown = |doc: &wire::StatusDoc| {
        let view: View = serde_json::from_value(doc.plan.clone().expect("a plan")).unwrap();
        (
            view.clusters
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>(),
            view.excluded
                .into_iter()
                .map(|e| e.service)
                .collect::<Vec<_>>(),
        )
    };
    let admin = s.anonymous(&s.keys.admin_token()).status().await.unwrap();
    assert_eq!(
        shown(&admin),
        (
            vec!["east".to_owned(), "west".to_owned()],
            vec!["e1".to_owned(), "w1".to_owned(), "nowhere".to_owned()]
        )
    );
    assert_eq!(admin.clusters.keys().collect::<Vec<_>>(), ["east", "west"]);
    let east = &admin.clusters["east"];
    assert_eq!(east.revision.as_deref(), Some("h2"));
    let r = &east.replicas["proxy.1"];
    assert_eq!(r.running.as_deref(), Some("h1"));
    assert!(
        r.failed
            .as_ref()
            .unwrap()
            .message
            .contains("unknown directive")
    );
    let own = s.client("east").status().await.unwrap();
    assert_eq!(
        own.clusters.keys().collect::<Vec<_>>(),
        ["east"],
        "a cluster sees only itself"
    );
    assert_eq!(
        shown(&own),
        (vec!["east".to_owned()], vec!["e1".to_owned()]),
        "nor other clusters' routes and exclusions"
    );
    let table = [
        (String::new(), 401),
        (s.keys.cluster_token("nowhere"), 403),
        (s.keys.cluster_token("admin"), 403),
        (
            Keyring::new(b"some other daemon key".to_vec()).admin_token(),
            403,
        ),
    ];
    for (token, want) in table {
        let err = s.anonymous(&token).status().await.unwrap_err();
        assert_eq!(err.status(), Some(want), "{token:?}: {err}");
    }
}

#[tokio::test]
async fn half_open_connections_neither_stay_nor_starve_agents() {
    use tokio::io::AsyncReadExt;
    let limits = Limits {
        max_connections: 64,
        handshake: Duration::from_millis(500),
        request_head: Duration::from_millis(500),
        ..Limits::default()
    };
    let s = server_with(Duration::from_secs(5), limits).await;
    s.store.publish(&doc("east", "h1"));
    // 40 connections that never start TLS (slowloris), under the cap.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(tokio::net::TcpStream::connect(s.addr).await.unwrap());
    }
    let started = Instant::now();
    let got = s
        .client("east")
        .poll("east", "", "r1", None, WAIT)
        .await
        .unwrap();
    assert!(got.is_some());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Each is closed by the server after the handshake limit.
    for mut c in idle {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "still open: {read:?}"
        );
    }
    // Over the cap, new connections are closed at once, and the server
    // serves again once the holders are gone.
    let mut hold = Vec::new();
    for _ in 0..64 {
        hold.push(tokio::net::TcpStream::connect(s.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(1), extra.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "over the cap: {read:?}"
    );
    drop(hold);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        s.client("east")
            .poll("east", "", "r1", None, WAIT)
            .await
            .unwrap()
            .is_some()
    );
}

/// A TLS connection without a client certificate, as anybody can open one.
async fn anonymous_tls(s: &Server) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tls = s.keys.admin_tls().unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// Whether the server closes `stream` within `within` (reading what it sends).
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn anonymous_connections_cannot_take_the_agents_slots() {
    use tokio::io::AsyncWriteExt;
    let limits = Limits {
        max_anonymous: 4,
        anonymous_lifetime: Duration::from_millis(800),
        ..Limits::default()
    };
    let s = server_with(Duration::from_secs(5), limits).await;
    s.store.publish(&doc("east", "h1"));
    // A refused request ends its connection: asking again needs a new one.
    let mut refused = anonymous_tls(&s).await;
    refused
        .write_all(b"GET /v2/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer 00\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut refused, Duration::from_secs(2)).await,
        "kept open after 403"
    );
    // The anonymous slots, all taken and held...
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(anonymous_tls(&s).await);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...a fifth is closed at once, an agent still gets in...
    let mut fifth = anonymous_tls(&s).await;
    assert!(
        closed_within(&mut fifth, Duration::from_millis(300)).await,
        "over the anonymous cap"
    );
    let got = s
        .client("east")
        .poll("east", "", "r1", None, WAIT)
        .await
        .unwrap();
    assert!(got.is_some());
    // ...and the held ones end with their lifetime, whatever they do.
    for mut h in held {
        assert!(
            closed_within(&mut h, Duration::from_secs(2)).await,
            "anonymous connection outlived its limit"
        );
    }
}

#[tokio::test]
async fn agents_sequence_numbers_raise_the_daemons() {
    let s = server(Duration::from_millis(300)).await;
    s.store.publish(&doc("east", "h1"));
    let ahead = s.store.newest_published("east").unwrap().seq + 60_000;
    // An agent that accepted a higher number elsewhere and lacks h1.
    let c = s.client("east");
    let got = c
        .poll_after("east", "other", ahead, "r1", None, WAIT)
        .await
        .unwrap();
    let doc = opened(&s, got).unwrap();
    assert_eq!(doc.hash, "h1");
    assert!(doc.seq > ahead, "{} after {ahead}", doc.seq);
}

#[tokio::test]
async fn shutdown_ends_pending_long_polls() {
    let mut s = server(Duration::from_secs(30)).await;
    let east = s.client("east");
    let poll = tokio::spawn(async move { east.poll("east", "", "r1", None, WAIT).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    s.stop.take().unwrap().send(()).unwrap();
    assert_eq!(poll.await.unwrap().unwrap(), None);
    s.task.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn listen_addresses() {
    let table = [
        (":8080", Some("0.0.0.0:8080")),
        ("127.0.0.1:9000", Some("127.0.0.1:9000")),
        ("[::1]:80", Some("[::1]:80")),
        ("8080", None),
        ("localhost:80", None),
    ];
    for (value, want) in table {
        let got = listen_addr(value).ok().map(|a| a.to_string());
        assert_eq!(got.as_deref(), want, "{value}");
    }
    assert!(
        listen_addr("x")
            .unwrap_err()
            .to_string()
            .contains("ListenAddr \"x\"")
    );
}
