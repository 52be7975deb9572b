//! The daemon in-process with an agent key of its own, so that a benchmark
//! can read `/v2/status` with the admin token (reloads and runtime updates
//! per replica); stopped on drop.

use sluice::agent::client::DaemonClient;
use sluice::serve::Keyring;
use sluice::serve::wire::StatusDoc;

pub struct KeyedDaemon {
    client: DaemonClient,
    runtime: tokio::runtime::Runtime,
    /// Stops the daemon when dropped.
    daemon: super::daemon::Daemon,
    _key_dir: tempfile::TempDir,
}

impl KeyedDaemon {
    /// Starts Sluice instance `instance` on `config`, whose `ListenAddr`
    /// must be `:api_port`.
    pub fn start(config: &str, instance: &str, api_port: u16) -> KeyedDaemon {
        let key_dir = tempfile::tempdir().expect("a temp dir");
        let key_file = key_dir.path().join("agent.key");
        std::fs::write(&key_file, "sluice delivery benchmark key, not secret\n")
            .expect("write the agent key");
        let keys = Keyring::load(&key_file).expect("the agent key loads");
        let daemon = super::daemon::Daemon::start_with_key(config, instance, Some(key_file));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = DaemonClient::new(
            &format!("https://127.0.0.1:{api_port}"),
            &keys.admin_token(),
            keys.admin_tls().expect("admin TLS"),
        )
        .expect("a client of the daemon's API");
        KeyedDaemon {
            client,
            runtime,
            daemon,
            _key_dir: key_dir,
        }
    }

    pub fn alive(&self) -> Result<(), String> {
        self.daemon.alive()
    }

    /// `GET /v2/status`.
    pub fn status(&self) -> Result<StatusDoc, String> {
        self.runtime
            .block_on(self.client.status())
            .map_err(|e| e.to_string())
    }

    /// Proxy reloads the agents of `cluster` reported, summed over replicas.
    pub fn reloads(&self, cluster: &str) -> Result<u64, String> {
        let status = self.status()?;
        Ok(status
            .clusters
            .get(cluster)
            .map_or(0, |c| c.replicas.values().map(|r| r.reloads).sum()))
    }
}
