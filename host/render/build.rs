//! Builds the renderer plugins (wasm32-wasip2 components) so that a plain
//! `cargo build` yields a `sluice` (through this runtime crate) with nginx
//! and HAProxy built in.
//!
//! The plugins live in their own workspace (`plugins/`), built into
//! `target/plugins` by a nested cargo. Its own target dir means its own lock,
//! so the nested build cannot deadlock on the outer build's.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .expect("host/render is two levels below the repository")
        .to_path_buf();
    let plugins = root.join("plugins");
    let target_dir = root.join("target").join("plugins");

    for p in [
        "Cargo.toml",
        "Cargo.lock",
        "kit",
        "rules",
        "nginx",
        "haproxy",
        "fixtures",
    ] {
        println!("cargo:rerun-if-changed={}", plugins.join(p).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--workspace",
        ])
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for the host target, not for wasm.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("failed to run cargo for the plugins");
    if !status.success() {
        panic!(
            "building the renderer plugins failed (is the wasm32-wasip2 target installed? \
             `rustup target add wasm32-wasip2`)"
        );
    }
    let out = target_dir.join("wasm32-wasip2").join("release");
    println!("cargo:rustc-env=SLUICE_PLUGIN_DIR={}", out.display());
}
