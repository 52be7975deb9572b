//! `com.docker.lb.redirects` targets.

use crate::Invalid;

/// Long enough for any real URL; a config line stays readable.
pub const MAX_REDIRECT_TARGET: usize = 2048;

/// An absolute `http://` or `https://` URL (scheme in any case) with a
/// non-empty authority, of letters, digits and `-._~:/[]@!&()*+,=%` only: no
/// blanks, quotes, `\`, `$` (an nginx variable), `{}` (a Caddy placeholder),
/// `?`, `#` or `;`. The proxy appends the request URI to it.
pub fn redirect_target(target: &str) -> Result<(), Invalid> {
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|s| {
            target
                .get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        })
        .map(|s| s.len());
    let Some(scheme_len) = scheme_len else {
        return Err(Invalid::new(format!(
            "target {target:?} must be an absolute http:// or https:// URL"
        )));
    };
    let rest = &target[scheme_len..];
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Invalid::new(format!(
            "target {target:?} must name a host after its scheme"
        )));
    }
    if target.len() > MAX_REDIRECT_TARGET {
        return Err(Invalid::new(format!(
            "target must have at most {MAX_REDIRECT_TARGET} characters, found {}",
            target.len()
        )));
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/[]@!&()*+,=%".contains(&b);
    if target.bytes().all(safe) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "target {target:?} may only contain letters, digits and -._~:/[]@!&()*+,=%"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        let too_long = format!("https://a.b/{}", "x".repeat(MAX_REDIRECT_TARGET));
        for (input, ok) in [
            ("https://new.example.com", true),
            ("http://a.b:8080/x", true),
            ("HTTPS://new.local/x%41", true),
            ("Http://[::1]:80/", true),
            ("https://a.b/(x)*+,=!&@~", true),
            ("", false),
            ("/elsewhere", false),
            ("example.com", false),
            ("ftp://x", false),
            ("https://", false),
            ("http:///x", false),
            ("https://a b", false),
            ("https://x\n", false),
            ("https://$host", false),
            ("https://a\";", false),
            ("https://a'b", false),
            ("https://a/{x}", false),
            ("https://a/?q=1", false),
            ("https://a/#f", false),
            ("https://a/;x", false),
            ("https://a\\b", false),
            ("http://é", false),
            (too_long.as_str(), false),
        ] {
            assert_eq!(
                redirect_target(input).is_ok(),
                ok,
                "{input:?}: {:?}",
                redirect_target(input)
            );
        }
    }
}
