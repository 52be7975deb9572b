//! Command-line interface. Interlock's `-D` (debug) is accepted before the
//! subcommand, as in `sluice -D run -c /config.toml`.

mod plugin_check;
mod render;
mod report;
mod run;
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

pub fn init_tracing(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
        Command::Plugin { command } => plugin_check::run(command),
        Command::Run { config, instance } => self::run::run(&config, instance),
    }
}
