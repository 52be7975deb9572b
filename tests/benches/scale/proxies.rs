//! The proxies at scale: the bench cluster (`bench_snapshot`, one host per
//! service, TLS on every 13th) rendered by the bundled plugin and loaded by
//! the real nginx and HAProxy on loopback.
//!
//! For each size and proxy it prints: config size; the check the agent runs
//! before a reload (`nginx -t` / `haproxy -c`: wall time, peak RSS, warnings);
//! start until the first answer; the processes' memory at rest; and
//! [`RELOADS`] reloads under steady load (new connection per request to the
//! default server): signal until every old worker is gone, the group's peak
//! memory meanwhile, and the requests that failed. For HAProxy it then
//! changes one backend's tasks [`RUNTIME_UPDATES`] times through the master
//! CLI, as the agent does for a revision that changes only server slots
//! (set, read back), and times each until the new task answers, with the
//! worker untouched (no reload). `BENCH_KEEP=1` keeps the rendered files
//! and logs; `SLUICE_BENCH_PLUGIN=path.wasm` loads nginx's config from
//! another build of its renderer; `BENCH_SERVER_SLOTS=N` sets HAProxy's
//! `ServerSlots` (0: none, to compare). All traffic stays on 127.0.0.1; the
//! rendered servers' addresses are never contacted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice::config;
use sluice::plan;
use sluice::render::{PluginHost, render_cluster};
use sluice::snapshot::Snapshot;
use sluice_tests::bench_run;
use sluice_tests::bench_snapshot::snapshot_json;
use sluice_tests::certs::Ca;
use sluice_tests::ports::free_port;

use sluice_tests::procs::{self, Proc, mib};

const RELOADS: usize = 3;
const RUNTIME_UPDATES: usize = 5;
/// The service whose backend the runtime updates change (`bench_snapshot`:
/// plain, two tasks, no health checks: slots).
const RUNTIME_SERVICE: usize = 0;
const SECRETS: &str = "/run/secrets/";

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Nginx,
    Haproxy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
        }
    }
}

struct Bench {
    dir: tempfile::TempDir,
    kind: Kind,
    http_port: u16,
    config: PathBuf,
}

