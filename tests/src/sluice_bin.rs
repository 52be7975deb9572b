//! The `sluice` binary for tests that run it as a user does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::swarm::env::repo_root;

/// Builds the binary with the cargo running the test (so it is never a
/// stale one); its path.
pub fn sluice_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build(&[]))
}

/// [`sluice_bin`], the release build (what the benchmarks measure).
pub fn sluice_release_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build(&["--release"]))
}

fn build(extra: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args(["build", "-p", "sluice", "--bin", "sluice"])
        .args(extra)
        .arg("--message-format=json")
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build -p sluice {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "sluice")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the sluice executable")
}
