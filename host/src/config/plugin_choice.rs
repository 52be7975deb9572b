//! Which renderer plugin an Extension uses, and which proxy image goes with it.

use std::path::Path;

use super::model::PluginRef;

pub const BUILTINS: [&str; 2] = ["nginx", "haproxy"];

/// The `Plugin` key: a built-in name, or a `.wasm` path relative to `base_dir`.
///
/// References are `<name>` (built in), a path, or a URL-style `<scheme>:`:
/// `file:` names a path too; `oci://registry/repo:tag` is reserved for
/// pulling plugins from registries (pinned by `PluginSha256`) and refused for
/// now, so that configs written today keep their meaning then.
pub fn parse_plugin(value: &str, base_dir: &Path) -> Result<PluginRef, String> {
    if value.starts_with("oci://") {
        return Err(format!(
            "{value:?}: pulling plugins from OCI registries is not supported yet; download the .wasm and give its path (with PluginSha256)"
        ));
    }
    let file = value
        .strip_prefix("file://")
        .or_else(|| value.strip_prefix("file:"));
    let value = file.unwrap_or(value);
    if file.is_none() && BUILTINS.contains(&value) {
        Ok(PluginRef::Builtin(value.to_owned()))
    } else if value.ends_with(".wasm") {
        Ok(PluginRef::Path(base_dir.join(value)))
    } else {
        Err(format!(
            "unknown plugin {value:?}: expected \"nginx\", \"haproxy\" or a path ending in .wasm"
        ))
    }
}

/// The plugin Interlock's config implies: an image whose repository name
/// contains "haproxy" means haproxy; anything else (Interlock's own images,
/// nginx images, none) means nginx. `ProxyImage` is what actually runs, so it
/// wins over the extension `Image`.
pub fn derive_plugin(proxy_image: Option<&str>, image: Option<&str>) -> PluginRef {
    let name = match proxy_image.or(image) {
        Some(image) if repository(image).contains("haproxy") => "haproxy",
        _ => "nginx",
    };
    PluginRef::Builtin(name.to_owned())
}

/// The built-in plugin an image's repository name says it runs, if it
/// names one: haproxy, or nginx (Interlock's proxy images are nginx). An
/// image ID (`sha256:...`) says nothing.
pub fn named_proxy(image: &str) -> Option<&'static str> {
    let repo = repository(image);
    if repo.contains("haproxy") {
        Some("haproxy")
    } else if repo.contains("nginx") || repo.contains("interlock") {
        Some("nginx")
    } else {
        None
    }
}

/// The proxy image to run when `ProxyImage` is not set.
pub fn default_proxy_image(plugin: &PluginRef) -> &'static str {
    match plugin {
        PluginRef::Builtin(name) if name == "haproxy" => super::defaults::HAPROXY_PROXY_IMAGE,
        _ => super::defaults::PROXY_IMAGE,
    }
}

/// `PluginSha256`: 64 hex digits, kept lower-case.
pub fn parse_sha256(value: &str) -> Result<String, String> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "expected a SHA-256 digest (64 hex digits), got {value:?}"
        ))
    }
}

/// The repository part of an image reference: no registry host, tag or digest,
/// so that a registry or tag that happens to say "haproxy" does not count.
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    let image = match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    };
    match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn builtin(name: &str) -> PluginRef {
        PluginRef::Builtin(name.to_owned())
    }

    #[test]
    fn plugin_key() {
        let base = Path::new("/etc/sluice");
        let cases = [
            ("nginx", Ok(builtin("nginx"))),
            ("haproxy", Ok(builtin("haproxy"))),
            (
                "plugins/envoy.wasm",
                Ok(PluginRef::Path(PathBuf::from(
                    "/etc/sluice/plugins/envoy.wasm",
                ))),
            ),
            (
                "/opt/p.wasm",
                Ok(PluginRef::Path(PathBuf::from("/opt/p.wasm"))),
            ),
            (
                "file:/opt/p.wasm",
                Ok(PluginRef::Path(PathBuf::from("/opt/p.wasm"))),
            ),
            (
                "file:///opt/p.wasm",
                Ok(PluginRef::Path(PathBuf::from("/opt/p.wasm"))),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(parse_plugin(value, base), want, "{value}");
        }
        for bad in ["Nginx", "envoy", "p.wasm.bak", "", "file:nginx"] {
            let err = parse_plugin(bad, base).expect_err(bad);
            assert!(err.contains("unknown plugin"), "{bad}: {err}");
        }
        let err = parse_plugin("oci://ghcr.io/acme/caddy:1.0", base).unwrap_err();
        assert!(err.contains("OCI") && err.contains("PluginSha256"), "{err}");
    }

    #[test]
    fn derived_from_images() {
        let cases = [
            (None, None, "nginx"),
            (Some("docker/ucp-interlock-proxy:3.2.3"), None, "nginx"),
            (Some("nginx:alpine"), None, "nginx"),
            (Some("haproxy:2.6"), None, "haproxy"),
            (Some("haproxy"), None, "haproxy"),
            (
                Some("docker.io/library/haproxy:lts-alpine"),
                None,
                "haproxy",
            ),
            (
                Some("registry:5000/team/my-haproxy@sha256:abcd"),
                None,
                "haproxy",
            ),
            (Some("haproxy.example.com/nginx:1"), None, "nginx"),
            (Some("localhost/haproxy"), None, "haproxy"),
            (Some("nginx:haproxy-compatible"), None, "nginx"),
            (
                None,
                Some("interlockpreview/interlock-extension-haproxy:2.0.0-preview"),
                "haproxy",
            ),
            (None, Some("docker/ucp-interlock-extension:3.2.3"), "nginx"),
            (
                Some("nginx:alpine"),
                Some("interlockpreview/interlock-extension-haproxy"),
                "nginx",
            ),
        ];
        for (proxy_image, image, want) in cases {
            assert_eq!(
                derive_plugin(proxy_image, image),
                builtin(want),
                "{proxy_image:?} {image:?}"
            );
        }
    }

    #[test]
    fn sha256() {
        let good = "AB".repeat(32);
        assert_eq!(parse_sha256(&good), Ok("ab".repeat(32)));
        for bad in ["", "ab", &"g".repeat(64), &"a".repeat(65)] {
            assert!(parse_sha256(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxy_image_follows_plugin() {
        use crate::config::defaults::{HAPROXY_PROXY_IMAGE, PROXY_IMAGE};
        assert_eq!(
            default_proxy_image(&builtin("haproxy")),
            HAPROXY_PROXY_IMAGE
        );
        assert_eq!(default_proxy_image(&builtin("nginx")), PROXY_IMAGE);
        assert_eq!(
            default_proxy_image(&PluginRef::Path("x.wasm".into())),
            PROXY_IMAGE
        );
    }
}
