//! Printing findings for a person at a terminal.

use sluice::plan::{Diagnostic, Severity};
use sluice::wit::latest as wit;

/// `error: service web, label com.docker.lb.port: ...`
pub fn plan_diagnostic(d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut at = Vec::new();
    if let Some(c) = &d.cluster {
        at.push(format!("cluster {c}"));
    }
    if let Some(s) = &d.service {
        at.push(format!("service {s}"));
    }
    if let Some(l) = &d.label {
        at.push(format!("label {l}"));
    }
    if at.is_empty() {
        format!("{level}: {}", d.message)
    } else {
        format!("{level}: {}: {}", at.join(", "), d.message)
    }
}

/// `warning: cluster east, plugin `nginx`, key Extensions.east.Config.Foo
/// (line 7): ...`; `lines` from the config's [`sluice::config::Loaded`].
pub fn plugin_diagnostic(
    cluster: &str,
    plugin: &str,
    d: &wit::Diagnostic,
    lines: &std::collections::BTreeMap<String, usize>,
) -> String {
    let level = match d.severity {
        wit::Severity::Error => "error",
        wit::Severity::Warning => "warning",
    };
    match &d.key {
        Some(k) => {
            let key = format!("Extensions.{cluster}.Config.{k}");
            let line = lines
                .get(&key)
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            format!(
                "{level}: cluster {cluster}, plugin {plugin}, key {key}{line}: {}",
                d.message
            )
        }
        None => format!("{level}: cluster {cluster}, plugin {plugin}: {}", d.message),
    }
}
