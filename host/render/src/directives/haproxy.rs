//! HAProxy's statements (one per line), read as its `parse_line` reads them,
//! and the keywords that load or run code.

use super::Statement;

/// Why `statement` runs code.
pub(super) fn runs_code(statement: &[String]) -> Option<&'static str> {
    let name = statement.first()?.as_str();
    if name.contains('$') {
        return Some("takes its keyword from an environment variable");
    }
    match name {
        n if n.starts_with("lua-") => Some("loads Lua code"),
        "program" => Some("starts a program from HAProxy's master process"),
        "external-check" => Some("runs external check commands"),
        "insecure-fork-wanted" | "insecure-setuid-wanted" => {
            Some("lets HAProxy start processes (Lua, external checks)")
        }
        "ssl-engine" => Some("loads an OpenSSL engine"),
        "ssl-provider" | "ssl-provider-path" => Some("loads an OpenSSL provider"),
        // The master re-executes itself on reload with this environment
        // (LD_PRELOAD, OPENSSL_CONF, PATH, ...).
        "setenv" | "presetenv" => Some("sets the environment HAProxy's master re-executes with"),
        "option" => match statement.get(1).map(String::as_str) {
            Some(w) if w.contains('$') => Some("takes its option from an environment variable"),
            Some("external-check") => Some("runs external check commands"),
            _ => None,
        },
        _ => None,
    }
}

/// What HAProxy's parser skips and splits words on: C's `isspace()`.
const BLANKS: [char; 6] = [' ', '\t', '\n', '\x0b', '\x0c', '\r'];

/// The lines that could run code: a first word that is a refused keyword or
/// `option`, or that quoting, escapes or a variable could make into one.
/// Every other line is skipped after its first word.
pub(super) fn suspects(text: &str) -> Vec<(usize, Statement)> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let start = line.trim_start_matches(BLANKS);
        let first = start
            .split(|c| BLANKS.contains(&c) || c == '#' || c == '\0')
            .next()
            .unwrap_or_default();
        let plain = !first.contains(['"', '\'', '\\', '$']);
        if plain && runs_code(&[first.to_owned()]).is_none() && first != "option" {
            continue;
        }
        let words = words(line);
        if !words.is_empty() {
            out.push((i + 1, words));
        }
    }
    out
}

/// Every line's words, with their 1-based lines.
pub(super) fn statements(text: &str) -> Vec<(usize, Statement)> {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, words(line)))
        .filter(|(_, w)| !w.is_empty())
        .collect()
}

/// One line's words: blanks separate words outside quotes, `#` outside
/// quotes ends the line, quotes are removed (a word may join quoted and
/// unquoted parts), `\` escapes outside single quotes (`\xHH` included).
/// A `$` outside single quotes (an environment variable HAProxy expands) is
/// kept, so a keyword built from one is seen.
fn words(line: &str) -> Statement {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let (mut dquote, mut squote) = (false, false);
    let mut chars = line.chars();
    // A NUL ends the word where HAProxy compares keywords (`strcmp`).
    let mut cut = false;
    while let Some(c) = chars.next() {
        match c {
            c if BLANKS.contains(&c) && !dquote && !squote => {
                cut = false;
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            '#' if !dquote && !squote => break,
            '"' if !squote => dquote = !dquote,
            '\'' if !dquote => squote = !squote,
            '\\' if !squote => match chars.next() {
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    match u8::from_str_radix(&hex, 16) {
                        Ok(0) => cut = true,
                        Ok(b) if !cut => word.push(char::from(b)),
                        Ok(_) => {}
                        Err(_) => word.push_str(&hex),
                    }
                }
                Some(_) if cut => {}
                Some('n') => word.push('\n'),
                Some('t') => word.push('\t'),
                Some('r') => word.push('\r'),
                Some(e @ (' ' | '\\' | '#' | '"' | '\'' | '$')) => word.push(e),
                // HAProxy keeps the backslash of any other pair.
                Some(other) => {
                    word.push('\\');
                    word.push(other);
                }
                None => {}
            },
            '\0' => cut = true,
            _ if cut => {}
            c => word.push(c),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    words
}
