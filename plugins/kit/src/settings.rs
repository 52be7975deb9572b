//! Reading and checking the Extension's `[Config]` table.
//!
//! Each plugin declares its keys once as a `&[Key]` table; [`validate`] turns
//! that table into diagnostics (unknown key: warning, wrong type: error) and
//! [`Settings`] reads values with the plugin's defaults.

use crate::{Diagnostic, Setting, SettingValue, Severity};

/// The TOML type a key accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Boolean,
    TextList,
    /// A number or a string (e.g. `WorkerProcesses = 1` or `"auto"`).
    TextOrInteger,
}

/// One key a plugin understands.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
}

impl Key {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Key { name, kind }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "a string",
        Kind::Integer => "an integer",
        Kind::Boolean => "a boolean",
        Kind::TextList => "a list of strings",
        Kind::TextOrInteger => "a string or an integer",
    }
}

fn value_name(value: &SettingValue) -> &'static str {
    match value {
        SettingValue::Text(_) => "a string",
        SettingValue::Integer(_) => "an integer",
        SettingValue::Float(_) => "a float",
        SettingValue::Boolean(_) => "a boolean",
        SettingValue::TextList(_) => "a list of strings",
    }
}

fn accepts(kind: Kind, value: &SettingValue) -> bool {
    matches!(
        (kind, value),
        (Kind::Text, SettingValue::Text(_))
            | (Kind::Integer, SettingValue::Integer(_))
            | (Kind::Boolean, SettingValue::Boolean(_))
            | (Kind::TextList, SettingValue::TextList(_))
            | (
                Kind::TextOrInteger,
                SettingValue::Text(_) | SettingValue::Integer(_)
            )
    )
}

/// An error diagnostic about `key`.
pub fn error(key: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key.to_string()),
        message: message.into(),
    }
}

/// A warning diagnostic about `key`.
pub fn warning(key: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        key: Some(key.to_string()),
        message: message.into(),
    }
}

/// Type-check `settings` against `keys`: unknown keys are warnings, values of
/// the wrong type are errors. Keys are matched case-insensitively, as Go's TOML
/// decoder did for Interlock (`RlimitNoFile` and `RLimitNoFile` both work).
pub fn validate(settings: &[Setting], keys: &[Key]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in settings {
        match keys.iter().find(|k| k.name.eq_ignore_ascii_case(&s.key)) {
            None => out.push(warning(&s.key, format!("unknown key `{}`, ignored", s.key))),
            Some(k) if !accepts(k.kind, &s.value) => out.push(error(
                &s.key,
                format!(
                    "`{}` must be {}, found {}",
                    s.key,
                    kind_name(k.kind),
                    value_name(&s.value)
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// Typed, defaulted access to the settings. Values of the wrong type read as
/// the default; [`validate`] has already reported them.
pub struct Settings<'a> {
    items: &'a [Setting],
}

impl<'a> Settings<'a> {
    pub fn new(items: &'a [Setting]) -> Self {
        Settings { items }
    }

    fn get(&self, key: &str) -> Option<&'a SettingValue> {
        self.items
            .iter()
            .find(|s| s.key.eq_ignore_ascii_case(key))
            .map(|s| &s.value)
    }

    pub fn text(&self, key: &str, default: &str) -> String {
        match self.get(key) {
            Some(SettingValue::Text(t)) => t.clone(),
            Some(SettingValue::Integer(i)) => i.to_string(),
            _ => default.to_string(),
        }
    }

    pub fn int(&self, key: &str, default: i64) -> i64 {
        match self.get(key) {
            Some(SettingValue::Integer(i)) => *i,
            _ => default,
        }
    }

    pub fn bool(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some(SettingValue::Boolean(b)) => *b,
            _ => default,
        }
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(SettingValue::TextList(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether the key is present at all.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}
