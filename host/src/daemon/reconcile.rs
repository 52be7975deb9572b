//! One reconcile round.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use tracing::Instrument;

use super::agents::Agents;
use super::broken_tls::Quarantine;
use super::findings::Findings;
use crate::apply::{self, Engine, Outcome};
use crate::config::{Config, Delivery};
use crate::observe::{fetch, raw::RawClient};
use crate::plan::{ClusterPlan, plan_with};
use crate::render::{PluginHost, Revision, load_plugin, render_cluster};
use crate::serve::Store;

/// What a round did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub failed: Vec<String>,
    /// Clusters whose last apply failed and whose retry is not due yet.
    pub waiting: Vec<String>,
}

/// A cluster whose apply failed: retried with backoff while nothing it is
/// built from changes (a change is retried at once).
struct Failing {
    message: String,
    /// What the failed apply was made of: the render's hash.
    revision: String,
    next: Instant,
    backoff: Duration,
}

const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(15);

pub(super) struct Reconciler {
    config: Config,
    instance: String,
    host: Arc<PluginHost>,
    docker: Docker,
    raw: RawClient,
    engine: Engine,
    agents: Agents,
    findings: Findings,
    /// TLS pairs the agents found broken: their services are left out.
    quarantine: Quarantine,
    /// Hash of the last revision applied per cluster (for logs only: apply
    /// decides by comparing with what runs, so a restart loses nothing).
    applied: BTreeMap<String, String>,
    /// Last render per cluster and what it was rendered from: rendering is
    /// deterministic, so the same Extension and plan give the same revision
    /// and a cluster nothing touched is not rendered again.
    rendered: BTreeMap<String, Rendered>,
    /// Clusters whose last render or apply failed: logged once per
    /// distinct message, applies retried with backoff.
    failing: BTreeMap<String, Failing>,
    round: u64,
}

struct Rendered {
    ext: crate::config::Extension,
    plan: ClusterPlan,
    result: Result<Revision, String>,
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
            quarantine: Quarantine::default(),
            applied: BTreeMap::new(),
            rendered: BTreeMap::new(),
            failing: BTreeMap::new(),
            round: 0,
        }
    }

    /// The API's store: it tells when agents report broken TLS pairs.
    pub(super) fn store(&self) -> Arc<Store> {
        self.agents.store()
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
        self.quarantine.learn(self.agents.tls_problems());
        self.quarantine.forget_unused(&snapshot);
        let plan = plan_with(&snapshot, &self.config, &self.quarantine.broken);
        self.findings.update(&plan.diagnostics);

        for (name, cluster) in &plan.clusters {
            let Some(ext) = self.config.extensions.get(name) else {
                continue;
            };
            let span = tracing::info_span!(parent: &span, "cluster", cluster = %name);
            let cached = self
                .rendered
                .get(name)
                .filter(|r| &r.ext == ext && &r.plan == cluster)
                .map(|r| r.result.clone());
            let result = match cached {
                Some(result) => result,
                None => {
                    let (host, e, c) = (self.host.clone(), ext.clone(), cluster.clone());
                    let result = contained(
                        tokio::task::spawn_blocking(move || render_cluster(&host, &e, &c)).await,
                    );
                    span.in_scope(|| {
                        tracing::debug!(ok = result.is_ok(), "rendered");
                        // Said once: the render is cached until its inputs change.
                        for r in result.iter().flat_map(|rev| &rev.refused) {
                            tracing::error!(host = %r.host, services = ?r.services, "{r}");
                        }
                    });
                    self.rendered.insert(
                        name.clone(),
                        Rendered {
                            ext: ext.clone(),
                            plan: cluster.clone(),
                            result: result.clone(),
                        },
                    );
                    result
                }
            };
            let revision: Revision = match result {
                Ok(r) => r,
                Err(e) => {
                    self.fail(name, &span, e, "");
                    done.failed.push(name.clone());
                    continue;
                }
            };
            if self
                .failing
                .get(name)
                .is_some_and(|f| f.revision == revision.hash && Instant::now() < f.next)
            {
                // Hitless agents still get the revision; the proxy service
                // waits for its retry.
                if ext.delivery == Delivery::Hitless {
                    self.agents.offer(name, cluster, &revision);
                }
                done.waiting.push(name.clone());
                continue;
            }
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
                    self.agents.offer(name, cluster, &revision);
                    match self.agents.access(name) {
                        Ok(access) => {
                            apply::apply_hitless(
                                &self.engine,
                                ext,
                                cluster,
                                &revision.info,
                                &snapshot,
                                &self.instance,
                                &access,
                            )
                            .instrument(span.clone())
                            .await
                        }
                        Err(reason) => Err(apply::ApplyError::Credentials {
                            cluster: name.clone(),
                            reason,
                        }),
                    }
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
                    self.fail(name, &span, e.to_string(), &revision.hash);
                    done.failed.push(name.clone());
                    continue;
                }
            }
            if self.failing.remove(name).is_some() {
                span.in_scope(|| tracing::info!("cluster recovered"));
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
        tracing::debug!(n = self.round, created = ?done.created, updated = ?done.updated, failed = ?done.failed, waiting = ?done.waiting, "round done");
        Ok(done)
    }

    /// Log a cluster's failure once per distinct message, and when to try
    /// again: the backoff doubles while the same revision keeps failing.
    fn fail(&mut self, name: &str, span: &tracing::Span, message: String, revision: &str) {
        let previous = self.failing.remove(name);
        let backoff = match &previous {
            Some(p) if p.revision == revision => (p.backoff * 2).min(RETRY_MAX),
            _ => RETRY_FIRST,
        };
        if previous.as_ref().map(|p| &p.message) != Some(&message) {
            span.in_scope(|| {
                tracing::error!(retry_in = ?backoff, "{message}; the proxy keeps its last good config")
            });
        }
        self.failing.insert(
            name.to_string(),
            Failing {
                message,
                revision: revision.to_owned(),
                next: Instant::now() + backoff,
                backoff,
            },
        );
    }

    /// Take in a new config (SIGHUP): see [`super::reload::merge`]. Only the
    /// clusters whose Extension changed render again (the render cache is
    /// keyed on the Extension), so the others are not touched at all.
    pub(super) fn reload(&mut self, new: Config) {
        let host = self.host.clone();
        let merged = super::reload::merge(&self.config, new, |ext| {
            load_plugin(&host, ext)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        for m in &merged.messages {
            tracing::warn!("config reload: {m}");
        }
        tracing::info!(changed = ?merged.changed, "config reloaded");
        // A changed Extension is tried again at once, whatever its backoff.
        for name in &merged.changed {
            self.failing.remove(name);
        }
        self.config = merged.config;
    }
}

/// A render's outcome; a panic is this cluster's failure, not the round's
/// (before, it failed every cluster's round).
fn contained(
    joined: Result<Result<Revision, crate::render::PluginError>, tokio::task::JoinError>,
) -> Result<Revision, String> {
    match joined {
        Ok(rendered) => rendered.map_err(|e| e.to_string()),
        Err(panic) => Err(format!(
            "rendering panicked (a bug in Sluice, please report it): {}",
            super::supervise::panic_message(panic)
        )),
    }
}

#[cfg(test)]
mod contained_tests {
    #[tokio::test]
    async fn a_render_that_panics_fails_its_cluster_only() {
        let joined =
            tokio::task::spawn_blocking(|| -> Result<_, _> { panic!("index out of bounds") }).await;
        let err = super::contained(joined).unwrap_err();
        assert!(
            err.contains("rendering panicked") && err.contains("index out of bounds"),
            "{err}"
        );
    }
}
