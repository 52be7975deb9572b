#!/usr/bin/env bash
# Runs every test: the plugins' own unit tests (native), then the workspace
# (host unit tests, render matrix with the real nginx/HAProxy, behaviour
# tests, plugin faults, and the real-Swarm end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --manifest-path plugins/Cargo.toml --workspace
cargo test --workspace
