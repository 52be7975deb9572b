//! The renderer plugin host: wasm components behind `sluice:renderer`.
//!
//! One [`PluginHost`] per process owns the wasmtime `Engine` (with an epoch
//! ticker and an on-disk compilation cache). Each plugin is compiled once and
//! kept as a pre-linked instance; every call gets a fresh `Store` with a memory
//! cap and a deadline, so a plugin that loops, traps or allocates without bound
//! fails that one call, with an error naming plugin and cluster, and the host
//! carries on. Plugins see an empty WASI context: no files, env, clock or net.
//!
//! This crate is the plugin runtime alone (plugins, their limits, the WIT
//! bindings, the check of what they render), with no Docker and no config:
//! the daemon (`sluice`) and the conformance kit both build on it. The
//! renderer plugins it carries built in are compiled by `build.rs`.

mod builtin;
mod directives;
mod error;
mod host;
mod limits;
mod lowered;
mod output;
mod plugin;
mod state;
mod version;
pub mod wit;

pub use builtin::{BUILTIN_NAMES, PLUGIN_DIR, builtin_bytes};
pub use directives::{CodePolicy, Syntax};
pub use error::PluginError;
pub use host::{PluginHost, PluginRef};
pub use limits::Limits;
pub use plugin::{CallStats, Plugin, PluginId};
pub use version::{SUPPORTED_VERSIONS, interface_version};
