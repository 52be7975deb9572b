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
        "option" => match statement.get(1).map(String::as_str) {
            Some(w) if w.contains('$') => Some("takes its option from an environment variable"),
            Some("external-check") => Some("runs external check commands"),
            _ => None,
        },
        _ => None,
    }
}

/// The lines that could run code: a first word that is a refused keyword or
/// `option`, or that quoting, escapes or a variable could make into one.
/// Every other line is skipped after its first word.
pub(super) fn suspects(text: &str) -> Vec<(usize, Statement)> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let start = line.trim_start_matches([' ', '\t']);
        let first = start
            .split([' ', '\t', '#', '\r'])
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
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' if !dquote && !squote => {
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
                        Ok(b) => word.push(char::from(b)),
                        Err(_) => word.push_str(&hex),
                    }
                }
                Some('n') => word.push('\n'),
                Some('t') => word.push('\t'),
                Some('r') => word.push('\r'),
                Some(other) => word.push(other),
                None => {}
            },
            c => word.push(c),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    words
}
