//! The API over real HTTP on 127.0.0.1:0, with the agent's own client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wire::{AgentReport, FileDoc, ReloadDoc, RevisionDoc};
use super::*;
use crate::agent::client::DaemonClient;

struct Server {
    url: String,
    store: Arc<Store>,
    keys: Arc<Keyring>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn server(poll_timeout: Duration) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(Store::new());
    let keys = Arc::new(Keyring::new(b"test key, sixteen bytes or more".to_vec()));
    let mut api = Api::new(store.clone(), keys.clone());
    api.poll_timeout = poll_timeout;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, api, async {
        let _ = stopped.await;
    }));
    Server {
        url,
        store,
        keys,
        stop: Some(stop),
        task,
    }
}

impl Server {
    fn client(&self, token: &str) -> DaemonClient {
        DaemonClient::new(&self.url, token).unwrap()
    }
}

fn doc(cluster: &str, hash: &str) -> RevisionDoc {
    RevisionDoc {
        cluster: cluster.into(),
        hash: hash.into(),
        files: vec![FileDoc {
            path: "/etc/nginx/nginx.conf".into(),
            contents: format!("# {hash}\n"),
        }],
        validate_command: vec!["nginx".into(), "-t".into(), "-c".into(), "{config}".into()],
        reload: ReloadDoc::Signal("HUP".into()),
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn long_poll_answers_the_moment_a_revision_is_published() {
    let s = server(Duration::from_secs(10)).await;
    let east = s.client(&s.keys.token("east"));
    s.store.publish(&doc("east", "h1"));
    let got = east.poll("east", "", "r1", None, WAIT).await.unwrap();
    assert_eq!(got, Some(doc("east", "h1")));

    let poll = tokio::spawn(async move {
        let started = Instant::now();
        let got = east.poll("east", "h1", "r1", Some("h1"), WAIT).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.store.publish(&doc("east", "h2"));
    let (got, took) = poll.await.unwrap();
    assert_eq!(got.unwrap().map(|d| d.hash).as_deref(), Some("h2"));
    assert!(
        took < Duration::from_millis(300 + 200),
        "answered {took:?} after the poll began"
    );
}

#[tokio::test]
async fn long_poll_ends_with_204_when_nothing_is_newer() {
    let s = server(Duration::from_millis(400)).await;
    s.store.publish(&doc("east", "h1"));
    let east = s.client(&s.keys.token("east"));
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
async fn tokens_open_only_their_own_cluster() {
    let s = server(Duration::from_millis(100)).await;
    s.store.publish(&doc("east", "h1"));
    s.store.publish(&doc("west", "h2"));
    let report = AgentReport {
        replica: "r1".into(),
        running: None,
        failed: None,
        time_ms: 0,
        reloads: 0,
    };
    let table: [(&str, String, Option<u16>); 5] = [
        ("east", s.keys.token("east"), None),
        ("west", s.keys.token("east"), Some(403)),
        ("east", s.keys.token(auth::ADMIN), Some(403)),
        ("east", String::new(), Some(401)),
        ("east", "deadbeef".into(), Some(403)),
    ];
    for (cluster, token, want) in table {
        let c = s.client(&token);
        let poll = c.poll(cluster, "", "r1", None, WAIT).await;
        assert_eq!(
            poll.err().and_then(|e| e.status()),
            want,
            "poll {cluster} {token:?}"
        );
        let sent = c.report(cluster, &report).await;
        assert_eq!(
            sent.err().and_then(|e| e.status()),
            want,
            "report {cluster} {token:?}"
        );
    }
}

#[tokio::test]
async fn status_shows_reports_and_needs_a_known_token() {
    let s = server(Duration::from_millis(100)).await;
    s.store.publish(&doc("east", "h2"));
    let east = s.client(&s.keys.token("east"));
    east.report(
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
        },
    )
    .await
    .unwrap();
    for token in [s.keys.token("east"), s.keys.token(auth::ADMIN)] {
        let status = s.client(&token).status().await.unwrap();
        let east = &status.clusters["east"];
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
    }
    let table = [
        (String::new(), 401),
        (s.keys.token("nowhere"), 403),
        (
            Keyring::new(b"some other daemon key".to_vec()).token(auth::ADMIN),
            403,
        ),
    ];
    for (token, want) in table {
        let err = s.client(&token).status().await.unwrap_err();
        assert_eq!(err.status(), Some(want), "{token:?}: {err}");
    }
}

#[tokio::test]
async fn shutdown_ends_pending_long_polls() {
    let mut s = server(Duration::from_secs(30)).await;
    let east = s.client(&s.keys.token("east"));
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
