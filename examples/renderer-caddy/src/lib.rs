//! Sluice renderer for Caddy 2: the cluster's routes as one Caddy JSON config
//! (`caddy run --config caddy.json`). An example of a third-party plugin:
//! it depends on nothing from Sluice but the WIT file.

mod caddy;
mod check;
mod settings;
mod upstream;

wit_bindgen::generate!({
    // Vendored copies use "wit" (see README.md).
    path: "../../wit/v1.0.0",
    world: "renderer",
});

use exports::sluice::renderer::render::Guest;
use sluice::renderer::types::*;

/// Where the official image reads its config from (with `--config`).
pub const DEFAULT_CONFIG: &str = "/etc/caddy/caddy.json";

struct Caddy;

impl Guest for Caddy {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "caddy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            proxy: "caddy".into(),
            default_config_path: DEFAULT_CONFIG.into(),
            validate_command: ["caddy", "validate", "--config", "{config}"]
                .map(String::from)
                .to_vec(),
            // Caddy reloads through its admin API; `caddy reload` talks to it.
            reload: Reload::Command(
                ["caddy", "reload", "--config", DEFAULT_CONFIG]
                    .map(String::from)
                    .to_vec(),
            ),
        }
    }

    fn validate_settings(settings: Vec<Setting>) -> Vec<Diagnostic> {
        settings::validate(&settings)
    }

    fn render(input: RenderInput) -> Result<Vec<OutputFile>, RenderError> {
        let diags = settings::validate(&input.cluster.settings);
        if diags.iter().any(|d| d.severity == Severity::Error) {
            return Err(RenderError::InvalidSettings(diags));
        }
        let problems = check::input(&input);
        if !problems.is_empty() {
            return Err(RenderError::InvalidInput(problems));
        }
        let config = caddy::config(&input, &settings::Settings::read(&input.cluster.settings));
        let text = serde_json::to_string_pretty(&config)
            .map_err(|e| RenderError::Internal(format!("serialising the config: {e}")))?;
        Ok(vec![OutputFile {
            path: input.cluster.config_path,
            contents: text + "\n",
        }])
    }
}

export!(Caddy);
