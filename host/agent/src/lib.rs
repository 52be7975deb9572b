//! `sluice-agent` (also `sluice agent`): the proxy container's entrypoint
//! under hitless delivery. Its own crate and binary, so that the proxy images
//! carry the channel (`sluice-wire`), HTTP and signals, and nothing of the
//! daemon (no wasmtime, no Docker client).
//!
//! It waits for the cluster's first revision, installs and validates it,
//! starts the proxy, then long-polls the daemon (the daemon's API) over
//! mutual TLS. Each answer must carry the daemon's signature and a sequence
//! number above the last one accepted ([`sync::Gate`]); each revision is
//! installed atomically under the config root and validated; a refused one
//! is taken back (the proxy keeps serving the last good config) and
//! reported, a valid one is loaded the way the agent's settings say (nginx:
//! HUP; HAProxy `-W`: USR2). What runs and where files go are the agent's
//! settings, never the revision's. The proxy process is never replaced for
//! a route change.
//!
//! Revisions that arrive while one is applied are coalesced: only the newest
//! is applied next. While the daemon is away the proxy keeps serving and the
//! agent retries with backoff. SIGTERM, SIGQUIT and SIGINT go to the proxy
//! and the agent exits with it; a proxy that dies on its own makes the agent
//! exit non-zero, so Swarm replaces the task.

mod beneath;
pub mod client;
pub mod confirm;
pub mod files;
pub mod install;
pub mod metrics;
pub mod proxy;
pub mod runtime;
pub mod settings;
pub mod staging;
mod sync;
pub mod tls_check;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

pub use settings::Settings;

use self::client::DaemonClient;
use self::metrics::{AgentMetrics, Refusal};
use self::proxy::Proxy;
use self::sync::{Fetched, Gate};
use sluice_wire::credentials::Credentials;
use sluice_wire::docs::{AgentReport, Failure, RevisionDoc, TlsProblem, now_ms};

/// The `sluice-agent` binary (and test harnesses): flags and env as `sluice
/// agent` takes them, logs to stderr. A leading `agent` argument is accepted,
/// so this binary can stand in for `sluice` in an image whose command is
/// `sluice agent`.
pub fn main_from_env() -> ExitCode {
    #[derive(clap::Parser)]
    struct Cli {
        #[arg(hide = true, value_parser = ["agent"])]
        _subcommand: Option<String>,
        #[command(flatten)]
        settings: Settings,
    }
    let cli = <Cli as clap::Parser>::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    main(cli.settings)
}

