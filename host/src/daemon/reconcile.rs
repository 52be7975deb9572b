//! One reconcile round.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::agents::Agents;
use super::broken_tls::Quarantine;
use super::cluster_error::ClusterError;
use super::findings::Findings;
use super::retry::{self, Class, Failing};
use crate::acme::{Acme, routes};
use crate::apply::{self, Outcome, SwarmApi};
use crate::config::{Config, Delivery};
use crate::dashboard::Dashboard;
use crate::metrics::{ExcludedLabels, FailureLabels, Metrics};
use crate::observe::follow::{Follower, Reading};
use crate::observe::raw::RawClient;
use crate::plan::{ClusterPlan, Planner};
use crate::render::{Plugin, PluginHost, Revision, code_policy, load_plugin, render_with};
use crate::serve::Store;
use crate::wit::latest::Diagnostic;

/// What a round did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub failed: Vec<String>,
    /// Clusters whose last apply failed and whose retry is not due yet.
    pub waiting: Vec<String>,
}

/// The failed attempt is loading the Extension's plugin (changed only by a
/// reload, which forgets the failure).
const LOADING: &str = "loading the plugin";

pub(super) struct Reconciler {
    config: Config,
    instance: String,
    host: Arc<PluginHost>,
    raw: RawClient,
    /// The Swarm as last read (one event's worth at a time).
    follower: Follower,
    /// Plans only the services that changed since its last plan.
    planner: Planner,
    swarm: SwarmApi,
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
    /// Clusters whose last load, render or apply failed: what
    /// [`retry`] decided (when to try again, what was said).
    failing: BTreeMap<String, Failing>,
    /// Each Extension's plugin, read once and kept until a reload (SIGHUP):
    /// a plugin file replaced on disk takes effect then, not at whichever
    /// later change happens to render its cluster again.
    plugins: BTreeMap<String, LoadedPlugin>,
    round: u64,
    metrics: Arc<Metrics>,
    /// The status page, when `StatusPage` is on.
    dashboard: Option<Arc<Dashboard>>,
    /// Clusters that have a `routed_services` series: one dropped from the
    /// config loses its series (gauges are set, never cleared, so a scrape
    /// during a round never sees them missing).
    gauged: BTreeSet<String>,
    /// Each cluster's last good revision hash, for `revision_timestamp` (a
    /// failed render in between does not make the same revision new).
    revision_seen: BTreeMap<String, String>,
    /// `[ACME]`'s certificates, when configured.
    acme: Option<Acme>,
    /// Clusters told once that their `sluice.tls = acme` hosts get nothing.
    acme_refused: BTreeSet<String>,
}

#[derive(Clone)]
struct LoadedPlugin {
    /// The Extension it was loaded for (its `Plugin`, pin and settings).
    ext: crate::config::Extension,
    plugin: Arc<Plugin>,
    warnings: Vec<Diagnostic>,
}

struct Rendered {
    ext: crate::config::Extension,
    /// The planner's: the same `Arc` while nothing in the cluster changed.
    plan: Arc<ClusterPlan>,
    /// The plugin file it was rendered with.
    plugin: crate::render::PluginId,
    /// Shared with the round that uses it: a cache hit copies no files.
    result: Result<Arc<Revision>, Arc<ClusterError>>,
    /// A transient failure (the deadline on a busy machine) is rendered
    /// again from then on; any other result stands until an input changes.
    retry_at: Option<Instant>,
}

impl Reconciler {
    pub(super) fn new(
        config: Config,
        instance: String,
        host: Arc<PluginHost>,
        raw: RawClient,
        swarm: SwarmApi,
        agents: Agents,
        metrics: Arc<Metrics>,
    ) -> Reconciler {
        Reconciler {
            config,
            instance,
            host,
            raw,
            follower: Follower::default(),
            planner: Planner::new(),
            swarm,
            agents,
            findings: Findings::default(),
            quarantine: Quarantine::default(),
            applied: BTreeMap::new(),
            rendered: BTreeMap::new(),
            failing: BTreeMap::new(),
            plugins: BTreeMap::new(),
            round: 0,
            metrics,
            dashboard: None,
            gauged: BTreeSet::new(),
            revision_seen: BTreeMap::new(),
            acme: None,
            acme_refused: BTreeSet::new(),
        }
    }

    /// Order and serve certificates for `sluice.tls = acme` hosts.
    pub(super) fn use_acme(&mut self, acme: Acme) {
        self.acme = Some(acme);
    }

