//! Nothing a label (or a setting) says may add config.
//!
//! For each hostile value the plugin must either refuse the input with a
//! diagnostic naming the element, or render output whose structure (see
//! [`fingerprint`](super::fingerprint)) is exactly that of the benign twin's:
//! the same input with a plain value in the same place. Equality, not "no
//! more": a `#` that comments out the rest of a line removes structure, and is
//! an injection too.
//!
//! Limits: the fingerprint sees the config language's shared syntax only. An
//! injection inside a string that the proxy parses again (a regex, a rule
//! language such as Traefik's ``Host(`…`)``, a log format) keeps the outer
//! structure and is not seen; nor is a value that changes meaning without
//! changing syntax (a path that widens a match). Refusing such values is the
//! plugin's job, and its unit tests'.

use super::fingerprint::{Fingerprint, fingerprint};
use super::hostile::{PAYLOADS, POSITIONS, Position, VICTIM_HOST};
use super::report::CheckResult;
use super::settings_probe::{KeyProbe, RAW_CONFIG_KEYS, abbreviate, naming};
use crate::render::{Plugin, PluginError};
use crate::wit::latest::{Diagnostic, OutputFile, RenderInput, Setting, SettingValue, Severity};

/// How one hostile value fared.
#[derive(Debug)]
enum Verdict {
    Refused,
    SameStructure,
    Fail(String),
}

fn shape(files: &[OutputFile]) -> Vec<Fingerprint> {
    files.iter().map(|f| fingerprint(&f.contents)).collect()
}

fn describe_difference(benign: &[OutputFile], hostile: &[OutputFile]) -> String {
    if benign.len() != hostile.len() {
        return format!("{} files instead of {}", hostile.len(), benign.len());
    }
    for (b, h) in benign.iter().zip(hostile) {
        let (fb, fh) = (fingerprint(&b.contents), fingerprint(&h.contents));
        if fb != fh {
            return format!("{}: {fh}, benign twin {fb}", h.path);
        }
    }
    "same".into()
}

/// True when a diagnostic names the element: its value, its host, or what it is.
fn names_element(diags: &[Diagnostic], stem: &str, words: &[&str]) -> bool {
    diags.iter().any(|d| {
        let text = format!("{} {}", d.key.as_deref().unwrap_or(""), d.message).to_lowercase();
        text.contains(&stem.to_lowercase()) || words.iter().any(|w| text.contains(w))
    })
}

fn judge(
    benign: &Result<Vec<OutputFile>, PluginError>,
    hostile: Result<Vec<OutputFile>, PluginError>,
    stem: &str,
    words: &[&str],
) -> Verdict {
    match (benign, hostile) {
        (_, Err(PluginError::InvalidInput { diagnostics, .. }))
        | (_, Err(PluginError::InvalidSettings { diagnostics, .. })) => {
            if names_element(&diagnostics, stem, words) {
                Verdict::Refused
            } else {
                Verdict::Fail(format!(
                    "refused without naming the element: {}",
                    list(&diagnostics)
                ))
            }
        }
        (_, Err(e)) => Verdict::Fail(format!("render failed: {e}")),
        (Ok(b), Ok(h)) => {
            if shape(b) == shape(&h) {
                Verdict::SameStructure
            } else {
                Verdict::Fail(format!("structure changed: {}", describe_difference(b, &h)))
            }
        }
        (Err(e), Ok(_)) => Verdict::Fail(format!("accepted, though its benign twin was not: {e}")),
    }
}

