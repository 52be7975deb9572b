//! Hitless delivery with the real pieces on loopback: the daemon's API
//! (`sluice::serve`, in-process), `sluice agent` as a child process, and the
//! real nginx (or HAProxy) it starts, configured by the real plugin.
//!
//! Route changes must reach the proxy in place (same master pid), within a
//! second, without a failed request; refused revisions leave the last good
//! config serving and show up in `/v2/status`; agents without their
//! cluster's credentials get nothing; forged, unsigned and replayed
//! revisions are refused while the proxy keeps serving; an agent (or daemon)
//! that was away catches up with the newest revision. Run with
//! `--nocapture` to see the latencies.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sluice::config::PluginRef;
use sluice::render::{PluginHost, hash_files};
use sluice::serve::store::Published;
use sluice::serve::wire::{FileDoc, ReplicaStatus, RevisionDoc};
use sluice::serve::{Api, Keyring, Store};
use sluice::trust::{Credentials, Signer};
use sluice::wit::latest::{RenderInput, Setting, SettingValue, VirtualHost};
use sluice_tests::backend::Backend;
use sluice_tests::inputs;
use sluice_tests::ports::free_port;
use sluice_tests::proxy::Kind;
use tempfile::TempDir;

const CLUSTER: &str = "east";

/// Routes (host, backend), then the host whose answer shows they are live
/// and the backend it must come from.
type Change<'a> = (&'a [(&'a str, &'a Backend)], &'a str, &'a str);
/// The bar for a route change, publish to first 200.
const LIVE_WITHIN: Duration = Duration::from_secs(1);
const DAEMON_KEY: &[u8] = b"agent test key, 32 bytes long...";

fn keys() -> Keyring {
    Keyring::new(DAEMON_KEY.to_vec())
}

/// A store signing with the test daemon's key.
fn store() -> Arc<Store> {
    Arc::new(Store::new(keys().signer().clone()))
}

