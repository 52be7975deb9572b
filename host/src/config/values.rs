//! Typed reads of single TOML values; every failure names the key and where
//! the value is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::duration::parse_go_duration;
use super::error::{ConfigError, Pos};
use super::model::ProxyReload;

pub(crate) type Item<'i> = Spanned<DeValue<'i>>;

/// `parent.key`, quoting `key` the way TOML would need it (labels such as
/// `com.docker.ucp.InstanceID` contain dots).
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// Reads values out of one config text (which it needs for line numbers).
#[derive(Clone, Copy)]
pub(crate) struct Reader<'t> {
    pub text: &'t str,
}

impl<'t> Reader<'t> {
    pub fn pos<T>(&self, spanned: &Spanned<T>) -> Pos {
        Pos::of(self.text, spanned.span().start)
    }

    /// An error about the value of `key`.
    pub fn bad(&self, key: &str, item: &Item<'_>, message: impl Into<String>) -> ConfigError {
        ConfigError::value(key, self.pos(item), message)
    }

    fn wrong_type(&self, key: &str, item: &Item<'_>, expected: &str) -> ConfigError {
        let found = item.get_ref().type_str();
        self.bad(key, item, format!("expected {expected}, found {found}"))
    }

    pub fn string(&self, key: &str, item: &Item<'_>) -> Result<String, ConfigError> {
        match item.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong_type(key, item, "a string")),
        }
    }

    pub fn path(&self, key: &str, item: &Item<'_>) -> Result<PathBuf, ConfigError> {
        self.string(key, item).map(PathBuf::from)
    }

    pub fn bool(&self, key: &str, item: &Item<'_>) -> Result<bool, ConfigError> {
        match item.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.wrong_type(key, item, "true or false")),
        }
    }

    pub fn integer(&self, key: &str, item: &Item<'_>) -> Result<i64, ConfigError> {
        match item.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| self.bad(key, item, format!("integer {i} is out of range"))),
            _ => Err(self.wrong_type(key, item, "an integer")),
        }
    }

    /// A TCP port, 1-65535.
    pub fn port(&self, key: &str, item: &Item<'_>) -> Result<u16, ConfigError> {
        let n = self.integer(key, item)?;
        u16::try_from(n)
            .ok()
            .filter(|&port| port != 0)
            .ok_or_else(|| self.bad(key, item, format!("port {n} is out of range 1-65535")))
    }

    /// A count, 0 or more.
    pub fn count(&self, key: &str, item: &Item<'_>) -> Result<u64, ConfigError> {
        let n = self.integer(key, item)?;
        u64::try_from(n)
            .map_err(|_| self.bad(key, item, format!("{n} is negative; expected 0 or more")))
    }

    /// A Go duration string such as "5s".
    pub fn duration(&self, key: &str, item: &Item<'_>) -> Result<Duration, ConfigError> {
        match item.get_ref() {
            DeValue::String(s) => {
                parse_go_duration(s).map_err(|message| self.bad(key, item, message))
            }
            _ => Err(self.wrong_type(key, item, "a Go duration string such as \"5s\"")),
        }
    }

    pub fn strings(&self, key: &str, item: &Item<'_>) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(array) = item.get_ref() else {
            return Err(self.wrong_type(key, item, "an array of strings"));
        };
        array
            .iter()
            .enumerate()
            .map(|(i, element)| match element.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                _ => Err(self.wrong_type(&format!("{key}[{i}]"), element, "a string")),
            })
            .collect()
    }

    /// A command: a non-empty array of strings, the program not empty.
    pub fn argv(&self, key: &str, item: &Item<'_>) -> Result<Vec<String>, ConfigError> {
        let argv = self.strings(key, item)?;
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(self.bad(key, item, "the command is empty"));
        }
        Ok(argv)
    }

    /// `ProxyReload`: a signal name ("HUP", "SIGUSR2") or a command.
    pub fn reload(&self, key: &str, item: &Item<'_>) -> Result<ProxyReload, ConfigError> {
        match item.get_ref() {
            // The agent's own parser: what is accepted here, it can send.
            DeValue::String(s) => match sluice_agent::proxy::parse_signal(s) {
                Ok(_) => Ok(ProxyReload::Signal(s.trim().to_owned())),
                Err(_) => Err(self.bad(
                    key,
                    item,
                    format!("{s:?} is not a signal name such as \"HUP\" or \"SIGUSR2\""),
                )),
            },
            DeValue::Array(_) => self.argv(key, item).map(ProxyReload::Command),
            _ => Err(self.wrong_type(key, item, "a signal name or a command (array of strings)")),
        }
    }

    pub fn table<'a, 'i>(
        &self,
        key: &str,
        item: &'a Item<'i>,
    ) -> Result<&'a DeTable<'i>, ConfigError> {
        match item.get_ref() {
            DeValue::Table(table) => Ok(table),
            _ => Err(self.wrong_type(key, item, "a table")),
        }
    }

    /// A table of string values, such as `Labels`.
    pub fn string_map(
        &self,
        key: &str,
        item: &Item<'_>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        self.table(key, item)?
            .iter()
            .map(|(name, value)| {
                let value = self.string(&join_key(key, name.get_ref()), value)?;
                Ok((name.get_ref().to_string(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_when_toml_would_need_it() {
        let cases = [
            ("", "Extensions", "Extensions"),
            ("Extensions", "east", "Extensions.east"),
            (
                "Extensions.east.Labels",
                "com.docker.ucp.InstanceID",
                "Extensions.east.Labels.\"com.docker.ucp.InstanceID\"",
            ),
            ("Extensions", "my cluster", "Extensions.\"my cluster\""),
            ("Extensions", "", "Extensions.\"\""),
            ("Extensions", "us-east_1", "Extensions.us-east_1"),
        ];
        for (parent, key, want) in cases {
            assert_eq!(join_key(parent, key), want);
        }
    }
}