/// `key: message; key: message`.
pub fn list(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| match &d.key {
            Some(k) => format!("{k}: {}", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn escape(s: &str) -> String {
    format!("{s:?}")
}

/// Totals for the summary line.
#[derive(Default)]
struct Tally {
    cases: usize,
    refused: usize,
    same: usize,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, what: String, v: Verdict) {
        self.cases += 1;
        match v {
            Verdict::Refused => self.refused += 1,
            Verdict::SameStructure => self.same += 1,
            Verdict::Fail(why) => self.failures.push(format!("{what}: {why}")),
        }
    }
}

/// Hostile strings in every label-fed position.
pub fn check_routes(plugin: &Plugin, config_path: &str, settings: &[Setting]) -> (CheckResult, Vec<RenderInput>) {
    let mut tally = Tally::default();
    let mut accepted = Vec::new();
    for &pos in POSITIONS {
        let benign = plugin.render(&pos.input(config_path, settings, pos.benign()));
        let mut words: Vec<&str> = pos.names().to_vec();
        if pos != Position::HostName {
            words.push(VICTIM_HOST);
        }
        for (label, payload) in PAYLOADS {
            let value = format!("{}{payload}", pos.benign());
            let input = pos.input(config_path, settings, &value);
            let hostile = plugin.render(&input);
            if hostile.is_ok() {
                accepted.push(input);
            }
            let v = judge(&benign, hostile, pos.benign(), &words);
            tally.add(format!("{} + {label} ({})", pos.label(), escape(&value)), v);
        }
    }
    let result = CheckResult::new(
        "injection: routes",
        format!(
            "{} hostile inputs ({} positions × {} payloads): {} refused naming the element, {} rendered with the benign twin's structure",
            tally.cases,
            POSITIONS.len(),
            PAYLOADS.len(),
            tally.refused,
            tally.same
        ),
        tally.failures,
    );
    (result, accepted)
}

/// Hostile strings in every string-valued setting the plugin recognised
/// (raw-config keys excepted), rendered with `base` (a corpus input).
pub fn check_settings(
    plugin: &Plugin,
    probes: &[KeyProbe],
    base: &RenderInput,
) -> (CheckResult, Vec<RenderInput>) {
    let keys: Vec<(&str, String)> = probes
        .iter()
        .filter(|p| !RAW_CONFIG_KEYS.iter().any(|r| r.eq_ignore_ascii_case(&p.key)))
        .filter_map(|p| p.accepted_text().map(|t| (p.key.as_str(), t)))
        .collect();
    let skipped: Vec<&str> = probes
        .iter()
        .filter(|p| p.known() && RAW_CONFIG_KEYS.iter().any(|r| r.eq_ignore_ascii_case(&p.key)))
        .map(|p| p.key.as_str())
        .collect();
    if keys.is_empty() {
        return (
            CheckResult::skipped(
                "injection: settings",
                "no string-valued settings key recognised (pass --probe-key)".into(),
            ),
            vec![],
        );
    }
    let with = |key: &str, value: &str| {
        let mut input = base.clone();
        input.cluster.settings.retain(|s| !s.key.eq_ignore_ascii_case(key));
        input.cluster.settings.push(Setting {
            key: key.into(),
            value: SettingValue::Text(value.into()),
        });
        input
    };
    let mut tally = Tally::default();
    let mut accepted = Vec::new();
    for (key, plain) in &keys {
        let benign = plugin.render(&with(key, plain));
        for (label, payload) in PAYLOADS {
            let value = format!("{plain}{payload}");
            let input = with(key, &value);
            let what = format!("setting {key} + {label} ({})", escape(&value));
            let refused_early = plugin
                .validate_settings(&input.cluster.settings)
                .map(|d| {
                    naming(&d, key)
                        .iter()
                        .any(|d| d.severity == Severity::Error)
                });
            let v = match refused_early {
                Ok(true) => Verdict::Refused,
                Err(e) => Verdict::Fail(format!("validate-settings failed: {e}")),
                Ok(false) => {
                    let hostile = plugin.render(&input);
                    if hostile.is_ok() {
                        accepted.push(input);
                    }
                    judge(&benign, hostile, plain, &[&key.to_lowercase()])
                }
            };
            tally.add(what, v);
        }
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let raw = if skipped.is_empty() {
        String::new()
    } else {
        format!("; raw-config keys not probed: {}", skipped.join(", "))
    };
    let result = CheckResult::new(
        "injection: settings",
        format!(
            "{} hostile values in {} keys ({}): {} refused naming the key, {} rendered with the benign twin's structure{raw}",
            tally.cases,
            keys.len(),
            abbreviate(&names, 5),
            tally.refused,
            tally.same
        ),
        tally.failures,
    );
    (result, accepted)
}