    pub(super) fn acme(&self) -> Option<Acme> {
        self.acme.clone()
    }

    /// Tell the ACME task which hosts want certificates: those of hitless
    /// clusters (a rolling cluster's files go into Docker configs, which are
    /// no place for keys). Said once per cluster when nothing can be done.
    fn want_certificates(&mut self, plan: &crate::plan::Plan) {
        let mut wanted = BTreeSet::new();
        for (name, cluster) in &plan.clusters {
            if cluster.acme_hosts.is_empty() {
                self.acme_refused.remove(name);
                continue;
            }
            let why = match self.acme_serves(name) {
                Ok(_) => {
                    wanted.extend(cluster.acme_hosts.iter().cloned());
                    self.acme_refused.remove(name);
                    continue;
                }
                Err(why) => why,
            };
            if self.acme_refused.insert(name.clone()) {
                tracing::warn!(
                    cluster = %name,
                    hosts = ?cluster.acme_hosts,
                    label = crate::plan::labels::policy::TLS,
                    "no ACME certificates for these hosts (served over HTTP): {why}"
                );
            }
        }
        if let Some(acme) = &self.acme {
            acme.want(wanted);
        }
    }

    /// The ACME task, when cluster `name`'s `sluice.tls = acme` hosts can
    /// get certificates; else why not (a rolling cluster's files go into
    /// Docker configs, which are no place for keys).
    fn acme_serves(&self, name: &str) -> Result<&Acme, &'static str> {
        let hitless = self
            .config
            .extensions
            .get(name)
            .is_some_and(|e| e.delivery == Delivery::Hitless);
        match (&self.acme, hitless) {
            (Some(acme), true) => Ok(acme),
            (None, _) => Err("config.toml has no [ACME] section (where certificates come from)"),
            (Some(_), false) => Err(
                "its Extension delivers by Docker configs (Delivery = \"rolling\"), which are no place for private keys; use hitless delivery",
            ),
        }
    }

    /// The API's store: it tells when agents report broken TLS pairs.
    pub(super) fn store(&self) -> Arc<Store> {
        self.agents.store()
    }

    /// Show each round on `dashboard` (the status page).
    pub(super) fn show_on(&mut self, dashboard: Option<Arc<Dashboard>>) {
        self.dashboard = dashboard;
    }

    pub(super) fn metrics(&self) -> &Metrics {
        &self.metrics
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
    ///
    /// `swarm_changed`: an event came since the last round, so a failure that
    /// needs a person is tried again (the person may have acted). `reading`:
    /// what to read of the Swarm first (the rest is as last read).
    pub(super) async fn round(
        &mut self,
        swarm_changed: bool,
        reading: &Reading,
    ) -> anyhow::Result<Round> {
        self.round += 1;
        self.metrics.rounds.inc();
        let _publishing = self.agents.round_running();
        let mut done = Round::default();
        let span = tracing::debug_span!("round", n = self.round);
        let read_started = Instant::now();
        // The round's stages are spans of their own (for --otlp-endpoint).
        self.follower
            .read(&self.raw, reading)
            .instrument(tracing::debug_span!(parent: &span, "observe", full = reading.full, services = reading.services.len()))
            .await?;
        let snapshot = self.follower.swarm();
        self.metrics
            .swarm_read_duration
            .observe(read_started.elapsed().as_secs_f64());
        self.quarantine.learn(self.agents.tls_problems());
        self.quarantine.forget_unused(snapshot);
        let plan = tracing::debug_span!(parent: &span, "plan").in_scope(|| {
            self.planner
                .plan(snapshot, &self.config, &self.quarantine.broken)
        });
        // What the apply stage looks names up in (the proxy spec's networks
        // and secrets), held apart from the state the loop below borrows.
        let lists = apply::Lists::of(snapshot);
        self.findings.update(&plan.diagnostics);
        self.record_plan(&plan);
        self.want_certificates(&plan);

        for (name, cluster) in &plan.clusters {
            let Some(ext) = self.config.extensions.get(name) else {
                continue;
            };
            let span = tracing::info_span!(parent: &span, "cluster", cluster = %name);
            let failing = self.failing.get(name);
            // No Swarm event fixes a plugin file or its settings: a failed
            // load waits for its backoff or a reload (which forgets it).
            if !self.plugins.contains_key(name)
                && !retry::due(failing, Instant::now(), LOADING, false)
            {
                done.waiting.push(name.clone());
                continue;
            }
            let loaded = match plugin_for(&mut self.plugins, &self.host, ext) {
                Ok(loaded) => loaded,
                Err(e) => {
                    self.fail(name, &span, LOADING, &ClusterError::from(e));
                    done.failed.push(name.clone());
                    continue;
                }
            };
            // ACME hosts: their challenge route, and the certificates issued.
            // (Only for clusters that have them: most have none.)
            let acme = self
                .acme_serves(name)
                .ok()
                .filter(|_| !cluster.acme_hosts.is_empty())
                .map(|a| {
                    let config_dir = std::path::Path::new(crate::render::config_path(
                        &cluster.input,
                        loaded.plugin.info(),
                    ))
                    .parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default();
                    (a.endpoint(), a.certificates(), config_dir)
                });
            let decorated;
            let cluster = match &acme {
                Some((endpoint, certs, config_dir)) => {
                    decorated = Arc::new(routes::decorate(cluster, *endpoint, certs, config_dir));
                    &decorated
                }
                None => cluster,
            };
            let now = Instant::now();
            let cached = self
                .rendered
                .get(name)
                .filter(|r| {
                    &r.ext == ext
                        && (Arc::ptr_eq(&r.plan, cluster) || r.plan == *cluster)
                        && &r.plugin == loaded.plugin.id()
                })
                .filter(|r| r.retry_at.is_none_or(|at| now < at))
                .map(|r| r.result.clone());
            let fresh = cached.is_none();
            let result = match cached {
                Some(result) => result,
                None => {
                    let started = Instant::now();
                    let (e, c, l) = (ext.clone(), cluster.clone(), loaded.clone());
                    let result = contained(
                        tokio::task::spawn_blocking(move || {
                            let policy = code_policy(&e, l.plugin.info());
                            render_with(&l.plugin, &c, l.warnings, &policy)
                        })
                        .instrument(tracing::debug_span!(parent: &span, "render"))
                        .await,
                    )
                    .map(Arc::new)
                    .map_err(Arc::new);
                    self.metrics
                        .render_duration
                        .get_or_create(&Metrics::cluster(name))
                        .observe(started.elapsed().as_secs_f64());
                    if let Ok(rev) = &result {
                        self.metrics
                            .plugin_memory
                            .get_or_create(&Metrics::cluster(name))
                            .set(i64::try_from(rev.peak_memory_bytes).unwrap_or(i64::MAX));
                    }
                    if let Ok(rev) = &result
                        && self.revision_seen.get(name) != Some(&rev.hash)
                    {
                        self.revision_seen.insert(name.clone(), rev.hash.clone());
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0.0, |d| d.as_secs_f64());
                        self.metrics
                            .revision_timestamp
                            .get_or_create(&Metrics::cluster(name))
                            .set(now);
                    }
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
                            plugin: loaded.plugin.id().clone(),
                            result: result.clone(),
                            // Set below from the policy's backoff.
                            retry_at: None,
                        },
                    );
                    result
                }
            };
            let revision: Arc<Revision> = match result {
                Ok(r) => r,
                Err(e) => {
                    // A cached failure was recorded when it happened: its
                    // backoff runs on, and it is said once.
                    if fresh {
                        self.fail(name, &span, "rendering", &e);
                        // A transient one (the deadline on a busy machine) is
                        // rendered again once its backoff, counted from the
                        // end of this render, is over; any other stands
                        // until an input changes (rendering is deterministic).
                        if e.class() == Class::Transient
                            && let Some(r) = self.rendered.get_mut(name)
                        {
                            r.retry_at = self.failing.get(name).map(|f| f.next);
                        }
                    }
                    done.failed.push(name.clone());
                    continue;
                }
            };
            let revision = match &acme {
                Some((_, certs, config_dir)) => Arc::new(routes::attach(
                    Arc::unwrap_or_clone(revision),
                    cluster,
                    certs,
                    config_dir,
                )),
                None => revision,
            };
            if let Some(a) = &self.acme {
                // Orders wait until the replicas serve this revision.
                let hosts = match &acme {
                    Some(_) => &cluster.acme_hosts,
                    None => &BTreeSet::new(),
                };
                a.routed(name, &revision.hash, hosts);
            }
            if !retry::due(
                self.failing.get(name),
                Instant::now(),
                &revision.hash,
                swarm_changed,
            ) {
                // Hitless agents still get the revision; the proxy service
                // waits for its retry.
                if ext.delivery == Delivery::Hitless {
                    self.agents.offer(name, cluster, &revision);
                }
                done.waiting.push(name.clone());
                continue;
            }
            let applying = Instant::now();
            let applied = match ext.delivery {
                Delivery::Rolling => {
                    apply::apply_cluster(
                        &self.swarm,
                        ext,
                        cluster,
                        &revision,
                        &lists,
                        &self.instance,
                    )
                    .instrument(tracing::debug_span!(parent: &span, "apply"))
                    .await
                }
                // The revision goes to the agents; the service changes only
                // when what the agents run with does.
                Delivery::Hitless => {
                    tracing::debug_span!(parent: &span, "publish")
                        .in_scope(|| self.agents.offer(name, cluster, &revision));
                    match self.agents.access(name) {
                        Ok(access) => {
                            apply::apply_hitless(
                                &self.swarm,
                                ext,
                                cluster,
                                &revision.info,
                                &lists,
                                &self.instance,
                                &access,
                            )
                            .instrument(tracing::debug_span!(parent: &span, "apply"))
                            .await
                        }
                        Err(reason) => Err(apply::ApplyError::Credentials {
                            cluster: name.clone(),
                            reason,
                        }),
                    }
                }
            };
            self.metrics
                .apply_duration
                .get_or_create(&Metrics::cluster(name))
                .observe(applying.elapsed().as_secs_f64());
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
                    self.fail(name, &span, &revision.hash, &ClusterError::from(e));
                    done.failed.push(name.clone());
                    continue;
                }
            }
            if self.failing.remove(name).is_some() {
                span.in_scope(|| tracing::info!("cluster recovered"));
            }
        }
        // The plan is kept for `/v2/status`, which makes its view when
        // asked (2.5 ms at 10k services: not every round's cost); the page,
        // when on, gets it every round.
        let shown = Arc::new(self.shown(plan));
        if let Some(d) = &self.dashboard {
            d.update(shown.view(None));
        }
        self.agents.store().set_plan(shown);
        let keep: BTreeSet<String> = self.config.extensions.keys().cloned().collect();
        match apply::remove_orphans(&self.swarm, &self.instance, &keep).await {
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

    /// Record a cluster's failure as the error policy ([`retry`]) decides:
    /// said when its message is new, tried again after its class's backoff.
    fn fail(&mut self, name: &str, span: &tracing::Span, attempt: &str, error: &ClusterError) {
        let class = error.class();
        self.metrics
            .cluster_failures
            .get_or_create(&FailureLabels {
                cluster: name.to_owned(),
                class: match class {
                    Class::Transient => "transient",
                    Class::Permanent => "permanent",
                }
                .into(),
            })
            .inc();
        let verdict = retry::failed(
            self.failing.get(name),
            Instant::now(),
            attempt,
            error.to_string(),
            class,
        );
        if verdict.say {
            span.in_scope(|| {
                let retry_in = verdict.failing.backoff;
                match class {
                    Class::Transient => tracing::warn!(?retry_in, "{error}; the proxy keeps its last good config"),
                    Class::Permanent => tracing::error!(?retry_in, "{error}; the proxy keeps its last good config until this is fixed (retried slowly, and at once on a Swarm or config change)"),
                }
            });
        }
        self.failing.insert(name.to_string(), verdict.failing);
    }

    /// This round's plan with what each cluster's render gave.
    fn shown(&self, plan: crate::plan::Plan) -> crate::plan::view::Shown {
        let rendered = plan
            .clusters
            .keys()
            .map(|name| {
                let r = crate::plan::view::Rendered {
                    plugin: self
                        .plugins
                        .get(name)
                        .map(|l| l.plugin.id().to_string())
                        .unwrap_or_default(),
                    revision: self
                        .rendered
                        .get(name)
                        .and_then(|r| r.result.as_ref().ok())
                        .map(|rev| rev.hash.chars().take(12).collect()),
                    failing: self.failing.get(name).map(|f| f.message.clone()),
                };
                (name.clone(), r)
            })
            .collect();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        crate::plan::view::Shown {
            plan,
            rendered,
            updated_ms: now_ms,
        }
    }

    /// The plan's routed and excluded services as gauges (set, not added:
    /// each round's plan is the whole truth).
    fn record_plan(&mut self, plan: &crate::plan::Plan) {
        let routed = &self.metrics.routed_services;
        for gone in self
            .gauged
            .iter()
            .filter(|c| !plan.clusters.contains_key(*c))
        {
            routed.remove(&Metrics::cluster(gone));
            self.metrics.plugin_memory.remove(&Metrics::cluster(gone));
        }
        self.gauged = plan.clusters.keys().cloned().collect();
        for (name, cluster) in &plan.clusters {
            let services: BTreeSet<&str> = cluster
                .upstreams()
                .flat_map(|u| u.servers.iter().map(|s| s.service.as_str()))
                .collect();
            routed
                .get_or_create(&Metrics::cluster(name))
                .set(services.len() as i64);
        }
        let mut excluded: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for d in plan
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::plan::Severity::Error)
        {
            if let Some(service) = &d.service {
                // Only the table's names: a label name a user made up must
                // not become a series.
                let label = d
                    .label
                    .as_deref()
                    .filter(|l| crate::plan::labels::table::find(l).is_some())
                    .unwrap_or("other");
                excluded.entry(label).or_default().insert(service);
            }
        }
        // Every label's series always exists (0 when nothing is excluded
        // for it): set in place, so no scrape sees one missing.
        let gauge = &self.metrics.excluded_services;
        let names = crate::plan::labels::table::TABLE
            .iter()
            .map(|l| l.name)
            .chain(["other"]);
        for label in names {
            let n = excluded.get(label).map_or(0, BTreeSet::len);
            gauge
                .get_or_create(&ExcludedLabels {
                    label: label.to_owned(),
                })
                .set(n as i64);
        }
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
        // Plugin files are read again, so a failed load is due again too.
        self.failing.retain(|_, f| f.attempt != LOADING);
        // Plugin files are read again: a replaced one renders from now on
        // (the render cache is keyed on the plugin's digest too).
        self.plugins.clear();
        self.config = merged.config;
    }
}

