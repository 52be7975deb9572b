//! The renderer plugin host: wasm components behind `sluice:renderer`.
//!
//! One [`PluginHost`] per process owns the wasmtime `Engine` (with an epoch
//! ticker and an on-disk compilation cache). Each plugin is compiled once and
//! kept as a pre-linked instance; every call gets a fresh `Store` with a memory
//! cap and a deadline, so a plugin that loops, traps or allocates without bound
//! fails that one call, with an error naming plugin and cluster, and the host
//! carries on. Plugins see an empty WASI context: no files, env, clock or net.
//!
//! The runtime is its own crate (`sluice-render`, re-exported here); this
//! module is the render *stage*: an Extension's plugin, its cluster plan and
//! the operator's code policy in, a checked [`Revision`] out, with the hosts
//! a plugin refuses left out ([`isolate`]).

mod isolate;
mod stage;

pub use isolate::RefusedHost;
pub use sluice_render::*;
pub use stage::{
    Revision, code_policy, config_path, hash_files, load_plugin, render_cluster, render_with,
    shape_of,
};
