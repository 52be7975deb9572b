//! `sluice run -c CONFIG`: the daemon (controller loop and API).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sluice::config;

pub fn run(
    path: &Path,
    instance: String,
    agent_key_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    // Config errors stop start-up, naming key and line.
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    for n in &loaded.notes {
        tracing::info!("{n}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(sluice::daemon::run_with(
        loaded.config,
        instance,
        agent_key_file,
        shutdown_signal(),
    ))?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM (what `docker service rm` / a task stop sends).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
