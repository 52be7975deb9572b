//! Images built here on demand by `tests/swarm/images.sh`.

use std::path::Path;
use std::process::Command;

/// `sluice/nginx-agent` around `agent_binary` (a build of the agent crate,
/// e.g. `env!("CARGO_BIN_EXE_test-agent")`): its image ID.
pub fn nginx_agent(agent_binary: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("swarm/images.sh");
    let out = Command::new(&script)
        .args(["agents", agent_binary])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        out.status.success(),
        "images.sh agents failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("NGINX_AGENT_IMAGE="))
        .expect("NGINX_AGENT_IMAGE in images.sh output")
        .to_owned()
}
