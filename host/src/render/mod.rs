//! The renderer plugin host: wasm components behind `sluice:renderer`.
//!
//! One [`PluginHost`] per process owns the wasmtime `Engine` (with an epoch
//! ticker and an on-disk compilation cache). Each plugin is compiled once and
//! kept as a pre-linked instance; every call gets a fresh `Store` with a memory
//! cap and a deadline, so a plugin that loops, traps or allocates without bound
//! fails that one call, with an error naming plugin and cluster, and the host
//! carries on. Plugins see an empty WASI context: no files, env, clock or net.

mod builtin;
mod directives;
mod error;
mod host;
mod isolate;
mod limits;
mod lowered;
mod output;
mod plugin;
mod stage;
mod state;
mod version;

pub use builtin::{BUILTIN_NAMES, PLUGIN_DIR, builtin_bytes};
pub use directives::{CodePolicy, Syntax};
pub use error::PluginError;
pub use host::PluginHost;
pub use isolate::RefusedHost;
pub use limits::Limits;
pub use plugin::{CallStats, Plugin, PluginId};
pub use stage::{Revision, hash_files, load_plugin, render_cluster, render_with};
pub use version::{SUPPORTED_VERSIONS, interface_version};
