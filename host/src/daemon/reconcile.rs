//! One reconcile round.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bollard::Docker;
use tracing::Instrument;

use super::agents::Agents;
use super::findings::Findings;
use crate::apply::{self, Engine, Outcome};
use crate::config::{Config, Delivery};
use crate::observe::{fetch, raw::RawClient};
use crate::plan::plan;
use crate::render::{PluginHost, Revision, render_cluster};

/// What a round did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub failed: Vec<String>,
}

pub(super) struct Reconciler {
    config: Config,
    instance: String,
    host: Arc<PluginHost>,
    docker: Docker,
    raw: RawClient,
    engine: Engine,
    agents: Agents,
    findings: Findings,
    /// Hash of the last revision applied per cluster (for logs only: apply
    /// decides by comparing with what runs, so a restart loses nothing).
    applied: BTreeMap<String, String>,
    round: u64,
}

impl Reconciler {
    pub(super) fn new(
        config: Config,
        instance: String,
        host: Arc<PluginHost>,
        docker: Docker,
        raw: RawClient,
        engine: Engine,
        agents: Agents,
    ) -> Reconciler {
        Reconciler {
            config,
            instance,
            host,
            docker,
            raw,
            engine,
            agents,
            findings: Findings::default(),
            applied: BTreeMap::new(),
            round: 0,
        }
    }

    pub(super) fn poll_interval(&self) -> Duration {
        self.config.poll_interval.max(Duration::from_millis(500))
    }

    /// Observe, plan, render and apply every cluster. Errs only when Swarm
    /// could not be read; per-cluster failures are logged and skipped.
    ///
    /// Each round ends with a debug event "round done" listing what it did,
    /// so that tests (and `-D`) can tell a round that wrote nothing from no
    /// round at all.
    pub(super) async fn round(&mut self) -> anyhow::Result<Round> {
        self.round += 1;
        let mut done = Round::default();
        let span = tracing::debug_span!("round", n = self.round);
        let snapshot = fetch::snapshot(&self.docker, &self.raw)
            .instrument(span.clone())
            .await?;
        let plan = plan(&snapshot, &self.config);
        self.findings.update(&plan.diagnostics);

        for (name, cluster) in &plan.clusters {
            let Some(ext) = self.config.extensions.get(name) else {
                continue;
            };
            let span = tracing::info_span!(parent: &span, "cluster", cluster = %name);
            let revision = {
                let (host, ext, cluster) = (self.host.clone(), ext.clone(), cluster.clone());
                tokio::task::spawn_blocking(move || render_cluster(&host, &ext, &cluster))
                    .await
                    .context("render task panicked")?
            };
            let revision: Revision = match revision {
                Ok(r) => r,
                Err(e) => {
                    span.in_scope(|| tracing::error!("{e}; the proxy keeps its last good config"));
                    done.failed.push(name.clone());
                    continue;
                }
            };
            let applied = match ext.delivery {
                Delivery::Rolling => {
                    apply::apply_cluster(
                        &self.engine,
                        ext,
                        cluster,
                        &revision,
                        &snapshot,
                        &self.instance,
                    )
                    .instrument(span.clone())
                    .await
                }
                // The revision goes to the agents; the service changes only
                // when what the agents run with does.
                Delivery::Hitless => {
                    self.agents.offer(name, &revision);
                    apply::apply_hitless(
                        &self.engine,
                        ext,
                        cluster,
                        &revision.info,
                        &snapshot,
                        &self.instance,
                        &self.agents.access(name),
                    )
                    .instrument(span.clone())
                    .await
                }
            };
            match applied {
                Ok(Outcome::Unchanged) => {}
                Ok(outcome) => {
                    match outcome {
                        Outcome::Created => done.created.push(name.clone()),
                        _ => done.updated.push(name.clone()),
                    }
                    span.in_scope(|| {
                        tracing::info!(?outcome, revision = %&revision.hash[..12], service = %ext.proxy_service_name, "proxy service reconciled")
                    });
                    self.applied.insert(name.clone(), revision.hash.clone());
                }
                Err(e) => {
                    span.in_scope(|| tracing::error!("{e}; the proxy keeps its last good config"));
                    done.failed.push(name.clone());
                }
            }
        }
        let keep: BTreeSet<String> = self.config.extensions.keys().cloned().collect();
        match apply::remove_orphans(&self.engine, &self.instance, &keep).await {
            Ok(removed) if !removed.is_empty() => tracing::info!(
                ?removed,
                "removed proxies of extensions no longer configured"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("removing proxies of removed extensions: {e}"),
        }
        tracing::debug!(n = self.round, created = ?done.created, updated = ?done.updated, failed = ?done.failed, "round done");
        Ok(done)
    }
}
