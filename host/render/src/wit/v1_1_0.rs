//! `sluice:renderer@1.1.0`.

wasmtime::component::bindgen!({
    path: "../../wit/v1.1.0",
    world: "renderer",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use self::sluice::renderer::types::{
    Cluster, ContextRoot, Diagnostic, OutputFile, PluginInfo, Redirect, Reload, RenderError,
    RenderInput, Rendered, Server, Setting, SettingValue, Severity, Slot, SlotServer, TlsFiles,
    TlsVerify, Upstream, VirtualHost,
};
pub use exports::sluice::renderer::render::Guest as RenderExports;

/// The export name whose presence identifies a component of this version.
pub const EXPORT_NAME: &str = "sluice:renderer/render@1.1.0";

/// Short name for [`VirtualHost`] (the WIT record is `virtual-host`).
pub type Host = VirtualHost;
