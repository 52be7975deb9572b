//! Turning arbitrary strings into single HAProxy config words.
//!
//! HAProxy's parser (configuration.txt §2.2) cuts lines into words on blanks,
//! starts comments at `#` and interprets quotes and backslashes. Strong
//! (single) quotes take everything literally except the quote itself, so a
//! value is wrapped in them and an embedded `'` is closed, escaped and reopened
//! (`'\''`, as in a shell). Line breaks and other control characters have no
//! strong-quoted form and make no sense in any value we render, so they are
//! refused instead.

/// Why a string cannot become a config word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unquotable {
    Empty,
    Control(char),
}

impl std::fmt::Display for Unquotable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unquotable::Empty => write!(f, "is empty"),
            Unquotable::Control(c) => write!(f, "contains the control character {:?}", c),
        }
    }
}

/// Refuses strings that no quoting can carry on one config line.
pub fn check_printable(s: &str) -> Result<(), Unquotable> {
    if s.is_empty() {
        return Err(Unquotable::Empty);
    }
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(Unquotable::Control(c)),
        None => Ok(()),
    }
}

/// One config word carrying `s` literally; words made only of characters the
/// parser never treats specially are left bare so the output stays readable.
pub fn word(s: &str) -> Result<String, Unquotable> {
    check_printable(s)?;
    if s.chars().all(is_bare) {
        return Ok(s.to_string());
    }
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/:@+=,!%^~*?&[]".contains(c)
}

/// Escapes `s` for a log-format string (redirect locations, header values),
/// where `%` starts a variable; the result still needs [`word`].
pub fn log_format_literal(s: &str) -> String {
    s.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let cases: &[(&str, Result<&str, Unquotable>)] = &[
            ("plain", Ok("plain")),
            ("/app/x.html", Ok("/app/x.html")),
            ("HIGH:!aNULL:!MD5", Ok("HIGH:!aNULL:!MD5")),
            ("two words", Ok("'two words'")),
            ("a#b", Ok("'a#b'")),
            ("$HOME", Ok("'$HOME'")),
            ("back\\slash", Ok("'back\\slash'")),
            ("it's", Ok(r"'it'\''s'")),
            ("\"dq\"", Ok("'\"dq\"'")),
            ("{", Ok("'{'")),
            ("", Err(Unquotable::Empty)),
            ("a\nb", Err(Unquotable::Control('\n'))),
            ("a\rb", Err(Unquotable::Control('\r'))),
            ("a\tb", Err(Unquotable::Control('\t'))),
            ("a\0b", Err(Unquotable::Control('\0'))),
        ];
        for (input, want) in cases {
            assert_eq!(
                word(input),
                want.clone().map(str::to_string),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn log_format() {
        assert_eq!(log_format_literal("http://x/%20?a=%"), "http://x/%%20?a=%%");
        assert_eq!(log_format_literal("plain"), "plain");
    }
}
