//! Go's `time.ParseDuration`, which is how Interlock reads `PollInterval`,
//! `ProxyStopGracePeriod` and `ProxyUpdateDelay`.
//!
//! Written here because no well-kept crate does Go's format: `humantime` reads
//! a different grammar, and `go-parse-duration` 0.1.1 (2021) mixes char and
//! byte indices (breaks on `µs`) and has a wrong overflow bound.
//!
//! Grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`; units ns, us, µs, μs,
//! ms, s, m, h. Go accepts negative durations; a std `Duration` cannot hold
//! them, and none of Interlock's keys means anything negative, so they are
//! refused (except `-0`).

use std::time::Duration;

const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // micro sign
    ("\u{3bc}s", 1_000), // Greek mu
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3600 * 1_000_000_000),
];

/// Go's own limit: durations are an int64 of nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses `text` as Go does; the error says what is wrong with it.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid =
        || format!("invalid duration {text:?} (Go format, e.g. \"5s\", \"1m30s\", \"500ms\")");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(after) => {
                let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(frac_len)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "unknown unit {unit:?} in duration {text:?} (units: ns, us, ms, s, m, h)"
            ));
        };
        total += component_nanos(int_part, frac_part, scale).ok_or_else(invalid)?;
        if total > MAX_NANOS {
            return Err(invalid());
        }
        rest = after;
    }
    if negative && total != 0 {
        return Err(format!("negative duration {text:?} is not allowed"));
    }
    Ok(Duration::from_nanos(total as u64))
}

/// `int.frac` units of `scale` nanoseconds, truncated to whole nanoseconds as
/// Go does; None on overflow.
fn component_nanos(int_part: &str, frac_part: &str, scale: u128) -> Option<u128> {
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut nanos = int.checked_mul(scale)?;
    // Digits past nanosecond precision cannot change the result.
    let mut divisor: u128 = 1;
    let mut frac: u128 = 0;
    for digit in frac_part.bytes().take(30) {
        frac = frac * 10 + u128::from(digit - b'0');
        divisor *= 10;
    }
    nanos = nanos.checked_add(frac * scale / divisor)?;
    (nanos <= MAX_NANOS).then_some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_format_parses() {
        let ms = Duration::from_millis;
        let cases = [
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("3s", ms(3000)),
            ("5s", ms(5000)),
            ("+5s", ms(5000)),
            ("1m30s", ms(90_000)),
            ("500ms", ms(500)),
            ("1h", ms(3_600_000)),
            ("2.5s", ms(2500)),
            ("1.5h", ms(5_400_000)),
            (".5s", ms(500)),
            ("5.s", ms(5000)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("3us", Duration::from_micros(3)),
            ("3\u{b5}s", Duration::from_micros(3)),
            ("3\u{3bc}s", Duration::from_micros(3)),
            ("100ns", Duration::from_nanos(100)),
            ("1.0000000009s", Duration::from_secs(1)),
            (
                "0.3333333333333333333333333333333333s",
                Duration::from_nanos(333_333_333),
            ),
            (
                "9223372036854775807ns",
                Duration::from_nanos(i64::MAX as u64),
            ),
            ("2562047h", Duration::from_secs(2_562_047 * 3600)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_is_refused() {
        let cases = [
            ("", "invalid duration"),
            ("3", "missing unit"),
            ("10", "missing unit"),
            ("s", "invalid duration"),
            (".s", "invalid duration"),
            ("-", "invalid duration"),
            ("3sec", "unknown unit \"sec\""),
            ("3S", "unknown unit"),
            ("3 s", "unknown unit"),
            (" 3s", "invalid duration"),
            ("1d", "unknown unit \"d\""),
            ("3s ", "unknown unit"),
            ("1.2.3s", "missing unit"),
            ("9223372036854775808ns", "invalid duration"),
            ("2562048h", "invalid duration"),
            ("-5s", "negative duration"),
        ];
        for (text, want) in cases {
            let err = parse_go_duration(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
