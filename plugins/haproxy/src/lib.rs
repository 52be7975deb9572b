//! Sluice renderer for HAProxy 2.6: HTTP routing by Host header and path
//! through map files, SNI-based TLS passthrough and termination, and one
//! backend per upstream. See `render` for the files produced and `settings`
//! for the `[Config]` keys.

mod backend;
mod cfg;
mod check;
mod frontend;
mod global;
mod info;
mod input;
mod policy;
mod quote;
mod render;
mod routes;
mod settings;
mod slots;
mod tls;
mod wildcard;

#[cfg(test)]
mod haproxy_check_tests;
#[cfg(test)]
mod test_support;

use sluice_plugin_kit::*;

struct Plugin;

impl Guest for Plugin {
    fn info() -> PluginInfo {
        info::plugin_info()
    }

    fn validate_settings(settings: Vec<Setting>) -> Vec<Diagnostic> {
        settings::parse(&settings).1
    }

    fn render(input: RenderInput, policies: Vec<RoutePolicy>) -> Result<Rendered, RenderError> {
        let rendered = render::render_with(&input, &policies)?;
        for w in &rendered.warnings {
            log(
                Level::Warn,
                &format!("haproxy cluster {}: {w}", input.cluster.name),
            );
        }
        Ok(Rendered {
            files: rendered.files,
            slots: rendered.slots,
        })
    }
}

export!(Plugin with_types_in sluice_plugin_kit::bindings);
