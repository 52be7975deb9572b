//! One service's `com.docker.lb.*` labels (reference §2) → a typed [`ServiceRoute`].
//!
//! Pure and per service: whether the service's networks, tasks or cluster exist
//! is the planner's business. Decisions where Interlock was vague:
//! - Booleans take Go's `strconv.ParseBool` spellings (`true`, `1`, `t`, `TRUE`,
//!   ...), since Interlock is Go; anything else is an error.
//! - Host names are trimmed, lower-cased and converted to their A-label
//!   (punycode) form; already-punycode names are checked. Letters, digits, `-`
//!   and `_` are allowed in a DNS label (nginx and HAProxy accept `_`, and
//!   internal names use it). A leading `*.` wildcard label is accepted (nginx
//!   `server_name` and SNI maps support it); `*` anywhere else is refused. Empty
//!   items from stray commas are skipped, duplicates dropped.
//! - Paths (context roots, websocket endpoints) must start with `/` and hold
//!   only URL-safe characters, so no renderer ever has to quote them.
//! - `redirects` targets must be absolute `http(s)://` URLs of safe characters.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

pub const PREFIX: &str = "com.docker.lb.";

pub const HOSTS: &str = "com.docker.lb.hosts";
pub const PORT: &str = "com.docker.lb.port";
pub const NETWORK: &str = "com.docker.lb.network";
pub const CONTEXT_ROOT: &str = "com.docker.lb.context_root";
pub const CONTEXT_ROOT_REWRITE: &str = "com.docker.lb.context_root_rewrite";
pub const SSL_CERT: &str = "com.docker.lb.ssl_cert";
pub const SSL_KEY: &str = "com.docker.lb.ssl_key";
pub const SSL_PASSTHROUGH: &str = "com.docker.lb.ssl_passthrough";
pub const SSL_BACKEND: &str = "com.docker.lb.ssl_backend";
pub const SSL_BACKEND_TLS_VERIFY: &str = "com.docker.lb.ssl_backend_tls_verify";
pub const SSL_ONLY: &str = "com.docker.lb.ssl_only";
pub const WEBSOCKET_ENDPOINTS: &str = "com.docker.lb.websocket_endpoints";
pub const SERVICE_CLUSTER: &str = "com.docker.lb.service_cluster";
pub const STICKY_SESSION_COOKIE: &str = "com.docker.lb.sticky_session_cookie";
pub const IP_HASH: &str = "com.docker.lb.ip_hash";
pub const REDIRECTS: &str = "com.docker.lb.redirects";
pub const BACKEND_MODE: &str = "com.docker.lb.backend_mode";
pub const DEFAULT_BACKEND: &str = "com.docker.lb.default_backend";
pub const MAX_FAILS: &str = "com.docker.lb.max_fails";
pub const FAIL_TIMEOUT: &str = "com.docker.lb.fail_timeout";
/// Sluice's own: the service's share of an upstream it shares with others.
pub const WEIGHT: &str = "com.docker.lb.weight";

const KNOWN: &[&str] = &[
    HOSTS,
    PORT,
    NETWORK,
    CONTEXT_ROOT,
    CONTEXT_ROOT_REWRITE,
    SSL_CERT,
    SSL_KEY,
    SSL_PASSTHROUGH,
    SSL_BACKEND,
    SSL_BACKEND_TLS_VERIFY,
    WEBSOCKET_ENDPOINTS,
    SERVICE_CLUSTER,
    STICKY_SESSION_COOKIE,
    IP_HASH,
    REDIRECTS,
    BACKEND_MODE,
    DEFAULT_BACKEND,
    MAX_FAILS,
    FAIL_TIMEOUT,
    WEIGHT,
];

/// `com.docker.lb.weight` range; 1000 leaves room for 0.1 % steps.
pub const WEIGHT_MAX: u32 = 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendMode {
    /// One server per running task.
    #[default]
    Task,
    /// One server: the service's virtual IP.
    Vip,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVerify {
    #[default]
    None,
    Required,
}

/// One `redirects` pair. `source_host` is normalised like `hosts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectRule {
    /// "http" or "https"; none when the source was a bare host.
    pub scheme: Option<String>,
    pub source_host: String,
    pub target: String,
}

