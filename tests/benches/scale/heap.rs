//! What the daemon's state weighs at a size, part by part (`BENCH_PARTS=heap`):
//! the bytes each stage's result keeps allocated, counted by this bench's
//! allocator (mimalloc, as in the `sluice` binary, around which it counts),
//! and the live heap of a whole daemon at rest, run in this process against
//! the replayed Swarm. The daemon part's RSS is its live heap plus what the
//! allocator holds free or fragmented, the binary and the wasm engine; the
//! two side by side say which of them to make smaller.

use std::alloc::{GlobalAlloc, Layout};
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice::config;
use sluice::plan;
use sluice::render::{PluginHost, render_cluster};
use sluice::snapshot::{Snapshot, Swarm};
use sluice_tests::bench_snapshot::{CONFIG, snapshot_json};
use sluice_tests::ports::free_port;
use sluice_tests::swarm::daemon::Daemon;

use super::daemon::{SETTLE, config, replayed_state, revision_timestamp};
use super::fake_docker::FakeDocker;

/// mimalloc, counting the bytes the program holds.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

// SAFETY: every call goes to mimalloc unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { INNER.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { INNER.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { INNER.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { INNER.realloc(ptr, layout, new_size) }
    }
}

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn measure(runtime: &tokio::runtime::Runtime, services: usize) -> Value {
    // The in-process daemon's log would otherwise be kept in memory (the
    // test library's capture) and counted as its state.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::sink)
        .try_init();
    let stages = stages(services);
    let daemon = daemon_at_rest(runtime, services);
    json!({"stages": stages, "daemon_live_bytes": daemon})
}

/// Each stage's result on its own: the parsed Swarm, the planner (with the
/// cluster plan it keeps), the rendered revision.
fn stages(services: usize) -> Value {
    let config = config::parse_str(CONFIG, Path::new("."))
        .expect("bench config")
        .config;
    let ext = &config.extensions["main"];
    let host = PluginHost::new().expect("plugin host");
    host.load(&ext.plugin, None).expect("nginx plugin loads");
    let none = plan::BrokenTls::default();
    // The one-time allocations (thread pools, the plugin's code) are not
    // state: made here, before counting.
    {
        let small = Swarm::from_snapshot(serde_json::from_str(&snapshot_json(10)).expect("json"));
        let plan = plan::Planner::new().plan(&small, &config, &none);
        render_cluster(&host, ext, &plan.clusters["main"]).expect("render");
    }

    let text = snapshot_json(services);
    let base = live();
    let snapshot: Snapshot = serde_json::from_str(&text).expect("snapshot parses");
    drop(text);
    let swarm = Swarm::from_snapshot(snapshot);
    let swarm_bytes = live() - base;

    let before = live();
    let mut planner = plan::Planner::new();
    let cluster = planner.plan(&swarm, &config, &none).clusters["main"].clone();
    let planner_bytes = live() - before;
    // A deep copy of the cluster plan (the plugin's input) weighs what it holds.
    let before = live();
    let copy = (*cluster).clone();
    let cluster_plan_bytes = live() - before;
    drop(copy);

    let before = live();
    let revision = render_cluster(&host, ext, &cluster).expect("render");
    let revision_bytes = live() - before;
    let output: usize = revision.files.iter().map(|f| f.contents.len()).sum();
    println!(
        "{services:>6} services | live heap: Swarm {:.1} MiB ({:.0} B a service), planner {:.1} MiB \
         ({:.0} B a service; its cluster plan {:.1} MiB), revision {:.1} MiB ({:.1} MiB of files)",
        mib(swarm_bytes),
        swarm_bytes as f64 / services as f64,
        mib(planner_bytes),
        planner_bytes as f64 / services as f64,
        mib(cluster_plan_bytes),
        mib(revision_bytes),
        output as f64 / (1024.0 * 1024.0),
    );
    drop((revision, cluster, planner, swarm));
    json!({
        "swarm_bytes": swarm_bytes,
        "planner_bytes": planner_bytes,
        "cluster_plan_bytes": cluster_plan_bytes,
        "revision_bytes": revision_bytes,
        "output_bytes": output,
    })
}

/// A daemon (hitless nginx cluster, as the daemon part runs) in this
/// process: its live heap once it has published and settled.
fn daemon_at_rest(runtime: &tokio::runtime::Runtime, services: usize) -> isize {
    let (state, _) = replayed_state(services);
    let docker = runtime.block_on(FakeDocker::start(state));
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let text = config(dir.path(), &docker, metrics_port);
    // The fake's answers are made once and kept: ask for each before
    // counting, so only the daemon's own bytes are.
    let warm = Daemon::start_with_key(&text, "heap", None);
    until_published(metrics_port);
    drop(warm);
    std::thread::sleep(Duration::from_secs(1));

    let base = live();
    let daemon = Daemon::start_with_key(&text, "heap", None);
    until_published(metrics_port);
    std::thread::sleep(SETTLE);
    daemon.alive().expect("the daemon runs");
    let bytes = live() - base;
    println!(
        "{services:>6} services | live heap of a daemon at rest (in this process): {:.1} MiB",
        mib(bytes)
    );
    drop(daemon);
    bytes
}

fn until_published(metrics_port: u16) {
    let started = Instant::now();
    while revision_timestamp(metrics_port).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no revision within 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
