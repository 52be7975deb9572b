//! Sluice renderer for nginx: Interlock's generated nginx.conf (reference
//! §4.1) with its template bugs fixed, as a `sluice:renderer@1.0.0` component.

use sluice_plugin_kit::*;

mod hash_size;
mod http;
mod input;
mod main_context;
mod policy;
mod ports;
mod quote;
mod raw;
mod render;
mod routes;
mod server;
mod settings;
mod stream;
mod upstream;
mod values;
mod writer;

#[cfg(test)]
mod tests;

struct Plugin;

impl Guest for Plugin {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "nginx".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            proxy: "nginx".into(),
            default_config_path: "/etc/nginx/nginx.conf".into(),
            validate_command: ["nginx", "-t", "-q", "-c", "{config}"]
                .map(String::from)
                .to_vec(),
            reload: Reload::Signal("HUP".into()),
        }
    }

    fn validate_settings(settings: Vec<Setting>) -> Vec<Diagnostic> {
        settings::validate(&settings)
    }

    fn render(input: RenderInput, policies: Vec<RoutePolicy>) -> Result<Rendered, RenderError> {
        let rendered = render::render(&input, &policies);
        // Freeing a 10k-host input piece by piece is ~5% of a render, and
        // the host throws the instance away after this call (a fresh Store
        // per render), memory and all.
        std::mem::forget(input);
        let rendered = rendered?;
        for w in &rendered.warnings {
            log(Level::Warn, w);
        }
        // nginx open source has no runtime API for upstreams: no slots,
        // every change is a reload.
        Ok(Rendered::files_only(rendered.files))
    }
}

export!(Plugin with_types_in sluice_plugin_kit::bindings);

#[cfg(test)]
mod info_tests {
    use super::*;

    #[test]
    fn describes_nginx() {
        let info = Plugin::info();
        assert_eq!(
            (info.name.as_str(), info.proxy.as_str()),
            ("nginx", "nginx")
        );
        assert_eq!(info.default_config_path, "/etc/nginx/nginx.conf");
        assert_eq!(
            info.validate_command,
            ["nginx", "-t", "-q", "-c", "{config}"]
        );
        assert!(matches!(info.reload, Reload::Signal(s) if s == "HUP"));
    }
}
