//! Which renderer interface version a component implements, read from its
//! export names (`sluice:renderer/render@X.Y.Z`) before instantiating it.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Interface versions this host can run, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["1.2.0", "1.1.0", "1.0.0"];

const EXPORT_PREFIX: &str = "sluice:renderer/render@";

/// The renderer interface version the component exports, if any.
pub fn interface_version(engine: &Engine, component: &Component) -> Option<String> {
    component
        .component_type()
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(EXPORT_PREFIX).map(str::to_string))
}
