#!/usr/bin/env bash
# Runs every test: the plugins' own unit tests (native), then the workspace:
# host unit tests, the render matrix checked by the real nginx/HAProxy,
# behaviour tests on loopback, plugin faults, the conformance kit, and the
# end-to-end tests on a real multi-node Swarm (tests/swarm/up.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
# host/render/build.rs compiles the bundled plugins for wasm32-wasip2, and rustup
# does not install targets on its own here (RUSTUP_AUTO_INSTALL=0).
rustup target add wasm32-wasip2
# Swarm tests may only skip when asked to; by default a missing Swarm fails.
export SLUICE_REQUIRE_SWARM="${SLUICE_REQUIRE_SWARM:-1}"
cargo test --no-fail-fast --manifest-path plugins/Cargo.toml --workspace
# The CLI the tests run as a user does (tests/src/sluice_bin.rs): built here,
# so no test pays for that build inside a timed step.
cargo build -p sluice --bin sluice
cargo test --no-fail-fast --workspace
