//! Free text the host puts into a proxy config (the `Server` header's value).

use crate::Invalid;

/// Printable ASCII and spaces, without `$` (an nginx variable even inside
/// quotes) or `{}` (a Caddy placeholder). Quotes, `\` and `;` are allowed: every
/// plugin quotes the text as its proxy's syntax requires.
pub fn plain_text(text: &str) -> Result<(), Invalid> {
    let ok = |b: u8| (b' '..=b'~').contains(&b) && !b"${}".contains(&b);
    if text.len() <= 256 && text.bytes().all(ok) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "{text:?} must be at most 256 printable ASCII characters without '$', '{{' or '}}'"
        )))
    }
}

/// A basic auth realm: [`plain_text`] without `"` or `\\`, 1-64 bytes. It
/// goes out inside the quotes of `WWW-Authenticate: Basic realm="..."`,
/// which nginx writes without escaping.
pub fn auth_realm(text: &str) -> Result<(), Invalid> {
    plain_text(text)?;
    if text.is_empty() || text.len() > 64 || text.contains(['"', '\\']) {
        return Err(Invalid::new(format!(
            "realm {text:?} must be 1-64 printable ASCII characters without '\"', '\\\\', '$', '{{' or '}}'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms() {
        for (input, ok) in [
            ("Restricted", true),
            ("Team A's area", true),
            ("", false),
            ("a\"b", false),
            ("a\\b", false),
            ("a$b", false),
            (&"r".repeat(65), false),
        ] {
            assert_eq!(auth_realm(input).is_ok(), ok, "{input:?}");
        }
    }

    #[test]
    fn accepts_and_refuses() {
        for (input, ok) in [
            ("sluice", true),
            ("Sluice/0.1 (Swarm)", true),
            ("", true),
            ("it's \"q\" \\ ;", true),
            ("a$b", false),
            ("a{b}", false),
            ("a\nb", false),
            ("é", false),
        ] {
            assert_eq!(plain_text(input).is_ok(), ok, "{input:?}");
        }
    }
}