/// `ext`'s plugin: the one loaded before unless the Extension changed
/// (a reload empties the cache, so plugin files are read again then).
fn plugin_for(
    plugins: &mut BTreeMap<String, LoadedPlugin>,
    host: &PluginHost,
    ext: &crate::config::Extension,
) -> Result<LoadedPlugin, crate::render::PluginError> {
    if let Some(loaded) = plugins.get(&ext.name).filter(|l| &l.ext == ext) {
        return Ok(loaded.clone());
    }
    let (plugin, warnings) = load_plugin(host, ext)?;
    let loaded = LoadedPlugin {
        ext: ext.clone(),
        plugin,
        warnings,
    };
    plugins.insert(ext.name.clone(), loaded.clone());
    Ok(loaded)
}

/// A render's outcome; a panic is this cluster's failure, not the round's
/// (before, it failed every cluster's round).
fn contained(
    joined: Result<Result<Revision, crate::render::PluginError>, tokio::task::JoinError>,
) -> Result<Revision, ClusterError> {
    match joined {
        Ok(rendered) => Ok(rendered?),
        Err(panic) => Err(ClusterError::Panicked(super::supervise::panic_message(
            panic,
        ))),
    }
}

#[cfg(test)]
mod plugin_tests {
    use super::*;
    use crate::config::{Extension, PluginRef};

