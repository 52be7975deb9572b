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
//!
//! Layout: [`table`] lists every label once (name, reader, one line of
//! documentation: docs/labels.md is generated from it); [`values`] holds the
//! value parsers (with `sluice-input-rules`, the rules the plugins check
//! again); [`combinations`] the cross-label rules. Adding a label is a
//! name, a [`ServiceRoute`] field and a table row.

use std::collections::HashMap;
use std::fmt;

mod combinations;
pub mod policy;
mod policy_traffic;
pub mod table;
mod values;

pub use values::{normalize_host, parse_bool, parse_nginx_time, parse_path};

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
    /// Sluice's own per-service policies (`sluice.*` labels).
    /// The `sluice.*` labels' policy; none when they ask for nothing (most
    /// services: no copy, compare or drop of an empty one per round).
    pub policy: Option<Box<policy::Policy>>,
    /// `sluice.tls = acme`: the hosts' certificates come from ACME.
    pub acme: bool,
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

    // Neither hosts nor a (valid or not) default_backend: not ours.
    let default_backend = get(DEFAULT_BACKEND).map(parse_bool);
    if get(HOSTS).is_none() && !matches!(default_backend, Some(Ok(true) | Err(_))) {
        return Parsed::NotRouted;
    }
    let mut p = Parser::default();
    let mut route = ServiceRoute::default();
    for label in table::TABLE {
        match (label.kind, get(label.name)) {
            (table::Kind::Read(read) | table::Kind::Required(read, _), Some(value)) => {
                if let Err(message) = read(&mut route, value) {
                    p.error(label.name, format!("{message} (value {value:?})"));
                }
            }
            (table::Kind::Required(_, why), None) => p.error(label.name, why),
            _ => {}
        }
    }
    let mut sluice: Vec<(&str, &str)> = labels
        .iter()
        .filter(|(k, _)| k.starts_with(policy::PREFIX))
        .map(|(k, v)| (k.as_str(), v.trim()))
        .collect();
    if let Some(i) = sluice.iter().position(|(k, _)| *k == policy::TLS) {
        match sluice.remove(i).1 {
            "acme" => route.acme = true,
            other => p.error(
                policy::TLS,
                format!("must be `acme` (value {other:?}); leave it out for HTTP or com.docker.lb.ssl_cert"),
            ),
        }
    }
    let (service_policy, refused, unknown) = policy::parse(&sluice);
    route.policy = (!service_policy.is_default()).then(|| Box::new(service_policy));
    for (label, message) in refused {
        p.error(&label, message);
    }
    let mut unknown = unknown;
    unknown.sort_unstable();
    for key in unknown {
        p.warn(&key, "is not a label Sluice knows; ignored");
    }
    combinations::check(&mut p, &route, labels);
    // Labels read by nobody, in name order.
    let mut unread: Vec<&str> = ours.iter().map(|(k, _)| *k).collect();
    unread.sort_unstable();
    for key in unread {
        match table::find(key).map(|l| l.kind) {
            None => p.warn(key, "is not a label Sluice knows; ignored"),
            Some(table::Kind::Ignored(why)) => p.warn(key, why),
            Some(_) => {}
        }
    }

    if p.errors.is_empty() {
        Parsed::Routed(Box::new(route), p.warnings)
    } else {
        Parsed::Invalid(p.errors, p.warnings)
    }
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
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz;
