//! The daemon in-process with an agent key of its own (so the benchmark can
//! read `/v1/status` with the admin token), stopped on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sluice::serve::Keyring;
use sluice::serve::auth::ADMIN;
use sluice::serve::wire::StatusDoc;

pub struct Daemon {
    api_port: u16,
    admin_token: String,
    /// Stops the daemon when dropped.
    daemon: sluice_tests::swarm::daemon::Daemon,
    _key_dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts Sluice instance `instance` on `config`, whose `ListenAddr`
    /// must be `:api_port`.
    pub fn start(config: &str, instance: &str, api_port: u16) -> Daemon {
        let key_dir = tempfile::tempdir().expect("a temp dir");
        let key_file = key_dir.path().join("agent.key");
        std::fs::write(&key_file, "sluice delivery benchmark key, not secret\n")
            .expect("write the agent key");
        let keys = Keyring::load(&key_file).expect("the agent key loads");
        let daemon =
            sluice_tests::swarm::daemon::Daemon::start_with_key(config, instance, Some(key_file));
        Daemon {
            api_port,
            admin_token: keys.token(ADMIN),
            daemon,
            _key_dir: key_dir,
        }
    }

    pub fn alive(&self) -> Result<(), String> {
        self.daemon.alive()
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<StatusDoc, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.api_port))
            .map_err(|e| format!("daemon API: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let request = format!(
            "GET /v1/status HTTP/1.0\r\nHost: sluice\r\nAuthorization: Bearer {}\r\n\r\n",
            self.admin_token
        );
        s.write_all(request.as_bytes())
            .map_err(|e| format!("daemon API: {e}"))?;
        let mut text = String::new();
        s.read_to_string(&mut text)
            .map_err(|e| format!("daemon API: {e}"))?;
        let (_, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("daemon API: {text:?}"))?;
        serde_json::from_str(body).map_err(|e| format!("/v1/status: {e}: {body}"))
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
