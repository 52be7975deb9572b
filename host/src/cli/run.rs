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
    runtime.block_on(async {
        let (tx, reloads) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(reload_on_sighup(path.to_path_buf(), tx));
        sluice::daemon::run_reloading(
            loaded.config,
            instance,
            agent_key_file,
            reloads,
            shutdown_signal(),
        )
        .await
    })?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// On SIGHUP, read the config file again and hand it to the daemon. A file
/// that doesn't parse changes nothing (the error names key and line). With
/// the stack file, a new Docker config object mounted at the same path plus
/// `docker kill -s HUP` (or a service update, which restarts) does the same.
async fn reload_on_sighup(path: PathBuf, tx: tokio::sync::mpsc::UnboundedSender<config::Config>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).expect("install SIGHUP handler");
    while hup.recv().await.is_some() {
        match config::load(&path) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    tracing::warn!("{w}");
                }
                if tx.send(loaded.config).is_err() {
                    return;
                }
            }
            Err(e) => tracing::error!("config reload refused, running config unchanged: {e}"),
        }
    }
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
