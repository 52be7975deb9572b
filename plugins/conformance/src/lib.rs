//! The renderer conformance kit (`sluice plugin check PATH.wasm`).
//!
//! It loads a component the way the daemon does (interface version read from
//! its exports, refused when newer than this host supports), then runs it on
//! a built-in corpus of route sets ([`corpus`]) and on hostile inputs
//! ([`hostile`]), and reports one named check each:
//!
//! - **load**, **info**: the interface version, and an `info()` the host can use;
//! - **corpus**: every route set renders, or is refused with a diagnostic
//!   (a proxy may lack a feature); the smallest sets, a moved config path and
//!   10,000 services must render;
//! - **determinism**: each input rendered twice gives the same bytes;
//! - **output limits**: the host's checks (paths inside the config's
//!   directory, file count and size) on every render;
//! - **time**, **memory** per render, with the numbers;
//! - **settings**: unknown keys are named, wrong types refused naming the key
//!   ([`settings_probe`] explains how keys are discovered);
//! - **injection**: no hostile string adds config ([`injection`] explains the
//!   benign-twin method and its limits);
//! - **proxy validate** (optional): the plugin's validate-command on the outputs.

pub mod corpus;
pub mod fingerprint;
pub mod hostile;
pub mod injection;
mod proxy_check;
pub mod renders;
pub mod report;
pub mod settings_probe;

use std::path::Path;
use std::time::Instant;

pub use report::{CheckResult, RenderRecord, Report, Status};

use sluice_render::wit::latest::{Reload, Setting};
use sluice_render::{Limits, Plugin, PluginHost, SUPPORTED_VERSIONS};

/// What to run, beyond the defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// Per-call limits (the daemon's by default).
    pub limits: Limits,
    /// The `[Config]` table used for every render (e.g. what lets the proxy's
    /// validate-command run on this machine).
    pub settings: Vec<Setting>,
    /// Settings keys to probe besides Interlock's.
    pub probe_keys: Vec<String>,
    /// Size of the large route set.
    pub large_services: usize,
    /// Run the plugin's validate-command on the outputs, when the proxy is installed.
    pub proxy_check: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            settings: vec![],
            probe_keys: vec![],
            large_services: corpus::LARGE_SERVICES,
            proxy_check: false,
        }
    }
}

/// Load the component at `path` and check it.
pub fn check_file(path: &Path, options: &Options) -> anyhow::Result<Report> {
    let host = PluginHost::with_limits(options.limits)?;
    let started = Instant::now();
    let loaded = host.load_file(path, None);
    let load_time = started.elapsed();
    let source = path.display().to_string();
    Ok(match loaded {
        Ok(plugin) => {
            let load = CheckResult::new(
                "load",
                format!(
                    "interface {} (host supports {}), compiled and loaded in {}",
                    plugin.id().interface,
                    SUPPORTED_VERSIONS.join(", "),
                    report::ms(load_time)
                ),
                vec![],
            );
            let mut report = check_plugin(&plugin, options);
            report.source = source;
            report.checks.insert(0, load);
            report
        }
        Err(e) => Report {
            source,
            interface: None,
            info: None,
            checks: vec![CheckResult::new(
                "load",
                "refused".into(),
                vec![e.to_string()],
            )],
            renders: vec![],
        },
    })
}

/// Render every corpus case with the component at `path` and write the files
/// under `dir/<case>/<path>` (for checks outside the kit, e.g. a schema).
/// Returns the number of files written; refused cases are skipped.
pub fn write_corpus(path: &Path, options: &Options, dir: &Path) -> anyhow::Result<usize> {
    let host = PluginHost::with_limits(options.limits)?;
    let plugin = host.load_file(path, None)?;
    let config_path = plugin.info().default_config_path.clone();
    let mut written = 0;
    for case in corpus::cases(&config_path, &options.settings, options.large_services) {
        let Ok(files) = plugin.render(&case.input).map(|r| r.files) else {
            continue;
        };
        let slug: String = case
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        for f in files {
            let target = dir.join(&slug).join(f.path.trim_start_matches('/'));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, f.contents)?;
            written += 1;
        }
    }
    Ok(written)
}

