//! Values of the per-service policies (`sluice.*` labels) that reach a
//! proxy config: header names and values, and client networks.

use crate::Invalid;

pub const MAX_HEADER_NAME: usize = 64;
pub const MAX_HEADER_VALUE: usize = 1024;

/// An HTTP field name of letters, digits and `-` (a subset of RFC 9110's
/// token every proxy takes unquoted), at most [`MAX_HEADER_NAME`] bytes.
pub fn header_name(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= MAX_HEADER_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "header name {:?} must be 1-{MAX_HEADER_NAME} letters, digits or '-'",
            name.chars().take(MAX_HEADER_NAME + 1).collect::<String>()
        )))
    }
}

/// A header value of printable ASCII and spaces, without `$` (an nginx
/// variable even inside quotes) or `{}` (a Caddy placeholder), at most
/// [`MAX_HEADER_VALUE`] bytes. Quotes, `\`, `;` and `%` are allowed: every
/// plugin quotes (and HAProxy escapes `%`) as its proxy requires.
pub fn header_value(value: &str) -> Result<(), Invalid> {
    let ok = |b: u8| (b' '..=b'~').contains(&b) && !b"${}".contains(&b);
    if value.len() <= MAX_HEADER_VALUE && value.bytes().all(ok) {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "header value {:?} must be at most {MAX_HEADER_VALUE} printable ASCII characters without '$', '{{' or '}}'",
            value.chars().take(64).collect::<String>()
        )))
    }
}

/// A client network in canonical CIDR form: an IP address with its host
/// bits zero, `/`, and a prefix length within the family's bits
/// (`10.0.0.0/8`, `fd00::/16`, `192.0.2.7/32`).
pub fn cidr(text: &str) -> Result<(), Invalid> {
    let bad = || {
        Invalid::new(format!(
            "{:?} must be a network as address/length with the host bits zero (10.0.0.0/8)",
            text.chars().take(64).collect::<String>()
        ))
    };
    let (addr, len) = text.split_once('/').ok_or_else(bad)?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    let canonical = match addr {
        std::net::IpAddr::V4(a) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(a)
        }
        std::net::IpAddr::V6(a) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(a)
        }
        _ => false,
    };
    // The address as Rust writes it: one spelling per network.
    if canonical && format!("{addr}/{len}") == text {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names() {
        for (name, ok) in [
            ("X-Frame-Options", true),
            ("x-a", true),
            ("", false),
            ("X Frame", false),
            ("X:Frame", false),
            ("X_Frame", false),
            ("X\nInjected", false),
            (&"a".repeat(65), false),
        ] {
            assert_eq!(header_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn header_values() {
        for (value, ok) in [
            ("DENY", true),
            ("max-age=63072000; includeSubDomains", true),
            ("it's \"quoted\" 100%", true),
            ("", true),
            ("a$b", false),
            ("a{b}", false),
            ("a\nb", false),
            ("a\rb", false),
            ("é", false),
            (&"v".repeat(1025), false),
        ] {
            assert_eq!(header_value(value).is_ok(), ok, "{value:?}");
        }
    }

    #[test]
    fn networks() {
        for (text, ok) in [
            ("10.0.0.0/8", true),
            ("192.0.2.7/32", true),
            ("0.0.0.0/0", true),
            ("fd00::/16", true),
            ("::1/128", true),
            ("10.0.0.1/8", false),
            ("10.0.0.0/33", false),
            ("10.0.0.0", false),
            ("fd00:0::/16", false),
            ("10.0.0.0/8; deny", false),
            ("example.com/8", false),
        ] {
            assert_eq!(cidr(text).is_ok(), ok, "{text:?}");
        }
    }
}
