//! `validate-settings` against junk: unknown keys must be named, values of
//! the wrong type refused with an error naming the key.
//!
//! A plugin does not list its keys, so the kit discovers them: it offers each
//! candidate key (Interlock's documented `[Config]` keys plus any the caller
//! names) a few plausible values of every TOML type, and a key is known when
//! some value draws no diagnostic about it. For a known key, every type none
//! of whose values was accepted is a wrong type.

use super::report::CheckResult;
use sluice_render::wit::latest::{Diagnostic, Setting, SettingValue, Severity};
use sluice_render::{Plugin, PluginError};

/// Interlock's `[Extensions.NAME.Config]` keys (nginx and HAProxy, reference §3.3–3.4).
pub const INTERLOCK_KEYS: &[&str] = &[
    "Version",
    "User",
    "PidPath",
    "WorkerProcesses",
    "RLimitNoFile",
    "MaxConnections",
    "ConnectTimeout",
    "SendTimeout",
    "ReadTimeout",
    "ClientTimeout",
    "ServerTimeout",
    "TunnelTimeout",
    "IPHash",
    "HTTPVersion",
    "SSLOpts",
    "SSLDefaultDHParam",
    "SSLDefaultDHParamPath",
    "SSLVerify",
    "SSLCiphers",
    "SSLProtocols",
    "SSLCAFile",
    "HideInfoHeaders",
    "KeepaliveTimeout",
    "ClientMaxBodySize",
    "ClientBodyBufferSize",
    "ClientHeaderBufferSize",
    "LargeClientHeaderBuffers",
    "ClientBodyTimeout",
    "UnderscoresInHeaders",
    "ServerNamesHashBucketSize",
    "UpstreamZoneSize",
    "GlobalOptions",
    "HTTPOptions",
    "TCPOptions",
    "DefaultOptions",
    "AccessLogPath",
    "ErrorLogPath",
    "MainLogFormat",
    "TraceLogFormat",
    "AdminUser",
    "AdminPass",
    "SyslogAddr",
];

/// Keys Interlock documents as raw config fragments, written as given by the
/// operator: adding config is what they are for, so they are not probed for
/// injection.
pub const RAW_CONFIG_KEYS: &[&str] = &[
    "GlobalOptions",
    "HTTPOptions",
    "TCPOptions",
    "DefaultOptions",
    "SSLOpts",
];

/// A key no plugin knows.
pub const UNKNOWN_KEY: &str = "SluiceConformanceNoSuchKey";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Float,
    Boolean,
    TextList,
}

const KINDS: [Kind; 5] = [
    Kind::Text,
    Kind::Integer,
    Kind::Float,
    Kind::Boolean,
    Kind::TextList,
];

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Text => "string",
        Kind::Integer => "integer",
        Kind::Float => "float",
        Kind::Boolean => "boolean",
        Kind::TextList => "list of strings",
    }
}

/// Plausible values of a type, so that a key with a value check still
/// accepts one of them.
fn samples(k: Kind) -> Vec<SettingValue> {
    let text = |s: &[&str]| s.iter().map(|t| SettingValue::Text((*t).into())).collect();
    match k {
        Kind::Text => text(&[
            "sluiceprobe",
            "1",
            "on",
            "auto",
            "required",
            "1s",
            "1k",
            "4 8k",
            "1.1",
            "TLSv1.2",
            "HIGH",
            "root",
            "/tmp/sluice-probe",
            "localhost:8080",
        ]),
        Kind::Integer => [1, 60, 64, 1024].map(SettingValue::Integer).to_vec(),
        Kind::Float => vec![SettingValue::Float(0.5)],
        Kind::Boolean => vec![SettingValue::Boolean(true), SettingValue::Boolean(false)],
        Kind::TextList => vec![
            SettingValue::TextList(vec![]),
            SettingValue::TextList(vec!["sluiceprobe".into()]),
        ],
    }
}

/// Diagnostics naming `key` (exactly, case-insensitively, or as the last
/// part of a dotted path).
pub fn naming<'a>(diags: &'a [Diagnostic], key: &str) -> Vec<&'a Diagnostic> {
    diags
        .iter()
        .filter(|d| {
            d.key.as_deref().is_some_and(|k| {
                k.eq_ignore_ascii_case(key)
                    || k.to_ascii_lowercase()
                        .ends_with(&format!(".{}", key.to_ascii_lowercase()))
            })
        })
        .collect()
}

/// What the plugin said about one key.
#[derive(Clone, Debug)]
pub struct KeyProbe {
    pub key: String,
    /// (type, value, diagnostics naming the key) for every sample.
    pub answers: Vec<(Kind, SettingValue, Vec<Diagnostic>)>,
}

impl KeyProbe {
    pub fn known(&self) -> bool {
        self.answers.iter().any(|(_, _, d)| d.is_empty())
    }

    fn accepts(&self, k: Kind) -> bool {
        self.answers
            .iter()
            .any(|(kind, _, d)| *kind == k && d.is_empty())
    }

