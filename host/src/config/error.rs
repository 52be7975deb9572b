//! What can go wrong reading `config.toml`, each naming the key and where it is.

use std::fmt;
use std::path::PathBuf;

/// A 1-based line and column in the config text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The position of byte `offset` in `text` (columns count characters).
    pub fn of(text: &str, offset: usize) -> Pos {
        let before = &text[..offset.min(text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Pos {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// The start of the file, for things that have no place of their own.
impl Default for Pos {
    fn default() -> Self {
        Pos { line: 1, column: 1 }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Any other error, found in the file at `path`.
    #[error("{path}: {source}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    #[error("invalid TOML at {pos}: {message}")]
    Syntax { pos: Pos, message: String },
    /// A key with a value of the wrong type or out of range.
    #[error("`{key}` at {pos}: {message}")]
    Value {
        key: String,
        pos: Pos,
        message: String,
    },
    #[error("no `[Extensions.<name>]` table: at least one extension (service cluster) is required")]
    NoExtensions,
    /// Two extensions that cannot both have what they ask for.
    #[error("`{key}` at {pos}: extensions `{first}` and `{second}` {message}")]
    Conflict {
        /// The key in the second extension (or its table, when defaulted).
        key: String,
        pos: Pos,
        first: String,
        second: String,
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn value(key: &str, pos: Pos, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            key: key.to_owned(),
            pos,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nµé = \"x\"\n";
        for (offset, line, column) in [(0, 1, 1), (4, 1, 5), (6, 2, 1), (10, 2, 3), (999, 3, 1)] {
            assert_eq!(
                Pos::of(text, offset),
                Pos { line, column },
                "offset {offset}"
            );
        }
    }
}
