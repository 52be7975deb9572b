//! The bundled plugins, embedded at build time (see host/build.rs).

/// Where build.rs put the compiled components (fixture plugins for tests too).
pub const PLUGIN_DIR: &str = env!("SLUICE_PLUGIN_DIR");

static NGINX: &[u8] = include_bytes!(concat!(
    env!("SLUICE_PLUGIN_DIR"),
    "/sluice_plugin_nginx.wasm"
));
static HAPROXY: &[u8] = include_bytes!(concat!(
    env!("SLUICE_PLUGIN_DIR"),
    "/sluice_plugin_haproxy.wasm"
));

/// Names accepted by `Plugin = "<name>"`.
pub const BUILTIN_NAMES: &[&str] = &["nginx", "haproxy"];

/// The component bytes of a bundled plugin.
pub fn builtin_bytes(name: &str) -> Option<&'static [u8]> {
    match name {
        "nginx" => Some(NGINX),
        "haproxy" => Some(HAPROXY),
        _ => None,
    }
}
