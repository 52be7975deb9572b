//! Sluice at 1k-20k services, one command for the README's table: the
//! daemon ([`daemon`]: the real `sluice run` against a replayed Swarm) and
//! the proxies ([`proxies`]: the bench cluster rendered by the bundled
//! plugins and loaded by the real nginx and HAProxy on loopback), size by
//! size.
//!
//!     cargo bench -p sluice-tests --bench scale
//!     BENCH_SERVICES=10000 BENCH_PARTS=daemon,haproxy cargo bench -p sluice-tests --bench scale
//!     BENCH_SERVICES=10000 BENCH_PARTS=heap cargo bench -p sluice-tests --bench scale
//!
//! Each part prints its own lines as it goes; the table at the end has, per
//! size: the daemon's RSS (at rest / peak), the time from a one-service
//! change's event to its revision (p50), the revisions a burst of 100
//! changes published, nginx's reload until its new workers run (what a
//! route change costs it through the agent, which no longer runs `nginx -t`
//! first) and until the old ones are gone, HAProxy's runtime update of a backend's tasks (no
//! reload) against its check + reload, and the requests that failed under
//! steady load during the reloads. Results go to `target/bench-scale.json`.
//! The `heap` part (not run unless asked for) says what the daemon's state
//! weighs, part by part ([`heap`]).

mod daemon;
mod fake_docker;
mod heap;
mod proxies;

use serde_json::{Value, json};
use sluice_tests::bench_run;
use sluice_tests::certs::Ca;
use sluice_tests::sluice_bin::sluice_release_bin;

use proxies::Kind;

// Counts live bytes for the `heap` part; the daemon part's `sluice run` is
// another process, with its own allocator.
#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;

const DEFAULT_SIZES: &[usize] = &[1_000, 5_000, 10_000, 20_000];

fn main() {
    if !bench_run::requested() {
        return;
    }
    let sizes = bench_run::sizes(DEFAULT_SIZES);
    let parts = bench_run::list(
        "BENCH_PARTS",
        vec![
            "daemon".to_owned(),
            "nginx".to_owned(),
            "haproxy".to_owned(),
        ],
        |s| match s {
            "daemon" | "nginx" | "haproxy" | "heap" => s.to_owned(),
            other => panic!("BENCH_PARTS: daemon, nginx, haproxy or heap, not {other:?}"),
        },
    );
    let has = |p: &str| parts.iter().any(|q| q == p);
    let sluice = has("daemon").then(sluice_release_bin);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let ca = Ca::new("scale-bench");
    println!(
        "scale bench: the daemon (`sluice run`, one hitless nginx cluster, a replayed Swarm) and \
         the proxies (real nginx and HAProxy on loopback); memory is RSS unless marked PSS"
    );
    let mut rows = Vec::new();
    for &services in &sizes {
        let daemon = sluice
            .map(|bin| runtime.block_on(daemon::measure(bin, services)))
            .unwrap_or(Value::Null);
        let proxy = |kind: Kind| {
            if has(kind.name()) {
                proxies::measure(kind, services, &ca)
            } else {
                Value::Null
            }
        };
        let (nginx, haproxy) = (proxy(Kind::Nginx), proxy(Kind::Haproxy));
        let heap = if has("heap") {
            heap::measure(&runtime, services)
        } else {
            Value::Null
        };
        rows.push(json!({
            "services": services, "daemon": daemon, "nginx": nginx, "haproxy": haproxy, "heap": heap,
        }));
    }
    print_table(&rows);
    let out = bench_run::target_dir().join("bench-scale.json");
    std::fs::write(&out, serde_json::to_string_pretty(&rows).expect("json"))
        .expect("write bench-scale.json");
    println!("written to {}", out.display());
}

/// The README's table (Markdown), from what was measured.
fn print_table(rows: &[Value]) {
    let f = |v: &Value, scale: f64, digits: usize| {
        v.as_f64()
            .map_or("-".to_owned(), |x| format!("{:.*}", digits, x * scale))
    };
    println!();
    println!(
        "| services | daemon RSS at rest / peak | one change: event → revision, p50 | burst of 100: revisions published | nginx route change: new workers run / old ones gone (`nginx -t` it no longer runs first) | HAProxy task change: runtime update, no reload | HAProxy route change: check + reload | HAProxy worker | failed requests during reloads (nginx, HAProxy) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for r in rows {
        let (d, n, h) = (&r["daemon"], &r["nginx"], &r["haproxy"]);
        let failed = |p: &Value| match (p["failed_requests"].as_u64(), p["requests"].as_u64()) {
            (Some(f), Some(t)) => format!("{f} of {t}"),
            _ => "-".into(),
        };
        println!(
            "| {} | {} / {} MiB | {} s | {} | {} / {} s ({} s) | {} ms | {} + {} s | {} MiB | {}, {} |",
            r["services"],
            f(&d["rss_rest_mib"], 1.0, 0),
            f(&d["rss_peak_mib"], 1.0, 0),
            f(&d["event_to_revision_p50_s"], 1.0, 3),
            f(&d["burst_revisions_published"], 1.0, 0),
            f(&n["reload_taken_s_median"], 1.0, 2),
            f(&n["reload_s_median"], 1.0, 2),
            f(&n["reload_check_s_median"], 1.0, 2),
            f(&h["runtime_update_p50_s"], 1000.0, 1),
            f(&h["reload_check_s_median"], 1.0, 2),
            f(&h["reload_s_median"], 1.0, 2),
            f(&h["worker_rss_mib"], 1.0, 0),
            failed(n),
            failed(h),
        );
    }
}
