//! A structural fingerprint of a config file, the same for any text whose
//! syntax (statements, blocks, lines, words) is the same, whatever the
//! contents of its quoted strings and comments.
//!
//! The lexer knows no particular proxy; it follows the conventions most config
//! languages share (nginx, HAProxy, JSON, YAML/TOML with quoted values):
//! - `"…"` is a string in which `\` escapes the next character;
//! - `'…'` is a string without escapes (HAProxy's strong quotes, shell);
//! - outside strings `\` escapes the next character and `#` starts a comment
//!   that runs to the end of the line: at the start of a word (nginx, YAML,
//!   shell), or anywhere ([`Comments::Anywhere`], HAProxy's rule).
//! - `;` ends a statement, `{`/`}` open and close blocks, and blanks separate
//!   words.

/// Counts of syntax outside strings and comments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// `;`
    pub statements: usize,
    /// `{`
    pub opens: usize,
    /// `}`
    pub closes: usize,
    /// Lines with anything outside comments.
    pub lines: usize,
    /// Blank-separated words (a quoted string is part of the word it touches).
    pub words: usize,
    /// The text ended inside a string.
    pub unterminated: bool,
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines, {} words, {} `;`, {} `{{`, {} `}}`{}",
            self.lines,
            self.words,
            self.statements,
            self.opens,
            self.closes,
            if self.unterminated {
                ", unterminated string"
            } else {
                ""
            }
        )
    }
}

/// Where `#` starts a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comments {
    AtWordStart,
    Anywhere,
}

impl Comments {
    /// HAProxy reads `#` as a comment anywhere outside quotes.
    pub fn for_proxy(proxy: &str) -> Comments {
        if proxy.eq_ignore_ascii_case("haproxy") {
            Comments::Anywhere
        } else {
            Comments::AtWordStart
        }
    }
}

impl Fingerprint {
    /// The same without words: for values that may legitimately be several
    /// arguments (`User = "www-data www-data"`).
    pub fn without_words(self) -> Fingerprint {
        Fingerprint { words: 0, ..self }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Double,
    Single,
    Comment,
}

/// A non-blank character outside strings: it starts a word unless one is open.
fn touch_word(in_word: &mut bool, line_used: &mut bool, fp: &mut Fingerprint) {
    if !*in_word {
        fp.words += 1;
        *in_word = true;
    }
    *line_used = true;
}

/// Fingerprint of `text`.
pub fn fingerprint(text: &str, comments: Comments) -> Fingerprint {
    let mut fp = Fingerprint::default();
    let mut mode = Mode::Normal;
    let mut in_word = false;
    let mut line_used = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match mode {
            Mode::Double => match c {
                '\\' => {
                    chars.next();
                }
                '"' => mode = Mode::Normal,
                _ => {}
            },
            Mode::Single => {
                if c == '\'' {
                    mode = Mode::Normal;
                }
            }
            Mode::Comment | Mode::Normal if c == '\n' => {
                if line_used {
                    fp.lines += 1;
                }
                line_used = false;
                in_word = false;
                mode = Mode::Normal;
            }
            Mode::Comment => {}
            Mode::Normal => match c {
                '"' => {
                    touch_word(&mut in_word, &mut line_used, &mut fp);
                    mode = Mode::Double;
                }
                '\'' => {
                    touch_word(&mut in_word, &mut line_used, &mut fp);
                    mode = Mode::Single;
                }
                '\\' => {
                    touch_word(&mut in_word, &mut line_used, &mut fp);
                    chars.next();
                }
                '#' if !in_word || comments == Comments::Anywhere => {
                    in_word = false;
                    mode = Mode::Comment;
                }
                ';' | '{' | '}' => {
                    match c {
                        ';' => fp.statements += 1,
                        '{' => fp.opens += 1,
                        _ => fp.closes += 1,
                    }
                    in_word = false;
                    line_used = true;
                }
                c if c.is_whitespace() => in_word = false,
                _ => touch_word(&mut in_word, &mut line_used, &mut fp),
            },
        }
    }
    if line_used {
        fp.lines += 1;
    }
    fp.unterminated = matches!(mode, Mode::Double | Mode::Single);
    fp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(lines: usize, words: usize, st: usize, op: usize, cl: usize) -> Fingerprint {
        Fingerprint {
            statements: st,
            opens: op,
            closes: cl,
            lines,
            words,
            unterminated: false,
        }
    }

    #[test]
    fn counts_syntax_outside_strings_and_comments() {
        let cases: &[(&str, Fingerprint)] = &[
            ("", fp(0, 0, 0, 0, 0)),
            ("server_name a.com;\n", fp(1, 2, 1, 0, 0)),
            ("server_name \"a.com; evil on;\";\n", fp(1, 2, 1, 0, 0)),
            ("server_name a.com; evil on;\n", fp(1, 4, 2, 0, 0)),
            ("server { listen 80; }\n", fp(1, 3, 1, 1, 1)),
            ("a \"x\\\"; y\";", fp(1, 2, 1, 0, 0)),
            ("bind 'it'\\''s; x' ok\n", fp(1, 3, 0, 0, 0)),
            ("x 'a\\' ;\n", fp(1, 2, 1, 0, 0)),
            ("# only a comment; {\n", fp(0, 0, 0, 0, 0)),
            ("name a.com # c; {\nnext;\n", fp(2, 3, 1, 0, 0)),
            ("name a#b;\n", fp(1, 2, 1, 0, 0)),
            ("{\"k\": \"v;}\\n{\"}\n", fp(1, 2, 0, 1, 1)),
            ("a \"multi\nline\";\n", fp(1, 2, 1, 0, 0)),
            ("\n\n  \n", fp(0, 0, 0, 0, 0)),
        ];
        for (text, want) in cases {
            assert_eq!(fingerprint(text, Comments::AtWordStart), *want, "{text:?}");
        }
        assert_eq!(
            fingerprint("name a#b;\n", Comments::Anywhere),
            fp(1, 2, 0, 0, 0)
        );
    }

    #[test]
    fn flags_unterminated_strings() {
        let f = |t| fingerprint(t, Comments::AtWordStart);
        assert!(f("a \"b;").unterminated);
        assert!(f("a 'b").unterminated);
        assert!(!f("a 'b'").unterminated);
    }

    /// The attacks the injection check is about, against their benign twins.
    #[test]
    fn raw_hostile_values_change_the_fingerprint() {
        let render_raw = |host: &str| format!("server {{\n  server_name {host};\n}}\n");
        let render_quoted = |host: &str| {
            format!(
                "server {{\n  server_name \"{}\";\n}}\n",
                host.replace('"', "\\\"")
            )
        };
        let benign = "inj.example";
        let fingerprint = |t: &str| fingerprint(t, Comments::AtWordStart);
        // (A balanced `" x "` glued to a word stays one word, as in a shell.)
        for payload in [";", "}", "{", "\nx", " x", " #", "\"", "'"] {
            let hostile = format!("{benign}{payload}");
            assert_ne!(
                fingerprint(&render_raw(benign)),
                fingerprint(&render_raw(&hostile)),
                "raw {payload:?}"
            );
            if !payload.contains('\n') {
                assert_eq!(
                    fingerprint(&render_quoted(benign)),
                    fingerprint(&render_quoted(&hostile)),
                    "quoted {payload:?}"
                );
            }
        }
    }
}
