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

/// A comma-separated list from the environment variable `var` (e.g.
/// `BENCH_SERVICES=1000,10000`), else `default`.
pub fn list<T>(var: &str, default: Vec<T>, parse: impl Fn(&str) -> T) -> Vec<T> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v.split(',').map(|s| parse(s.trim())).collect(),
        _ => default,
    }
}

/// The middle value (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The cluster sizes to bench: `BENCH_SERVICES` (e.g. `1000,10000`), else
/// `default`.
pub fn sizes(default: &[usize]) -> Vec<usize> {
    list("BENCH_SERVICES", default.to_vec(), |s| {
        s.parse().expect("BENCH_SERVICES: numbers, comma-separated")
    })
}
