//! Syntax of nginx values the settings carry: sizes, times, protocol lists...
//! Each check returns why a value would make nginx refuse the config.

use crate::quote::{has_control, has_dollar};

/// Upper bound for counts: nginx reads them into a C `int`.
const MAX_INT: i64 = i32::MAX as i64;

pub fn positive(i: i64) -> Result<(), String> {
    if (1..=MAX_INT).contains(&i) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {MAX_INT}, found {i}"))
    }
}

pub fn non_negative(i: i64) -> Result<(), String> {
    if (0..=MAX_INT).contains(&i) {
        Ok(())
    } else {
        Err(format!("must be between 0 and {MAX_INT}, found {i}"))
    }
}

/// Seconds for `proxy_*_timeout`: nginx keeps them in milliseconds.
pub fn timeout_seconds(i: i64) -> Result<(), String> {
    const MAX: i64 = MAX_INT / 1000;
    if (1..=MAX).contains(&i) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {MAX} seconds, found {i}"))
    }
}

/// Kilobytes for an upstream `zone`: nginx refuses zones under 8 pages (32k).
pub fn zone_kilobytes(i: i64) -> Result<(), String> {
    if (32..=1_048_576).contains(&i) {
        Ok(())
    } else {
        Err(format!(
            "must be between 32 and 1048576 (kilobytes; nginx refuses smaller zones), found {i}"
        ))
    }
}

pub fn bucket_size(i: i64) -> Result<(), String> {
    if (1..=32_768).contains(&i) {
        Ok(())
    } else {
        Err(format!("must be between 1 and 32768, found {i}"))
    }
}

pub fn http_version(s: &str) -> Result<(), String> {
    match s {
        "1.0" | "1.1" => Ok(()),
        _ => Err(format!(
            "must be \"1.0\" or \"1.1\" (nginx's proxy_http_version), found {s:?}"
        )),
    }
}

pub fn ssl_verify(s: &str) -> Result<(), String> {
    match s {
        "required" | "none" => Ok(()),
        _ => Err(format!("must be \"required\" or \"none\", found {s:?}")),
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-".contains(c)
}

/// `user` takes a user name and an optional group name.
pub fn user(s: &str) -> Result<(), String> {
    let words: Vec<&str> = s.split(' ').collect();
    if (1..=2).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(name_char))
    {
        Ok(())
    } else {
        Err(format!(
            "must be a user name, optionally followed by a group name, found {s:?}"
        ))
    }
}

pub fn worker_processes(s: &str) -> Result<(), String> {
    if s == "auto" {
        return Ok(());
    }
    match s.parse::<i64>() {
        Ok(i) => positive(i),
        Err(_) => Err(format!(
            "must be a positive number or \"auto\", found {s:?}"
        )),
    }
}

/// A file path (or `stderr`, `syslog:...`): anything nginx reads back as the
/// same single argument without expanding variables.
pub fn path(s: &str) -> Result<(), String> {
    if s.is_empty() {
        Err("must not be empty".into())
    } else if has_control(s) {
        Err("must not contain control characters (line breaks...)".into())
    } else if has_dollar(s) {
        Err(format!(
            "must not contain `$` (nginx would read a variable), found {s:?}"
        ))
    } else {
        Ok(())
    }
}

/// A path, or empty for "not set".
pub fn optional_path(s: &str) -> Result<(), String> {
    if s.is_empty() { Ok(()) } else { path(s) }
}

fn number_with_unit(s: &str, units: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| units.contains(c));
    s.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.len() <= 12
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A buffer size (`ngx_parse_size`): bytes, `k` or `m`, not zero.
pub fn size(s: &str) -> Result<(), String> {
    let zero = s
        .trim_end_matches(|c: char| "kKmM".contains(c))
        .bytes()
        .all(|b| b == b'0');
    if number_with_unit(s, "kKmM") && !zero {
        Ok(())
    } else {
        Err(format!(
            "must be a non-zero nginx size like \"8k\" or \"1m\", found {s:?}"
        ))
    }
}

/// A body size (`ngx_parse_offset`): bytes, `k`, `m` or `g`.
pub fn offset(s: &str) -> Result<(), String> {
    if number_with_unit(s, "kKmMgG") {
        Ok(())
    } else {
        Err(format!(
            "must be an nginx size like \"32m\" or \"1g\", found {s:?}"
        ))
    }
}

/// One time value as `ngx_parse_time` reads it: numbers with units in
/// decreasing order (`1h30m`, `75s`, `500ms`); a bare number means seconds.
fn is_time(s: &str) -> bool {
    const ORDER: [&str; 8] = ["y", "M", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last_rank: Option<usize> = None;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 9 {
            return false;
        }
        rest = &rest[digits..];
        if rest.is_empty() {
            // A trailing bare number counts as seconds and must come last.
            return last_rank.is_none_or(|r| r < 6);
        }
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            &rest[..1]
        };
        let Some(rank) = ORDER.iter().position(|u| *u == unit) else {
            return false;
        };
        if last_rank.is_some_and(|r| r >= rank) {
            return false;
        }
        last_rank = Some(rank);
        rest = &rest[unit.len()..];
    }
    true
}

pub fn time(s: &str) -> Result<(), String> {
    if is_time(s) {
        Ok(())
    } else {
        Err(format!(
            "must be an nginx time like \"60s\" or \"1m30s\", found {s:?}"
        ))
    }
}

/// `keepalive_timeout timeout [header_timeout]`
pub fn keepalive(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split(' ').collect();
    if (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_time(p)) {
        Ok(())
    } else {
        Err(format!(
            "must be an nginx time like \"75s\", optionally followed by a header timeout, found {s:?}"
        ))
    }
}

