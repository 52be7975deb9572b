//! Shared ground for Sluice's bundled renderers: the `sluice:renderer@1.2.0`
//! bindings (generated once here, exported by each plugin with [`export!`]) and
//! small helpers for reading the `[Config]` table.
//!
//! A plugin crate does:
//! ```ignore
//! struct Nginx;
//! impl sluice_plugin_kit::Guest for Nginx { ... }
//! sluice_plugin_kit::export!(Nginx with_types_in sluice_plugin_kit::bindings);
//! ```

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v1.2.0",
        world: "renderer",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "sluice_plugin_kit::bindings",
    });
}

pub use bindings::export;
pub use bindings::exports::sluice::renderer::render::Guest;
pub use bindings::sluice::renderer::log::{Level, log};
pub use bindings::sluice::renderer::types::*;

pub mod policies;
pub mod settings;

/// The value rules the host checks labels with; a plugin checking its input
/// with them refuses nothing the host accepted.
pub use sluice_input_rules as rules;

/// The WIT record is `virtual-host` (a record named `host` clashes with the
/// host-side bindings' `Host` traits); plugins may keep calling it `Host`.
pub type Host = VirtualHost;

impl Rendered {
    /// Files with no server slots: every change is loaded by a reload.
    pub fn files_only(files: Vec<OutputFile>) -> Rendered {
        Rendered {
            files,
            slots: Vec::new(),
        }
    }
}