    /// A plugin file replaced on disk is read again at a reload, not at
    /// whichever later round happens to render.
    #[test]
    fn plugin_files_are_read_once_until_a_reload() {
        let dir = std::env::temp_dir().join(format!("sluice-plugin-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("renderer.wasm");
        let bundled = |name: &str| {
            std::path::Path::new(crate::render::PLUGIN_DIR)
                .join(format!("sluice_plugin_{name}.wasm"))
        };
        std::fs::copy(bundled("nginx"), &path).unwrap();
        let host = PluginHost::new().unwrap();
        let mut ext = Extension::new("east");
        ext.plugin = PluginRef::Path(path.clone());
        let mut plugins = BTreeMap::new();
        let first = plugin_for(&mut plugins, &host, &ext).unwrap();
        assert_eq!(first.plugin.info().proxy, "nginx");

        std::fs::copy(bundled("haproxy"), &path).unwrap();
        let again = plugin_for(&mut plugins, &host, &ext).unwrap();
        assert_eq!(
            again.plugin.id(),
            first.plugin.id(),
            "the file was read again"
        );

        plugins.clear(); // what a reload does
        let reloaded = plugin_for(&mut plugins, &host, &ext).unwrap();
        assert_eq!(reloaded.plugin.info().proxy, "haproxy");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod contained_tests {
    #[tokio::test]
    async fn a_render_that_panics_fails_its_cluster_only() {
        let joined =
            tokio::task::spawn_blocking(|| -> Result<_, _> { panic!("index out of bounds") }).await;
        let err = super::contained(joined).unwrap_err().to_string();
        assert!(
            err.contains("rendering panicked") && err.contains("index out of bounds"),
            "{err}"
        );
    }
}
