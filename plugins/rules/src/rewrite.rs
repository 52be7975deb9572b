//! `sluice.rewrite`: a regular expression and its replacement, as they
//! reach a proxy config. The host also checks the pattern compiles (with
//! the common PCRE subset); these rules keep both strings inert in any
//! proxy's syntax once quoted.

use crate::Invalid;

pub const MAX_REWRITE: usize = 256;

/// Printable ASCII without spaces, quotes or backquotes, 1-[`MAX_REWRITE`]
/// bytes. `\` and `$` are regex syntax here: each plugin quotes so that its
/// proxy reads them as written (HAProxy single quotes take them literally).
pub fn rewrite_pattern(pattern: &str) -> Result<(), Invalid> {
    let ok = |b: u8| (b'!'..=b'~').contains(&b) && !b"'\"`".contains(&b);
    if !pattern.is_empty() && pattern.len() <= MAX_REWRITE && pattern.bytes().all(ok) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "pattern {:?} must be 1-{MAX_REWRITE} printable ASCII characters without spaces, quotes or '`'",
            pattern.chars().take(64).collect::<String>()
        )))
    }
}

/// `/` then `[A-Za-z0-9/._~!&*+,;=:@-]`, with `$1`..`$9` for the pattern's
/// groups (no other `$`: an nginx variable; no `?`: nginx would drop the
/// query; no `%`: HAProxy's format syntax), at most [`MAX_REWRITE`] bytes.
pub fn rewrite_replacement(replacement: &str) -> Result<(), Invalid> {
    let bad = || {
        Invalid::new(format!(
            "replacement {:?} must start with '/' and hold only letters, digits, / . _ ~ ! & * + , ; = : @ - and $1..$9",
            replacement.chars().take(64).collect::<String>()
        ))
    };
    let b = replacement.as_bytes();
    if !replacement.starts_with('/') || b.len() > MAX_REWRITE {
        return Err(bad());
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1).is_some_and(|d| (b'1'..=b'9').contains(d)) => i += 2,
            c if c.is_ascii_alphanumeric() || b"/._~!&*+,;=:@-".contains(&c) => i += 1,
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// The groups `replacement` refers to (`$N`), for checking against the
/// pattern's.
pub fn replacement_groups(replacement: &str) -> impl Iterator<Item = u8> + '_ {
    let b = replacement.as_bytes();
    (0..b.len().saturating_sub(1))
        .filter(move |&i| b[i] == b'$' && b[i + 1].is_ascii_digit())
        .map(move |i| b[i + 1] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for (p, ok) in [
            ("^/api/v1/(.*)$", true),
            (r"^/u/(\d+)/?$", true),
            ("^/a{2}", true),
            ("", false),
            ("^/a b", false),
            ("^/a'", false),
            ("^/a\"", false),
            ("^/a`", false),
            ("^/a\n", false),
            ("^/é", false),
            (&"a".repeat(257), false),
        ] {
            assert_eq!(rewrite_pattern(p).is_ok(), ok, "{p:?}");
        }
    }

    #[test]
    fn replacements() {
        for (r, ok) in [
            ("/v1/$1", true),
            ("/$1/$2", true),
            ("/a-b_c.d~e", true),
            ("v1", false),
            ("/$host", false),
            ("/$0", false),
            ("/$", false),
            ("/a?b", false),
            ("/a%20", false),
            ("/a b", false),
            ("/a\"", false),
            ("/a'", false),
            ("/{x}", false),
        ] {
            assert_eq!(rewrite_replacement(r).is_ok(), ok, "{r:?}");
        }
        assert_eq!(replacement_groups("/$1/x/$3").collect::<Vec<_>>(), [1, 3]);
    }
}