/// Run the agent to its end; the process's exit code.
pub fn main(settings: Settings) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice agent: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sluice agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The agent's life; Ok carries the exit code.
pub async fn run(settings: Settings) -> anyhow::Result<u8> {
    let cluster = settings.cluster.clone();
    let creds = Credentials::load(&settings.credentials_file, &cluster)
        .context("SLUICE_CREDENTIALS_FILE")?;
    let verifier = creds.verifier().map_err(anyhow::Error::msg)?;
    let mut client = DaemonClient::new(&settings.endpoint, &creds.token, creds.tls()?)?;
    // With HAProxy's master CLI, revisions that change only server slots are
    // set at runtime: ask for the slots.
    let master = settings
        .haproxy_master_socket
        .as_ref()
        .and_then(|socket| match runtime::prepare(socket) {
            Ok(()) => Some(runtime::haproxy::Master::new(socket)),
            Err(e) => {
                tracing::warn!("{e:#}; every revision is reloaded instead");
                None
            }
        });
    let mut proxy_cmd = settings.proxy_cmd.0.clone();
    if let Some(m) = &master {
        proxy_cmd.extend(m.proxy_args());
        client = client.with_slots();
    }
    let client = Arc::new(client);
    let replica = settings.replica_name();
    let root = settings.config_root.clone();
    let validate = settings.validate_cmd.0.clone();
    tracing::info!(endpoint = %settings.endpoint, cluster = %cluster, replica = %replica, config_root = %root.display(), "agent starting");

    let metrics = Arc::new(AgentMetrics::new(&cluster));
    if let Some(addr) = settings.metrics_addr {
        serve_metrics(addr, &settings.traffic_socket, metrics.clone()).await?;
    }

    let (newest_tx, mut newest) = watch::channel(None::<Fetched>);
    let (running_tx, running_rx) = watch::channel(None::<String>);
    let (reports_tx, reports_rx) = watch::channel(None::<AgentReport>);
    let mut fetcher = tokio::spawn(sync::fetch(
        client.clone(),
        Gate::new(verifier, &cluster),
        replica.clone(),
        newest_tx,
        running_rx,
    ));
    tokio::spawn(sync::report(client, cluster.clone(), reports_rx));
    // Reported so that `/v2/status` shows how often each proxy reloaded,
    // and how many revisions it took at runtime instead.
    let mut reloads: u64 = 0;
    let runtime_updates = std::cell::Cell::new(0u64);
    let report_with = |running: Option<&str>,
                       failed: Option<(&str, String)>,
                       bad_tls: Vec<TlsProblem>,
                       reloads: u64| {
        reports_tx.send_replace(Some(AgentReport {
            bad_tls,
            replica: replica.clone(),
            running: running.map(str::to_owned),
            failed: failed.map(|(revision, message)| Failure {
                revision: revision.to_owned(),
                message,
            }),
            time_ms: now_ms(),
            reloads,
            runtime_updates: runtime_updates.get(),
        }));
    };
    let report = |running: Option<&str>, failed: Option<(&str, String)>, reloads: u64| {
        report_with(running, failed, Vec::new(), reloads)
    };
    // A refused install is reported with the broken TLS pairs it found.
    let report_refused =
        |running: Option<&str>, doc: &RevisionDoc, e: &install::InstallError, reloads: u64| {
            let failed = Some((doc.hash.as_str(), e.to_string()));
            report_with(running, failed, e.bad_tls().to_vec(), reloads)
        };
    let mut stop = StopSignals::new()?;

    // Nothing to serve until the first valid revision.
    let mut installed = loop {
        tokio::select! {
            sig = stop.recv() => {
                tracing::info!(signal = %sig, "stopping before the proxy started");
                return Ok(0);
            }
            changed = newest.changed() => {
                if changed.is_err() {
                    // The fetcher gave up (its sender is gone): say why.
                    let why = (&mut fetcher)
                        .await
                        .unwrap_or_else(|e| format!("revision fetcher failed: {e}"));
                    anyhow::bail!("cluster {cluster:?}: {why}");
                }
                let doc = match newest.borrow_and_update().clone() {
                    None => continue,
                    Some(Fetched::Refused { revision, reason }) => {
                        metrics.refused(Refusal::Unverified);
                        tracing::error!(revision = %short(&revision), "refused: {reason}; waiting for a valid revision");
                        report(None, Some((&revision, reason)), reloads);
                        continue;
                    }
                    Some(Fetched::Revision(doc)) => doc,
                };
                match install::install_valid(&root, &validate, &doc, None).await {
                    Ok(()) => break doc,
                    Err(e) => {
                        metrics.refused(Refusal::Invalid);
                        tracing::error!(revision = %short(&doc.hash), "{e}; waiting for a valid revision");
                        report_refused(None, &doc, &e, reloads);
                    }
                }
            }
        }
    };

    let argv = install::substitute(&proxy_cmd, installed.main_path());
    let mut proxy = Proxy::start(&argv)?;
    tracing::info!(pid = proxy.pid(), ?argv, revision = %short(&installed.hash), "proxy started");
    let mut serving = installed.hash.clone();
    running_tx.send_replace(Some(serving.clone()));
    metrics.applied(None);
    report(Some(&serving), None, reloads);
    // After the report: the names a 10k-host config holds take milliseconds
    // to collect, which the convergence the daemon measures need not wait.
    if settings.metrics_addr.is_some() {
        metrics.installed(installed.files.iter().map(|f| f.contents.as_str()));
    }

    let mut stopping = false;
    let mut fetching = true;
    // The slowest reload the proxy confirmed: how long the next may take.
    let mut slowest_reload = std::time::Duration::ZERO;
    loop {
        tokio::select! {
            status = proxy.wait() => {
                let status = status.context("waiting for the proxy")?;
                let code = u8::try_from(proxy::exit_code(status)).unwrap_or(1);
                if stopping {
                    tracing::info!(%status, "proxy stopped");
                    return Ok(code);
                }
                tracing::error!(%status, "the proxy exited on its own; stopping so that Swarm replaces the task");
                return Ok(code.max(1));
            }
            sig = stop.recv() => {
                tracing::info!(signal = %sig, "forwarding to the proxy");
                if let Err(e) = proxy.signal(sig) {
                    tracing::error!("{e}");
                }
                stopping = true;
            }
            changed = newest.changed(), if fetching && !stopping => {
                if changed.is_err() {
                    fetching = false;
                    let why = (&mut fetcher)
                        .await
                        .unwrap_or_else(|e| format!("revision fetcher failed: {e}"));
                    tracing::error!("{why}; no more revisions, the proxy keeps serving {}", short(&serving));
                    continue;
                }
                let doc = match newest.borrow_and_update().clone() {
                    None => continue,
                    Some(Fetched::Refused { revision, reason }) => {
                        metrics.refused(Refusal::Unverified);
                        tracing::error!(revision = %short(&revision), "refused: {reason}; the proxy keeps serving {}", short(&serving));
                        report(Some(&serving), Some((&revision, reason)), reloads);
                        continue;
                    }
                    Some(Fetched::Revision(doc)) => doc,
                };
                if doc.hash == installed.hash {
                    continue;
                }
                let started = Instant::now();
                // Set when slots may have been set half-way: the proxy's
                // running state is then neither revision's.
                let mut touched = false;
                if let Some(master) = &master
                    && let Some(sets) = installed.slots.as_ref().zip(doc.slots.as_ref()).and_then(|(old, new)| runtime::changes(old, new))
                {
                    let taken = match master.apply(&sets).await {
                        Ok(()) => install::install_taken(&root, &doc, &installed).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match taken {
                        Ok(()) => {
                            installed = doc.clone();
                            serving = doc.hash.clone();
                            runtime_updates.set(runtime_updates.get() + 1);
                            metrics.runtime_applied();
                            tracing::info!(revision = %short(&serving), slots = sets.len(), took = ?started.elapsed(), "server slots set at runtime, no reload");
                            running_tx.send_replace(Some(serving.clone()));
                            report(Some(&serving), None, reloads);
                            continue;
                        }
                        // A reload sets every slot from the files.
                        Err(e) => {
                            touched = true;
                            tracing::warn!(revision = %short(&doc.hash), "setting server slots at runtime failed ({e}); reloading instead");
                        }
                    }
                }
                let result = match (&settings.reload, settings.reload_checks) {
                    // The proxy checks the config as it reloads: no
                    // separate parse first.
                    (settings::Reload::Signal(signal), true) => {
                        match install::install_confirmed(&root, &validate, &doc, &installed, &proxy, *signal, slowest_reload).await {
                            Ok(took) => {
                                slowest_reload = slowest_reload.max(took);
                                installed = doc.clone();
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                    _ => match install::install_valid(&root, &validate, &doc, Some(&installed)).await {
                        Ok(()) => {
                            installed = doc.clone();
                            install::reload(&proxy, &settings.reload, &doc).await
                        }
                        Err(e) => Err(e),
                    },
                };
                match result {
                    Ok(()) => {
                        serving = doc.hash.clone();
                        reloads += 1;
                        metrics.applied(Some(started.elapsed()));
                        tracing::info!(revision = %short(&serving), took = ?started.elapsed(), "proxy reloaded");
                        running_tx.send_replace(Some(serving.clone()));
                        report(Some(&serving), None, reloads);
                        if settings.metrics_addr.is_some() {
                            metrics.installed(doc.files.iter().map(|f| f.contents.as_str()));
                        }
                    }
                    Err(e) => {
                        metrics.refused(Refusal::Invalid);
                        tracing::error!(revision = %short(&doc.hash), "{e}; the proxy keeps serving {}", short(&serving));
                        report_refused(Some(&serving), &doc, &e, reloads);
                        if touched {
                            // Slots may be half set: the installed files,
                            // reloaded, set them all back.
                            match install::reload(&proxy, &settings.reload, &installed).await {
                                Ok(()) => reloads += 1,
                                Err(e) => tracing::error!(revision = %short(&serving), "reloading the installed revision after a failed runtime update: {e}"),
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Start the metrics listener and the traffic socket; a port or socket
/// that cannot be had stops the agent before the proxy starts, naming it.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    traffic_socket: &std::path::Path,
    metrics: Arc<AgentMetrics>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("SLUICE_METRICS_ADDR {addr}"))?;
    let socket = metrics::socket::bind(traffic_socket)?;
    tracing::info!(%addr, traffic_socket = %traffic_socket.display(), "serving metrics");
    metrics::socket::receive(socket, traffic_socket, metrics.clone())
        .context("starting the traffic socket's thread")?;
    // Lives as long as the agent (the process ends with the proxy).
    tokio::spawn(metrics::serve::run(
        listener,
        metrics,
        std::future::pending::<()>(),
    ));
    Ok(())
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The signals that stop a container (`docker stop`, `ProxyStopSignal`, ^C).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<StopSignals> {
        let install = |kind| signal(kind).context("installing a signal handler");
        Ok(StopSignals {
            term: install(SignalKind::terminate())?,
            quit: install(SignalKind::quit())?,
            int: install(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::SIGTERM,
            _ = self.quit.recv() => Signal::SIGQUIT,
            _ = self.int.recv() => Signal::SIGINT,
        }
    }
}
