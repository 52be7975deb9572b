//! Images built here on demand by `tests/swarm/images.sh`.

use std::path::Path;
use std::process::Command;

/// `images.sh ARGS...`'s `KEY=value` line for `key`.
fn built(args: &[&str], key: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("swarm/images.sh");
    let out = Command::new(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        out.status.success(),
        "images.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = format!("{key}=");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("{key} in images.sh output"))
}

/// `sluice/sluice` (the daemon, as examples/deploy's image) around
/// `sluice_binary`: its image ID.
pub fn daemon(sluice_binary: &str) -> String {
    built(&["sluice", sluice_binary], "SLUICE_IMAGE")
}

/// `sluice/nginx-agent` around `agent_binary` (a build of the agent crate,
/// e.g. `env!("CARGO_BIN_EXE_test-agent")`): its image ID.
pub fn nginx_agent(agent_binary: &str) -> String {
    built(&["agents", agent_binary], "NGINX_AGENT_IMAGE")
}

/// `sluice/haproxy-agent` around `agent_binary`, as [`nginx_agent`].
pub fn haproxy_agent(agent_binary: &str) -> String {
    built(&["agents", agent_binary], "HAPROXY_AGENT_IMAGE")
}

/// `sluice/prometheus`: this machine's Prometheus binary (Debian's package),
/// for scraping on the test Swarm: its image ID.
pub fn prometheus() -> String {
    built(
        &["any", "sluice/prometheus", "/usr/bin/prometheus"],
        "IMAGE",
    )
}