    /// The first accepted string value: the benign twin for injection probes.
    pub fn accepted_text(&self) -> Option<String> {
        self.answers.iter().find_map(|(k, v, d)| match (k, v) {
            (Kind::Text, SettingValue::Text(t)) if d.is_empty() => Some(t.clone()),
            _ => None,
        })
    }
}

/// Offer every candidate key every sample. Samples go in batches (all keys
/// with the n-th sample of a type) to keep the number of calls small.
pub fn probe(plugin: &Plugin, candidates: &[String]) -> Result<Vec<KeyProbe>, PluginError> {
    let mut probes: Vec<KeyProbe> = candidates
        .iter()
        .map(|k| KeyProbe {
            key: k.clone(),
            answers: vec![],
        })
        .collect();
    for kind in KINDS {
        for value in samples(kind) {
            let batch: Vec<Setting> = candidates
                .iter()
                .map(|k| Setting {
                    key: k.clone(),
                    value: value.clone(),
                })
                .collect();
            let diags = plugin.validate_settings(&batch)?;
            for p in &mut probes {
                let about: Vec<Diagnostic> = naming(&diags, &p.key).into_iter().cloned().collect();
                p.answers.push((kind, value.clone(), about));
            }
        }
    }
    Ok(probes)
}

/// Unknown keys are named; the empty table is accepted.
pub fn check_unknown_keys(plugin: &Plugin) -> CheckResult {
    const NAME: &str = "settings: unknown keys";
    let mut failures = Vec::new();
    match plugin.validate_settings(&[]) {
        Ok(d) if d.iter().any(|d| d.severity == Severity::Error) => failures.push(format!(
            "the empty [Config] table is refused: {}",
            sluice_render::PluginError::InvalidSettings {
                plugin: plugin.id().to_string(),
                cluster: None,
                diagnostics: d
            }
        )),
        Ok(_) => {}
        Err(e) => failures.push(format!("empty table: {e}")),
    }
    let mut named = 0;
    let junk = [
        SettingValue::Text("x".into()),
        SettingValue::Integer(7),
        SettingValue::TextList(vec!["a".into()]),
    ];
    for value in &junk {
        let s = [Setting {
            key: UNKNOWN_KEY.into(),
            value: value.clone(),
        }];
        match plugin.validate_settings(&s) {
            Ok(d) if !naming(&d, UNKNOWN_KEY).is_empty() => named += 1,
            Ok(d) => failures.push(format!(
                "unknown key `{UNKNOWN_KEY}` = {value:?} drew no diagnostic naming it (got {d:?})"
            )),
            Err(e) => failures.push(format!("unknown key: {e}")),
        }
    }
    CheckResult::new(
        NAME,
        format!(
            "{named}/{} unknown keys named; empty table accepted",
            junk.len()
        ),
        failures,
    )
}

/// Known keys refuse values of the types they do not take, with an error
/// naming the key.
pub fn check_wrong_types(probes: &[KeyProbe], candidates: usize) -> CheckResult {
    const NAME: &str = "settings: wrong types";
    let known: Vec<&KeyProbe> = probes.iter().filter(|p| p.known()).collect();
    if known.is_empty() {
        return CheckResult::skipped(
            NAME,
            format!("no settings key recognised among {candidates} candidates (pass --probe-key)"),
        );
    }
    let mut failures = Vec::new();
    let mut refused = 0;
    for p in &known {
        let wrong: Vec<Kind> = KINDS.into_iter().filter(|k| !p.accepts(*k)).collect();
        if wrong.is_empty() {
            failures.push(format!("key {}: accepts a value of every type", p.key));
        }
        for (kind, value, diags) in p.answers.iter().filter(|(k, _, _)| wrong.contains(k)) {
            if diags.iter().any(|d| d.severity == Severity::Error) {
                refused += 1;
            } else {
                failures.push(format!(
                    "key {}: {} {value:?} only drew a warning, not an error",
                    p.key,
                    kind_name(*kind)
                ));
            }
        }
    }
    let keys: Vec<&str> = known.iter().map(|p| p.key.as_str()).collect();
    CheckResult::new(
        NAME,
        format!(
            "{} keys recognised of {candidates} candidates, {refused} wrong-type values refused naming the key ({})",
            known.len(),
            abbreviate(&keys, 6)
        ),
        failures,
    )
}

pub fn abbreviate(items: &[&str], n: usize) -> String {
    if items.len() <= n {
        items.join(", ")
    } else {
        format!("{}, … +{}", items[..n].join(", "), items.len() - n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(key: Option<&str>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            key: key.map(String::from),
            message: String::new(),
        }
    }

    #[test]
    fn naming_matches_the_key_or_its_dotted_tail() {
        let diags = [
            diag(Some("User")),
            diag(Some("Extensions.x.Config.pidpath")),
            diag(Some("Users")),
            diag(None),
        ];
        for (key, want) in [("user", 1), ("PidPath", 1), ("Use", 0), ("Users", 1)] {
            assert_eq!(naming(&diags, key).len(), want, "{key}");
        }
    }
}
