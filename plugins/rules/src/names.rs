//! Names: hosts, upstreams, cookies.

use crate::Invalid;

/// A DNS name's limit (RFC 1035), wildcard included.
pub const MAX_HOST_NAME: usize = 253;
/// HAProxy's limit, the lowest of the bundled proxies (RFC 6265 sets none).
pub const MAX_COOKIE_NAME: usize = 128;
/// Room for the longest name the host makes: a 253-character host, `__`, a
/// context root of [`crate::MAX_URL_PATH`] and a collision suffix.
pub const MAX_UPSTREAM_NAME: usize = 1536;

/// A host name as it reaches a config: lower-case A-labels (IDNA already
/// applied) of `[a-z0-9_-]`, each 1–63 long and not starting or ending with
/// `-`, no trailing dot, optionally led by one whole `*` label
/// (`*.example.org`). `_` alone is refused: nginx's catch-all server uses it.
/// Every character is a plain word in nginx `server_name`, HAProxy map and
/// crt-list files and Caddy host matchers, so no renderer quotes host names.
pub fn host_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() || name.len() > MAX_HOST_NAME {
        return Err(Invalid::new(format!(
            "host name {name:?} must have 1 to {MAX_HOST_NAME} characters"
        )));
    }
    if name == "_" {
        return Err(Invalid::new(
            "host name \"_\" is not a name (proxies use it for their catch-all server)",
        ));
    }
    let body = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if body.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "host name {name:?} is not a lower-case DNS name (labels of 1-63 a-z, 0-9, '-', '_', \
             not starting or ending with '-'; '*' only as a whole leading label: *.example.org)"
        )))
    }
}

/// An upstream name: `[a-z0-9_]`, so it is an identifier in any proxy's config.
pub fn upstream_name(name: &str) -> Result<(), Invalid> {
    let ok = (1..=MAX_UPSTREAM_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "upstream name {name:?} must be 1 to {MAX_UPSTREAM_NAME} of [a-z0-9_]"
        )))
    }
}

/// RFC 6265 cookie-name (an RFC 2616 token), at most [`MAX_COOKIE_NAME`].
pub fn cookie_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() || name.len() > MAX_COOKIE_NAME {
        return Err(Invalid::new(format!(
            "cookie name must have 1 to {MAX_COOKIE_NAME} characters, found {}",
            name.len()
        )));
    }
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.bytes().all(token) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "cookie name {name:?} is not an RFC 6265 token (no spaces, control characters \
             or ()<>@,;:\\\"/[]?={{}})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rule = fn(&str) -> Result<(), Invalid>;

    #[test]
    fn accepts_and_refuses() {
        let long_label = "a".repeat(64);
        let long_name = format!("{}.com", vec!["a".repeat(62); 4].join("."));
        let cookie_128 = "c".repeat(128);
        let cookie_129 = "c".repeat(129);
        let upstream_max = "u".repeat(MAX_UPSTREAM_NAME);
        let upstream_over = "u".repeat(MAX_UPSTREAM_NAME + 1);
        let cases: &[(Rule, &str, bool)] = &[
            (host_name, "a.com", true),
            (host_name, "demo.local", true),
            (host_name, "*.example.org", true),
            (host_name, "*.a.b.example.org", true),
            (host_name, "xn--bcher-kva.example", true),
            (host_name, "my_svc", true),
            (host_name, "_dmarc.example", true),
            (host_name, "a-b.c", true),
            (host_name, "", false),
            (host_name, "_", false),
            (host_name, "A.com", false),
            (host_name, "a.com;} server {", false),
            (host_name, "a com", false),
            (host_name, "a..com", false),
            (host_name, "a.com.", false),
            (host_name, ".a.com", false),
            (host_name, "-a.com", false),
            (host_name, "a-.com", false),
            (host_name, "*", false),
            (host_name, "*.", false),
            (host_name, "**.example.org", false),
            (host_name, "*example.org", false),
            (host_name, "a.*.com", false),
            (host_name, "*.*.example.org", false),
            (host_name, "~regex", false),
            (host_name, "a.com\n", false),
            (host_name, "host:80", false),
            (host_name, "a#b", false),
            (host_name, "${x}", false),
            (host_name, "bücher.example", false),
            (host_name, &long_label, false),
            (host_name, &long_name, false),
            (upstream_name, "demo_local_1", true),
            (upstream_name, &upstream_max, true),
            (upstream_name, &upstream_over, false),
            (upstream_name, "", false),
            (upstream_name, "Demo", false),
            (upstream_name, "a-b", false),
            (upstream_name, "a;b", false),
            (upstream_name, "a b", false),
            (cookie_name, "session", true),
            (cookie_name, "JSESSIONID", true),
            (cookie_name, "connect.sid", true),
            (cookie_name, "x$y", true),
            (cookie_name, "a#b", true),
            (cookie_name, &cookie_128, true),
            (cookie_name, &cookie_129, false),
            (cookie_name, "", false),
            (cookie_name, "a b", false),
            (cookie_name, "a;b", false),
            (cookie_name, "a=b", false),
            (cookie_name, "a\"b", false),
            (cookie_name, "a{b", false),
            (cookie_name, "a\nb", false),
            (cookie_name, "é", false),
        ];
        for (rule, input, ok) in cases {
            assert_eq!(rule(input).is_ok(), *ok, "{input:?}: {:?}", rule(input));
        }
    }

    #[test]
    fn the_longest_host_name_is_accepted() {
        let name = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        assert_eq!(name.len(), MAX_HOST_NAME);
        assert_eq!(host_name(&name), Ok(()));
    }
}
