//! Delivery benchmark on the real Swarm (tests/swarm/up.sh): hitless (the
//! agent images) against rolling (Interlock's config object + proxy service
//! update), side by side.
//!
//!     cargo bench -p sluice-tests --bench delivery
//!
//! Per mode, one in-process daemon with three nginx proxies on the manager:
//! - convergence: a new labelled service's task running (engine timestamp)
//!   → first 200 through the proxy, p50/p95, proxy on 1 network and on all
//!   benchmark networks;
//! - failed requests of a steady client loop on an unchanged host while
//!   another service of the same cluster is reconfigured again and again;
//! - reloads (hitless: the agents' counters in `/v2/status`) and proxy
//!   service updates (the daemon's writes) for a burst of label changes, in
//!   the cluster concerned and in one that is not.
//!
//! Prints a Markdown table and writes target/bench-delivery.json. Takes
//! ~15 minutes; sizes via env: BENCH_SERVICES (20), BENCH_WIDE_SERVICES (10),
//! BENCH_NETWORKS (20), BENCH_CHANGES (50), BENCH_BURST (100), BENCH_MODES
//! ("hitless,rolling"). Everything it creates is named `bench-MODE-*` and
//! removed at the end, on failure too. Not part of `cargo test`.

mod burst;
mod churn;
mod convergence;
mod engine;
mod machine;
mod probe;
mod report;
mod setup;
mod stats;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

use serde_json::json;
use sluice_tests::swarm::cli::Docker;
use sluice_tests::swarm::env::repo_root;
use sluice_tests::swarm::{SwarmEnv, swarm};

use report::ModeResult;
use setup::Mode;

struct Sizes {
    services: usize,
    wide_services: usize,
    networks: usize,
    changes: usize,
    burst: usize,
    modes: Vec<Mode>,
}

impl Sizes {
    fn from_env() -> Sizes {
        let n = |key: &str, default: usize| {
            std::env::var(key)
                .ok()
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{key}={v:?}: not a number"))
                })
                .unwrap_or(default)
        };
        let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "hitless,rolling".into());
        Sizes {
            services: n("BENCH_SERVICES", 20),
            wide_services: n("BENCH_WIDE_SERVICES", 10),
            networks: n("BENCH_NETWORKS", 20).max(1),
            changes: n("BENCH_CHANGES", 50),
            burst: n("BENCH_BURST", 100),
            modes: modes
                .split(',')
                .map(|m| match m.trim() {
                    "hitless" => Mode::Hitless,
                    "rolling" => Mode::Rolling,
                    other => panic!("BENCH_MODES: unknown mode {other:?}"),
                })
                .collect(),
        }
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes --bench (and a filter): nothing to choose here.
    let Some(env) = swarm("delivery benchmark") else {
        return ExitCode::FAILURE;
    };
    let sizes = Sizes::from_env();
    let machine = machine::describe(&Docker::new(&env.manager_sock));
    println!("[bench] machine: {}", machine::line(&machine));
    let agent_image = agent_image();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for mode in &sizes.modes {
        let image = match mode {
            Mode::Hitless => agent_image.clone(),
            Mode::Rolling => env.nginx_image.clone(),
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| run(env, *mode, &image, &sizes))) {
            Ok(r) => results.push(r),
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                failures.push(json!({"mode": mode.name(), "error": why}));
            }
        }
    }
    let table = report::table(&results);
    println!("\nMachine: {}\n\n{table}", machine::line(&machine));
    let doc = json!({
        "machine": machine,
        "sizes": {
            "services": sizes.services,
            "wide_services": sizes.wide_services,
            "networks": sizes.networks,
            "changes": sizes.changes,
            "burst": sizes.burst,
        },
        "modes": results
            .iter()
            .map(|r| (r.mode.to_owned(), r.json()))
            .collect::<serde_json::Map<_, _>>(),
        "failures": failures,
        "table_markdown": table,
    });
    let path = repo_root().join("target/bench-delivery.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("JSON"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    println!("wrote {}", path.display());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("failed modes: {failures:#?}");
        ExitCode::FAILURE
    }
}

fn run(env: &'static SwarmEnv, mode: Mode, image: &str, sizes: &Sizes) -> ModeResult {
    let scene = setup::build(env, mode, image, sizes.networks);
    let engine = engine::Engine::new(&env.manager_sock);
    let one_network = convergence::samples(&scene, &engine, "main", "c", sizes.services);
    let wide = convergence::samples(&scene, &engine, "wide", "x", sizes.wide_services);
    let churn = churn::under_reconfiguration(&scene, sizes.changes);
    let burst = burst::burst(&scene, &engine, sizes.burst);
    ModeResult {
        mode: mode.name(),
        one_network,
        wide,
        networks: sizes.networks,
        churn,
        burst,
    }
}

/// `sluice/nginx-agent` around this crate's `test-agent` binary (the agent crate).
fn agent_image() -> String {
    sluice_tests::swarm::images::nginx_agent(env!("CARGO_BIN_EXE_test-agent"))
}
