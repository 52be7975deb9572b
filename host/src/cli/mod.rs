//! Command-line interface. Interlock's `-D` (debug) is accepted before the
//! subcommand, as in `sluice -D run -c /config.toml`.

mod migrate;
mod plugin_check;
mod render;
mod report;
mod rotate_key;
mod run;
mod snapshot;
mod status;
mod traces;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "sluice",
    version,
    about = "Docker Swarm layer-7 routing, a drop-in for Interlock"
)]
pub struct Args {
    /// Debug logging (as Interlock's -D).
    #[arg(short = 'D', long = "debug", global = true)]
    pub debug: bool,
    /// Log lines as text for a person, or as JSON objects (one per line,
    /// span fields such as cluster included) for a log shipper.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Send each reconcile round as an OpenTelemetry trace to this OTLP/HTTP
    /// collector, e.g. http://otel-collector:4318. Off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render each service cluster's proxy config from a captured Swarm state.
    Render {
        /// Interlock config.toml.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// JSON with the Docker API's objects: {"services": [...], "tasks": [...], "networks": [...]}.
        #[arg(long)]
        snapshot: PathBuf,
        /// Only this cluster (Extension name).
        #[arg(long)]
        cluster: Option<String>,
        /// Write files under DIR/<cluster>/<path> instead of printing them.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the controller against the Swarm manager named by DockerURL.
    Run {
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Name of this Sluice instance: everything it creates carries it in the
        /// `com.docker.sluice.instance` label, and it touches nothing else.
        #[arg(long, env = "SLUICE_INSTANCE", default_value = "sluice")]
        instance: String,
        /// Key the agents' per-cluster tokens derive from; without it the key
        /// at /var/lib/sluice/agent.key is used, generated there on first start.
        #[arg(long, env = "SLUICE_AGENT_KEY_FILE")]
        agent_key_file: Option<PathBuf>,
    },
    /// Inside a proxy container (hitless delivery): start the proxy and keep
    /// its config current from the daemon's API, reloading in place.
    Agent(sluice::agent::Settings),
    /// What each proxy replica runs, from the daemon's API.
    Status {
        /// The daemon's API.
        #[arg(
            long,
            env = "SLUICE_ENDPOINT",
            default_value = "https://127.0.0.1:8080"
        )]
        endpoint: String,
        /// An agent's credentials file (its cluster's view only, with
        /// --cluster); without it the admin token and the channel's CA are
        /// derived from the daemon's key file.
        #[arg(long, requires = "cluster")]
        credentials_file: Option<PathBuf>,
        /// The cluster of --credentials-file.
        #[arg(long)]
        cluster: Option<String>,
        /// The daemon's key file (readable where the daemon runs).
        #[arg(long, env = "SLUICE_AGENT_KEY_FILE", default_value = sluice::serve::auth::DEFAULT_KEY_FILE)]
        agent_key_file: PathBuf,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Capture the live Swarm (DockerURL of --config, else the local socket)
    /// as a snapshot `sluice render --snapshot` reads. Secrets' data and
    /// containers' environment and arguments are left out.
    Snapshot {
        /// Interlock config.toml (for DockerURL and its TLS settings).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Write here instead of stdout.
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Rotate the agent channel's keys: the next key (which every agent
    /// already trusts) becomes current, a new next key is made. Then restart
    /// the daemon; no proxy task restarts (docs/security.md).
    RotateKey {
        /// The daemon's key file (where the daemon runs).
        #[arg(long, env = "SLUICE_AGENT_KEY_FILE", default_value = sluice::serve::auth::DEFAULT_KEY_FILE)]
        agent_key_file: PathBuf,
    },
    /// Switch from Interlock: read its config from the Swarm, say what Sluice
    /// does differently, write the config Sluice runs with, and with
    /// --take-over hand the proxy services to Sluice in place (same names,
    /// ports, placement). docs/migrating-from-interlock.md.
    Migrate {
        /// The Swarm manager's Docker API.
        #[arg(long, default_value = "unix:///var/run/docker.sock")]
        docker: String,
        /// Interlock's core service (it mounts config.toml).
        #[arg(long, default_value = "ucp-interlock")]
        interlock: String,
        /// The Sluice instance that takes over (as `sluice run --instance`).
        #[arg(long, env = "SLUICE_INSTANCE", default_value = "sluice")]
        instance: String,
        /// Write Sluice's config here instead of printing it.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// A proxy image with sluice-agent: hitless delivery (else Interlock's
        /// image is kept, with rolling delivery).
        #[arg(long)]
        proxy_image: Option<String>,
        /// Take the proxy services over (else a dry run that changes nothing).
        #[arg(long, conflicts_with = "rollback")]
        take_over: bool,
        /// Put back the specs a take-over saved (stop the daemon first).
        #[arg(long)]
        rollback: bool,
    },
    /// Check a config, plugin settings included, without Docker.
    Validate {
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Renderer plugins: `sluice plugin check PATH.wasm`.
    Plugin {
        #[command(subcommand)]
        command: plugin_check::PluginCommand,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn init_tracing(
    debug: bool,
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // -D is about Sluice's own decisions; dependencies (bollard dumps whole
    // API responses at debug) stay at info unless RUST_LOG says otherwise.
    let default = if debug { "info,sluice=debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        // Colour codes only for a person at a terminal, not in log files.
        LogFormat::Text => fmt
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .with_filter(filter)
            .boxed(),
        // One object per line; the spans' fields (round, cluster) ride along
        // in `spans`, the event's own (service, label, ...) in `fields`.
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
    };
    // The round's stages are debug spans: traced whatever the log level.
    let traces = otlp_endpoint
        .map(|endpoint| {
            traces::layer(endpoint).map(|l| {
                l.with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target("sluice", tracing::Level::DEBUG),
                )
            })
        })
        .transpose()?;
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .init();
    Ok(())
}

/// At exit: send the traces still batched.
pub fn finish_tracing() {
    traces::flush();
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Render {
            config,
            snapshot,
            cluster,
            out,
        } => render::run(&config, &snapshot, cluster.as_deref(), out.as_deref()),
        Command::Validate { config } => validate::run(&config),
        Command::Migrate {
            docker,
            interlock,
            instance,
            out,
            proxy_image,
            take_over,
            rollback,
        } => migrate::run(migrate::Options {
            docker: &docker,
            interlock: &interlock,
            instance: &instance,
            out: out.as_deref(),
            proxy_image: proxy_image.as_deref(),
            take_over,
            rollback,
        }),
        Command::RotateKey { agent_key_file } => rotate_key::run(&agent_key_file),
        Command::Snapshot { config, out } => snapshot::run(config.as_deref(), out.as_deref()),
        Command::Plugin { command } => plugin_check::run(command),
        Command::Run {
            config,
            instance,
            agent_key_file,
        } => self::run::run(&config, instance, agent_key_file),
        Command::Agent(settings) => Ok(sluice::agent::main(settings)),
        Command::Status {
            endpoint,
            credentials_file,
            cluster,
            agent_key_file,
            json,
        } => status::run(
            &endpoint,
            credentials_file.as_deref().zip(cluster.as_deref()),
            &agent_key_file,
            json,
        ),
    }
}
