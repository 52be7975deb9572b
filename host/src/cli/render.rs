//! `sluice render -c CONFIG --snapshot STATE.json [--cluster NAME] [--out DIR]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sluice::config;
use sluice::plan::{self, Severity};
use sluice::render::{PluginError, PluginHost, Revision, render_cluster};
use sluice::snapshot::{Snapshot, Swarm};

use super::report;

pub fn run(
    config_path: &Path,
    snapshot_path: &Path,
    only: Option<&str>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let loaded = config::load(config_path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let lines = loaded.setting_lines;
    let config = loaded.config;
    if let Some(name) = only
        && !config.extensions.contains_key(name)
    {
        let known: Vec<_> = config.extensions.keys().cloned().collect();
        bail!(
            "no cluster `{name}` in {} (clusters: {})",
            config_path.display(),
            known.join(", ")
        );
    }
    let bytes = std::fs::read(snapshot_path)
        .with_context(|| format!("reading snapshot {}", snapshot_path.display()))?;
    // Only what routing reads is kept of the objects (see snapshot::model).
    let snapshot: Snapshot = serde_json::from_slice(&bytes)
        .with_context(|| format!("parsing snapshot {}", snapshot_path.display()))?;
    drop(bytes);

    let swarm = Swarm::from_snapshot(snapshot);
    let plan = plan::Planner::new().plan(&swarm, &config, &plan::BrokenTls::default());
    drop(swarm);
    let mut failed = false;
    for d in &plan.diagnostics {
        if only.is_none() || d.cluster.as_deref().is_none_or(|c| c == only.unwrap()) {
            failed |= d.severity == Severity::Error;
            eprintln!("{}", report::plan_diagnostic(d));
        }
    }

    let host = PluginHost::new().context("starting the plugin host")?;
    for (name, cluster) in &plan.clusters {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let ext = &config.extensions[name];
        match render_cluster(&host, ext, cluster) {
            Ok(rev) => {
                for d in &rev.warnings {
                    eprintln!(
                        "{}",
                        report::plugin_diagnostic(name, &rev.plugin.source, d, &lines)
                    );
                }
                for r in &rev.refused {
                    failed = true;
                    eprintln!("error: cluster {name}: {r}");
                }
                emit(&rev, out)?;
            }
            Err(PluginError::InvalidSettings {
                plugin,
                diagnostics,
                ..
            }) => {
                failed = true;
                for d in &diagnostics {
                    eprintln!("{}", report::plugin_diagnostic(name, &plugin, d, &lines));
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: cluster {name}: {e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Print the files, or write them under OUT/<cluster>/.
fn emit(rev: &Revision, out: Option<&Path>) -> anyhow::Result<()> {
    for f in &rev.files {
        match out {
            None => {
                println!(
                    "# ==> cluster {} ({} {}): {}",
                    rev.extension, rev.info.name, rev.info.version, f.path
                );
                print!("{}", f.contents);
                if !f.contents.ends_with('\n') {
                    println!();
                }
            }
            Some(dir) => {
                let path = dir
                    .join(&rev.extension)
                    .join(f.path.trim_start_matches('/'));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, &f.contents)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}