impl Bench {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn config_toml(&self, https_port: u16) -> String {
        let settings = match self.kind {
            Kind::Nginx => format!(
                "WorkerProcesses = \"auto\"\n MaxConnections = 4096\n PidPath = {:?}\n \
                 ErrorLogPath = {:?}\n AccessLogPath = \"off\"\n User = \"root\"\n \
                 HTTPOptions = [{}]",
                self.path("nginx.pid"),
                self.path("error.log"),
                ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
                    .iter()
                    .map(|t| format!("\"{t}_temp_path {};\"", self.path(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            // BENCH_SERVER_SLOTS=0: HAProxy without server slots (to compare).
            Kind::Haproxy => format!(
                "PidPath = {:?}\n MaxConnections = 4096\n ServerSlots = {}",
                self.path("haproxy.pid"),
                std::env::var("BENCH_SERVER_SLOTS").unwrap_or_else(|_| "4".into())
            ),
        };
        // SLUICE_BENCH_PLUGIN=path.wasm: another build of the nginx renderer
        // (e.g. an older one, to compare).
        let plugin = match (self.kind, std::env::var("SLUICE_BENCH_PLUGIN")) {
            (Kind::Nginx, Ok(path)) => path,
            _ => self.kind.name().to_owned(),
        };
        format!(
            "[Extensions.main]\n Plugin = {plugin:?}\n ServiceCluster = \"\"\n TargetPort = {}\n \
             TargetSSLPort = {https_port}\n ProxyConfigPath = {:?}\n \
             [Extensions.main.Config]\n {settings}\n",
            self.http_port,
            self.config.display().to_string()
        )
    }

    /// The command that checks the config, as the agent runs it before a reload.
    fn check(&self) -> Command {
        let mut cmd = Command::new(self.kind.name());
        match self.kind {
            Kind::Nginx => cmd.args(["-t", "-q", "-e", &self.path("check-error.log"), "-c"]),
            Kind::Haproxy => cmd.args(["-c", "-q", "-f"]),
        };
        cmd.arg(&self.config);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path("check.log")).expect("check log"));
        cmd
    }

    fn start(&self) -> Child {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(self.kind.name());
        match self.kind {
            Kind::Nginx => cmd
                .args(["-e", &self.path("startup-error.log"), "-c"])
                .arg(&self.config)
                .args(["-g", "daemon off;"]),
            Kind::Haproxy => cmd
                .args([
                    "-W",
                    "-db",
                    "-S",
                    &format!("{},mode,600", self.path("master.sock")),
                ])
                .arg("-f")
                .arg(&self.config),
        };
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path("proxy.log")).expect("proxy log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.kind.name()))
    }

    fn reload_signal(&self) -> libc::c_int {
        match self.kind {
            Kind::Nginx => libc::SIGHUP,
            Kind::Haproxy => libc::SIGUSR2,
        }
    }
}

/// Renders the bench cluster of `services` for `bench.kind` into its dir,
/// with `/run/secrets/` moved under the dir and every file there created;
/// its size and server slots.
fn render_into(
    bench: &Bench,
    services: usize,
    https_port: u16,
    ca: &Ca,
) -> (usize, Vec<sluice::wit::latest::Slot>) {
    let parsed = config::parse_str(&bench.config_toml(https_port), Path::new("."))
        .expect("bench config")
        .config;
    let snapshot: Snapshot = serde_json::from_str(&snapshot_json(services)).expect("snapshot");
    let plan = plan::plan(&snapshot, &parsed);
    let host = PluginHost::new().expect("plugin host");
    let rev = render_cluster(&host, &parsed.extensions["main"], &plan.clusters["main"])
        .unwrap_or_else(|e| panic!("{} render: {e}", bench.kind.name()));
    let secrets = bench.path("secrets/");
    std::fs::create_dir_all(&secrets).expect("secrets dir");
    let pem = ca.leaf(&["*.bench.example.com"]).combined_pem();
    let mut bytes = 0;
    for f in &rev.files {
        let text = f.contents.replace(SECRETS, &secrets);
        for name in secret_names(&f.contents) {
            std::fs::write(format!("{secrets}{name}"), &pem).expect("write secret");
        }
        bytes += text.len();
        std::fs::write(&f.path, text).unwrap_or_else(|e| panic!("write {}: {e}", f.path));
    }
    (bytes, rev.slots)
}

/// `RUNTIME_UPDATES` times: point one of the bench backend's slots at a
/// real task (and empty its other slots), through HAProxy's master CLI as
/// the agent does, and time it until that task answers. Returns the times
/// and whether the worker stayed the same.
fn runtime_updates(
    bench: &Bench,
    master: i32,
    slots: &[sluice::wit::latest::Slot],
) -> (Vec<f64>, bool) {
    use sluice::agent::runtime::{Set, haproxy::Master};
    let backend_name = format!("up_svc_{RUNTIME_SERVICE}_bench_example_com");
    let host = format!("svc-{RUNTIME_SERVICE}.bench.example.com");
    let mine: Vec<&sluice::wit::latest::Slot> =
        slots.iter().filter(|s| s.backend == backend_name).collect();
    assert!(
        mine.len() >= 2,
        "{backend_name} has no slots: {}",
        mine.len()
    );
    let tasks: Vec<sluice_tests::backend::Backend> = (0..2)
        .map(|i| sluice_tests::backend::Backend::http(&format!("rt{i}"), "127.0.0.1"))
        .collect();
    let cli = Master::new(bench.path("master.sock"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let workers = procs::workers(master);
    let mut times = Vec::new();
    for k in 0..RUNTIME_UPDATES {
        let (task, slot) = (&tasks[k % 2], mine[k % mine.len()]);
        let sets: Vec<Set> = mine
            .iter()
            .map(|s| {
                if s.name == slot.name {
                    Set::Server {
                        backend: s.backend.clone(),
                        name: s.name.clone(),
                        address: task.ip().parse().expect("IP"),
                        port: task.port(),
                        weight: 1,
                        enable: true,
                    }
                } else {
                    Set::Empty {
                        backend: s.backend.clone(),
                        name: s.name.clone(),
                    }
                }
            })
            .collect();
        let t = Instant::now();
        runtime
            .block_on(cli.apply(&sets))
            .unwrap_or_else(|e| panic!("runtime update {k}: {e}"));
        let id = format!("\"backend\":\"rt{}\"", k % 2);
        while !answer(bench.http_port, &host).contains(&id) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "update {k}: {host} never answered from its new task"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(t.elapsed().as_secs_f64());
    }
    (times, procs::workers(master) == workers)
}

/// Kills a process group when dropped (also while unwinding).
struct KillGroup(i32);

impl Drop for KillGroup {
    fn drop(&mut self) {
        unsafe { libc::kill(-self.0, libc::SIGKILL) };
    }
}

/// One request for `host` on a new connection: the answer, as text.
fn answer(port: u16, host: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

/// The file names a config reads from `/run/secrets/`.
fn secret_names(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(SECRETS).map(move |(at, _)| {
        let rest = &text[at + SECRETS.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

/// One request to the default server on a new connection; true when the
/// proxy answered with any HTTP status.
fn probe(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: nobody.invalid\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 ")
}

/// Requests in a loop until stopped; counts answered and failed ones.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (s, o, f) = (stop.clone(), ok.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let counter = if probe(port) { &o } else { &f };
                counter.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Load {
            stop,
            ok,
            failed,
            thread,
        }
    }

    fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("load thread");
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

fn sum(ps: &[Proc], f: fn(&Proc) -> u64) -> u64 {
    ps.iter().map(f).sum()
}

struct Reload {
    seconds: f64,
    /// Until the first new worker runs: when the agent counts a reload of
    /// a proxy that checks configs as it reloads (nginx) as taken.
    taken: f64,
    peak_rss_kib: u64,
    peak_pss_kib: u64,
}

/// Signals a reload and waits until new workers run and every old one is
/// gone, sampling the group's memory meanwhile.
fn reload(bench: &Bench, master: i32) -> Reload {
    let old = procs::workers(master);
    let t = Instant::now();
    unsafe { libc::kill(master, bench.reload_signal()) };
    let (mut peak_rss, mut peak_pss) = (0, 0);
    let mut taken = None;
    loop {
        let group = procs::group(master);
        peak_rss = peak_rss.max(sum(&group, |p| p.rss_kib));
        peak_pss = peak_pss.max(sum(&group, |p| p.pss_kib));
        let now = procs::workers(master);
        if taken.is_none() && now.iter().any(|p| !old.contains(p)) {
            taken = Some(t.elapsed().as_secs_f64());
        }
        let replaced = !now.is_empty() && now.iter().all(|p| !old.contains(p));
        if replaced {
            return Reload {
                seconds: t.elapsed().as_secs_f64(),
                taken: taken.unwrap_or(t.elapsed().as_secs_f64()),
                peak_rss_kib: peak_rss,
                peak_pss_kib: peak_pss,
            };
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{} did not replace its workers within 120 s (logs in {})",
            bench.kind.name(),
            bench.dir.path().display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn warnings(bench: &Bench) -> Vec<String> {
    std::fs::read_to_string(bench.path("check.log"))
        .unwrap_or_default()
        .lines()
        .chain(
            std::fs::read_to_string(bench.path("check-error.log"))
                .unwrap_or_default()
                .lines(),
        )
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

pub fn measure(kind: Kind, services: usize, ca: &Ca) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join(match kind {
        Kind::Nginx => "nginx.conf",
        Kind::Haproxy => "haproxy.cfg",
    });
    let bench = Bench {
        dir,
        kind,
        http_port: free_port(),
        config,
    };
    let (bytes, slots) = render_into(&bench, services, free_port(), ca);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("    files kept in {}", bench.dir.path().display());
    }

    let check = procs::run(&mut bench.check());
    let warned = warnings(&bench);
    assert!(
        check.ok,
        "{} refused the {services}-service config: {}",
        kind.name(),
        warned.join("\n")
    );

    let t = Instant::now();
    let child = bench.start();
    let master = child.id() as i32;
    // A failed assertion must not leave the proxy holding its ports.
    let _group = KillGroup(master);
    while !probe(bench.http_port) {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{} did not answer within 120 s (logs in {})",
            kind.name(),
            bench.dir.path().display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = t.elapsed().as_secs_f64();
    // Let workers settle (HAProxy forks its worker after parsing).
    std::thread::sleep(Duration::from_millis(300));
    let rest = procs::group(master);
    let master_rest = rest
        .iter()
        .find(|p| p.pid == master)
        .map_or(0, |p| p.rss_kib);
    let worker_rest = rest
        .iter()
        .filter(|p| p.parent == master)
        .map(|p| p.rss_kib)
        .max()
        .unwrap_or(0);

    let load = Load::start(bench.http_port);
    let mut reloads = Vec::new();
    let mut checks = Vec::new();
    for _ in 0..RELOADS {
        checks.push(procs::run(&mut bench.check()).wall.as_secs_f64());
        reloads.push(reload(&bench, master));
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, failed) = load.finish();
    let runtime = (kind == Kind::Haproxy && !slots.is_empty())
        .then(|| runtime_updates(&bench, master, &slots));
    let after = procs::group(master);
    let master_after = after
        .iter()
        .find(|p| p.pid == master)
        .map_or(0, |p| p.rss_kib);
    unsafe { libc::kill(-master, libc::SIGKILL) };
    drop(child);
    // Reap (the child was spawned by us; its workers die with the group).
    unsafe { libc::waitpid(master, std::ptr::null_mut(), 0) };
    if std::env::var_os("BENCH_KEEP").is_some() {
        let _ = bench.dir.keep();
    }

    let reload_s = bench_run::median(reloads.iter().map(|r| r.seconds).collect());
    let taken_s = bench_run::median(reloads.iter().map(|r| r.taken).collect());
    let check_s = bench_run::median(checks);
    let peak_rss = reloads.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0);
    let peak_pss = reloads.iter().map(|r| r.peak_pss_kib).max().unwrap_or(0);
    println!(
        "{:<8} {services:>6} | {:>6.1} MB | check {:>5.2} s {}{:>5.0} MiB | start {:>5.2} s | \
         reload {:>5.2} s (new workers at {taken_s:>5.2} s; +check {:>5.2} s) | master {:>4.0} -> {:>4.0} MiB, worker {:>4.0} MiB, \
         peak group {:>5.0} MiB RSS / {:>5.0} MiB PSS | failed {failed}/{}",
        kind.name(),
        bytes as f64 / 1e6,
        check.wall.as_secs_f64(),
        if check.rss_masked { "<=" } else { "" },
        mib(check.max_rss_kib),
        started,
        reload_s,
        check_s,
        mib(master_rest),
        mib(master_after),
        mib(worker_rest),
        mib(peak_rss),
        mib(peak_pss),
        ok + failed,
    );
    if let Some((times, same_worker)) = &runtime {
        println!(
            "{:<8} {services:>6} | runtime update (master CLI set + read back) until the new task answers: p50 {:.1} ms, max {:.1} ms over {RUNTIME_UPDATES}; worker {}",
            kind.name(),
            bench_run::median(times.clone()) * 1000.0,
            times.iter().copied().fold(0.0, f64::max) * 1000.0,
            if *same_worker {
                "unchanged (no reload)"
            } else {
                "REPLACED"
            },
        );
    }
    for w in warned.iter().take(3) {
        println!("    {}: {w}", kind.name());
    }
    json!({
        "proxy": kind.name(),
        "services": services,
        "config_bytes": bytes,
        "check_s": check.wall.as_secs_f64(),
        "check_max_rss_mib": mib(check.max_rss_kib),
        "check_max_rss_masked": check.rss_masked,
        "check_warnings": warned,
        "start_s": started,
        "reload_s_median": reload_s,
        "reload_taken_s_median": taken_s,
        "reload_check_s_median": check_s,
        "master_rss_mib": mib(master_rest),
        "master_rss_after_reloads_mib": mib(master_after),
        "worker_rss_mib": mib(worker_rest),
        "reload_peak_group_rss_mib": mib(peak_rss),
        "reload_peak_group_pss_mib": mib(peak_pss),
        "requests": ok + failed,
        "failed_requests": failed,
        "server_slots": slots.len(),
        "runtime_update_s": runtime.as_ref().map(|(t, _)| t.clone()),
        "runtime_update_p50_s": runtime.as_ref().map(|(t, _)| bench_run::median(t.clone())),
        "runtime_update_same_worker": runtime.as_ref().map(|(_, same)| *same),
    })
}
