//! Turning strings into nginx arguments that read back as exactly one token.
//!
//! nginx has no way to escape `$` in strings that take variables, so callers
//! reject `$` (see [`has_dollar`]) wherever a value is not meant to interpolate.

/// Characters that never end, open or escape a token, so a word made of them
/// can be written bare.
fn bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/:@%+=,~!*()&[]^|".contains(c)
}

/// `s` wrapped in double quotes, with `\` and `"` escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `s` as one nginx argument: bare when that is unambiguous, quoted otherwise.
pub fn arg(s: &str) -> String {
    if !s.is_empty() && s.chars().all(bare_safe) {
        s.to_string()
    } else {
        quoted(s)
    }
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
