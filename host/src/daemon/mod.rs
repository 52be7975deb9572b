//! `sluice run`: the controller loop.
//!
//! observe → plan → render → apply, per service cluster, whenever Swarm
//! changes and every `PollInterval` regardless. Each round reads the whole
//! state and ignores why it was triggered, so it is idempotent: a round with
//! nothing changed writes nothing. A cluster whose render or apply fails keeps
//! its last good config and the other clusters carry on.

mod acme_status;
mod agents;
mod broken_tls;
mod cluster_error;
mod findings;
mod reconcile;
pub mod reload;
mod retry;
mod schedule;
mod supervise;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::acme::Acme;
use crate::apply::SwarmApi;
use crate::config::{Config, Delivery};
use crate::dashboard::Dashboard;
use crate::metrics::Metrics;
use crate::observe::{connect, raw::RawClient, watch};
use crate::render::{PluginHost, load_plugin};
use crate::serve::{self, Api, Keyring, Store};

pub use agents::slots_doc;
pub use reconcile::Round;

/// Run until `shutdown` completes, with the agent key at its default place
/// (see [`run_with`]).
pub async fn run(
    config: Config,
    instance: String,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    run_with(config, instance, None, shutdown).await
}

/// Run until `shutdown` completes, serving the API on `ListenAddr`. The key
/// that derives the agents' tokens comes from `agent_key_file`, else from
/// [`serve::auth::DEFAULT_KEY_FILE`] (generated there on first start).
/// Start-up fails (naming what is at fault) when a plugin can't load or
/// refuses its settings, when `ListenAddr` can't be bound, or when Docker is
/// not a reachable Swarm manager; after start-up nothing ends the loop but
/// shutdown.
pub async fn run_with(
    config: Config,
    instance: String,
    agent_key_file: Option<PathBuf>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (_no_reloads, reloads) = tokio::sync::mpsc::unbounded_channel();
    run_reloading(config, instance, agent_key_file, reloads, shutdown).await
}

