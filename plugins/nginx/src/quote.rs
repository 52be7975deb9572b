//! Turning strings into nginx arguments that read back as exactly one token.
//!
//! nginx has no way to escape `$` in strings that take variables, so callers
//! reject `$` (see [`has_dollar`]) wherever a value is not meant to interpolate.

use std::fmt::{self, Display};

use crate::writer::{Piece, text_of};

/// Characters that never end, open or escape a token, so a word made of them
/// can be written bare. By byte: every such character is ASCII, and no byte
/// of a multi-byte character is.
fn bare_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_'
                | b'-'
                | b'/'
                | b':'
                | b'@'
                | b'%'
                | b'+'
                | b'='
                | b','
                | b'~'
                | b'!'
                | b'*'
                | b'('
                | b')'
                | b'&'
                | b'['
                | b']'
                | b'^'
                | b'|'
        )
}

/// The concatenation of some strings in double quotes, with `\` and `"`
/// escaped; written straight into the config (see [`quoted`]).
pub struct Quoted<'a>(pub &'a [&'a str]);

impl Piece for Quoted<'_> {
    fn put(&self, out: &mut String) {
        out.push('"');
        for part in self.0 {
            let mut rest = *part;
            while let Some(i) = rest.find(['"', '\\']) {
                out.push_str(&rest[..i]);
                out.push('\\');
                out.push_str(&rest[i..=i]);
                rest = &rest[i + 1..];
            }
            out.push_str(rest);
        }
        out.push('"');
    }
}

/// The concatenation of some strings as one nginx argument (see [`arg`]).
pub struct Arg<'a>(pub &'a [&'a str]);

impl Piece for Arg<'_> {
    fn put(&self, out: &mut String) {
        let bare =
            self.0.iter().any(|p| !p.is_empty()) && self.0.iter().all(|p| p.bytes().all(bare_safe));
        if bare {
            self.0.iter().for_each(|p| out.push_str(p));
        } else {
            Quoted(self.0).put(out);
        }
    }
}

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text_of(self))
    }
}

impl Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text_of(self))
    }
}

/// `s` wrapped in double quotes, with `\` and `"` escaped.
pub fn quoted(s: &str) -> String {
    text_of(&Quoted(&[s]))
}

/// `s` as one nginx argument: bare when that is unambiguous, quoted otherwise.
pub fn arg(s: &str) -> String {
    text_of(&Arg(&[s]))
}

/// True when `s` holds a control character (newline, NUL, ...), which no
/// value may carry into the config.
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// True when nginx would read part of `s` as a variable.
pub fn has_dollar(s: &str) -> bool {
    s.contains('$')
}

/// Escape every non-alphanumeric character for a PCRE pattern.
pub fn regex_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` reduced to characters safe inside a `#` comment line.
pub fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-/:@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_quotes_only_when_needed() {
        let cases = [
            ("/app", "/app"),
            ("HIGH:!aNULL:!MD5", "HIGH:!aNULL:!MD5"),
            ("a b", "\"a b\""),
            ("a;b", "\"a;b\""),
            ("a}", "\"a}\""),
            ("{", "\"{\""),
            ("", "\"\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("#x", "\"#x\""),
            ("it's", "\"it's\""),
        ];
        for (input, want) in cases {
            assert_eq!(arg(input), want, "input {input:?}");
        }
    }

    #[test]
    fn parts_read_as_their_concatenation() {
        for parts in [
            &["http", "://", "up", "/"][..],
            &["a b", "c"],
            &["", ""],
            &["", "x"],
            &["say \"", "hi\\"],
            &["$x", "$is_args$args"],
        ] {
            let joined = parts.concat();
            assert_eq!(Arg(parts).to_string(), arg(&joined), "{parts:?}");
            assert_eq!(Quoted(parts).to_string(), quoted(&joined), "{parts:?}");
        }
    }

    #[test]
    fn control_and_dollar_detection() {
        for (s, control, dollar) in [
            ("plain", false, false),
            ("a\nb", true, false),
            ("a\rb", true, false),
            ("a\0b", true, false),
            ("$x", false, true),
            ("tab\there", true, false),
        ] {
            assert_eq!(has_control(s), control, "{s:?}");
            assert_eq!(has_dollar(s), dollar, "{s:?}");
        }
    }

    #[test]
    fn regex_literal_escapes_punctuation() {
        assert_eq!(regex_literal("connect.sid"), "connect\\.sid");
        assert_eq!(regex_literal("a$b|c"), "a\\$b\\|c");
        assert_eq!(regex_literal("abc123"), "abc123");
    }

    #[test]
    fn comment_safe_drops_newlines() {
        assert_eq!(comment_safe("east\n}"), "east__");
    }
}
