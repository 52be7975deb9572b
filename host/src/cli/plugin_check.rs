//! `sluice plugin check PATH.wasm`: the renderer conformance kit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use sluice::wit::latest::{Setting, SettingValue};
use sluice_conformance::{self as conformance, Options};

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Run the conformance kit on a renderer component: corpus, determinism,
    /// limits, time and memory, settings checks, injection; exit 1 on failure.
    Check {
        /// The component (.wasm).
        path: PathBuf,
        /// Also run the plugin's validate-command on the outputs (when the
        /// proxy binary is on PATH).
        #[arg(long)]
        proxy_check: bool,
        /// A `[Config]` setting for every render, in TOML: --setting 'User = "root"'.
        #[arg(long = "setting", value_name = "KEY = VALUE")]
        settings: Vec<String>,
        /// A settings key to probe besides Interlock's (repeatable).
        #[arg(long = "probe-key", value_name = "KEY")]
        probe_keys: Vec<String>,
        /// Services in the large route set.
        #[arg(long, default_value_t = conformance::corpus::LARGE_SERVICES)]
        services: usize,
        /// Also write each corpus case's rendered files under DIR/<case>/.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

pub fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    let PluginCommand::Check {
        path,
        proxy_check,
        settings,
        probe_keys,
        services,
        out,
    } = command;
    let options = Options {
        settings: settings
            .iter()
            .map(|s| parse_setting(s))
            .collect::<anyhow::Result<_>>()?,
        probe_keys,
        large_services: services,
        proxy_check,
        ..Options::default()
    };
    let report = conformance::check_file(&path, &options)
        .with_context(|| format!("checking plugin {}", path.display()))?;
    print!("{report}");
    if let Some(dir) = out {
        let written = conformance::write_corpus(&path, &options, &dir)
            .with_context(|| format!("writing the corpus outputs under {}", dir.display()))?;
        println!("wrote {written} rendered files under {}", dir.display());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `KEY = VALUE` as a TOML line.
fn parse_setting(line: &str) -> anyhow::Result<Setting> {
    let table: toml::Table = toml::from_str(line)
        .with_context(|| format!("--setting `{line}` is not `KEY = VALUE` in TOML"))?;
    let mut items = table.into_iter();
    let (Some((key, value)), None) = (items.next(), items.next()) else {
        bail!("--setting `{line}` must hold exactly one key");
    };
    let value = match value {
        toml::Value::String(s) => SettingValue::Text(s),
        toml::Value::Integer(i) => SettingValue::Integer(i),
        toml::Value::Float(f) => SettingValue::Float(f),
        toml::Value::Boolean(b) => SettingValue::Boolean(b),
        toml::Value::Array(a) => SettingValue::TextList(
            a.into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => bail!(
                        "--setting {key}: arrays hold only strings, found {}",
                        other.type_str()
                    ),
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        other => bail!(
            "--setting {key}: a {} cannot be a setting",
            other.type_str()
        ),
    };
    Ok(Setting { key, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_as_toml() {
        let cases = [
            ("User = \"root\"", Some(SettingValue::Text("root".into()))),
            ("MaxConnections = 10", Some(SettingValue::Integer(10))),
            ("IPHash = true", Some(SettingValue::Boolean(true))),
            (
                "GlobalOptions = [\"a;\"]",
                Some(SettingValue::TextList(vec!["a;".into()])),
            ),
            ("User", None),
            ("A = 1\nB = 2", None),
            ("T = { a = 1 }", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_setting(line).ok().map(|s| s.value), want, "{line}");
        }
    }
}
