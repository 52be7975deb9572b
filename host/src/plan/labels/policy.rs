//! Sluice's own per-service policies, in one namespace: `sluice.*` labels
//! (Interlock's `com.docker.lb.*` keep meaning exactly what they meant).
//! They apply to the routes the service serves; services sharing an upstream
//! share its policy (the first service's, as for Interlock's upstream-level
//! labels).
//!
//! | label | value |
//! |---|---|
//! | `sluice.timeout.connect`, `.read`, `.send` | a duration (`500ms`, `5s`, `2m`, `1h`; 1 ms to 24 h) |
//! | `sluice.max_body_size` | request bodies above are refused with 413: bytes, or `k`/`m`/`g` (1024s); `0` no limit |
//! | `sluice.response_header.<Name>` | a header set on every response |
//! | `sluice.request_header.<Name>` | a header set on requests to the service |
//! | `sluice.hsts` | `Strict-Transport-Security` on TLS responses: its max-age (a duration, e.g. `365d`) |
//! | `sluice.hsts.include_subdomains`, `sluice.hsts.preload` | booleans |
//! | `sluice.allow` | comma-separated client networks (`10.0.0.0/8`, `192.0.2.7`); others get 403 |
//! | `sluice.retries` | 0-10 other servers tried when one cannot be reached |
//! | `sluice.compression` | gzip responses (`true`) or never (`false`) |
//! | `sluice.protocol` | what the proxy speaks to the service: `http` (HTTP/1.1), `h2c` (HTTP/2 cleartext), `grpc` |
//! | `sluice.rate_limit`, `.burst` | requests per second per client address, and the burst let through; more get 429 |
//! | `sluice.auth.basic`, `sluice.auth.realm` | a Docker secret holding an htpasswd file; clients authenticate |
//! | `sluice.healthcheck.path`, `.interval`, `.fall`, `.rise` | the proxy probes each server |
//! | `sluice.path_redirect`, `.status` | `from to` path prefixes, comma-separated, answered with a redirect |
//! | `sluice.rewrite` | `pattern replacement`: the path the service sees |

use std::net::IpAddr;

use super::policy_traffic as traffic;
pub use super::policy_traffic::{BasicAuth, HealthCheck, PathRedirect, RateLimit, Rewrite};
use super::values::parse_bool;

pub const PREFIX: &str = "sluice.";
pub const TIMEOUT_CONNECT: &str = "sluice.timeout.connect";
pub const TIMEOUT_READ: &str = "sluice.timeout.read";
pub const TIMEOUT_SEND: &str = "sluice.timeout.send";
pub const MAX_BODY_SIZE: &str = "sluice.max_body_size";
pub const RESPONSE_HEADER: &str = "sluice.response_header.";
pub const REQUEST_HEADER: &str = "sluice.request_header.";
pub const HSTS: &str = "sluice.hsts";
pub const HSTS_SUBDOMAINS: &str = "sluice.hsts.include_subdomains";
pub const HSTS_PRELOAD: &str = "sluice.hsts.preload";
pub const ALLOW: &str = "sluice.allow";
pub const RETRIES: &str = "sluice.retries";
pub const COMPRESSION: &str = "sluice.compression";
pub const PROTOCOL: &str = "sluice.protocol";
pub const RATE_LIMIT: &str = "sluice.rate_limit";
pub const RATE_LIMIT_BURST: &str = "sluice.rate_limit.burst";
pub const AUTH_BASIC: &str = "sluice.auth.basic";
pub const AUTH_REALM: &str = "sluice.auth.realm";
pub const HEALTH_PATH: &str = "sluice.healthcheck.path";
pub const HEALTH_INTERVAL: &str = "sluice.healthcheck.interval";
pub const HEALTH_FALL: &str = "sluice.healthcheck.fall";
pub const HEALTH_RISE: &str = "sluice.healthcheck.rise";
pub const PATH_REDIRECT: &str = "sluice.path_redirect";
pub const PATH_REDIRECT_STATUS: &str = "sluice.path_redirect.status";
pub const REWRITE: &str = "sluice.rewrite";
/// Not a per-upstream policy: read into [`super::ServiceRoute::acme`].
pub const TLS: &str = "sluice.tls";

const DEFAULT_REALM: &str = "Restricted";
const DEFAULT_HEALTH_INTERVAL_MS: u32 = 5_000;
const DEFAULT_FALL: u32 = 3;
const DEFAULT_RISE: u32 = 2;
/// Health probes more often than this load the servers for nothing.
const MIN_HEALTH_INTERVAL_MS: u32 = 100;
const MAX_HEALTH_INTERVAL_MS: u64 = 3_600_000;