/// [`run_with`], also taking new configs from `reloads` while running (what
/// `sluice run` does on SIGHUP): see [`reload::merge`] for what a new config
/// may change.
pub async fn run_reloading(
    config: Config,
    instance: String,
    agent_key_file: Option<PathBuf>,
    reloads: tokio::sync::mpsc::UnboundedReceiver<Config>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let keys = match &agent_key_file {
        Some(path) => Keyring::load_upgrading(path, false)?,
        None => Keyring::load_or_create(serve::auth::DEFAULT_KEY_FILE.as_ref())?,
    };
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
    let swarm = SwarmApi::new(docker.clone(), raw.clone(), &config.docker_url);
    tracing::info!(url = %config.docker_url, instance = %instance, "connected to the Swarm manager");

    let addr = serve::listen_addr(&config.listen_addr)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("ListenAddr {:?}: binding {addr}", config.listen_addr))?;
    let port = listener.local_addr().map_or(addr.port(), |a| a.port());
    let node_addr = docker.info().await.ok().and_then(|i| i.swarm?.node_addr);
    let endpoint = match agents::endpoint(&config, node_addr.as_deref(), port) {
        Ok(e) => e,
        Err(e) if hitless_clusters(&config) => return Err(e.into()),
        Err(_) => String::new(),
    };
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(Store::with_metrics(keys.signer().clone(), metrics.clone()));
    let dashboard = config
        .status_page
        .then(|| Arc::new(Dashboard::new(store.clone())));
    let metrics_server = match &config.metrics_addr {
        Some(listen) => {
            let addr = serve::listen_addr(listen)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("MetricsAddr {listen:?}: binding {addr}"))?;
            let mut router = crate::metrics::serve::router(metrics.clone());
            if let Some(d) = &dashboard {
                router = router.merge(d.clone().router());
            }
            tracing::info!(listen = %addr, status_page = dashboard.is_some(), "metrics serving (GET /metrics, plain HTTP)");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(crate::metrics::serve::run(listener, router, async move {
                let _ = stopped.await;
            }));
            Some((stop, task))
        }
        None => {
            if dashboard.is_some() {
                tracing::warn!(
                    "StatusPage = true has no effect without MetricsAddr (where it is served)"
                );
            }
            None
        }
    };
    let keys = Arc::new(keys);
    let names = agents::server_names(&endpoint);
    let tls = keys
        .server_tls(&names)
        .context("the API's TLS configuration")?;
    let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api = tokio::spawn(serve::run(
        listener,
        Api::new(store.clone(), keys.clone()),
        Arc::new(tls),
        async move {
            let _ = api_stopped.await;
        },
    ));
    tracing::info!(listen = %addr, agents_reach = %endpoint, certificate_for = ?names, "API serving (TLS)");
    // ACME orders wait until the proxies serve a host's challenge route.
    let serving: crate::acme::Serving = {
        let store = store.clone();
        Arc::new(move |cluster: &str, hash: &str| store.serving(cluster, hash))
    };
    let agents = agents::Agents::new(store, keys, endpoint);

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = {
        let docker = docker.clone();
        tokio::spawn(supervise::watcher("Docker events", move || {
            watch::events(docker.clone(), tx.clone())
        }))
    };
    let (acme_stop, acme_stopped) = tokio::sync::oneshot::channel::<()>();
    let acme = match &config.acme {
        Some(acme_config) => Some(
            start_acme(
                acme_config,
                node_addr.as_deref(),
                serving,
                metrics.clone(),
                async move {
                    let _ = acme_stopped.await;
                },
            )
            .await?,
        ),
        None => None,
    };
    let mut reconciler =
        reconcile::Reconciler::new(config, instance, host, raw, swarm, agents, metrics);
    reconciler.show_on(dashboard);
    if let Some(acme) = acme {
        let shown = acme.clone();
        reconciler
            .store()
            .show_acme(Arc::new(move || acme_status::of(&shown)));
        reconciler.use_acme(acme);
    }
    // Free memory goes back to the system once the rounds pause.
    let (activity, quiet) = crate::allocator::Activity::new();
    let releaser = tokio::spawn(crate::allocator::release_when_quiet(
        quiet,
        crate::allocator::purge,
    ));
    let result = schedule::run(&mut reconciler, rx, reloads, &activity, shutdown).await;
    releaser.abort();
    watcher.abort();
    let _ = api_stop.send(());
    let _ = acme_stop.send(());
    if let Some((stop, task)) = metrics_server {
        let _ = stop.send(());
        // The server gives its answers 5 s; never wait longer than that.
        let abort = task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(6), task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    match api.await {
        Ok(Err(e)) => tracing::warn!("API server: {e}"),
        Err(e) => tracing::warn!("API server task: {e}"),
        Ok(Ok(())) => {}
    }
    result
}

/// `[ACME]`: the state directory, the challenge listener (bound here, so
/// start-up fails naming the key at fault) and the ordering task.
async fn start_acme(
    config: &crate::config::AcmeConfig,
    node_addr: Option<&str>,
    serving: crate::acme::Serving,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Acme> {
    let store = crate::acme::store::Store::open(&config.state_dir)?;
    let addr = serve::listen_addr(&config.challenge_addr)?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "ACME.ChallengeAddr {:?}: binding {addr}",
            config.challenge_addr
        )
    })?;
    let port = listener.local_addr().map_or(addr.port(), |a| a.port());
    let endpoint: std::net::SocketAddr = match &config.challenge_endpoint {
        Some(e) => e.parse().context("ACME.ChallengeEndpoint")?,
        None => node_addr
            .and_then(|a| a.parse::<std::net::IpAddr>().ok())
            .map(|ip| std::net::SocketAddr::new(ip, port))
            .context("ACME.ChallengeEndpoint: set it to the IP:port where proxy tasks reach ChallengeAddr (this node has no Swarm address)")?,
    };
    let tokens = crate::acme::challenge::Tokens::default();
    tokio::spawn(crate::acme::challenge::run(
        listener,
        tokens.clone(),
        shutdown,
    ));
    tracing::info!(listen = %addr, proxies_reach = %endpoint, directory = %config.directory, "ACME: answering HTTP-01 challenges (plain HTTP)");
    Ok(Acme::start(
        config.clone(),
        store,
        endpoint,
        tokens,
        serving,
        metrics,
    ))
}

fn hitless_clusters(config: &Config) -> bool {
    config
        .extensions
        .values()
        .any(|e| e.delivery == Delivery::Hitless)
}
