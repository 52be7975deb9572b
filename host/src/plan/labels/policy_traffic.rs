//! The `sluice.*` labels that decide which requests reach a service and
//! how: rate limits, basic auth, health checks, path redirects and
//! rewrites (their values; `policy.rs` reads the labels).

use sluice_input_rules::{
    auth_realm, replacement_groups, rewrite_pattern, rewrite_replacement, url_path,
};

const MAX_RATE: u32 = 100_000;
const MAX_REDIRECTS: usize = 32;
const MAX_CHECKS: u32 = 100;
const DEFAULT_REDIRECT_STATUS: u16 = 301;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    /// The Docker secret holding the htpasswd file.
    pub secret: String,
    pub realm: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    pub interval_ms: u32,
    pub fall: u32,
    pub rise: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRedirect {
    pub from: String,
    pub to: String,
    pub status: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub pattern: String,
    pub replacement: String,
}

/// `100`, `100/s` → requests per second.
pub fn rate(v: &str) -> Result<u32, String> {
    let n = v.strip_suffix("/s").unwrap_or(v);
    n.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_RATE).contains(n))
        .ok_or_else(|| format!("must be requests per second such as 100 or 100/s, 1 to {MAX_RATE}"))
}

pub fn burst(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_RATE)
        .ok_or_else(|| format!("must be a number of requests from 0 to {MAX_RATE}"))
}

/// Docker's rule for object names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64.
pub fn secret_name(v: &str) -> Result<String, String> {
    let mut bytes = v.bytes();
    let ok = v.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(v.to_owned())
    } else {
        Err("must name a Docker secret ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64)".into())
    }
}

pub fn realm(v: &str) -> Result<String, String> {
    auth_realm(v)?;
    Ok(v.to_owned())
}

pub fn health_path(v: &str) -> Result<String, String> {
    url_path(v)?;
    Ok(v.to_owned())
}

pub fn check_count(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_CHECKS).contains(n))
        .ok_or_else(|| format!("must be a number from 1 to {MAX_CHECKS}"))
}

/// `from to` pairs, comma-separated; both plain path prefixes.
pub fn path_redirects(v: &str) -> Result<Vec<PathRedirect>, String> {
    let mut out: Vec<PathRedirect> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut parts = item.split_whitespace();
        let (Some(from), Some(to), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "{item:?} must be two paths, `from to` (e.g. /old /new)"
            ));
        };
        url_path(from)?;
        url_path(to)?;
        if out.iter().any(|r| r.from == from) {
            return Err(format!("redirects {from} twice"));
        }
        if from == to {
            return Err(format!("redirects {from} to itself"));
        }
        out.push(PathRedirect {
            from: from.to_owned(),
            to: to.to_owned(),
            status: DEFAULT_REDIRECT_STATUS,
        });
    }
    if out.is_empty() {
        return Err("lists no redirect".into());
    }
    if out.len() > MAX_REDIRECTS {
        return Err(format!(
            "lists {} redirects, more than {MAX_REDIRECTS}",
            out.len()
        ));
    }
    // Longest first: the most specific prefix wins in every proxy.
    out.sort_by(|a, b| b.from.len().cmp(&a.from.len()).then(a.from.cmp(&b.from)));
    Ok(out)
}

pub fn redirect_status(v: &str) -> Result<u16, String> {
    match v {
        "301" | "302" | "307" | "308" => Ok(v.parse().expect("digits")),
        _ => Err("must be 301, 302, 307 or 308".into()),
    }
}

/// `pattern replacement`: a regular expression (checked to compile, in
/// the subset Rust's regex, nginx's PCRE and HAProxy's PCRE2 share: no
/// look-around or back-references) and the path it becomes.
pub fn rewrite(v: &str) -> Result<Rewrite, String> {
    let mut parts = v.split_whitespace();
    let (Some(pattern), Some(replacement), None) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("must be `pattern replacement`, e.g. ^/api/v1/(.*)$ /v1/$1".into());
    };
    rewrite_pattern(pattern)?;
    rewrite_replacement(replacement)?;
    // Rust's class set operations and word-edge escapes are literal text
    // to PCRE: the same pattern would match differently in each.
    if let Some(s) = ["&&", "--", "~~", r"\<", r"\>", r"\b{", r"\B{"]
        .iter()
        .find(|s| pattern.contains(*s))
    {
        return Err(format!(
            "pattern {pattern:?} uses {s}, which PCRE (nginx, HAProxy) reads differently"
        ));
    }
    let hir = regex_syntax::Parser::new().parse(pattern).map_err(|e| {
        format!(
            "pattern {pattern:?} is not a regular expression: {}",
            first_line(&e.to_string())
        )
    })?;
    let groups = hir.properties().explicit_captures_len();
    if let Some(n) = replacement_groups(replacement).find(|n| usize::from(*n) > groups) {
        return Err(format!(
            "replacement uses ${n}, but the pattern has {groups} group(s)"
        ));
    }
    Ok(Rewrite {
        pattern: pattern.to_owned(),
        replacement: replacement.to_owned(),
    })
}

/// regex-syntax's messages draw the pattern over several lines; the last
/// one says what is wrong.
fn first_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or(message)
        .trim_start_matches("error: ")
        .to_owned()
}