/// The daemon's API on 127.0.0.1, with a store the test publishes into.
struct Daemon {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    store: Arc<Store>,
    keys: Arc<Keyring>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Daemon {
    fn start(port: u16, store: Arc<Store>) -> Daemon {
        Daemon::start_with(port, store, keys())
    }

    /// The API with `keys` (their signer must be `store`'s).
    fn start_with(port: u16, store: Arc<Store>, keys: Keyring) -> Daemon {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)))
            .expect("bind the API");
        let addr = listener.local_addr().unwrap();
        let keys = Arc::new(keys);
        let tls = keys.server_tls(&["127.0.0.1".into()]).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(sluice::serve::run(
            listener,
            Api::new(store.clone(), keys.clone()),
            Arc::new(tls),
            async {
                let _ = stopped.await;
            },
        ));
        Daemon {
            runtime,
            addr,
            store,
            keys,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn credentials(&self) -> Credentials {
        self.keys.credentials(CLUSTER).unwrap()
    }

    fn publish(&self, doc: &RevisionDoc) -> Instant {
        let at = Instant::now();
        assert!(
            self.store.publish(doc),
            "revision {} published twice",
            doc.hash
        );
        at
    }

    fn replica(&self, replica: &str) -> Option<ReplicaStatus> {
        self.store
            .status(None)
            .clusters
            .get(CLUSTER)?
            .replicas
            .get(replica)
            .cloned()
    }

    fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let (Some(stop), Some(task)) = (self.stop.take(), self.task.take()) {
            let _ = stop.send(());
            let _ = self.runtime.block_on(task);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A proxy's scratch directory, ports, and the revisions rendered for it.
struct Site {
    kind: Kind,
    /// The agent's config root.
    dir: TempDir,
    /// Where the test keeps the agent's credentials.
    secrets: TempDir,
    http_port: u16,
    https_port: u16,
    /// The nginx plugin's `TrafficMetrics`.
    traffic_metrics: bool,
    /// HAProxy with its master CLI, which the agent drives to set server
    /// slots at runtime (as the daemon runs it).
    master: bool,
}

impl Site {
    fn new(kind: Kind, name: &str) -> Site {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-agent-{}-{name}-", kind.name()))
            .tempdir()
            .unwrap();
        let http_port = free_port();
        let https_port = loop {
            let p = free_port();
            if p != http_port {
                break p;
            }
        };
        Site {
            kind,
            dir,
            secrets: tempfile::Builder::new()
                .prefix("sluice-agent-secrets-")
                .tempdir()
                .unwrap(),
            http_port,
            https_port,
            traffic_metrics: false,
            master: false,
        }
    }

    /// HAProxy's master CLI socket, outside the config root (as
    /// `/run/sluice-agent` is beside `/usr/local/etc/haproxy`).
    fn master_socket(&self) -> PathBuf {
        self.secrets.path().join("run").join("haproxy-master.sock")
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn text(key: &str, value: &str) -> Setting {
        Setting {
            key: key.into(),
            value: SettingValue::Text(value.into()),
        }
    }

    fn config(&self) -> String {
        self.file(match self.kind {
            Kind::Nginx => "nginx.conf",
            Kind::Haproxy => "haproxy.cfg",
        })
    }

    /// The validate command as the daemon would set it for this kind.
    fn validate_cmd(&self) -> Vec<String> {
        let kind = sluice::proxies::builtin(self.kind.name()).unwrap();
        sluice::proxies::owned(kind.validate)
    }

    fn reload(&self) -> &'static str {
        sluice::proxies::builtin(self.kind.name())
            .unwrap()
            .reload_signal
    }

    /// The proxy's argv as the agent gets it (files stay in the site's dir).
    fn proxy_cmd(&self) -> Vec<String> {
        match self.kind {
            Kind::Nginx => vec![
                "nginx".to_owned(),
                "-e".to_owned(),
                self.file("startup-error.log"),
                "-c".to_owned(),
                "{config}".to_owned(),
                "-g".to_owned(),
                "daemon off;".to_owned(),
            ],
            // With `master`, the agent adds the master socket's `-S`.
            Kind::Haproxy => ["haproxy", "-W", "-db", "-f", "{config}"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn settings(&self) -> Vec<Setting> {
        if self.kind == Kind::Haproxy {
            return vec![Site::text("PidPath", &self.file("haproxy.pid"))];
        }
        let mut settings = vec![
            Site::text("PidPath", &self.file("nginx.pid")),
            Site::text("ErrorLogPath", &self.file("error.log")),
            Site::text("AccessLogPath", &self.file("access.log")),
            Setting {
                key: "HTTPOptions".into(),
                value: SettingValue::TextList(
                    ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
                        .iter()
                        .map(|t| format!("{t}_temp_path {};", self.file(t)))
                        .collect(),
                ),
            },
        ];
        if unsafe { libc::geteuid() } == 0 {
            settings.push(Site::text("User", "root"));
        }
        if self.traffic_metrics {
            settings.push(Setting {
                key: "TrafficMetrics".into(),
                value: SettingValue::Boolean(true),
            });
        }
        settings
    }

    /// The plugin's rendering of `hosts` (name, backend) for this site.
    fn revision(&self, hosts: &[(&str, &Backend)]) -> RevisionDoc {
        let to: Vec<(&str, String, u16)> = hosts
            .iter()
            .map(|(name, b)| (*name, b.ip(), b.port()))
            .collect();
        self.revision_to(&to)
    }

    /// The same, each host to one address (name, ip, port).
    fn revision_to(&self, hosts: &[(&str, String, u16)]) -> RevisionDoc {
        let hosts: Vec<(&str, Vec<(String, u16)>)> = hosts
            .iter()
            .map(|(name, ip, port)| (*name, vec![(ip.clone(), *port)]))
            .collect();
        self.revision_servers(&hosts)
    }

    /// The same, each host to its servers (name, [(ip, port)]).
    fn revision_servers(&self, hosts: &[(&str, Vec<(String, u16)>)]) -> RevisionDoc {
        let mut cluster = inputs::cluster(&self.config(), self.settings());
        cluster.http_port = self.http_port;
        cluster.https_port = self.https_port;
        let hosts: Vec<VirtualHost> = hosts
            .iter()
            .map(|(name, servers)| {
                let servers: Vec<(&str, u16)> =
                    servers.iter().map(|(ip, p)| (ip.as_str(), *p)).collect();
                let up = inputs::upstream(&name.replace('.', "_"), &servers);
                inputs::host(name, up)
            })
            .collect();
        let input = RenderInput {
            cluster,
            hosts,
            default_backend: None,
        };
        let plugin = plugin_host()
            .load(&PluginRef::Builtin(self.kind.name().into()), None)
            .expect("plugin loads");
        let rendered = plugin.render(&input).expect("plugin renders");
        let files = rendered.files;
        // As the daemon publishes them (sluice::daemon::revision_doc).
        let slots = (!rendered.slots.is_empty()).then(|| {
            let shape = sluice::render::shape_of(&files, &rendered.slots);
            sluice::daemon::slots_doc(&shape, &rendered.slots)
        });
        RevisionDoc {
            cluster: CLUSTER.into(),
            hash: hash_files(&files),
            seq: 0,
            files: files
                .iter()
                .map(|f| FileDoc {
                    path: f.path.clone(),
                    contents: f.contents.clone(),
                })
                .collect(),
            tls: Vec::new(),
            slots,
        }
    }
}

fn plugin_host() -> &'static PluginHost {
    static HOST: std::sync::OnceLock<PluginHost> = std::sync::OnceLock::new();
    HOST.get_or_init(|| PluginHost::new().expect("plugin host"))
}

/// `sluice agent` as a child process (its own process group, so dropping
/// it takes the proxy along).
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(site: &Site, daemon_url: &str, creds: &Credentials, replica: &str) -> Agent {
        Agent::start_with(site, daemon_url, creds, replica, &[])
    }

    /// With more env, e.g. `SLUICE_METRICS_ADDR`.
    fn start_with(
        site: &Site,
        daemon_url: &str,
        creds: &Credentials,
        replica: &str,
        env: &[(&str, String)],
    ) -> Agent {
        // Outside the config root: a revision can never overwrite it.
        let creds_file = site.secrets.path().join(format!("credentials-{replica}"));
        std::fs::write(&creds_file, creds.to_json()).unwrap();
        let proxy_cmd = serde_json::to_string(&site.proxy_cmd()).unwrap();
        let log = site.dir.path().join(format!("agent-{replica}.log"));
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(env!("CARGO_BIN_EXE_test-agent"))
                .env("SLUICE_ENDPOINT", daemon_url)
                .env("SLUICE_CLUSTER", CLUSTER)
                .env("SLUICE_CREDENTIALS_FILE", &creds_file)
                .env("SLUICE_REPLICA", replica)
                .env("SLUICE_PROXY_CMD", proxy_cmd)
                .env(
                    "SLUICE_VALIDATE_CMD",
                    serde_json::to_string(&site.validate_cmd()).unwrap(),
                )
                .env("SLUICE_RELOAD", site.reload())
                .env("SLUICE_CONFIG_ROOT", site.dir.path())
                .env("RUST_LOG", "info")
                .envs(
                    site.master
                        .then(|| ("SLUICE_HAPROXY_MASTER_SOCKET", site.master_socket())),
                )
                // As the daemon runs nginx: its reload checks the config.
                .envs((site.kind == Kind::Nginx).then_some(("SLUICE_RELOAD_CHECKS", "true")))
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("start the agent")
        };
        Agent { child, log }
    }

    /// The proxy's main process: the agent's child.
    fn proxy_pid(&self) -> Option<i32> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).ok()?;
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
            .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find_map(|pid| pid.parse().ok())
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: libc::c_int) {
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// The agent's exit status, waiting at most `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// One request on a fresh connection: (status, body).
fn get(port: u16, host: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // One segment: a request split over several small writes waits on
    // Nagle and delayed ACKs (~40 ms) with some servers.
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

/// Whether `host` on the proxy answers 200 from `backend`.
fn served_by(port: u16, host: &str, backend: &str) -> bool {
    matches!(get(port, host), Ok((200, body)) if body.contains(&format!("\"backend\":\"{backend}\"")))
}

/// Polls (every 2 ms) until `host` is served by `backend`; the time it took.
fn wait_served(port: u16, host: &str, backend: &str, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if served_by(port, host, backend) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

fn wait_until(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Requests `host` in a loop on fresh connections until dropped, counting
/// answers that are not 200 from `backend`.
struct Hammer {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    first_failure: Arc<std::sync::Mutex<Option<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hammer {
    fn start(port: u16, host: &'static str, backend: &'static str) -> Hammer {
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let first_failure = Arc::new(std::sync::Mutex::new(None));
        let thread = {
            let (stop, sent, failed, first) = (
                Arc::clone(&stop),
                Arc::clone(&sent),
                Arc::clone(&failed),
                Arc::clone(&first_failure),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let answer = get(port, host);
                    sent.fetch_add(1, Ordering::SeqCst);
                    let ok = matches!(&answer, Ok((200, body)) if body.contains(backend));
                    if !ok {
                        failed.fetch_add(1, Ordering::SeqCst);
                        first.lock().unwrap().get_or_insert(format!("{answer:?}"));
                    }
                }
            })
        };
        Hammer {
            stop,
            sent,
            failed,
            first_failure,
            thread: Some(thread),
        }
    }

    /// (sent, failed, first failure).
    fn finish(mut self) -> (usize, usize, Option<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        (
            self.sent.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            self.first_failure.lock().unwrap().clone(),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Starts an agent on `first` and waits until `host` is served by `backend`.
fn start_serving(site: &Site, daemon: &Daemon, replica: &str, host: &str, backend: &str) -> Agent {
    let agent = Agent::start(site, &daemon.url(), &daemon.credentials(), replica);
    let took = wait_served(site.http_port, host, backend, Duration::from_secs(10));
    assert!(
        took.is_some(),
        "{host} never served by {backend}\n--- agent ---\n{}",
        agent.logs()
    );
    agent
}

#[test]
fn nginx_route_changes_apply_in_place_within_a_second_without_failed_requests() {
    route_changes_apply_in_place(Kind::Nginx);
}

#[test]
fn haproxy_route_changes_apply_in_place_within_a_second_without_failed_requests() {
    route_changes_apply_in_place(Kind::Haproxy);
}

fn route_changes_apply_in_place(kind: Kind) {
    let (a, b, c) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
        Backend::http("c", "127.0.0.1"),
    );
    let site = Site::new(kind, "inplace");
    let daemon = Daemon::start(0, store());
    daemon.publish(&site.revision(&[("a.test", &a)]));
    let agent = start_serving(&site, &daemon, "r1", "a.test", "a");
    let pid = agent.proxy_pid().expect("the agent runs the proxy");

    let hammer = Hammer::start(site.http_port, "a.test", "\"backend\":\"a\"");
    // Each change adds or re-points a host; a.test must keep answering.
    let changes: [Change; 6] = [
        (&[("a.test", &a), ("b.test", &b)], "b.test", "b"),
        (&[("a.test", &a), ("b.test", &c)], "b.test", "c"),
        (
            &[("a.test", &a), ("b.test", &c), ("c.test", &c)],
            "c.test",
            "c",
        ),
        (&[("a.test", &a), ("c.test", &b)], "c.test", "b"),
        (&[("a.test", &a), ("d.test", &b)], "d.test", "b"),
        (&[("a.test", &a), ("d.test", &c)], "d.test", "c"),
    ];
    let mut latencies = Vec::new();
    for (hosts, host, backend) in changes {
        let doc = site.revision(hosts);
        let published = daemon.publish(&doc);
        let served = wait_served(site.http_port, host, backend, Duration::from_secs(5));
        let took = published.elapsed();
        assert!(
            served.is_some(),
            "{host} → {backend} not served\n--- agent ---\n{}",
            agent.logs()
        );
        latencies.push(took);
        assert!(took < LIVE_WITHIN, "{host} → {backend} took {took:?}");
        assert!(
            wait_until(Duration::from_secs(2), || daemon
                .replica("r1")
                .and_then(|r| r.running)
                == Some(doc.hash.clone())),
            "status never showed r1 running {}",
            doc.hash
        );
        // Settle between changes, as separate route changes are.
        std::thread::sleep(Duration::from_millis(200));
    }
    let (sent, failed, first) = hammer.finish();

    assert_eq!(agent.proxy_pid(), Some(pid), "proxy master replaced");
    // The agent's own share: install, validate, signal.
    let applied: Vec<String> = agent
        .logs()
        .lines()
        .filter(|l| l.contains("proxy reloaded"))
        .filter_map(|l| l.split("took=").nth(1))
        .map(|t| t.split_whitespace().next().unwrap_or(t).to_owned())
        .collect();
    eprintln!(
        "[agent latency] {}: agent apply times: {}",
        kind.name(),
        applied.join(" ")
    );
    latencies.sort();
    let list: Vec<String> = latencies.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    eprintln!(
        "[agent latency] {}: route change → first 200, ms (sorted): {}; requests to an unchanged route during the changes: {sent} sent, {failed} failed",
        kind.name(),
        list.join(" ")
    );
    assert_eq!(
        failed, 0,
        "failed requests during reloads, first: {first:?}"
    );
    assert!(sent > 100, "the hammer sent only {sent} requests");
    drop(agent);
}

#[test]
fn refused_revision_keeps_the_last_good_config_and_is_reported() {
    let (a, b) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
    );
    let site = Site::new(Kind::Nginx, "refused");
    let daemon = Daemon::start(0, store());
    let good = site.revision(&[("a.test", &a)]);
    daemon.publish(&good);
    let agent = start_serving(&site, &daemon, "r1", "a.test", "a");
    let pid = agent.proxy_pid();

    let mut bad = site.revision(&[("a.test", &a), ("b.test", &b)]);
    bad.files[0]
        .contents
        .push_str("\nthis_is_not_a_directive on;\n");
    bad.hash = format!("{}-broken", bad.hash);
    daemon.publish(&bad);
    let reported = wait_until(Duration::from_secs(5), || {
        daemon
            .replica("r1")
            .and_then(|r| r.failed)
            .is_some_and(|f| f.revision == bad.hash)
    });
    assert!(
        reported,
        "no failure reported\n--- agent ---\n{}",
        agent.logs()
    );
    let r1 = daemon.replica("r1").unwrap();
    let failure = r1.failed.unwrap();
    assert!(
        failure.message.contains("this_is_not_a_directive"),
        "the report should quote nginx: {}",
        failure.message
    );
    assert_eq!(r1.running.as_deref(), Some(good.hash.as_str()));
    assert!(served_by(site.http_port, "a.test", "a"));
    assert!(!served_by(site.http_port, "b.test", "b"));
    let on_disk = std::fs::read_to_string(site.config()).unwrap();
    assert_eq!(
        on_disk, good.files[0].contents,
        "the refused file was left in place"
    );

    // The next valid revision goes through as usual.
    let fixed = site.revision(&[("a.test", &a), ("b.test", &b)]);
    daemon.publish(&fixed);
    assert!(wait_served(site.http_port, "b.test", "b", LIVE_WITHIN).is_some());
    assert!(wait_until(Duration::from_secs(2), || daemon
        .replica("r1")
        .is_some_and(
            |r| r.failed.is_none() && r.running == Some(fixed.hash.clone())
        )));
    assert_eq!(agent.proxy_pid(), pid);
}

#[test]
fn agents_without_their_clusters_credentials_get_nothing() {
    let a = Backend::http("a", "127.0.0.1");
    let site = Site::new(Kind::Nginx, "token");
    let daemon = Daemon::start(0, store());
    daemon.publish(&site.revision(&[("a.test", &a)]));
    let other_daemon = Keyring::new(b"not the daemon's key".to_vec());
    let own = daemon.credentials();
    let with_token = |token: String| Credentials {
        token,
        ..own.clone()
    };
    let west = daemon.keys.credentials("west").unwrap();
    let west_as_east = Credentials {
        cluster: CLUSTER.into(),
        ..west.clone()
    };
    // (case, endpoint, credentials, what the agent's log must say, exits)
    let table: Vec<(&str, String, Credentials, &str, bool)> = vec![
        (
            "no token",
            daemon.url(),
            with_token(String::new()),
            "401",
            true,
        ),
        (
            "another cluster's token",
            daemon.url(),
            with_token(daemon.keys.cluster_token("west")),
            "403",
            true,
        ),
        (
            "a token of another daemon",
            daemon.url(),
            with_token(other_daemon.cluster_token(CLUSTER)),
            "403",
            true,
        ),
        (
            "another cluster's certificate and token",
            daemon.url(),
            west_as_east,
            "403",
            true,
        ),
        (
            "another cluster's credentials file",
            daemon.url(),
            west,
            "they open cluster \"west\"",
            true,
        ),
        (
            "a plain-http endpoint",
            daemon.url().replace("https://", "http://"),
            own.clone(),
            "plain http is refused",
            true,
        ),
        (
            "another daemon's credentials (CA and certificate)",
            daemon.url(),
            other_daemon.credentials(CLUSTER).unwrap(),
            "certificate",
            false,
        ),
    ];
    for (case, url, creds, says, exits) in table {
        let mut agent = Agent::start(&site, &url, &creds, "r1");
        let exit = agent.wait_exit(Duration::from_secs(if exits { 10 } else { 3 }));
        let logs = agent.logs();
        if exits {
            assert!(
                exit.is_some_and(|s| !s.success()),
                "{case}: agent should fail, got {exit:?}\n{logs}"
            );
        } else {
            assert!(
                exit.is_none(),
                "{case}: the agent keeps retrying, got {exit:?}\n{logs}"
            );
        }
        assert!(logs.contains(says), "{case}: expected {says:?} in\n{logs}");
        assert!(
            !Path::new(&site.file("nginx.pid")).exists(),
            "{case}: nginx started"
        );
        assert!(
            get(site.http_port, "a.test").is_err(),
            "{case}: something serves"
        );
    }
}

/// A man in the middle that answers with a valid HTTP response (here: the
/// daemon's own store, so the TLS channel is genuine) but a revision it
/// made: forged (signed by another key), unsigned, or an older genuine one
/// replayed. The agent refuses each, runs nothing, writes nothing, keeps
/// serving and reports; the next genuine revision goes through.
#[test]
fn forged_unsigned_and_replayed_revisions_are_refused() {
    let (a, b, c) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
        Backend::http("c", "127.0.0.1"),
    );
    let site = Site::new(Kind::Nginx, "mitm");
    let store = store();
    let daemon = Daemon::start(0, store.clone());
    let first = site.revision(&[("a.test", &a)]);
    daemon.publish(&first);
    let recorded = store.newest_published(CLUSTER).unwrap();
    let agent = start_serving(&site, &daemon, "r1", "a.test", "a");
    let pid = agent.proxy_pid();
    let second = site.revision(&[("a.test", &a), ("b.test", &b)]);
    daemon.publish(&second);
    assert!(wait_served(site.http_port, "b.test", "b", LIVE_WITHIN).is_some());

    let marker = site.file("pwned");
    let evil_body = |seq: u64| {
        // The old wire format's commands, and a file for the attacker.
        serde_json::to_vec(&serde_json::json!({
            "cluster": CLUSTER,
            "hash": format!("e{seq:0>63}"),
            "seq": seq,
            "files": [
                {"path": site.config(), "contents": "events {}\nhttp { server { listen 1; } }\n"},
                {"path": site.file("extra.conf"), "contents": "x"},
            ],
            "validate_command": ["sh", "-c", format!("touch {marker}")],
            "reload": {"command": ["sh", "-c", format!("touch {marker}")]},
        }))
        .unwrap()
    };
    let impostor = Signer::from_seed(&[9; 32]);
    let forged = evil_body(u64::MAX - 1);
    let now_seq = store.newest_published(CLUSTER).unwrap().seq;
    // Above what runs, below the next genuine revision (published seconds later).
    let outside = serde_json::to_vec(&serde_json::json!({
        "cluster": CLUSTER, "hash": "f".repeat(64), "seq": now_seq + 1,
        "files": [{"path": site.config(), "contents": "x"}, {"path": "/etc/cron.d/sluice", "contents": "x"}],
    }))
    .unwrap();
    // The store's hash is what the long-poll compares with the agent's; as
    // the daemon would, it is the body's own (for the one the agent takes).
    let raw = |body: Vec<u8>, signature: String, seq: u64| Published {
        hash: if seq == 4 {
            "f".repeat(64)
        } else {
            format!("raw{seq}")
        },
        seq,
        body: body.into(),
        signature,
        with_slots: None,
        published_ms: 0,
        own: false,
    };
    // (case, answer, what the report must say)
    let cases: Vec<(&str, Published, &str)> = vec![
        (
            "forged: another key",
            raw(forged.clone(), impostor.sign(&forged), 1),
            "does not trust",
        ),
        (
            "unsigned",
            raw(evil_body(u64::MAX - 2), String::new(), 2),
            "unsigned",
        ),
        (
            "altered: the daemon's signature over other bytes",
            raw(evil_body(u64::MAX - 3), recorded.signature.clone(), 3),
            "forged or altered",
        ),
        (
            "replayed: an older genuine revision",
            Published {
                hash: recorded.hash.clone(),
                seq: recorded.seq,
                body: recorded.body.clone(),
                signature: recorded.signature.clone(),
                with_slots: None,
                published_ms: 0,
                own: false,
            },
            "replayed",
        ),
        (
            "a file outside the config root, signed by the daemon",
            raw(outside.clone(), daemon.keys.signer().sign(&outside), 4),
            "under the config root",
        ),
    ];
    // An unchanged route: nginx's old workers may still answer a re-pointed
    // one for a moment after a reload.
    let hammer = Hammer::start(site.http_port, "a.test", "\"backend\":\"a\"");
    for (case, answer, says) in cases {
        store.publish_raw(CLUSTER, answer);
        let reported = wait_until(Duration::from_secs(5), || {
            daemon
                .replica("r1")
                .and_then(|r| r.failed)
                .is_some_and(|f| f.message.contains(says))
        });
        assert!(
            reported,
            "{case}: no report saying {says:?}: {:?}\n--- agent ---\n{}",
            daemon.replica("r1"),
            agent.logs()
        );
        assert_eq!(
            daemon.replica("r1").and_then(|r| r.running),
            Some(second.hash.clone()),
            "{case}"
        );
        assert!(!Path::new(&marker).exists(), "{case}: a command ran");
        assert!(
            !Path::new(&site.file("extra.conf")).exists(),
            "{case}: a file was written"
        );
    }
    let (sent, failed, first_failure) = hammer.finish();
    assert_eq!(
        failed,
        0,
        "requests failed while refusing: {first_failure:?}\n--- agent ---\n{}",
        agent.logs()
    );
    assert!(sent > 10, "{sent}");
    assert!(!Path::new("/etc/cron.d/sluice").exists());
    assert!(now_seq > 0);

    // A genuine revision, newer than all, still goes through.
    daemon.publish(&site.revision(&[("a.test", &a), ("c.test", &c)]));
    assert!(
        wait_served(site.http_port, "c.test", "c", Duration::from_secs(10)).is_some(),
        "{}",
        agent.logs()
    );
    assert_eq!(agent.proxy_pid(), pid, "nginx master replaced");
}

#[test]
fn restarted_agent_and_daemon_catch_up_with_the_newest_revision() {
    let (a, b, c) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
        Backend::http("c", "127.0.0.1"),
    );
    let site = Site::new(Kind::Nginx, "catchup");
    let store = store();
    let daemon = Daemon::start(0, store.clone());
    daemon.publish(&site.revision(&[("a.test", &a)]));
    let mut agent = start_serving(&site, &daemon, "r1", "a.test", "a");

    // SIGTERM goes to nginx; the agent exits with it (0: a requested stop).
    agent.signal(libc::SIGTERM);
    let exit = agent.wait_exit(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "agent exit {exit:?}\n{}",
        agent.logs()
    );
    assert!(get(site.http_port, "a.test").is_err(), "nginx still serves");
    drop(agent);

    // Two revisions while it is away; the restarted agent gets the newest.
    daemon.publish(&site.revision(&[("a.test", &a), ("b.test", &b)]));
    let newest = site.revision(&[("a.test", &c), ("b.test", &b)]);
    daemon.publish(&newest);
    let agent = start_serving(&site, &daemon, "r1", "a.test", "c");
    assert!(served_by(site.http_port, "b.test", "b"));
    let pid = agent.proxy_pid();

    // The daemon goes away (long enough for any backoff to grow): nginx
    // keeps serving; back on the same port with a newer revision, the agent
    // reconnects and applies it.
    let port = daemon.addr.port();
    daemon.stop();
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        served_by(site.http_port, "a.test", "c"),
        "serving stopped with the daemon"
    );
    let later = site.revision(&[("a.test", &a), ("c.test", &c)]);
    store.publish(&later);
    let restarted = Instant::now();
    let daemon = Daemon::start(port, store);
    let took = wait_served(site.http_port, "c.test", "c", Duration::from_secs(15));
    assert!(
        took.is_some(),
        "not caught up\n--- agent ---\n{}",
        agent.logs()
    );
    let took = restarted.elapsed();
    eprintln!(
        "[agent latency] daemon back after 6 s away → newest revision served: {:.0} ms",
        ms(took)
    );
    // The target is 1 s (printed above); after 6 s away the old doubling
    // backoff took 1.9 s, the capped one 0.3 s on the same machine.
    assert!(
        took < Duration::from_millis(1500),
        "took {took:?} to catch up"
    );
    assert_eq!(agent.proxy_pid(), pid, "nginx master replaced");
    drop(daemon);
}

/// A key rotation as the agents live it (`sluice rotate-key`, then the
/// daemon restarted with the rotated file): the daemon now signs with,
/// serves and accepts the key every credentials secret already trusted, so
/// the running agent (same process, same nginx, no new secret) takes the
/// next revision, with no failed request. The previous key names exactly the
/// credentials it holds (the apply stage keeps such a secret mounted). One
/// rotation further they open nothing and the proxy keeps serving; the
/// credentials made after the first rotation do.
#[test]
fn key_rotation_needs_no_new_credentials_and_no_proxy_restart() {
    use sluice::trust::keyfile::{KeyFile, fresh_key};
    let (a, b, c) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
        Backend::http("c", "127.0.0.1"),
    );
    let start = |port: u16, file: &KeyFile| {
        let keys = Keyring::from_file(file);
        let store = Arc::new(Store::new(keys.signer().clone()));
        Daemon::start_with(port, store, keys)
    };
    let site = Site::new(Kind::Nginx, "rotation");
    let file0 = KeyFile {
        previous: None,
        current: fresh_key().unwrap(),
        next: Some(fresh_key().unwrap()),
    };
    let daemon = start(0, &file0);
    daemon.publish(&site.revision(&[("a.test", &a)]));
    let held = daemon.credentials();
    let agent = start_serving(&site, &daemon, "r1", "a.test", "a");
    let pid = agent.proxy_pid();
    let hammer = Hammer::start(site.http_port, "a.test", "a");

    let port = daemon.addr.port();
    daemon.stop();
    let file1 = file0.rotated(fresh_key().unwrap()).unwrap();
    let daemon = start(port, &file1);
    assert_eq!(
        daemon.keys.previous_credentials(CLUSTER).unwrap().as_ref(),
        Some(&held),
        "the rotated daemon recognises the credentials the proxies mount"
    );
    assert_ne!(
        daemon.credentials(),
        held,
        "new secrets trust the new next key"
    );
    let published = daemon.publish(&site.revision(&[("a.test", &a), ("b.test", &b)]));
    let took = wait_served(site.http_port, "b.test", "b", Duration::from_secs(10));
    assert!(
        took.is_some(),
        "the agent lost the daemon with the rotation\n--- agent ---\n{}",
        agent.logs()
    );
    eprintln!(
        "[rotation] daemon restarted on the rotated key: next revision served {:.0} ms after publishing",
        ms(published.elapsed())
    );
    assert_eq!(agent.proxy_pid(), pid, "nginx master replaced");
    let (sent, failed, first) = hammer.finish();
    assert_eq!(failed, 0, "{failed} of {sent} requests failed: {first:?}");
    let after_first = daemon.credentials();

    let port = daemon.addr.port();
    daemon.stop();
    let file2 = file1.rotated(fresh_key().unwrap()).unwrap();
    let daemon = start(port, &file2);
    daemon.publish(&site.revision(&[("a.test", &a), ("b.test", &b), ("c.test", &c)]));
    assert!(
        wait_served(site.http_port, "c.test", "c", Duration::from_secs(3)).is_none(),
        "credentials from two rotations ago still open the channel"
    );
    assert!(
        served_by(site.http_port, "b.test", "b"),
        "the proxy stopped serving"
    );
    assert_eq!(agent.proxy_pid(), pid);
    let newer = Site::new(Kind::Nginx, "rotation-newer");
    daemon.publish(&newer.revision(&[("c.test", &c)]));
    let agent2 = Agent::start(&newer, &daemon.url(), &after_first, "r2");
    assert!(
        wait_served(newer.http_port, "c.test", "c", Duration::from_secs(10)).is_some(),
        "the credentials made after the first rotation do not open it\n--- agent ---\n{}",
        agent2.logs()
    );
}

#[test]
fn proxy_dying_makes_the_agent_exit_non_zero() {
    let a = Backend::http("a", "127.0.0.1");
    let site = Site::new(Kind::Nginx, "death");
    let daemon = Daemon::start(0, store());
    daemon.publish(&site.revision(&[("a.test", &a)]));
    let mut agent = start_serving(&site, &daemon, "r1", "a.test", "a");
    let pid = agent.proxy_pid().unwrap();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let exit = agent.wait_exit(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.code().is_some_and(|c| c != 0)),
        "agent exit {exit:?}\n{}",
        agent.logs()
    );
}