/// Check an already loaded plugin.
pub fn check_plugin(plugin: &Plugin, options: &Options) -> Report {
    let info = plugin.info();
    let config_path = info.default_config_path.clone();
    let mut checks = vec![check_info(plugin)];

    let cases = corpus::cases(&config_path, &options.settings, options.large_services);
    let rendered = renders::render_all(plugin, cases);
    checks.push(renders::check_corpus(&rendered));
    checks.push(renders::check_determinism(plugin, &rendered));
    checks.push(renders::check_output_limits(&rendered, &options.limits));
    checks.push(renders::check_code(&rendered, &info.proxy));
    checks.push(renders::check_time(&rendered, &options.limits));
    checks.push(renders::check_memory(&rendered, &options.limits));

    checks.push(settings_probe::check_unknown_keys(plugin));
    let mut candidates: Vec<String> = settings_probe::INTERLOCK_KEYS
        .iter()
        .map(|k| k.to_string())
        .collect();
    for k in &options.probe_keys {
        if !candidates.iter().any(|c| c.eq_ignore_ascii_case(k)) {
            candidates.push(k.clone());
        }
    }
    let probes = settings_probe::probe(plugin, &candidates);
    let (route_check, accepted) = injection::check_routes(plugin, &config_path, &options.settings);
    match &probes {
        Ok(p) => {
            checks.push(settings_probe::check_wrong_types(p, candidates.len()));
            checks.push(route_check);
            let base = rendered
                .iter()
                .find(|r| r.case.name == "every feature" && r.ok())
                .or_else(|| rendered.iter().find(|r| r.case.name == "one host"))
                .map(|r| r.case.input.clone());
            if let Some(base) = base {
                checks.push(injection::check_settings(plugin, p, &base));
            }
        }
        Err(e) => {
            checks.push(CheckResult::new(
                "settings: wrong types",
                "probe failed".into(),
                vec![e.to_string()],
            ));
            checks.push(route_check);
        }
    }

    if options.proxy_check {
        let mut inputs = renders::rendered_inputs(&rendered);
        inputs.extend(
            accepted
                .into_iter()
                .enumerate()
                .map(|(n, i)| (format!("hostile #{n}"), i)),
        );
        checks.push(proxy_check::check(plugin, &inputs));
    } else {
        checks.push(CheckResult::skipped(
            "proxy validate",
            "not asked for (--proxy-check)".into(),
        ));
    }

    Report {
        source: plugin.id().to_string(),
        interface: Some(plugin.id().interface.clone()),
        info: Some(info.clone()),
        checks,
        renders: renders::records(&rendered),
    }
}

/// What the host needs from `info()`.
fn check_info(plugin: &Plugin) -> CheckResult {
    let i = plugin.info();
    let mut failures = Vec::new();
    for (field, value) in [
        ("name", &i.name),
        ("version", &i.version),
        ("proxy", &i.proxy),
    ] {
        if value.trim().is_empty() {
            failures.push(format!("`{field}` is empty"));
        }
    }
    if !i.validate_command.iter().any(|a| a.contains("{config}")) {
        failures.push(format!(
            "validate-command `{}` never mentions {{config}}, so it cannot check the rendered file",
            i.validate_command.join(" ")
        ));
    }
    match &i.reload {
        Reload::Signal(s) if s.trim().is_empty() => failures.push("reload signal is empty".into()),
        Reload::Command(c) if c.is_empty() => failures.push("reload command is empty".into()),
        _ => {}
    }
    CheckResult::new(
        "info",
        format!(
            "{} {} for {}, main config {}",
            i.name, i.version, i.proxy, i.default_config_path
        ),
        failures,
    )
}
