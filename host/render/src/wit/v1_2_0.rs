//! `sluice:renderer@1.2.0`.

wasmtime::component::bindgen!({
    path: "../../wit/v1.2.0",
    world: "renderer",
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use self::sluice::renderer::types::{
    BackendProtocol, BasicAuth, Cluster, ContextRoot, Diagnostic, Header, HealthCheck, Hsts,
    OutputFile, PathRedirect, PluginInfo, RateLimit, Redirect, Reload, RenderError, RenderInput,
    Rendered, Rewrite, RoutePolicy, Server, Setting, SettingValue, Severity, Slot, SlotServer,
    TlsFiles, TlsVerify, Upstream, VirtualHost,
};
pub use exports::sluice::renderer::render::Guest as RenderExports;

/// The export name whose presence identifies a component of this version.
pub const EXPORT_NAME: &str = "sluice:renderer/render@1.2.0";

/// Short name for [`VirtualHost`] (the WIT record is `virtual-host`).
pub type Host = VirtualHost;

impl RoutePolicy {
    /// No policy at all, for `upstream` (what a 1.1.0 input meant).
    pub fn none(upstream: &str) -> RoutePolicy {
        RoutePolicy {
            upstream: upstream.into(),
            connect_timeout_ms: None,
            read_timeout_ms: None,
            send_timeout_ms: None,
            max_body_bytes: None,
            response_headers: vec![],
            request_headers: vec![],
            hsts: None,
            allow: vec![],
            retries: None,
            compression: None,
            protocol: BackendProtocol::Http,
            rate_limit: None,
            basic_auth: None,
            health_check: None,
            path_redirects: vec![],
            rewrite: None,
        }
    }
}