/// Everything a service's labels ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRoute {
    /// Normalised, deduplicated, in label order. Empty only for a default backend.
    pub hosts: Vec<String>,
    pub port: u16,
    pub network: Option<String>,
    pub context_root: Option<String>,
    pub context_root_rewrite: bool,
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
    pub ssl_passthrough: bool,
    pub ssl_backend: bool,
    pub ssl_backend_tls_verify: TlsVerify,
    pub websocket_endpoints: Vec<String>,
    /// None when the label is absent (the service goes to the `""` cluster).
    pub service_cluster: Option<String>,
    pub sticky_session_cookie: Option<String>,
    pub ip_hash: bool,
    pub redirects: Vec<RedirectRule>,
    pub backend_mode: BackendMode,
    pub default_backend: bool,
    pub max_fails: Option<u32>,
    pub fail_timeout_seconds: Option<u32>,
    pub weight: Option<u32>,
}

/// A label the service cannot be routed with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("label {label}: {message}")]
pub struct LabelError {
    pub label: String,
    pub message: String,
}

/// A label that is ignored or has no effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelWarning {
    pub label: String,
    pub message: String,
}

impl fmt::Display for LabelWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "label {}: {}", self.label, self.message)
    }
}

/// The outcome for one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// No `hosts` and no `default_backend`: not Sluice's business.
    NotRouted,
    Routed(Box<ServiceRoute>, Vec<LabelWarning>),
    /// Every bad label, so the user can fix them in one go.
    Invalid(Vec<LabelError>, Vec<LabelWarning>),
}

/// Parse a service's labels (`Spec.Labels`).
pub fn parse(labels: &HashMap<String, String>) -> Parsed {
    // A service has a handful of these among its labels: scanning them beats
    // hashing every key asked for below.
    let ours: Vec<(&str, &str)> = labels
        .iter()
        .filter(|(k, _)| k.starts_with(PREFIX))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let get = |key: &str| ours.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim());
    let mut p = Parser::default();

    let default_backend = p.opt(DEFAULT_BACKEND, get(DEFAULT_BACKEND), parse_bool);
    let hosts = get(HOSTS);
    if hosts.is_none() && default_backend != Some(true) && p.errors.is_empty() {
        return Parsed::NotRouted;
    }
    let mut route = ServiceRoute {
        default_backend: default_backend.unwrap_or(false),
        ..ServiceRoute::default()
    };
    if let Some(v) = hosts {
        route.hosts = p.opt(HOSTS, Some(v), parse_hosts).unwrap_or_default();
    }
    match get(PORT) {
        Some(v) => route.port = p.opt(PORT, Some(v), parse_port).unwrap_or_default(),
        None => p.error(PORT, "is required (the port the service listens on)"),
    }
    route.network = p.opt(NETWORK, get(NETWORK), parse_network_name);
    route.context_root = p.opt(CONTEXT_ROOT, get(CONTEXT_ROOT), parse_path);
    route.context_root_rewrite = p.flag(CONTEXT_ROOT_REWRITE, get(CONTEXT_ROOT_REWRITE));
    route.ssl_cert = p.opt(SSL_CERT, get(SSL_CERT), parse_secret_name);
    route.ssl_key = p.opt(SSL_KEY, get(SSL_KEY), parse_secret_name);
    route.ssl_passthrough = p.flag(SSL_PASSTHROUGH, get(SSL_PASSTHROUGH));
    route.ssl_backend = p.flag(SSL_BACKEND, get(SSL_BACKEND));
    route.ssl_backend_tls_verify = p
        .opt(
            SSL_BACKEND_TLS_VERIFY,
            get(SSL_BACKEND_TLS_VERIFY),
            parse_verify,
        )
        .unwrap_or_default();
    route.websocket_endpoints = p
        .opt(WEBSOCKET_ENDPOINTS, get(WEBSOCKET_ENDPOINTS), parse_paths)
        .unwrap_or_default();
    route.service_cluster = get(SERVICE_CLUSTER).map(str::to_owned);
    route.sticky_session_cookie = p.opt(
        STICKY_SESSION_COOKIE,
        get(STICKY_SESSION_COOKIE),
        parse_cookie_name,
    );
    route.ip_hash = p.flag(IP_HASH, get(IP_HASH));
    route.backend_mode = p
        .opt(BACKEND_MODE, get(BACKEND_MODE), parse_backend_mode)
        .unwrap_or_default();
    route.max_fails = p.opt(MAX_FAILS, get(MAX_FAILS), parse_u32);
    route.fail_timeout_seconds = p.opt(FAIL_TIMEOUT, get(FAIL_TIMEOUT), parse_nginx_time);
    route.weight = p.opt(WEIGHT, get(WEIGHT), parse_weight);
    let redirects = p.opt(REDIRECTS, get(REDIRECTS), |v| {
        parse_redirects(v, &route.hosts)
    });
    route.redirects = redirects.unwrap_or_default();

    check_combinations(&mut p, &route, labels);
    for key in unknown_labels(labels) {
        if key == SSL_ONLY {
            p.warn(
                SSL_ONLY,
                "is ignored: Interlock never implemented it; use com.docker.lb.redirects \
                 (e.g. http://HOST,https://HOST) to send HTTP to HTTPS",
            );
        } else {
            p.warn(key, "is not a label Sluice knows; ignored");
        }
    }

    if p.errors.is_empty() {
        Parsed::Routed(Box::new(route), p.warnings)
    } else {
        Parsed::Invalid(p.errors, p.warnings)
    }
}

