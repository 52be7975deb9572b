//! Label values: each parser takes the trimmed value and gives the typed
//! value or the reason, which the caller prefixes with the label's name.

use super::{BackendMode, RedirectRule, TlsVerify, WEIGHT_MAX};

/// Go's `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

/// A Docker network name or ID: Docker's own rule,
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn parse_network_name(v: &str) -> Result<String, String> {
    let mut chars = v.chars();
    match chars.next() {
        None => Err("must not be empty".into()),
        Some(first)
            if first.is_ascii_alphanumeric()
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) =>
        {
            Ok(v.to_owned())
        }
        Some(_) => Err(format!(
            "{v:?} is not a Docker network name (letters, digits, `_`, `.`, `-`, starting with a letter or digit)"
        )),
    }
}

pub(super) fn parse_port(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("must be a port number from 1 to 65535".into()),
    }
}

pub(super) fn parse_u32(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .map_err(|_| "must be a non-negative integer".into())
}

pub(super) fn parse_weight(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(w) if (1..=WEIGHT_MAX).contains(&w) => Ok(w),
        _ => Err(format!("must be an integer from 1 to {WEIGHT_MAX}")),
    }
}

pub(super) fn parse_verify(v: &str) -> Result<TlsVerify, String> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Ok(TlsVerify::None),
        "required" => Ok(TlsVerify::Required),
        _ => Err("must be none or required".into()),
    }
}

pub(super) fn parse_backend_mode(v: &str) -> Result<BackendMode, String> {
    match v.to_ascii_lowercase().as_str() {
        "task" => Ok(BackendMode::Task),
        "vip" => Ok(BackendMode::Vip),
        _ => Err("must be task or vip".into()),
    }
}

/// Docker's secret name rule (swarmkit `validateSecretSpec`): 1–64 characters,
/// alphanumerics plus `-_.` inside. It becomes a file name under `/run/secrets`.
pub(super) fn parse_secret_name(v: &str) -> Result<String, String> {
    let inner_ok = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let ends_ok = v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric());
    if v.len() <= 64 && inner_ok && ends_ok {
        Ok(v.to_owned())
    } else {
        Err("must be a Docker secret name (letters, digits, '-', '_', '.'; at most 64)".into())
    }
}

/// RFC 6265 cookie-name, at most [`sluice_input_rules::MAX_COOKIE_NAME`]
/// (HAProxy's limit: a longer one once made it refuse a whole cluster).
pub(super) fn parse_cookie_name(v: &str) -> Result<String, String> {
    sluice_input_rules::cookie_name(v)?;
    Ok(v.to_owned())
}

/// A URL path prefix of characters no proxy config needs to quote.
pub fn parse_path(v: &str) -> Result<String, String> {
    sluice_input_rules::url_path(v)?;
    Ok(v.to_owned())
}

pub(super) fn parse_paths(v: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let path = parse_path(item).map_err(|e| format!("path {item:?} {e}"))?;
        if !out.contains(&path) {
            out.push(path);
        }
    }
    if out.is_empty() {
        Err("lists no path".into())
    } else {
        Ok(out)
    }
}

pub(super) fn parse_hosts(v: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let host = normalize_host(item)?;
        if !out.contains(&host) {
            out.push(host);
        }
    }
    if out.is_empty() {
        Err("lists no host name".into())
    } else {
        Ok(out)
    }
}

/// A host name in its lower-case A-label form, or why it is not one.
pub fn normalize_host(raw: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("host {raw:?} {why}"));
    let (wildcard, rest) = match raw.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if rest.contains('*') {
        return bad("may only use '*' as a whole leading label (*.example.com)");
    }
    if rest.contains(':') {
        return bad("must not include a port or scheme");
    }
    // Most hosts are already lower-case ASCII, which UTS #46 leaves as is;
    // only the rest (and punycode, which it checks) go through idna.
    let plain = rest
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.'))
        && !rest.contains("xn--");
    let mut ascii = if plain {
        rest.to_owned()
    } else {
        match idna::domain_to_ascii_cow(rest.as_bytes(), idna::AsciiDenyList::URL) {
            Ok(a) => a.into_owned(),
            Err(_) => return bad("is not a valid (internationalised) domain name"),
        }
    };
    if ascii.ends_with('.') {
        ascii.pop();
    }
    let name = if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    };
    // The rule every plugin checks the name with again.
    sluice_input_rules::host_name(&name).map_err(|e| format!("host {raw:?}: {e}"))?;
    Ok(name)
}

/// `src,dst;src2,dst2`. Each source must be one of the service's `hosts`.
pub(super) fn parse_redirects(v: &str, hosts: &[String]) -> Result<Vec<RedirectRule>, String> {
    let mut out: Vec<RedirectRule> = Vec::new();
    for pair in v.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((src, dst)) = pair.split_once(',') else {
            return Err(format!("entry {pair:?} must be <source>,<target>"));
        };
        let (src, dst) = (src.trim(), dst.trim());
        let (scheme, host) = match src.split_once("://") {
            Some((s, h)) => (Some(s.to_ascii_lowercase()), h),
            None => (None, src),
        };
        if let Some(s) = &scheme
            && s != "http"
            && s != "https"
        {
            return Err(format!("source {src:?} must use http or https"));
        }
        let host = normalize_host(host.strip_suffix('/').unwrap_or(host))?;
        if !hosts.contains(&host) {
            return Err(format!(
                "source host {host:?} is not one of com.docker.lb.hosts"
            ));
        }
        let target = parse_redirect_target(dst)?;
        if out
            .iter()
            .any(|r| r.source_host == host && r.scheme == scheme)
        {
            return Err(format!("source {src:?} appears twice"));
        }
        out.push(RedirectRule {
            scheme,
            source_host: host,
            target,
        });
    }
    if out.is_empty() {
        Err("lists no redirect".into())
    } else {
        Ok(out)
    }
}

pub(super) fn parse_redirect_target(dst: &str) -> Result<String, String> {
    sluice_input_rules::redirect_target(dst)?;
    Ok(dst.to_owned())
}

/// nginx time: a number with optional unit, units may be combined (`1m30s`).
/// Sub-second parts must add up to whole seconds (the WIT carries seconds).
pub fn parse_nginx_time(v: &str) -> Result<u32, String> {
    const ERR: &str = "must be an nginx time such as 10, 30s, 1m or 1h30m (whole seconds)";
    if let Ok(secs) = v.parse::<u32>() {
        return Ok(secs);
    }
    if v.is_empty() {
        return Err(ERR.into());
    }
    let mut total_ms: u64 = 0;
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(ERR.into());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| ERR.to_owned())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms_per = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(ERR.into()),
        };
        rest = &rest[unit_len..];
        total_ms = n
            .checked_mul(ms_per)
            .and_then(|x| x.checked_add(total_ms))
            .ok_or(ERR)?;
    }
    if !total_ms.is_multiple_of(1000) {
        return Err(ERR.into());
    }
    u32::try_from(total_ms / 1000).map_err(|_| ERR.into())
}
