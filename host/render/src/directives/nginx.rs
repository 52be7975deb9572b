//! nginx's statements, read as `ngx_conf_read_token` (nginx 1.22) reads
//! them, and the directives that load or run code.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::Statement;

/// Every refused directive contains one of these, literally: nginx's escapes
/// make only quotes, backslashes and control characters, so no name can be
/// spelled without them.
const NEEDLES: &[&str] = &[
    "load_module",
    "ssl_engine",
    "engine:",
    "perl",
    "js_",
    "lua",
    "mruby",
];

/// One SIMD substring search per name: on a 4.5 MB config, 1 ms for all of
/// them where one Aho-Corasick pass took 12 (short names like `lua` give its
/// prefilter too many candidates).
static FINDERS: LazyLock<Vec<Finder<'static>>> =
    LazyLock::new(|| NEEDLES.iter().map(|n| Finder::new(n.as_bytes())).collect());

/// The statements of a file that mentions a refused name; none otherwise.
pub(super) fn suspects(text: &str) -> Vec<(usize, Statement)> {
    if FINDERS.iter().any(|f| f.find(text.as_bytes()).is_some()) {
        statements(text)
    } else {
        Vec::new()
    }
}

/// Why `statement` runs code: directives of modules that embed a language,
/// those that load a shared object, and keys loaded through an OpenSSL
/// engine (`ssl_certificate_key engine:ID:KEY`, which can load a library).
pub(super) fn runs_code(statement: &[String]) -> Option<&'static str> {
    let name = statement.first()?.as_str();
    if name == "load_module" {
        return Some("loads a shared object into nginx");
    }
    if name == "ssl_engine" {
        return Some("loads an OpenSSL engine");
    }
    if name.ends_with("_certificate_key") && statement[1..].iter().any(|a| a.starts_with("engine:"))
    {
        return Some("loads its key through an OpenSSL engine");
    }
    if name.starts_with("perl") || name.starts_with("js_") || name.contains("lua") {
        return Some("runs embedded code (perl, njs or lua module)");
    }
    if name.starts_with("mruby") {
        return Some("runs embedded code (mruby module)");
    }
    None
}

/// nginx's blanks: nothing else separates words (not `\v`, `\f` or any
/// non-ASCII space).
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Each statement (a directive and its arguments) with the line its
/// directive is on, as nginx tokenizes: a statement ends at `;` or `{`, or
/// at `}` where a word could start; a word ends only at a blank, `;` or `{`
/// (a `}`, `#` or quote inside a word is part of it; `${` too); `#` starts a
/// comment, and a quote a quoted word, only where a word could start.
/// Quotes and the escapes nginx honours are undone, so `"load_module"`
/// reads as `load_module`.
pub(super) fn statements(text: &str) -> Vec<(usize, Statement)> {
    let mut out = Vec::new();
    let mut words: Statement = Vec::new();
    let mut first_line = 1;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let finish = |words: &mut Statement, first_line: usize, out: &mut Vec<(usize, Statement)>| {
        if !words.is_empty() {
            out.push((first_line, std::mem::take(words)));
        }
    };
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if blank(c) => {
                chars.next();
            }
            '#' => {
                while let Some(&c) = chars.peek() {
                    if c == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            ';' | '{' | '}' => {
                chars.next();
                finish(&mut words, first_line, &mut out);
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                if words.is_empty() {
                    first_line = line;
                }
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => push_escaped(&mut word, chars.next(), &mut line),
                        c if c == quote => break,
                        c => {
                            if c == '\n' {
                                line += 1;
                            }
                            word.push(c);
                        }
                    }
                }
                words.push(word);
            }
            _ => {
                if words.is_empty() {
                    first_line = line;
                }
                let mut word = String::new();
                let mut variable = false;
                while let Some(&c) = chars.peek() {
                    if c == '{' && variable {
                        chars.next();
                        word.push(c);
                        variable = false;
                        continue;
                    }
                    if blank(c) || matches!(c, ';' | '{') {
                        break;
                    }
                    chars.next();
                    variable = c == '$';
                    if c == '\\' {
                        push_escaped(&mut word, chars.next(), &mut line);
                    } else {
                        word.push(c);
                    }
                }
                words.push(word);
            }
        }
    }
    finish(&mut words, first_line, &mut out);
    out
}

/// What nginx makes of `\` followed by `next`: `\"`, `\'`, `\\`, `\n`, `\t`,
/// `\r` are escapes, any other pair stays as written.
fn push_escaped(word: &mut String, next: Option<char>, line: &mut usize) {
    match next {
        Some('n') => word.push('\n'),
        Some('t') => word.push('\t'),
        Some('r') => word.push('\r'),
        Some(e @ ('"' | '\'' | '\\')) => word.push(e),
        Some(other) => {
            if other == '\n' {
                *line += 1;
            }
            word.push('\\');
            word.push(other);
        }
        None => word.push('\\'),
    }
}
