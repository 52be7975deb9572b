//! The harness's Swarm: `tests/swarm/up.sh`, run once per test process.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// What `up.sh` printed (see tests/swarm/README.md, "Output contract").
#[derive(Clone, Debug)]
pub struct SwarmEnv {
    pub manager_addr: String,
    pub worker_addr: String,
    pub manager_sock: String,
    pub worker_sock: String,
    pub whoami_image: String,
    pub nginx_image: String,
    pub haproxy_image: String,
}

/// The repository root (tests/ is this crate's folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// True when CI demands a Swarm: then a missing one fails instead of skipping.
pub fn swarm_required() -> bool {
    std::env::var("SLUICE_REQUIRE_SWARM").is_ok_and(|v| v == "1")
}

/// The Swarm, brought up by `up.sh` (idempotent, ~2 s when up) on first use.
/// None, after a loud SKIPPED line, when it can't be set up here; a panic
/// instead when `SLUICE_REQUIRE_SWARM=1`.
pub fn swarm(test: &str) -> Option<&'static SwarmEnv> {
    static ENV: OnceLock<Result<SwarmEnv, String>> = OnceLock::new();
    match ENV.get_or_init(bring_up) {
        Ok(env) => Some(env),
        Err(why) if swarm_required() => panic!("SLUICE_REQUIRE_SWARM=1 but {why}"),
        Err(why) => {
            // Straight to stderr: libtest captures eprintln! of passing tests,
            // and a skip must not go unnoticed.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: {why}\n*** (needs root and Docker: tests/swarm/up.sh; \
                 SLUICE_REQUIRE_SWARM=1 makes this a failure)\n"
            );
            None
        }
    }
}

fn bring_up() -> Result<SwarmEnv, String> {
    let script = repo_root().join("tests/swarm/up.sh");
    let started = Instant::now();
    let out = Command::new(&script)
        .output()
        .map_err(|e| format!("{} could not run: {e}", script.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    eprintln!(
        "[e2e timing] swarm up.sh {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let vars: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |key: &str| {
        vars.get(key)
            .map(|v| v.to_string())
            .ok_or_else(|| format!("up.sh printed no {key}"))
    };
    Ok(SwarmEnv {
        manager_addr: get("MANAGER_ADDR")?,
        worker_addr: get("WORKER_ADDR")?,
        manager_sock: get("MANAGER_SOCK")?,
        worker_sock: get("WORKER_SOCK")?,
        whoami_image: get("WHOAMI_IMAGE")?,
        nginx_image: get("NGINX_IMAGE")?,
        haproxy_image: get("HAPROXY_IMAGE")?,
    })
}