/// Cross-label rules: combinations a proxy cannot render or that silently do nothing.
fn check_combinations(p: &mut Parser, r: &ServiceRoute, labels: &HashMap<String, String>) {
    let has = |k: &str| labels.contains_key(k);
    if r.default_backend && r.hosts.is_empty() {
        // Host-scoped labels on a default backend without hosts: said, not dropped.
        let unused: [(&str, &str); 5] = [
            (
                SSL_CERT,
                "names no host's certificate: a default_backend without com.docker.lb.hosts gets \
                 the names no service routes, over HTTPS with the cluster's first certificate \
                 (as HAProxy's default certificate); not used",
            ),
            (SSL_KEY, "is not used: see com.docker.lb.ssl_cert"),
            (
                CONTEXT_ROOT,
                "is not applied: a default_backend without com.docker.lb.hosts takes every path \
                 of the names no service routes",
            ),
            (
                WEBSOCKET_ENDPOINTS,
                "is not applied: a default_backend without com.docker.lb.hosts has no endpoints \
                 of its own (give it hosts to route WebSocket paths)",
            ),
            (
                SSL_PASSTHROUGH,
                "is not applied: TLS for names no service routes is terminated with the \
                 cluster's first certificate",
            ),
        ];
        for (label, message) in unused {
            if has(label) {
                p.warn(label, message);
            }
        }
    }
    if r.ssl_key.is_some() && r.ssl_cert.is_none() && has(SSL_KEY) {
        p.error(SSL_KEY, "is set without com.docker.lb.ssl_cert");
    }
    if r.sticky_session_cookie.is_some() && r.ip_hash {
        p.error(
            IP_HASH,
            "cannot be combined with com.docker.lb.sticky_session_cookie (a proxy has one balancing method per upstream)",
        );
    }
    if r.ssl_passthrough {
        if r.context_root.is_some() {
            p.error(
                CONTEXT_ROOT,
                "cannot be combined with com.docker.lb.ssl_passthrough (the proxy never sees the path of passed-through TLS)",
            );
        }
        if r.ssl_cert.is_some() {
            p.warn(
                SSL_CERT,
                "is ignored with com.docker.lb.ssl_passthrough (the service terminates TLS itself)",
            );
        }
    }
    if r.context_root_rewrite && r.context_root.is_none() {
        p.warn(
            CONTEXT_ROOT_REWRITE,
            "has no effect without com.docker.lb.context_root",
        );
    }
    if r.backend_mode == BackendMode::Vip && (r.sticky_session_cookie.is_some() || r.ip_hash) {
        let label = if r.ip_hash {
            IP_HASH
        } else {
            STICKY_SESSION_COOKIE
        };
        p.warn(
            label,
            "has no effect with backend_mode=vip (the upstream has one server)",
        );
    }
}

fn unknown_labels(labels: &HashMap<String, String>) -> BTreeSet<&str> {
    labels
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with(PREFIX) && !KNOWN.contains(k))
        .collect()
}

#[derive(Default)]
struct Parser {
    errors: Vec<LabelError>,
    warnings: Vec<LabelWarning>,
}

impl Parser {
    fn error(&mut self, label: &str, message: impl Into<String>) {
        self.errors.push(LabelError {
            label: label.to_owned(),
            message: message.into(),
        });
    }

    fn warn(&mut self, label: &str, message: impl Into<String>) {
        self.warnings.push(LabelWarning {
            label: label.to_owned(),
            message: message.into(),
        });
    }

    /// Parse an optional label; a bad value is recorded and read as absent.
    fn opt<T>(
        &mut self,
        label: &str,
        value: Option<&str>,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match f(value?) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(
                    label,
                    format!("{message} (value {:?})", value.unwrap_or_default()),
                );
                None
            }
        }
    }

    fn flag(&mut self, label: &str, value: Option<&str>) -> bool {
        self.opt(label, value, parse_bool).unwrap_or(false)
    }
}

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
fn parse_network_name(v: &str) -> Result<String, String> {
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

fn parse_port(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("must be a port number from 1 to 65535".into()),
    }
}