/// The fixed names, with one line each for the label reference.
pub const NAMES: &[(&str, &str)] = &[
    (
        TLS,
        "`acme`: the service's hosts get certificates from the ACME directory of `[ACME]` in config.toml (HTTP-01 through the proxies, renewed before expiry); HTTP until the first one is issued. Needs hitless delivery; not with `com.docker.lb.ssl_cert` or `ssl_passthrough`, nor for wildcard hosts.",
    ),
    (
        TIMEOUT_CONNECT,
        "Time to connect to a server of the service (`500ms`, `5s`, `2m`; 1 ms to 24 h).",
    ),
    (
        TIMEOUT_READ,
        "Time a server may take to answer, between two reads (HAProxy: one server timeout, the larger of read and send).",
    ),
    (
        TIMEOUT_SEND,
        "Time a server may take to take the request, between two writes.",
    ),
    (
        MAX_BODY_SIZE,
        "Largest request body (bytes, or with `k`, `m`, `g`); larger ones get 413. `0`: no limit.",
    ),
    (
        "sluice.response_header.<Name>",
        "Sets header `<Name>` on every response (letters, digits and `-`; printable value without `$`, `{`, `}`).",
    ),
    (
        "sluice.request_header.<Name>",
        "Sets header `<Name>` on requests to the service (not `Host`, `Connection`, `Upgrade`, `Content-Length`, `Transfer-Encoding`, `TE`, `Keep-Alive`).",
    ),
    (
        HSTS,
        "`Strict-Transport-Security` on responses over TLS, with this max-age (e.g. `365d`).",
    ),
    (
        HSTS_SUBDOMAINS,
        "`true`: the HSTS header says `includeSubDomains`.",
    ),
    (HSTS_PRELOAD, "`true`: the HSTS header says `preload`."),
    (
        ALLOW,
        "Only clients in these networks (comma-separated, `10.0.0.0/8`, `192.0.2.7`) are served; others get 403.",
    ),
    (
        RETRIES,
        "Other servers tried (0-10) when one cannot be connected to (or, for idempotent requests, fails without an answer).",
    ),
    (
        COMPRESSION,
        "`true`: gzip text responses; `false`: never compress.",
    ),
    (
        PROTOCOL,
        "What the proxy speaks to the service: `http` (HTTP/1.1, the default), `h2c` (HTTP/2 without TLS), `grpc`.",
    ),
    (
        RATE_LIMIT,
        "Requests per second one client address may send (`100` or `100/s`, 1-100000); more get 429.",
    ),
    (
        RATE_LIMIT_BURST,
        "Requests beyond the rate let through at once (0-100000; default: the rate).",
    ),
    (
        AUTH_BASIC,
        "Basic auth: the Docker secret holding an htpasswd file (bcrypt, SHA-256/512 crypt or Apache MD5 hashes); the proxy gets it mounted. nginx only: the HAProxy plugin refuses it (HAProxy reads users only from its config).",
    ),
    (
        AUTH_REALM,
        "The realm browsers show with `sluice.auth.basic` (default `Restricted`).",
    ),
    (
        HEALTH_PATH,
        "Active health check: the path each server is asked for (GET; 2xx/3xx is healthy). nginx open source has no active checks: it passes over a server that fails a request (no answer, 502-504), retrying idempotent requests elsewhere.",
    ),
    (
        HEALTH_INTERVAL,
        "Time between two checks of a server (default `5s`; 100 ms to 1 h).",
    ),
    (
        HEALTH_FALL,
        "Failed checks in a row that take a server out of rotation (1-100, default 3).",
    ),
    (
        HEALTH_RISE,
        "Passed checks in a row that bring it back (1-100, default 2).",
    ),
    (
        PATH_REDIRECT,
        "Path prefix redirects, comma-separated `from to` pairs (`/old /new`): `/old/x?q` is answered with a redirect to `/new/x?q`.",
    ),
    (
        PATH_REDIRECT_STATUS,
        "Their status: 301 (default), 302, 307 or 308.",
    ),
    (
        REWRITE,
        "`pattern replacement`: the path the service sees (`^/api/v1/(.*)$ /v1/$1`; `$1`-`$9` are the groups; the query is kept; other paths go unchanged).",
    ),
];

/// Request headers a service may not set: they frame or route the request
/// between proxy and server.
const FORBIDDEN_REQUEST: &[&str] = &[
    "host",
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "te",
    "keep-alive",
    "proxy-connection",
];
/// Response headers a service may not set: they frame the response.
const FORBIDDEN_RESPONSE: &[&str] = &["connection", "content-length", "transfer-encoding"];

