//! `sluice validate -c CONFIG`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::config;
use sluice::render::{PluginError, PluginHost};

use super::report;

pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    // What `run` logs at start: Interlock keys Sluice accepts but treats
    // differently, each once, so a migration is reviewed before it runs.
    for n in &loaded.notes {
        eprintln!("note: {n}");
    }
    let host = PluginHost::new().context("starting the plugin host")?;
    let mut failed = false;
    for ext in loaded.config.extensions.values() {
        match sluice::render::load_plugin(&host, ext) {
            Ok((plugin, warnings)) => {
                for d in &warnings {
                    eprintln!(
                        "{}",
                        report::plugin_diagnostic(
                            &ext.name,
                            &plugin.id().source,
                            d,
                            &loaded.setting_lines
                        )
                    );
                }
                println!(
                    "cluster {}: plugin {} {} ({}), settings ok",
                    ext.name,
                    plugin.info().name,
                    plugin.info().version,
                    plugin.id()
                );
            }
            Err(PluginError::InvalidSettings {
                plugin,
                diagnostics,
                ..
            }) => {
                failed = true;
                for d in &diagnostics {
                    eprintln!(
                        "{}",
                        report::plugin_diagnostic(&ext.name, &plugin, d, &loaded.setting_lines)
                    );
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: cluster {}: {e}", ext.name);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