/// HAProxy with its master CLI: a revision that changes only the tasks
/// behind a backend (scaled up, scaled down, a task replaced) is set at
/// runtime, the worker untouched and no reload counted; one that changes
/// anything else is reloaded as before. Prints the time from publication
/// to the first answer from a task added.
#[test]
fn haproxy_takes_task_changes_at_runtime_without_a_reload() {
    let tasks: Vec<Backend> = (0..4)
        .map(|i| Backend::http(&format!("t{i}"), "127.0.0.1"))
        .collect();
    let to = |ids: &[usize]| -> Vec<(String, u16)> {
        ids.iter()
            .map(|&i| (tasks[i].ip(), tasks[i].port()))
            .collect()
    };
    let mut site = Site::new(Kind::Haproxy, "runtime");
    site.master = true;
    let daemon = Daemon::start(0, store());
    let first = site.revision_servers(&[("a.test", to(&[0]))]);
    assert!(first.slots.is_some(), "the HAProxy plugin renders slots");
    daemon.publish(&first);
    let agent = start_serving(&site, &daemon, "r1", "a.test", "t0");
    let master = agent.proxy_pid().expect("the agent runs HAProxy");
    let worker = || children_pids(master);
    let workers = worker();
    assert_eq!(workers.len(), 1, "one HAProxy worker");

    let hammer = Hammer::start(site.http_port, "a.test", "\"backend\":\"t");
    // Scale up one task at a time (within the four slots), replace one,
    // then down again; each new task must take traffic.
    let steps: [(&[usize], Option<usize>); 6] = [
        (&[0, 1], Some(1)),
        (&[0, 1, 2], Some(2)),
        (&[0, 1, 2, 3], Some(3)),
        (&[1, 2, 3], None),
        (&[1, 3], None),
        (&[0, 1, 3], Some(0)),
    ];
    let mut taken = Vec::new();
    for (n, (ids, added)) in steps.iter().enumerate() {
        let doc = site.revision_servers(&[("a.test", to(ids))]);
        let published = daemon.publish(&doc);
        if let Some(i) = added {
            let id = format!("t{i}");
            let seen = wait_until(Duration::from_secs(5), || {
                served_by(site.http_port, "a.test", &id)
            });
            assert!(
                seen,
                "task {id} never answered
--- agent ---
{}",
                agent.logs()
            );
            taken.push(published.elapsed());
        }
        assert!(
            wait_until(Duration::from_secs(5), || daemon.replica("r1").is_some_and(
                |r| r.running == Some(doc.hash.clone()) && r.runtime_updates == n as u64 + 1
            )),
            "step {n}: not applied at runtime: {:?}
--- agent ---
{}",
            daemon.replica("r1"),
            agent.logs()
        );
        // A task gone gets nothing more.
        if ids.len() < 4 {
            let gone: Vec<usize> = (0..4).filter(|i| !ids.contains(i)).collect();
            let before: Vec<usize> = gone.iter().map(|&i| tasks[i].hits()).collect();
            for _ in 0..20 {
                let _ = get(site.http_port, "a.test");
            }
            let after: Vec<usize> = gone.iter().map(|&i| tasks[i].hits()).collect();
            assert_eq!(
                before, after,
                "step {n}: removed tasks {gone:?} still get requests"
            );
        }
    }
    let (sent, failed, first_failure) = hammer.finish();
    let replica = daemon.replica("r1").unwrap();
    assert_eq!(replica.reloads, 0, "no reload for task changes");
    assert_eq!(worker(), workers, "the same HAProxy worker throughout");
    assert_eq!(failed, 0, "failed requests, first: {first_failure:?}");
    // The files say what runs, for a later reload or restart.
    let cfg = std::fs::read_to_string(site.config()).unwrap();
    for i in [0, 1, 3] {
        assert!(
            cfg.contains(&format!("127.0.0.1:{} weight", tasks[i].port())),
            "task {i} missing from the installed config:\n{cfg}"
        );
    }
    assert!(!cfg.contains(&format!("127.0.0.1:{} weight", tasks[2].port())));

    // Another host: another shape, a reload.
    let other = site.revision_servers(&[("a.test", to(&[0, 1, 3])), ("b.test", to(&[2]))]);
    daemon.publish(&other);
    assert!(wait_served(site.http_port, "b.test", "t2", Duration::from_secs(5)).is_some());
    assert!(wait_until(Duration::from_secs(5), || daemon
        .replica("r1")
        .is_some_and(|r| r.reloads == 1)));
    taken.sort();
    let list: Vec<String> = taken.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    eprintln!(
        "[runtime] haproxy: publication → a new task's first answer, ms (sorted): {}; {sent} requests meanwhile, {failed} failed; reloads {}",
        list.join(" "),
        daemon.replica("r1").map_or(0, |r| r.reloads)
    );
    drop(agent);
}

