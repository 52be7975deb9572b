//! Nothing a label (or a setting) says may add config.
//!
//! For each hostile value the plugin must either refuse the input with a
//! diagnostic naming the element, or render output whose structure (see
//! [`fingerprint`](super::fingerprint)) is exactly that of a benign twin's:
//! the same input with a plain value in the same place, or with the hostile
//! value's breakout characters replaced by an innocent one (see
//! [`twin_values`]). Equality, not "no more": a `#` that comments out the rest
//! of a line removes structure, and is an injection too.
//!
//! Limits: the fingerprint sees the config language's shared syntax only. An
//! injection inside a string that the proxy parses again (a regex, a rule
//! language such as Traefik's ``Host(`…`)``, a log format) keeps the outer
//! structure and is not seen; nor is a value that changes meaning without
//! changing syntax (a path that widens a match). Refusing such values is the
//! plugin's job, and its unit tests'.

use std::collections::HashMap;

use super::fingerprint::{Comments, Fingerprint, fingerprint};
use super::hostile::{PAYLOADS, POSITIONS, Position, VICTIM_HOST};
use super::report::CheckResult;
use super::settings_probe::{KeyProbe, RAW_CONFIG_KEYS, abbreviate, naming};
use sluice_render::wit::latest::{
    Diagnostic, OutputFile, RenderInput, Setting, SettingValue, Severity,
};
use sluice_render::{Plugin, PluginError};

/// How one hostile value fared.
#[derive(Debug)]
enum Verdict {
    Refused,
    SameStructure,
    Fail(String),
}

/// Characters a payload uses to break out; a benign twin swaps them for an
/// innocent one.
const BREAKOUT: &str = ";{}\"'#\n\r\t \\";

/// The innocent values the hostile output is compared with: the plain value,
/// and the hostile value with its breakout characters replaced. A plugin may
/// render a value differently by its class (nginx spells a cookie made of
/// identifier characters as `$cookie_NAME`, any other through a `map`), so
/// the hostile output needs the structure of *some* innocent value of its shape.
fn twin_values(plain: &str, hostile: &str) -> Vec<String> {
    let mut out = vec![plain.to_string()];
    for c in ['-', '_', 'x', '.'] {
        let v: String = hostile
            .chars()
            .map(|h| if BREAKOUT.contains(h) { c } else { h })
            .collect();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Compares renders of one element's values, caching the twins' shapes.
struct Judge<'a> {
    plugin: &'a Plugin,
    build: &'a dyn Fn(&str) -> RenderInput,
    comments: Comments,
    /// Settings may legitimately be several words; labels may not.
    count_words: bool,
    twins: HashMap<String, Option<Vec<Fingerprint>>>,
}

impl Judge<'_> {
    fn shape(&self, files: &[OutputFile]) -> Vec<Fingerprint> {
        files
            .iter()
            .map(|f| {
                let fp = fingerprint(&f.contents, self.comments);
                if self.count_words {
                    fp
                } else {
                    fp.without_words()
                }
            })
            .collect()
    }

    fn twin(&mut self, value: &str) -> Option<Vec<Fingerprint>> {
        if let Some(s) = self.twins.get(value) {
            return s.clone();
        }
        let shape = self
            .plugin
            .render(&(self.build)(value))
            .ok()
            .map(|r| self.shape(&r.files));
        self.twins.insert(value.to_string(), shape.clone());
        shape
    }

    /// Render `hostile`; the input is returned when the plugin accepted it.
    fn judge(
        &mut self,
        plain: &str,
        hostile: &str,
        names: &[&str],
    ) -> (Verdict, Option<RenderInput>) {
        let input = (self.build)(hostile);
        let files = match self.plugin.render(&input) {
            Ok(r) => r.files,
            Err(PluginError::InvalidInput { diagnostics, .. })
            | Err(PluginError::InvalidSettings { diagnostics, .. }) => {
                let v = if names_element(&diagnostics, plain, names) {
                    Verdict::Refused
                } else {
                    Verdict::Fail(format!(
                        "refused without naming the element: {}",
                        list(&diagnostics)
                    ))
                };
                return (v, None);
            }
            Err(e) => return (Verdict::Fail(format!("render failed: {e}")), None),
        };
        let shape = self.shape(&files);
        let mut first = None;
        for value in twin_values(plain, hostile) {
            let Some(twin) = self.twin(&value) else {
                continue;
            };
            if twin == shape {
                return (Verdict::SameStructure, Some(input));
            }
            first.get_or_insert(twin);
        }
        let why = match first {
            None => "accepted, though no benign twin was".to_string(),
            Some(twin) => format!("structure changed: {}", describe(&twin, &shape)),
        };
        (Verdict::Fail(why), Some(input))
    }
}

