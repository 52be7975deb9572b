//! The bundled plugins, embedded at build time (see host/render/build.rs).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

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
    builtin(name).map(|(bytes, _)| bytes)
}

/// The component bytes of a bundled plugin and their sha256 (hex), which is
/// computed once: they are part of the binary, and a plugin is looked up on
/// every render.
pub fn builtin(name: &str) -> Option<(&'static [u8], &'static str)> {
    static NGINX_SHA256: OnceLock<String> = OnceLock::new();
    static HAPROXY_SHA256: OnceLock<String> = OnceLock::new();
    let (bytes, digest) = match name {
        "nginx" => (NGINX, &NGINX_SHA256),
        "haproxy" => (HAPROXY, &HAPROXY_SHA256),
        _ => return None,
    };
    let digest = digest.get_or_init(|| hex::encode(Sha256::digest(bytes)));
    Some((bytes, digest))
}
