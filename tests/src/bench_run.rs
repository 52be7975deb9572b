//! What every benchmark binary of this crate does the same way.

use std::path::{Path, PathBuf};

/// `cargo bench` passes `--bench`; `cargo test --benches` runs the binary
/// without it, and then a benchmark only checks that it builds.
pub fn requested() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Where results are written (`target/`, or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