fn describe(benign: &[Fingerprint], hostile: &[Fingerprint]) -> String {
    if benign.len() != hostile.len() {
        return format!("{} files instead of {}", hostile.len(), benign.len());
    }
    benign
        .iter()
        .zip(hostile)
        .enumerate()
        .find(|(_, (b, h))| b != h)
        .map(|(n, (b, h))| format!("file #{}: {h}; benign twin: {b}", n + 1))
        .unwrap_or_default()
}

/// True when a diagnostic names the element: its value, its host, or what it is.
fn names_element(diags: &[Diagnostic], stem: &str, words: &[&str]) -> bool {
    diags.iter().any(|d| {
        let text = format!("{} {}", d.key.as_deref().unwrap_or(""), d.message).to_lowercase();
        text.contains(&stem.to_lowercase()) || words.iter().any(|w| text.contains(w))
    })
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
pub fn check_routes(
    plugin: &Plugin,
    config_path: &str,
    settings: &[Setting],
) -> (CheckResult, Vec<RenderInput>) {
    let mut tally = Tally::default();
    let mut accepted = Vec::new();
    let comments = Comments::for_proxy(&plugin.info().proxy);
    for &pos in POSITIONS {
        let build = |v: &str| pos.input(config_path, settings, v);
        let mut judge = Judge {
            plugin,
            build: &build,
            comments,
            count_words: true,
            twins: HashMap::new(),
        };
        let mut words: Vec<&str> = pos.names().to_vec();
        if pos != Position::HostName {
            words.push(VICTIM_HOST);
        }
        for (label, payload) in PAYLOADS {
            let value = format!("{}{payload}", pos.benign());
            let (v, input) = judge.judge(pos.benign(), &value, &words);
            accepted.extend(input);
            tally.add(format!("{} + {label} ({})", pos.label(), escape(&value)), v);
        }
    }
    let result = CheckResult::new(
        "injection: routes",
        format!(
            "{} hostile inputs ({} positions × {} payloads): {} refused naming the element, {} rendered with a benign twin's structure",
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
pub fn check_settings(plugin: &Plugin, probes: &[KeyProbe], base: &RenderInput) -> CheckResult {
    let keys: Vec<(&str, String)> = probes
        .iter()
        .filter(|p| {
            !RAW_CONFIG_KEYS
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&p.key))
        })
        .filter_map(|p| p.accepted_text().map(|t| (p.key.as_str(), t)))
        .collect();
    let skipped: Vec<&str> = probes
        .iter()
        .filter(|p| {
            p.known()
                && RAW_CONFIG_KEYS
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&p.key))
        })
        .map(|p| p.key.as_str())
        .collect();
    if keys.is_empty() {
        return CheckResult::skipped(
            "injection: settings",
            "no string-valued settings key recognised (pass --probe-key)".into(),
        );
    }
    let with = |key: &str, value: &str| {
        let mut input = base.clone();
        input
            .cluster
            .settings
            .retain(|s| !s.key.eq_ignore_ascii_case(key));
        input.cluster.settings.push(Setting {
            key: key.into(),
            value: SettingValue::Text(value.into()),
        });
        input
    };
    let mut tally = Tally::default();
    let comments = Comments::for_proxy(&plugin.info().proxy);
    for (key, plain) in &keys {
        let build = |v: &str| with(key, v);
        let mut judge = Judge {
            plugin,
            build: &build,
            comments,
            count_words: false,
            twins: HashMap::new(),
        };
        let key_name = key.to_lowercase();
        for (label, payload) in PAYLOADS {
            let value = format!("{plain}{payload}");
            let what = format!("setting {key} + {label} ({})", escape(&value));
            let refused_early = plugin
                .validate_settings(&with(key, &value).cluster.settings)
                .map(|d| {
                    naming(&d, key)
                        .iter()
                        .any(|d| d.severity == Severity::Error)
                });
            let v = match refused_early {
                Ok(true) => Verdict::Refused,
                Err(e) => Verdict::Fail(format!("validate-settings failed: {e}")),
                Ok(false) => {
                    // Hostile settings name files and users that do not
                    // exist: their outputs are no use to the proxy check.
                    judge.judge(plain, &value, &[&key_name]).0
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
    CheckResult::new(
        "injection: settings",
        format!(
            "{} hostile values in {} keys ({}): {} refused naming the key, {} rendered with a benign twin's structure (words not counted){raw}",
            tally.cases,
            keys.len(),
            abbreviate(&names, 5),
            tally.refused,
            tally.same
        ),
        tally.failures,
    )
}
