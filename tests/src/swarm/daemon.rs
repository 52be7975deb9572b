//! Sluice's daemon, in-process: `sluice::daemon::run` on its own runtime,
//! stopped through a oneshot as `sluice run` is by SIGTERM.

use std::path::{Path, PathBuf};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct Daemon {
    pub instance: String,
    runtime: Option<Runtime>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    reloads: tokio::sync::mpsc::UnboundedSender<sluice::config::Config>,
}

impl Daemon {
    /// Parse `config` (as `sluice run -c` would; errors panic, naming the key)
    /// and start the daemon as Sluice instance `instance`.
    pub fn start(config: &str, instance: &str) -> Daemon {
        Daemon::start_with_key(config, instance, None)
    }

    /// [`Daemon::start`] with the agents' key read from `agent_key_file`
    /// (else the daemon's default place).
    pub fn start_with_key(config: &str, instance: &str, agent_key_file: Option<PathBuf>) -> Daemon {
        super::logs::capture();
        let loaded = sluice::config::parse_str(config, Path::new("."))
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{config}"));
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (stop, stopped) = oneshot::channel::<()>();
        let (reloads, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        let task = runtime.spawn(sluice::daemon::run_reloading(
            loaded.config,
            instance.to_owned(),
            agent_key_file,
            reload_rx,
            async move {
                let _ = stopped.await;
            },
        ));
        Daemon {
            instance: instance.to_owned(),
            runtime: Some(runtime),
            stop: Some(stop),
            task: Some(task),
            reloads,
        }
    }

    /// Hand the daemon a new config, as SIGHUP does for `sluice run`.
    pub fn reload(&self, config: &str) {
        let loaded = sluice::config::parse_str(config, Path::new("."))
            .unwrap_or_else(|e| panic!("test config refused: {e}\n{config}"));
        self.reloads
            .send(loaded.config)
            .expect("the daemon takes reloads");
    }

    /// Err when the daemon has ended (it never does before shutdown).
    pub fn alive(&self) -> Result<(), String> {
        match &self.task {
            Some(task) if !task.is_finished() => Ok(()),
            _ => Err(format!("the daemon {} is not running", self.instance)),
        }
    }

    /// Shut down and wait for the daemon to end; its result.
    pub fn stop(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), String> {
        let (Some(runtime), Some(task)) = (self.runtime.take(), self.task.take()) else {
            return Ok(());
        };
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = runtime.block_on(task);
        runtime.shutdown_background();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("daemon {} failed: {e:#}", self.instance)),
            Err(e) => Err(format!("daemon {} panicked: {e}", self.instance)),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("{e}");
        }
    }
}