fn parse_u32(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .map_err(|_| "must be a non-negative integer".into())
}

fn parse_weight(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(w) if (1..=WEIGHT_MAX).contains(&w) => Ok(w),
        _ => Err(format!("must be an integer from 1 to {WEIGHT_MAX}")),
    }
}

fn parse_verify(v: &str) -> Result<TlsVerify, String> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Ok(TlsVerify::None),
        "required" => Ok(TlsVerify::Required),
        _ => Err("must be none or required".into()),
    }
}

fn parse_backend_mode(v: &str) -> Result<BackendMode, String> {
    match v.to_ascii_lowercase().as_str() {
        "task" => Ok(BackendMode::Task),
        "vip" => Ok(BackendMode::Vip),
        _ => Err("must be task or vip".into()),
    }
}

/// Docker's secret name rule (swarmkit `validateSecretSpec`): 1–64 characters,
/// alphanumerics plus `-_.` inside. It becomes a file name under `/run/secrets`.
fn parse_secret_name(v: &str) -> Result<String, String> {
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
fn parse_cookie_name(v: &str) -> Result<String, String> {
    sluice_input_rules::cookie_name(v)?;
    Ok(v.to_owned())
}

/// A URL path prefix of characters no proxy config needs to quote.
pub fn parse_path(v: &str) -> Result<String, String> {
    sluice_input_rules::url_path(v)?;
    Ok(v.to_owned())
}

fn parse_paths(v: &str) -> Result<Vec<String>, String> {
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

fn parse_hosts(v: &str) -> Result<Vec<String>, String> {
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
fn parse_redirects(v: &str, hosts: &[String]) -> Result<Vec<RedirectRule>, String> {
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

fn parse_redirect_target(dst: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The minimal routed labels plus `extra`.
    fn parse_with(extra: &[(&str, &str)]) -> Parsed {
        let mut l = labels(&[(HOSTS, "demo.local"), (PORT, "8080")]);
        l.extend(labels(extra));
        parse(&l)
    }

    fn routed(extra: &[(&str, &str)]) -> ServiceRoute {
        match parse_with(extra) {
            Parsed::Routed(r, _) => *r,
            other => panic!("{extra:?}: expected Routed, got {other:?}"),
        }
    }

    /// The labels named by errors, or panic if it parsed.
    fn error_labels(extra: &[(&str, &str)]) -> Vec<String> {
        match parse_with(extra) {
            Parsed::Invalid(errors, _) => errors.into_iter().map(|e| e.label).collect(),
            other => panic!("{extra:?}: expected Invalid, got {other:?}"),
        }
    }

    fn warning_labels(extra: &[(&str, &str)]) -> Vec<String> {
        match parse_with(extra) {
            Parsed::Routed(_, w) | Parsed::Invalid(_, w) => {
                w.into_iter().map(|w| w.label).collect()
            }
            Parsed::NotRouted => vec![],
        }
    }

    #[test]
    fn not_routed_without_hosts_or_default_backend() {
        for l in [
            labels(&[]),
            labels(&[(PORT, "8080")]),
            labels(&[("com.docker.lb.bogus", "x"), (PORT, "abc")]),
            labels(&[(DEFAULT_BACKEND, "false"), (PORT, "8080")]),
            labels(&[("com.docker.stack.namespace", "demo")]),
        ] {
            assert_eq!(parse(&l), Parsed::NotRouted, "{l:?}");
        }
    }

    #[test]
    fn host_labels_of_a_default_backend_without_hosts_are_said_not_dropped() {
        for label in [SSL_CERT, CONTEXT_ROOT, WEBSOCKET_ENDPOINTS, SSL_PASSTHROUGH] {
            let value = match label {
                SSL_CERT => "cert",
                SSL_PASSTHROUGH => "true",
                _ => "/ws",
            };
            let Parsed::Routed(_, w) = parse(&labels(&[
                (DEFAULT_BACKEND, "true"),
                (PORT, "80"),
                (label, value),
            ])) else {
                panic!("{label}: still routed");
            };
            assert!(w.iter().any(|w| w.label == label), "{label}: {w:?}");
        }
        // With hosts they are the hosts' labels: nothing to say.
        let Parsed::Routed(_, w) = parse(&labels(&[
            (DEFAULT_BACKEND, "true"),
            (HOSTS, "a.example"),
            (PORT, "80"),
            (CONTEXT_ROOT, "/app"),
        ])) else {
            panic!()
        };
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn default_backend_needs_only_port() {
        let Parsed::Routed(r, w) = parse(&labels(&[(DEFAULT_BACKEND, "true"), (PORT, "80")]))
        else {
            panic!()
        };
        assert!(r.default_backend && r.hosts.is_empty() && w.is_empty());
        assert_eq!(r.port, 80);
        let Parsed::Invalid(e, _) = parse(&labels(&[(DEFAULT_BACKEND, "true")])) else {
            panic!()
        };
        assert_eq!(e[0].label, PORT);
        let Parsed::Invalid(e, _) = parse(&labels(&[(DEFAULT_BACKEND, "yes"), (PORT, "80")]))
        else {
            panic!()
        };
        assert_eq!(e[0].label, DEFAULT_BACKEND);
    }

    #[test]
    fn hosts_good() {
        for (value, want) in [
            ("demo.local", vec!["demo.local"]),
            ("demo.A", vec!["demo.a"]),
            (" Example.COM , test.com ", vec!["example.com", "test.com"]),
            ("a.com,a.com,A.com", vec!["a.com"]),
            ("a.com,,b.com,", vec!["a.com", "b.com"]),
            ("localhost", vec!["localhost"]),
            ("*.example.com", vec!["*.example.com"]),
            ("my_app.internal", vec!["my_app.internal"]),
            ("bücher.example", vec!["xn--bcher-kva.example"]),
            ("xn--bcher-kva.example", vec!["xn--bcher-kva.example"]),
            ("BÜCHER.example", vec!["xn--bcher-kva.example"]),
            ("example.com.", vec!["example.com"]),
            ("10.0.0.1", vec!["10.0.0.1"]),
        ] {
            assert_eq!(routed(&[(HOSTS, value)]).hosts, want, "{value}");
        }
    }

    #[test]
    fn hosts_bad() {
        for value in [
            "",
            " , ",
            "exa mple.com",
            "example.com:8080",
            "http://example.com",
            "foo.*.com",
            "*example.com",
            "-foo.com",
            "foo-.com",
            "a..b",
            "foo/bar",
            "a;b.com",
            "xn--a.example",
            &format!("{}.com", "a".repeat(64)),
            // nginx's catch-all server name: accepted here once, refused by the plugin.
            "_",
        ] {
            assert_eq!(error_labels(&[(HOSTS, value)]), [HOSTS], "{value:?}");
        }
    }

    #[test]
    fn port_table() {
        for (value, want) in [
            ("8080", Some(8080)),
            ("1", Some(1)),
            ("65535", Some(65535)),
            (" 80 ", Some(80)),
        ] {
            assert_eq!(Some(routed(&[(PORT, value)]).port), want, "{value}");
        }
        for value in ["0", "65536", "-1", "http", "80a", "8080.0", ""] {
            assert_eq!(error_labels(&[(PORT, value)]), [PORT], "{value:?}");
        }
        let Parsed::Invalid(e, _) = parse(&labels(&[(HOSTS, "a.com")])) else {
            panic!()
        };
        assert_eq!(e[0].label, PORT);
        assert!(e[0].message.contains("required"));
    }

    #[test]
    fn network_table() {
        assert_eq!(
            routed(&[(NETWORK, "demo_demo-network")]).network.as_deref(),
            Some("demo_demo-network")
        );
        assert_eq!(routed(&[]).network, None);
        assert_eq!(error_labels(&[(NETWORK, " ")]), [NETWORK]);
    }

    #[test]
    fn context_root_table() {
        for value in ["/app", "/", "/app/v1", "/a-b_c.d~e"] {
            assert_eq!(
                routed(&[(CONTEXT_ROOT, value)]).context_root.as_deref(),
                Some(value)
            );
        }
        for value in [
            "app",
            "/app path",
            "/app;evil",
            "/a{b}",
            "/a$b",
            "/a?b",
            "/a%20",
            // Longer than every plugin takes (accepted here once).
            &format!("/{}", "a".repeat(1024)),
        ] {
            assert_eq!(
                error_labels(&[(CONTEXT_ROOT, value)]),
                [CONTEXT_ROOT],
                "{value:?}"
            );
        }
    }

    #[test]
    fn context_root_rewrite_table() {
        assert!(
            routed(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "true")]).context_root_rewrite
        );
        assert!(
            !routed(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "false")])
                .context_root_rewrite
        );
        assert_eq!(
            error_labels(&[(CONTEXT_ROOT, "/app"), (CONTEXT_ROOT_REWRITE, "yes")]),
            [CONTEXT_ROOT_REWRITE]
        );
        assert_eq!(
            warning_labels(&[(CONTEXT_ROOT_REWRITE, "true")]),
            [CONTEXT_ROOT_REWRITE]
        );
    }

    #[test]
    fn booleans_table() {
        for label in [CONTEXT_ROOT_REWRITE, SSL_PASSTHROUGH, SSL_BACKEND, IP_HASH] {
            for (value, want) in [
                ("true", true),
                ("True", true),
                ("TRUE", true),
                ("1", true),
                ("t", true),
                ("false", false),
                ("0", false),
                ("F", false),
            ] {
                let context = if label == CONTEXT_ROOT_REWRITE {
                    "/x"
                } else {
                    ""
                };
                let mut l = vec![(label, value)];
                if !context.is_empty() {
                    l.push((CONTEXT_ROOT, context));
                }
                let r = routed(&l);
                let got = match label {
                    CONTEXT_ROOT_REWRITE => r.context_root_rewrite,
                    SSL_PASSTHROUGH => r.ssl_passthrough,
                    SSL_BACKEND => r.ssl_backend,
                    _ => r.ip_hash,
                };
                assert_eq!(got, want, "{label}={value}");
            }
            for value in ["yes", "on", "", "2", "truee"] {
                assert!(
                    error_labels(&[(label, value)]).contains(&label.to_string()),
                    "{label}={value:?}"
                );
            }
        }
    }

    #[test]
    fn ssl_cert_and_key_table() {
        let r = routed(&[
            (SSL_CERT, "demo_app.example.org.cert"),
            (SSL_KEY, "demo_app.example.org.key"),
        ]);
        assert_eq!(r.ssl_cert.as_deref(), Some("demo_app.example.org.cert"));
        assert_eq!(r.ssl_key.as_deref(), Some("demo_app.example.org.key"));
        assert_eq!(routed(&[(SSL_CERT, "combined.pem")]).ssl_key, None);
        for value in [
            "../etc/passwd",
            "a/b",
            "-lead",
            "trail.",
            "has space",
            &"x".repeat(65),
        ] {
            assert_eq!(error_labels(&[(SSL_CERT, value)]), [SSL_CERT], "{value:?}");
            assert_eq!(
                error_labels(&[(SSL_CERT, "ok"), (SSL_KEY, value)]),
                [SSL_KEY],
                "{value:?}"
            );
        }
        assert_eq!(error_labels(&[(SSL_KEY, "only.key")]), [SSL_KEY]);
    }

    #[test]
    fn ssl_passthrough_combinations() {
        assert!(routed(&[(SSL_PASSTHROUGH, "true")]).ssl_passthrough);
        assert_eq!(
            error_labels(&[(SSL_PASSTHROUGH, "true"), (CONTEXT_ROOT, "/app")]),
            [CONTEXT_ROOT]
        );
        assert_eq!(
            warning_labels(&[(SSL_PASSTHROUGH, "true"), (SSL_CERT, "c")]),
            [SSL_CERT]
        );
    }

    #[test]
    fn ssl_backend_tls_verify_table() {
        assert_eq!(routed(&[]).ssl_backend_tls_verify, TlsVerify::None);
        assert_eq!(
            routed(&[(SSL_BACKEND_TLS_VERIFY, "none")]).ssl_backend_tls_verify,
            TlsVerify::None
        );
        assert_eq!(
            routed(&[(SSL_BACKEND_TLS_VERIFY, "required")]).ssl_backend_tls_verify,
            TlsVerify::Required
        );
        assert_eq!(
            routed(&[(SSL_BACKEND_TLS_VERIFY, "Required")]).ssl_backend_tls_verify,
            TlsVerify::Required
        );
        for value in ["optional", "true", ""] {
            assert_eq!(
                error_labels(&[(SSL_BACKEND_TLS_VERIFY, value)]),
                [SSL_BACKEND_TLS_VERIFY],
                "{value:?}"
            );
        }
    }

    #[test]
    fn websocket_endpoints_table() {
        assert_eq!(
            routed(&[(WEBSOCKET_ENDPOINTS, "/ws, /foo,/ws,")]).websocket_endpoints,
            ["/ws", "/foo"]
        );
        assert_eq!(
            routed(&[(WEBSOCKET_ENDPOINTS, "/")]).websocket_endpoints,
            ["/"]
        );
        for value in ["ws", "/ws,foo", ",", "/w s", "/ws;"] {
            assert_eq!(
                error_labels(&[(WEBSOCKET_ENDPOINTS, value)]),
                [WEBSOCKET_ENDPOINTS],
                "{value:?}"
            );
        }
    }

    #[test]
    fn service_cluster_is_kept_verbatim() {
        assert_eq!(routed(&[]).service_cluster, None);
        assert_eq!(
            routed(&[(SERVICE_CLUSTER, "us-east")])
                .service_cluster
                .as_deref(),
            Some("us-east")
        );
        assert_eq!(
            routed(&[(SERVICE_CLUSTER, "")]).service_cluster.as_deref(),
            Some("")
        );
    }

    #[test]
    fn sticky_session_cookie_table() {
        for value in ["session", "JSESSIONID", "my-cookie", "a.b_c!#$%&'*+^`|~"] {
            assert_eq!(
                routed(&[(STICKY_SESSION_COOKIE, value)])
                    .sticky_session_cookie
                    .as_deref(),
                Some(value)
            );
        }
        let longest = "c".repeat(sluice_input_rules::MAX_COOKIE_NAME);
        assert_eq!(
            routed(&[(STICKY_SESSION_COOKIE, &longest)])
                .sticky_session_cookie
                .as_deref(),
            Some(longest.as_str())
        );
        let too_long = "c".repeat(sluice_input_rules::MAX_COOKIE_NAME + 1);
        for value in [
            "", "a b", "a;b", "a=b", "a,b", "(x)", "a\"b", "ä", &too_long,
        ] {
            assert_eq!(
                error_labels(&[(STICKY_SESSION_COOKIE, value)]),
                [STICKY_SESSION_COOKIE],
                "{value:?}"
            );
        }
        assert_eq!(
            error_labels(&[(STICKY_SESSION_COOKIE, "sid"), (IP_HASH, "true")]),
            [IP_HASH]
        );
    }

    #[test]
    fn redirects_good() {
        let r = routed(&[
            (HOSTS, "old.local,new.local,x.local"),
            (
                REDIRECTS,
                "http://old.local,http://new.local; https://OLD.local,https://new.local/path;x.local,https://x.local;",
            ),
        ]);
        let got: Vec<(Option<&str>, &str, &str)> = r
            .redirects
            .iter()
            .map(|r| {
                (
                    r.scheme.as_deref(),
                    r.source_host.as_str(),
                    r.target.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("http"), "old.local", "http://new.local"),
                (Some("https"), "old.local", "https://new.local/path"),
                (None, "x.local", "https://x.local"),
            ]
        );
    }

    /// A scheme in capitals is a URL every plugin takes (nginx refused it once).
    #[test]
    fn redirect_target_scheme_in_any_case() {
        let r = routed(&[
            (HOSTS, "old.local"),
            (REDIRECTS, "old.local,HTTPS://new.local"),
        ]);
        assert_eq!(r.redirects[0].target, "HTTPS://new.local");
    }

    #[test]
    fn redirects_bad() {
        for value in [
            "http://other.local,http://new.local",  // source not in hosts
            "http://old.local",                     // no target
            "ftp://old.local,http://new.local",     // scheme
            "http://old.local,new.local",           // relative target
            "http://old.local,http://",             // empty target
            "http://old.local,http://new local",    // unsafe target
            "http://old.local,http://new.local\";", // quote
            "http://old.local,http://a;http://old.local,http://b", // duplicate source
            // Accepted here once, then refused by the nginx plugin.
            "http://old.local,http://new.local/$host", // nginx variable
            "http://old.local,http://new.local/it's",  // quote
            ";",
        ] {
            assert_eq!(
                error_labels(&[(HOSTS, "old.local"), (REDIRECTS, value)]),
                [REDIRECTS],
                "{value:?}"
            );
        }
    }

    #[test]
    fn backend_mode_table() {
        assert_eq!(routed(&[]).backend_mode, BackendMode::Task);
        assert_eq!(
            routed(&[(BACKEND_MODE, "task")]).backend_mode,
            BackendMode::Task
        );
        assert_eq!(
            routed(&[(BACKEND_MODE, "vip")]).backend_mode,
            BackendMode::Vip
        );
        assert_eq!(
            routed(&[(BACKEND_MODE, "VIP")]).backend_mode,
            BackendMode::Vip
        );
        for value in ["dnsrr", "", "tasks"] {
            assert_eq!(
                error_labels(&[(BACKEND_MODE, value)]),
                [BACKEND_MODE],
                "{value:?}"
            );
        }
        assert_eq!(
            warning_labels(&[(BACKEND_MODE, "vip"), (IP_HASH, "true")]),
            [IP_HASH]
        );
        assert_eq!(
            warning_labels(&[(BACKEND_MODE, "vip"), (STICKY_SESSION_COOKIE, "s")]),
            [STICKY_SESSION_COOKIE]
        );
    }

    #[test]
    fn max_fails_table() {
        assert_eq!(routed(&[(MAX_FAILS, "3")]).max_fails, Some(3));
        assert_eq!(routed(&[(MAX_FAILS, "0")]).max_fails, Some(0));
        for value in ["-1", "three", "1.5", "4294967296"] {
            assert_eq!(
                error_labels(&[(MAX_FAILS, value)]),
                [MAX_FAILS],
                "{value:?}"
            );
        }
    }

    #[test]
    fn fail_timeout_table() {
        for (value, want) in [
            ("10", 10),
            ("30s", 30),
            ("1m", 60),
            ("1m30s", 90),
            ("2h", 7200),
            ("1d", 86400),
            ("1w", 604800),
            ("1000ms", 1),
            ("1s1000ms", 2),
            ("0", 0),
        ] {
            assert_eq!(
                routed(&[(FAIL_TIMEOUT, value)]).fail_timeout_seconds,
                Some(want),
                "{value}"
            );
        }
        for value in [
            "",
            "s",
            "10x",
            "1.5s",
            "-1",
            "30 s",
            "500ms",
            "1s500ms",
            "99999999999",
        ] {
            assert_eq!(
                error_labels(&[(FAIL_TIMEOUT, value)]),
                [FAIL_TIMEOUT],
                "{value:?}"
            );
        }
    }

    #[test]
    fn weight_table() {
        for (value, want) in [("1", 1), ("100", 100), ("1000", 1000)] {
            assert_eq!(routed(&[(WEIGHT, value)]).weight, Some(want));
        }
        assert_eq!(routed(&[]).weight, None);
        for value in ["0", "1001", "-5", "ten", "1.5"] {
            assert_eq!(error_labels(&[(WEIGHT, value)]), [WEIGHT], "{value:?}");
        }
    }

    #[test]
    fn unknown_and_ssl_only_labels_warn() {
        let w = match parse_with(&[
            ("com.docker.lb.hostz", "x"),
            (SSL_ONLY, "true"),
            ("com.example.other", "x"),
        ]) {
            Parsed::Routed(_, w) => w,
            other => panic!("{other:?}"),
        };
        let got: Vec<(&str, bool)> = w
            .iter()
            .map(|w| (w.label.as_str(), w.message.contains("redirects")))
            .collect();
        assert_eq!(got, [("com.docker.lb.hostz", false), (SSL_ONLY, true)]);
    }

    #[test]
    fn every_bad_label_is_reported_at_once() {
        let mut got = error_labels(&[(PORT, "0"), (WEIGHT, "0"), (BACKEND_MODE, "x")]);
        got.sort();
        assert_eq!(got, [BACKEND_MODE, PORT, WEIGHT]);
    }

    #[test]
    fn error_messages_quote_the_value() {
        let Parsed::Invalid(e, _) = parse_with(&[(PORT, "http")]) else {
            panic!()
        };
        assert!(e[0].message.contains("\"http\""), "{}", e[0]);
        assert_eq!(e[0].to_string(), format!("label {PORT}: {}", e[0].message));
    }

    #[test]
    fn every_known_label_is_accepted_together() {
        let r = routed(&[
            (HOSTS, "app.example.org,old.example.org"),
            (NETWORK, "demo_net"),
            (CONTEXT_ROOT, "/app"),
            (CONTEXT_ROOT_REWRITE, "true"),
            (SSL_CERT, "app.cert"),
            (SSL_KEY, "app.key"),
            (SSL_BACKEND, "true"),
            (SSL_BACKEND_TLS_VERIFY, "required"),
            (WEBSOCKET_ENDPOINTS, "/ws"),
            (SERVICE_CLUSTER, "east"),
            (STICKY_SESSION_COOKIE, "sid"),
            (REDIRECTS, "http://old.example.org,https://app.example.org"),
            (BACKEND_MODE, "task"),
            (DEFAULT_BACKEND, "false"),
            (MAX_FAILS, "3"),
            (FAIL_TIMEOUT, "30s"),
            (WEIGHT, "10"),
        ]);
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(warning_labels(&[]), Vec::<String>::new());
    }
}

#[cfg(test)]
#[path = "labels_fuzz.rs"]
mod fuzz;
