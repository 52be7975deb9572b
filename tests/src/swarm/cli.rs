//! The `docker` CLI, to set scenes up and to observe Swarm independently of
//! the code under test.

use std::process::Command;

/// One engine, by socket.
#[derive(Clone, Debug)]
pub struct Docker {
    pub sock: String,
}

impl Docker {
    pub fn new(sock: &str) -> Docker {
        Docker {
            sock: sock.to_owned(),
        }
    }

    pub fn try_run(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.sock))
            .args(args)
            .output()
            .map_err(|e| format!("docker {args:?}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "docker {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        self.try_run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `docker service update --detach --label-add LABEL SERVICE`
    /// (`label`: `key=value`).
    pub fn label_add(&self, service: &str, label: &str) {
        self.run(&[
            "service",
            "update",
            "--detach",
            "--label-add",
            label,
            service,
        ]);
    }

    /// Non-empty output lines.
    pub fn lines(&self, args: &[&str]) -> Vec<String> {
        self.try_run(args)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `docker service inspect` of one service, or None when it doesn't exist.
    pub fn service(&self, name: &str) -> Option<serde_json::Value> {
        let text = self.try_run(&["service", "inspect", name]).ok()?;
        let all: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(all[0].clone())
    }

    /// IDs of the running containers of `service` on this engine.
    pub fn container_ids(&self, service: &str) -> Vec<String> {
        let filter = format!("label=com.docker.swarm.service.name={service}");
        self.lines(&["ps", "-q", "--no-trunc", "--filter", &filter])
    }

    /// Names of the service's tasks' containers that run on this engine.
    pub fn containers_of(&self, services: &[String]) -> Vec<String> {
        self.lines(&[
            "ps",
            "-a",
            "--format",
            "{{.Label \"com.docker.swarm.service.name\"}}",
        ])
        .into_iter()
        .filter(|s| services.contains(s))
        .collect()
    }
}

/// What the tests count about a proxy service: Swarm bumps `Version.Index` on
/// every write to the service (spec updates and the rolling update's status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceState {
    pub version: u64,
    pub updated_at: String,
    pub spec_hash: String,
    /// `UpdateStatus.State` ("updating", "completed", ...), "" before any update.
    pub update_state: String,
}

impl ServiceState {
    pub fn of(service: &serde_json::Value) -> ServiceState {
        ServiceState {
            version: service["Version"]["Index"].as_u64().unwrap_or_default(),
            updated_at: service["UpdatedAt"].as_str().unwrap_or_default().to_owned(),
            spec_hash: service["Spec"]["Labels"]["com.docker.sluice.spec-hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            update_state: service["UpdateStatus"]["State"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// No rolling update in flight, so the version only moves on a new write.
    pub fn settled(&self) -> bool {
        !matches!(
            self.update_state.as_str(),
            "updating" | "rollback_started" | "paused" | "rollback_paused"
        )
    }
}