const MAX_NETWORKS: usize = 64;
const MAX_HEADERS: usize = 32;
const MAX_RETRIES: u32 = 10;
const MAX_DURATION_MS: u64 = 24 * 3600 * 1000;
/// Ten years: browsers cap HSTS at two, preload lists ask for one.
const MAX_HSTS_MS: u64 = 3650 * 86_400_000;
const MAX_BODY: u64 = 64 << 30;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Http,
    H2c,
    Grpc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hsts {
    pub max_age_seconds: u32,
    pub include_subdomains: bool,
    pub preload: bool,
}

/// What a service's `sluice.*` labels ask for; the default is none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub connect_timeout_ms: Option<u32>,
    pub read_timeout_ms: Option<u32>,
    pub send_timeout_ms: Option<u32>,
    pub max_body_bytes: Option<u64>,
    /// By name (as written), sorted case-insensitively.
    pub response_headers: Vec<(String, String)>,
    pub request_headers: Vec<(String, String)>,
    pub hsts: Option<Hsts>,
    /// Canonical CIDRs, in label order, deduplicated.
    pub allow: Vec<String>,
    pub retries: Option<u32>,
    pub compression: Option<bool>,
    pub protocol: Protocol,
    pub rate_limit: Option<RateLimit>,
    pub basic_auth: Option<BasicAuth>,
    pub health_check: Option<HealthCheck>,
    /// Longest `from` first.
    pub path_redirects: Vec<PathRedirect>,
    pub rewrite: Option<Rewrite>,
}

impl Policy {
    /// Whether no label asked for anything.
    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }

    /// What it sets, as labels, for messages ("none" when nothing).
    pub fn summary(&self) -> String {
        let mut set: Vec<String> = Vec::new();
        let mut add = |on: bool, label: &str| {
            if on {
                set.push(label.to_owned());
            }
        };
        add(self.connect_timeout_ms.is_some(), TIMEOUT_CONNECT);
        add(self.read_timeout_ms.is_some(), TIMEOUT_READ);
        add(self.send_timeout_ms.is_some(), TIMEOUT_SEND);
        add(self.max_body_bytes.is_some(), MAX_BODY_SIZE);
        add(
            !self.response_headers.is_empty(),
            "sluice.response_header.*",
        );
        add(!self.request_headers.is_empty(), "sluice.request_header.*");
        add(self.hsts.is_some(), HSTS);
        add(!self.allow.is_empty(), ALLOW);
        add(self.retries.is_some(), RETRIES);
        add(self.compression.is_some(), COMPRESSION);
        add(self.protocol != Protocol::Http, PROTOCOL);
        add(self.rate_limit.is_some(), RATE_LIMIT);
        add(self.basic_auth.is_some(), AUTH_BASIC);
        add(self.health_check.is_some(), HEALTH_PATH);
        add(!self.path_redirects.is_empty(), PATH_REDIRECT);
        add(self.rewrite.is_some(), REWRITE);
        if set.is_empty() {
            "none".into()
        } else {
            set.join(", ")
        }
    }
}

/// A label's value refused: (label, why).
pub type Refusal = (String, String);

