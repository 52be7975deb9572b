//! A tokenizer that reads text the way nginx's `ngx_conf_read_token` does, so
//! raw settings (`GlobalOptions`, `SSLOpts`, log formats, ...) can be checked
//! to stay inside the context they are written into.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A word as written, quotes and escapes included.
    Word(String),
    Semi,
    Open,
    Close,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Split `text` into tokens. Errors are the same syntax errors nginx would
/// report, plus control characters inside quotes (kept out of the output).
pub fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    // Whether the current statement already has a word: nginx refuses `;`
    // or `{` without one, and `}` after one.
    let mut in_statement = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_space(c) {
            i += 1;
            continue;
        }
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ';' | '{' => {
                if !in_statement {
                    return Err(format!("unexpected `{c}`"));
                }
                tokens.push(if c == ';' { Token::Semi } else { Token::Open });
                in_statement = false;
                i += 1;
            }
            '}' => {
                if in_statement {
                    return Err("unexpected `}` (the statement before it lacks a `;`)".into());
                }
                tokens.push(Token::Close);
                i += 1;
            }
            '"' | '\'' => {
                let start = i;
                i += 1;
                loop {
                    let Some(&d) = chars.get(i) else {
                        return Err(format!("unterminated {c}quoted{c} string"));
                    };
                    if d.is_control() && d != '\t' {
                        return Err("control character inside a quoted string".into());
                    }
                    if d == '\\' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if d == c {
                        break;
                    }
                }
                if let Some(&next) = chars.get(i)
                    && !(is_space(next) || next == ';' || next == '{')
                {
                    return Err(format!("unexpected `{next}` after a quoted string"));
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
                in_statement = true;
            }
            _ => {
                let start = i;
                let mut after_dollar = false;
                while i < chars.len() {
                    let d = chars[i];
                    if d == '{' && after_dollar {
                        // `${name}` does not open a block.
                        after_dollar = false;
                        i += 1;
                        continue;
                    }
                    if is_space(d) || d == ';' || d == '{' {
                        break;
                    }
                    after_dollar = d == '$';
                    if d == '\\' {
                        i += 1;
                        if i < chars.len() && chars[i].is_control() {
                            return Err("escaped control character".into());
                        }
                    }
                    i += 1;
                }
                tokens.push(Token::Word(
                    chars[start..i.min(chars.len())].iter().collect(),
                ));
                in_statement = true;
            }
        }
    }
    Ok(tokens)
}

/// Check that `line` is one or more complete nginx statements: balanced
/// blocks, every statement ended, no line breaks. Such a line cannot close the
/// block it is written into or leak into the next directive.
pub fn check_statements(line: &str) -> Result<(), String> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("contains a line break or control character".into());
    }
    let tokens = tokenize(line)?;
    let mut depth: usize = 0;
    for t in &tokens {
        match t {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("has a `}` that closes a block it did not open")?;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("leaves a `{` block open".into());
    }
    match tokens.last() {
        None => Err("is empty".into()),
        Some(Token::Semi | Token::Close) => Ok(()),
        Some(_) => Err("does not end with `;` or `}`".into()),
    }
}

/// The arguments of a `log_format`, written as nginx arguments (quoted
/// strings and words, an optional final `;`), joined on one line.
pub fn log_format_args(text: &str) -> Result<String, String> {
    let mut tokens = tokenize(text)?;
    if tokens.last() == Some(&Token::Semi) {
        tokens.pop();
    }
    let mut words = Vec::new();
    for t in tokens {
        match t {
            Token::Word(w) => words.push(w),
            _ => return Err("must hold only strings (no `;`, `{` or `}` between them)".into()),
        }
    }
    if words.is_empty() {
        return Err("is empty".into());
    }
    Ok(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_accepted() {
        for ok in [
            "proxy_buffers 8 16k;",
            "a; b;",
            "location /x { return 200; }",
            "set $v \"a;b}\";",
            "set $v '{';",
            "return 200 ${host}x;",
            "a; # trailing comment }",
            "map $a $b { default 1; }",
            "return 200 a}b;",
        ] {
            assert_eq!(check_statements(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn statements_refused() {
        for bad in [
            "",
            "   ",
            "proxy_buffers 8 16k",
            "}",
            "a; }",
            "} server {",
            "location / {",
            "a;\nb;",
            "a;\rb;",
            "a \"unterminated;",
            "a \"x\"y;",
            "; a;",
            "x { a}",
            "a \\\n;",
            "# only a comment",
        ] {
            assert!(check_statements(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn log_format_joins_strings() {
        let seed = "'$remote_addr - $remote_user [$time_local] \"$request\" '\n\t\t    '$status $body_bytes_sent \"$http_referer\" '\n\t\t    '\"$http_user_agent\" \"$http_x_forwarded_for\"';";
        assert_eq!(
            log_format_args(seed).unwrap(),
            "'$remote_addr - $remote_user [$time_local] \"$request\" ' '$status $body_bytes_sent \"$http_referer\" ' '\"$http_user_agent\" \"$http_x_forwarded_for\"'"
        );
        assert_eq!(
            log_format_args("escape=json '{\"a\":\"$b\"}'").unwrap(),
            "escape=json '{\"a\":\"$b\"}'"
        );
        assert_eq!(log_format_args("$remote_addr").unwrap(), "$remote_addr");
    }

    #[test]
    fn log_format_refuses_statements() {
        for bad in [
            "'a'; access_log off;",
            "'a' } server {",
            "'a' {",
            "",
            ";",
            "'a\nb'",
        ] {
            assert!(log_format_args(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