/// `large_client_header_buffers number size`
pub fn large_buffers(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split(' ').collect();
    let ok = parts.len() == 2
        && parts[0].parse::<i64>().is_ok_and(|n| positive(n).is_ok())
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && size(parts[1]).is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be a count and a size like \"4 8k\", found {s:?}"
        ))
    }
}

const PROTOCOLS: [&str; 6] = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

pub fn ssl_protocols(s: &str) -> Result<(), String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || has_control(s) {
        return Err(format!(
            "must list protocols among {}, found {s:?}",
            PROTOCOLS.join(" ")
        ));
    }
    match words.iter().find(|w| !PROTOCOLS.contains(w)) {
        Some(w) => Err(format!(
            "unknown protocol {w:?}; known: {}",
            PROTOCOLS.join(" ")
        )),
        None => Ok(()),
    }
}

/// An OpenSSL cipher list.
pub fn ssl_ciphers(s: &str) -> Result<(), String> {
    let ok = !s.trim().is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":!+@=_.,- ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be an OpenSSL cipher list like \"HIGH:!aNULL:!MD5\", found {s:?}"
        ))
    }
}

/// Raw directives (`GlobalOptions`, `SSLOpts`...): complete statements only.
pub fn statements(s: &str) -> Result<(), String> {
    crate::raw::check_statements(s).map_err(|e| format!("{s:?} {e}"))
}

pub fn optional_statements(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Ok(())
    } else {
        statements(s)
    }
}

pub fn log_format(s: &str) -> Result<(), String> {
    crate::raw::log_format_args(s)
        .map(|_| ())
        .map_err(|e| format!("log format {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Check = fn(&str) -> Result<(), String>;

    #[test]
    fn text_checks() {
        let table: &[(&str, Check, &[&str], &[&str])] = &[
            (
                "http_version",
                http_version,
                &["1.0", "1.1"],
                &["2", "1.1;", "HTTP/1.1", "", "1.2"],
            ),
            (
                "ssl_verify",
                ssl_verify,
                &["required", "none"],
                &["optional", "", "REQUIRED"],
            ),
            (
                "user",
                user,
                &["nginx", "www-data", "nginx nginx", "root"],
                &["", "a b c", "a;b", "a\nb", " nginx"],
            ),
            (
                "worker_processes",
                worker_processes,
                &["auto", "1", "16"],
                &["0", "-1", "many", "1;", ""],
            ),
            (
                "path",
                path,
                &[
                    "/var/run/proxy.pid",
                    "/dev/stdout",
                    "syslog:server=10.0.0.1",
                    "/a b",
                ],
                &["", "/a\nb", "/var/$host"],
            ),
            (
                "size",
                size,
                &["8k", "1K", "1m", "1024"],
                &["", "0", "0k", "8kb", "1g", "k", "-1k", "8 k", "1.5k"],
            ),
            (
                "offset",
                offset,
                &["32m", "1g", "0", "100"],
                &["", "32mb", "1t", "m"],
            ),
            (
                "time",
                time,
                &["75s", "60", "1m30s", "500ms", "1h", "1d2h", "0"],
                &["", "s", "30s1m", "1s1s", "1x", "60s;", "1 s", "5ms1s"],
            ),
            (
                "keepalive",
                keepalive,
                &["75s", "75s 60s", "0"],
                &["", "75s 60s 1s", "75s  60s", "fast"],
            ),
            (
                "large_buffers",
                large_buffers,
                &["4 8k", "2 1m"],
                &["4", "8k", "0 8k", "4 0", "4 8x", "-4 8k", "4 8k 1"],
            ),
            (
                "ssl_protocols",
                ssl_protocols,
                &["TLSv1.2", "TLSv1.2 TLSv1.3"],
                &["", "TLSv1.4", "TLSv1.2;", "tlsv1.2"],
            ),
            (
                "ssl_ciphers",
                ssl_ciphers,
                &["HIGH:!aNULL:!MD5", "ECDHE+AESGCM"],
                &["", "HIGH;", "a\nb", "$x"],
            ),
            ("statements", statements, &["a b;"], &["a b", "}"]),
            ("log_format", log_format, &["'$remote_addr'"], &["'a'; b;"]),
        ];
        for (name, check, good, bad) in table {
            for g in *good {
                assert_eq!(check(g), Ok(()), "{name} should accept {g:?}");
            }
            for b in *bad {
                assert!(check(b).is_err(), "{name} should refuse {b:?}");
            }
        }
    }

    #[test]
    fn int_checks() {
        type IntCheck = fn(i64) -> Result<(), String>;
        let table: &[(&str, IntCheck, &[i64], &[i64])] = &[
            (
                "positive",
                positive,
                &[1, 65535, MAX_INT],
                &[0, -1, MAX_INT + 1],
            ),
            ("non_negative", non_negative, &[0, 1024], &[-1]),
            (
                "timeout_seconds",
                timeout_seconds,
                &[1, 600],
                &[0, -5, 10_000_000],
            ),
            ("zone_kilobytes", zone_kilobytes, &[32, 64], &[0, 31, -64]),
            ("bucket_size", bucket_size, &[64, 128], &[0, 100_000]),
        ];
        for (name, check, good, bad) in table {
            for g in *good {
                assert_eq!(check(*g), Ok(()), "{name} should accept {g}");
            }
            for b in *bad {
                assert!(check(*b).is_err(), "{name} should refuse {b}");
            }
        }
    }
}