/// Read `labels` (the service's `sluice.*` ones, trimmed values): the
/// policy, every label refused (so all can be fixed at once), and the ones
/// nobody reads.
pub fn parse(labels: &[(&str, &str)]) -> (Policy, Vec<Refusal>, Vec<String>) {
    let mut p = Policy::default();
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    let mut hsts_flags = (None, None);
    // Labels that qualify another: (value, the label they need).
    let mut burst = None;
    let mut realm = None;
    let mut health = (None, None, None);
    let mut status = None;
    for &(key, value) in labels {
        let result: Result<(), String> = match key {
            TIMEOUT_CONNECT => duration_ms(value).map(|v| p.connect_timeout_ms = Some(v)),
            TIMEOUT_READ => duration_ms(value).map(|v| p.read_timeout_ms = Some(v)),
            TIMEOUT_SEND => duration_ms(value).map(|v| p.send_timeout_ms = Some(v)),
            MAX_BODY_SIZE => size(value).map(|v| p.max_body_bytes = Some(v)),
            HSTS => duration(value, MAX_HSTS_MS).and_then(|ms| {
                let seconds = u32::try_from(ms / 1000)
                    .ok()
                    .filter(|s| *s > 0 && ms % 1000 == 0)
                    .ok_or("must be whole seconds, at least 1s")?;
                p.hsts = Some(Hsts {
                    max_age_seconds: seconds,
                    include_subdomains: false,
                    preload: false,
                });
                Ok(())
            }),
            HSTS_SUBDOMAINS => parse_bool(value).map(|b| hsts_flags.0 = Some(b)),
            HSTS_PRELOAD => parse_bool(value).map(|b| hsts_flags.1 = Some(b)),
            ALLOW => networks(value).map(|v| p.allow = v),
            RETRIES => value
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_RETRIES)
                .map(|n| p.retries = Some(n))
                .ok_or_else(|| format!("must be a number from 0 to {MAX_RETRIES}")),
            COMPRESSION => parse_bool(value).map(|b| p.compression = Some(b)),
            PROTOCOL => {
                let protocol = match value {
                    "http" => Ok(Protocol::Http),
                    "h2c" => Ok(Protocol::H2c),
                    "grpc" => Ok(Protocol::Grpc),
                    _ => Err("must be http, h2c or grpc".to_owned()),
                };
                protocol.map(|v| p.protocol = v)
            }
            RATE_LIMIT => traffic::rate(value).map(|per_second| {
                p.rate_limit = Some(RateLimit {
                    per_second,
                    burst: per_second,
                })
            }),
            RATE_LIMIT_BURST => traffic::burst(value).map(|b| burst = Some(b)),
            AUTH_BASIC => traffic::secret_name(value).map(|secret| {
                p.basic_auth = Some(BasicAuth {
                    secret,
                    realm: DEFAULT_REALM.into(),
                })
            }),
            AUTH_REALM => traffic::realm(value).map(|r| realm = Some(r)),
            HEALTH_PATH => traffic::health_path(value).map(|path| {
                p.health_check = Some(HealthCheck {
                    path,
                    interval_ms: DEFAULT_HEALTH_INTERVAL_MS,
                    fall: DEFAULT_FALL,
                    rise: DEFAULT_RISE,
                })
            }),
            HEALTH_INTERVAL => duration(value, MAX_HEALTH_INTERVAL_MS).and_then(|ms| {
                let ms = u32::try_from(ms).expect("at most 1 h");
                if ms < MIN_HEALTH_INTERVAL_MS {
                    return Err(format!("must be at least {MIN_HEALTH_INTERVAL_MS}ms"));
                }
                health.0 = Some(ms);
                Ok(())
            }),
            HEALTH_FALL => traffic::check_count(value).map(|n| health.1 = Some(n)),
            HEALTH_RISE => traffic::check_count(value).map(|n| health.2 = Some(n)),
            PATH_REDIRECT => traffic::path_redirects(value).map(|r| p.path_redirects = r),
            PATH_REDIRECT_STATUS => traffic::redirect_status(value).map(|s| status = Some(s)),
            REWRITE => traffic::rewrite(value).map(|r| p.rewrite = Some(r)),
            _ => {
                if let Some(name) = key.strip_prefix(RESPONSE_HEADER) {
                    header(name, value, FORBIDDEN_RESPONSE).map(|h| p.response_headers.push(h))
                } else if let Some(name) = key.strip_prefix(REQUEST_HEADER) {
                    header(name, value, FORBIDDEN_REQUEST).map(|h| p.request_headers.push(h))
                } else {
                    unknown.push(key.to_owned());
                    Ok(())
                }
            }
        };
        if let Err(why) = result {
            refused.push((key.to_owned(), format!("{why} (value {value:?})")));
        }
    }
    for (list, prefix) in [
        (&mut p.response_headers, RESPONSE_HEADER),
        (&mut p.request_headers, REQUEST_HEADER),
    ] {
        list.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        for pair in list.windows(2) {
            if pair[0].0.eq_ignore_ascii_case(&pair[1].0) {
                refused.push((
                    format!("{prefix}{}", pair[1].0),
                    format!(
                        "sets header {} twice (names are case-insensitive)",
                        pair[1].0
                    ),
                ));
            }
        }
        if list.len() > MAX_HEADERS {
            refused.push((
                format!("{prefix}*"),
                format!("sets {} headers, more than {MAX_HEADERS}", list.len()),
            ));
        }
    }
    match (&mut p.hsts, hsts_flags) {
        (Some(h), (subdomains, preload)) => {
            h.include_subdomains = subdomains.unwrap_or(false);
            h.preload = preload.unwrap_or(false);
        }
        (None, (Some(_), _)) => refused.push((HSTS_SUBDOMAINS.into(), format!("needs {HSTS}"))),
        (None, (_, Some(_))) => refused.push((HSTS_PRELOAD.into(), format!("needs {HSTS}"))),
        _ => {}
    }
    let mut needs = |set: bool, label: &str, needed: &str| {
        if !set {
            refused.push((label.into(), format!("needs {needed}")));
        }
    };
    match (&mut p.rate_limit, burst) {
        (Some(r), Some(b)) => r.burst = b,
        (None, Some(_)) => needs(false, RATE_LIMIT_BURST, RATE_LIMIT),
        _ => {}
    }
    match (&mut p.basic_auth, realm) {
        (Some(a), Some(r)) => a.realm = r,
        (None, Some(_)) => needs(false, AUTH_REALM, AUTH_BASIC),
        _ => {}
    }
    if let Some(h) = &mut p.health_check {
        h.interval_ms = health.0.unwrap_or(h.interval_ms);
        h.fall = health.1.unwrap_or(h.fall);
        h.rise = health.2.unwrap_or(h.rise);
    } else {
        needs(health.0.is_none(), HEALTH_INTERVAL, HEALTH_PATH);
        needs(health.1.is_none(), HEALTH_FALL, HEALTH_PATH);
        needs(health.2.is_none(), HEALTH_RISE, HEALTH_PATH);
    }
    if let Some(status) = status {
        needs(
            !p.path_redirects.is_empty(),
            PATH_REDIRECT_STATUS,
            PATH_REDIRECT,
        );
        p.path_redirects.iter_mut().for_each(|r| r.status = status);
    }
    if p.hsts.is_some()
        && p.response_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("strict-transport-security"))
    {
        refused.push((
            HSTS.into(),
            format!("and {RESPONSE_HEADER}Strict-Transport-Security both set HSTS; keep one"),
        ));
    }
    (p, refused, unknown)
}

