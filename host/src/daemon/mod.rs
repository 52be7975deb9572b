//! `sluice run`: the controller loop.
//!
//! observe → plan → render → apply, per service cluster, whenever Swarm
//! changes and every `PollInterval` regardless. Each round reads the whole
//! state and ignores why it was triggered, so it is idempotent: a round with
//! nothing changed writes nothing. A cluster whose render or apply fails keeps
//! its last good config and the other clusters carry on.

mod findings;
mod reconcile;
mod schedule;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;

use crate::apply::Engine;
use crate::config::Config;
use crate::observe::{connect, raw::RawClient, watch};
use crate::render::{PluginHost, load_plugin};

pub use reconcile::Round;

/// Run until `shutdown` completes. Start-up fails (naming what is at fault)
/// when a plugin can't load or refuses its settings, or when Docker is not a
/// reachable Swarm manager; after start-up nothing ends the loop but shutdown.
pub async fn run(
    config: Config,
    instance: String,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let host = Arc::new(PluginHost::new().context("starting the plugin host")?);
    for ext in config.extensions.values() {
        let (plugin, warnings) =
            load_plugin(&host, ext).with_context(|| format!("Extensions.{}: plugin", ext.name))?;
        for w in warnings {
            tracing::warn!(cluster = %ext.name, key = ?w.key, "{}", w.message);
        }
        tracing::info!(cluster = %ext.name, plugin = %plugin.id(), "plugin ready");
    }

    let docker = connect::connect(&config).await?;
    let raw = RawClient::new(&config, &docker.client_version())?;
    let engine = Engine::connect(&config.docker_url).await?;
    tracing::info!(url = %config.docker_url, instance = %instance, "connected to the Swarm manager");

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(watch::events(docker.clone(), tx));
    let mut reconciler = reconcile::Reconciler::new(config, instance, host, docker, raw, engine);
    let result = schedule::run(&mut reconciler, rx, shutdown).await;
    watcher.abort();
    result
}
