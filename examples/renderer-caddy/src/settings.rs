//! The `[Extensions.NAME.Config]` keys this plugin reads.

use crate::sluice::renderer::types::{Diagnostic, Setting, SettingValue, Severity};

/// Values with their defaults.
pub struct Settings {
    /// Seconds to wait for a backend connection (Interlock's `ConnectTimeout`).
    pub connect_timeout: i64,
    /// Seconds to wait for a backend's response headers (`ReadTimeout`).
    pub read_timeout: i64,
    /// Leave out the `X-Server-Info` response header (`HideInfoHeaders`).
    pub hide_info_headers: bool,
    /// Caddy's admin endpoint, which `caddy reload` talks to (`AdminListen`).
    pub admin_listen: String,
}

const KEYS: &[(&str, &str)] = &[
    ("ConnectTimeout", "integer"),
    ("ReadTimeout", "integer"),
    ("HideInfoHeaders", "boolean"),
    ("AdminListen", "string"),
];

fn type_of(v: &SettingValue) -> &'static str {
    match v {
        SettingValue::Text(_) => "string",
        SettingValue::Integer(_) => "integer",
        SettingValue::Float(_) => "float",
        SettingValue::Boolean(_) => "boolean",
        SettingValue::TextList(_) => "list of strings",
    }
}

fn diag(severity: Severity, key: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        key: Some(key.into()),
        message,
    }
}

/// `host:port` for the admin API: host name or IP characters only.
fn admin_listen_ok(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    port.parse::<u16>().is_ok()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c))
}

/// Unknown keys warn, wrong types and bad values are errors; all name the key.
pub fn validate(settings: &[Setting]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in settings {
        let Some((name, want)) = KEYS.iter().find(|(k, _)| k.eq_ignore_ascii_case(&s.key)) else {
            out.push(diag(
                Severity::Warning,
                &s.key,
                format!("unknown key `{}`, ignored", s.key),
            ));
            continue;
        };
        if type_of(&s.value) != *want {
            out.push(diag(
                Severity::Error,
                &s.key,
                format!("`{name}` must be a {want}, found a {}", type_of(&s.value)),
            ));
            continue;
        }
        match &s.value {
            SettingValue::Integer(i) if !(1..=86_400).contains(i) => out.push(diag(
                Severity::Error,
                &s.key,
                format!("`{name}` must be between 1 and 86400 seconds, found {i}"),
            )),
            SettingValue::Text(t) if !admin_listen_ok(t) => out.push(diag(
                Severity::Error,
                &s.key,
                format!("`{name}` must be host:port, found {t:?}"),
            )),
            _ => {}
        }
    }
    out
}

impl Settings {
    /// Read validated settings; absent keys take their defaults.
    pub fn read(settings: &[Setting]) -> Settings {
        let get = |key: &str| {
            settings
                .iter()
                .find(|s| s.key.eq_ignore_ascii_case(key))
                .map(|s| &s.value)
        };
        let int = |key, default| match get(key) {
            Some(SettingValue::Integer(i)) => *i,
            _ => default,
        };
        Settings {
            connect_timeout: int("ConnectTimeout", 600),
            read_timeout: int("ReadTimeout", 600),
            hide_info_headers: matches!(get("HideInfoHeaders"), Some(SettingValue::Boolean(true))),
            admin_listen: match get("AdminListen") {
                Some(SettingValue::Text(t)) => t.clone(),
                _ => "localhost:2019".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, value: SettingValue) -> Vec<Setting> {
        vec![Setting {
            key: key.into(),
            value,
        }]
    }

    #[test]
    fn diagnostics_name_the_key() {
        let cases = [
            ("ConnectTimeout", SettingValue::Integer(5), None),
            (
                "connecttimeout",
                SettingValue::Integer(0),
                Some(Severity::Error),
            ),
            (
                "ReadTimeout",
                SettingValue::Text("5".into()),
                Some(Severity::Error),
            ),
            (
                "AdminListen",
                SettingValue::Text("localhost:2019".into()),
                None,
            ),
            (
                "AdminListen",
                SettingValue::Text("a b:1".into()),
                Some(Severity::Error),
            ),
            (
                "AdminListen",
                SettingValue::Text("x\"}:1".into()),
                Some(Severity::Error),
            ),
            ("Nope", SettingValue::Boolean(true), Some(Severity::Warning)),
        ];
        for (key, value, want) in cases {
            let d = validate(&set(key, value));
            assert_eq!(d.first().map(|d| d.severity), want, "{key}");
            assert!(d.iter().all(|d| d.key.as_deref() == Some(key)), "{key}");
        }
    }
}