/// `500ms`, `5s`, `2m`, `1h` (one number, one unit) → milliseconds, from
/// 1 ms to 24 h.
fn duration_ms(v: &str) -> Result<u32, String> {
    let ms = duration(v, MAX_DURATION_MS)?;
    Ok(u32::try_from(ms).expect("at most 24 h"))
}

/// A duration (as [`duration_ms`], also in days), from 1 ms to `limit_ms`.
fn duration(v: &str, limit_ms: u64) -> Result<u64, String> {
    const ERR: &str = "must be a duration such as 500ms, 5s, 2m, 1h or 365d";
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..digits].parse().map_err(|_| ERR.to_owned())?;
    let per = match &v[digits..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(ERR.into()),
    };
    match n.checked_mul(per) {
        Some(ms) if ms > 0 && ms <= limit_ms => Ok(ms),
        _ => Err(format!("{ERR}, from 1ms to {}s", limit_ms / 1000)),
    }
}

/// Bytes, or with a `k`, `m` or `g` suffix (powers of 1024); `0` no limit.
fn size(v: &str) -> Result<u64, String> {
    const ERR: &str = "must be a size such as 512k, 10m or 1g (or 0 for no limit)";
    let (digits, per) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ERR.into());
    }
    let n: u64 = digits.parse().map_err(|_| ERR.to_owned())?;
    let bytes = n.checked_mul(per).ok_or(ERR)?;
    if bytes > MAX_BODY {
        return Err(format!("{ERR}; at most 64g"));
    }
    Ok(bytes)
}

fn header(name: &str, value: &str, forbidden: &[&str]) -> Result<(String, String), String> {
    sluice_input_rules::header_name(name)?;
    sluice_input_rules::header_value(value)?;
    if forbidden.iter().any(|f| name.eq_ignore_ascii_case(f)) {
        return Err(format!("sets {name}, which the proxy must own"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Comma-separated networks or addresses → canonical CIDRs.
fn networks(v: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let net = network(item)?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    if out.is_empty() {
        return Err("lists no network".into());
    }
    if out.len() > MAX_NETWORKS {
        return Err(format!(
            "lists {} networks, more than {MAX_NETWORKS}",
            out.len()
        ));
    }
    Ok(out)
}

/// `10.1.2.3` → `10.1.2.3/32`; `10.1.2.3/8` → `10.0.0.0/8`.
fn network(item: &str) -> Result<String, String> {
    let bad = || format!("{item:?} is not an IP address or a network such as 10.0.0.0/8");
    let (addr, len) = match item.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
        None => (item, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let text = match addr {
        IpAddr::V4(a) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return Err(bad());
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            format!("{}/{len}", std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return Err(bad());
            }
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            format!("{}/{len}", std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    sluice_input_rules::cidr(&text)?;
    Ok(text)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
