//! `sluice migrate`: from a running Interlock to Sluice (see
//! `sluice::migrate` and docs/migrating-from-interlock.md).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::apply::SwarmApi;
use sluice::config;
use sluice::migrate::{assess, migrated_config, read, takeover};
use sluice::render::PluginHost;

pub struct Options<'a> {
    pub docker: &'a str,
    pub interlock: &'a str,
    pub instance: &'a str,
    pub out: Option<&'a Path>,
    pub proxy_image: Option<&'a str>,
    pub take_over: bool,
    pub rollback: bool,
}

pub fn run(o: Options) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(migrate(o))
}

async fn migrate(o: Options<'_>) -> anyhow::Result<ExitCode> {
    let swarm = SwarmApi::connect(o.docker).await?;
    if o.rollback {
        let done = takeover::rollback(&swarm, o.instance).await?;
        for (_, line) in &done.restored {
            println!("{line}");
        }
        for f in &done.failed {
            eprintln!("error: not rolled back: {f}");
        }
        if !done.failed.is_empty() {
            eprintln!("the backups not restored are kept: fix the cause and run --rollback again");
            return Ok(ExitCode::FAILURE);
        }
        if done
            .restored
            .iter()
            .any(|(service, _)| service == o.interlock)
        {
            println!(
                "rolled back: Interlock's core {} runs and updates the proxies again",
                o.interlock
            );
        } else {
            println!(
                "rolled back; Interlock's core {} had no saved spec: scale it up yourself \
                 (docker service scale {}=1), or give its name with --interlock",
                o.interlock, o.interlock
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let interlock = read::read(&swarm, o.interlock).await?;
    println!(
        "Interlock: service {} with config object {}",
        o.interlock, interlock.config_name
    );
    let text = migrated_config::migrated(&interlock.config_text, o.proxy_image)
        .map_err(anyhow::Error::msg)?;
    let loaded = config::parse_str(&text, Path::new("/")).with_context(|| {
        format!(
            "Interlock's config (config object {}) as Sluice reads it",
            interlock.config_name
        )
    })?;
    // What `validate` and `run` say, each once: the keys Sluice treats
    // differently, before anything changes.
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    for n in &loaded.notes {
        println!("note: {n}");
    }
    let mut assessment = assess::assess(
        &loaded.config,
        &interlock.services,
        o.instance,
        o.proxy_image,
    );
    // As `validate`: each Extension's plugin takes its settings, or the
    // take-over would leave a cluster the daemon cannot render.
    let host = PluginHost::new().context("starting the plugin host")?;
    for ext in loaded.config.extensions.values() {
        if let Err(e) = sluice::render::load_plugin(&host, ext) {
            assessment
                .blocked
                .push(format!("cluster {}: {e}", ext.name));
        }
    }
    for line in &assessment.lines {
        println!("{line}");
    }
    for b in &assessment.blocked {
        eprintln!("error: {b}");
    }
    match o.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!("Sluice's config: {}", path.display());
        }
        None => println!("--- Sluice's config (-o FILE to write it) ---\n{text}"),
    }
    if !assessment.blocked.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    if o.take_over {
        for line in takeover::take_over(&swarm, &assessment, o.interlock, o.instance).await? {
            println!("{line}");
        }
        println!(
            "taken over: start the daemon on this config now (`sluice run -c CONFIG --instance {}`); \
             `sluice migrate --rollback --instance {}` undoes it",
            o.instance, o.instance
        );
    } else {
        println!("nothing changed (dry run): add --take-over to switch");
    }
    Ok(ExitCode::SUCCESS)
}
