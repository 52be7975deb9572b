//! `sluice snapshot`: the live Swarm as the snapshot file `sluice render`
//! reads, to dry-run a new config or plugin against the real cluster or to
//! attach to a bug report. What the daemon reads, as it reads it: only the
//! fields routing uses, so what a report must not carry (containers'
//! environment, arguments and commands; secrets' data) is never even read.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::config::{self, Config};
use sluice::observe::{connect, fetch, raw::RawClient};

/// `config` (for `DockerURL` and its TLS settings; the local socket without
/// one) → the snapshot, into `out` or on stdout.
pub fn run(config: Option<&Path>, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => config::load(path)?.config,
        None => Config::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let snapshot = runtime.block_on(async {
        let docker = connect::connect(&config).await?;
        let raw = RawClient::new(&config, &docker.client_version())?;
        anyhow::Ok(fetch::snapshot(&raw).await?)
    })?;
    let json = serde_json::to_vec_pretty(&snapshot)?;
    match out {
        Some(path) => {
            std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&json)?,
    }
    eprintln!(
        "snapshot of {}: {} services, {} running tasks, {} networks, {} nodes, {} secrets (only what routing reads: no containers' env or args, no secret data)",
        config.docker_url,
        snapshot.services.len(),
        snapshot.tasks.len(),
        snapshot.networks.len(),
        snapshot.nodes.len(),
        snapshot.secrets.len()
    );
    Ok(ExitCode::SUCCESS)
}