/// The child processes of `pid` (HAProxy's master: its workers).
fn children_pids(pid: i32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut pids: Vec<String> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    pids.sort();
    pids
}

/// How many child processes `pid` has (an nginx master: its workers).
fn children(pid: i32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .map(|c| c.split_whitespace().count())
        .sum()
}

/// The agent's `/metrics`, or "" while it does not answer.
fn scrape(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

/// The value of the sample `series` (name and labels as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// nginx with `TrafficMetrics` logs each request to the agent's socket; the
/// agent's `/metrics` then counts them per host and upstream, with the
/// upstream failures, and its own reloads. Junk on the socket is counted as
/// refused, and a flood of made-up hosts cannot grow the series past the cap.
#[test]
fn nginx_traffic_per_host_is_counted_by_the_agent() {
    let (a, b) = (
        Backend::http("a", "127.0.0.1"),
        Backend::http("b", "127.0.0.1"),
    );
    let mut site = Site::new(Kind::Nginx, "traffic");
    site.traffic_metrics = true;
    let daemon = Daemon::start(0, store());
    daemon.publish(&site.revision(&[("t1.test", &a)]));
    let metrics_port = free_port();
    let agent = Agent::start_with(
        &site,
        &daemon.url(),
        &daemon.credentials(),
        "r1",
        &[("SLUICE_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))],
    );
    assert!(
        wait_served(site.http_port, "t1.test", "a", Duration::from_secs(10)).is_some(),
        "t1.test never served\n--- agent ---\n{}",
        agent.logs()
    );
    // A second revision: t2.test, and t3.test whose only server is closed.
    let closed = free_port();
    daemon.publish(&site.revision_to(&[
        ("t1.test", a.ip(), a.port()),
        ("t2.test", b.ip(), b.port()),
        ("t3.test", "127.0.0.1".into(), closed),
    ]));
    assert!(
        wait_served(site.http_port, "t2.test", "b", Duration::from_secs(5)).is_some(),
        "t2.test never served\n--- agent ---\n{}",
        agent.logs()
    );
    // Until the old worker has gone, it still takes connections with the
    // old config (and t2.test is unknown there).
    let master = agent.proxy_pid().expect("the agent runs nginx");
    assert!(
        wait_until(Duration::from_secs(10), || children(master) == 1),
        "nginx's old worker did not exit"
    );
    let before = scrape(metrics_port);
    let count = |text: &str, host: &str, upstream: &str, code: &str| {
        sample(
            text,
            &format!(
                "sluice_proxy_http_requests_total{{host=\"{host}\",upstream=\"{upstream}\",code=\"{code}\"}}"
            ),
        )
        .unwrap_or(0.0)
    };
    let sent = [("t1.test", 5), ("t2.test", 3), ("t3.test", 2)];
    for (host, n) in sent {
        for _ in 0..n {
            let _ = get(site.http_port, host);
        }
    }
    let want = [
        ("t1.test", "t1_test", "2xx", 5.0),
        ("t2.test", "t2_test", "2xx", 3.0),
        ("t3.test", "t3_test", "5xx", 2.0),
    ];
    let mut text = String::new();
    let counted = wait_until(Duration::from_secs(5), || {
        text = scrape(metrics_port);
        want.iter()
            .all(|(h, u, c, n)| count(&text, h, u, c) - count(&before, h, u, c) == *n)
    });
    assert!(
        counted,
        "per-host counts never matched {want:?}\n--- metrics ---\n{text}\n--- agent ---\n{}\n--- nginx ---\n{}",
        agent.logs(),
        std::fs::read_to_string(site.file("error.log")).unwrap_or_default()
    );
    let errors = sample(
        &text,
        "sluice_proxy_upstream_errors_total{host=\"t3.test\",upstream=\"t3_test\"}",
    );
    assert!(
        errors >= Some(2.0),
        "upstream errors for t3.test: {errors:?}\n{text}"
    );
    assert_eq!(
        sample(&text, "sluice_agent_reloads_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "sluice_agent_reload_duration_seconds_count"),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("sluice_agent_info{cluster=\"east\"} 1"),
        "{text}"
    );
    eprintln!(
        "[traffic] counted per host: t1 {} t2 {} t3 {} (5xx), upstream errors t3 {errors:?}",
        count(&text, "t1.test", "t1_test", "2xx") - count(&before, "t1.test", "t1_test", "2xx"),
        count(&text, "t2.test", "t2_test", "2xx") - count(&before, "t2.test", "t2_test", "2xx"),
        count(&text, "t3.test", "t3_test", "5xx") - count(&before, "t3.test", "t3_test", "5xx"),
    );

    // Hostile senders: junk, and more made-up hosts than the cap.
    let socket = std::os::unix::net::UnixDatagram::unbound().unwrap();
    let path = "/run/sluice-agent/traffic.sock";
    for junk in [&b"junk"[..], b"sluice: a\tb", &[0xff; 100]] {
        socket.send_to(junk, path).unwrap();
    }
    let flood = 20_000 + 500;
    for i in 0..flood {
        let line = format!("<190>Dec  3 00:00:00 sluice: flood{i}.test\tu\t200\t0.001\t200\t1");
        socket.send_to(line.as_bytes(), path).unwrap();
    }
    let settled = wait_until(Duration::from_secs(20), || {
        text = scrape(metrics_port);
        sample(&text, "sluice_proxy_traffic_lines_refused_total") == Some(3.0)
            && sample(
                &text,
                "sluice_proxy_http_requests_total{host=\"_other\",upstream=\"_other\",code=\"2xx\"}",
            )
            .is_some()
    });
    let series = text
        .lines()
        .filter(|l| l.starts_with("sluice_proxy_http_requests_total{"))
        .count();
    assert!(
        settled,
        "junk not refused or flood not capped ({series} request series)\n{}",
        &text[..text.len().min(3000)]
    );
    // Labels only for names of the installed config: t1, t2, t3, the
    // default server, and `_other` for everything else.
    assert!(
        series <= 6,
        "{series} request series: made-up hosts got labels"
    );
    eprintln!(
        "[traffic] after {flood} made-up hosts: {series} request series (made-up hosts count under _other)"
    );
    // nginx kept serving throughout.
    assert!(served_by(site.http_port, "t1.test", "a"));
    drop(agent);
}
