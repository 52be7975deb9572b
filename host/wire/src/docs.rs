//! The JSON documents exchanged between the daemon and its proxy agents.
//! Defined here rather than reusing the WIT types so that an agent image and
//! a daemon of different builds keep understanding each other.
//!
//! A revision carries files and nothing an agent would run: the proxy's
//! commands are the agent's own settings (from the proxy service spec), and
//! the files may only land under the agent's config root. Its answer is
//! signed ([`crate::signing`]) over the exact bytes, with a sequence
//! number no older revision can repeat.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One cluster's rendered config, as an agent installs it
/// (`GET /v2/clusters/{name}/revision`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionDoc {
    pub cluster: String,
    /// Content hash of `files`: the revision's identity.
    pub hash: String,
    /// Set by the daemon when it publishes: strictly increasing across
    /// revisions and daemon restarts (at least the publication time in ms).
    /// An agent refuses a revision whose sequence is not above the last it
    /// accepted, so a recorded revision cannot be replayed.
    #[serde(default)]
    pub seq: u64,
    /// The main config first.
    pub files: Vec<FileDoc>,
    /// The certificate/key pairs the files use (paths under
    /// [`SECRETS_DIR`]): the agent, which can read them, checks each pair
    /// before anything is installed and reports the ones that fail, so the
    /// daemon can leave out only their services. Absent when no host has TLS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsPair>,
    /// The files' server slots, which an agent that drives the proxy's
    /// runtime API can set instead of reloading (see [`SlotsDoc`]). Served
    /// only to agents that ask for them (`?slots=1`): an older agent
    /// refuses fields it does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<SlotsDoc>,
}

/// A revision's server slots. Two revisions with the same `shape` differ
/// only in what their slots hold, so a proxy serving one serves the other
/// once each differing slot is set; anything else takes a reload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotsDoc {
    /// The files' hash with every slot's contents left out.
    pub shape: String,
    /// In file order.
    pub slots: Vec<SlotDoc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotDoc {
    /// HAProxy: the backend.
    pub backend: String,
    /// HAProxy: the server.
    pub name: String,
    /// None: empty (out of rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<SlotServer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotServer {
    pub address: String,
    pub port: u16,
    pub weight: u32,
}

/// Where Docker mounts a service's secrets; the only place a [`TlsPair`] may
/// point to.
pub const SECRETS_DIR: &str = "/run/secrets";

/// One host's certificate and key files; `key` None: the certificate file
/// holds the key too.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsPair {
    pub cert: String,
    #[serde(default)]
    pub key: Option<String>,
}

/// Broken pairs one report may carry (the rest are reported once the first
/// are left out).
pub const MAX_TLS_PROBLEMS: usize = 64;

/// A pair that failed the agent's check, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsProblem {
    #[serde(flatten)]
    pub pair: TlsPair,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    pub path: String,
    pub contents: String,
}

impl RevisionDoc {
    /// The main config file's path (empty for a revision without files).
    pub fn main_path(&self) -> &str {
        self.files.first().map_or("", |f| f.path.as_str())
    }
}

/// What an agent tells the daemon after each attempt to apply a revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    pub replica: String,
    /// Hash of the revision the proxy serves now (None before the first
    /// valid one).
    pub running: Option<String>,
    /// The last attempt's failure; None when it succeeded.
    pub failed: Option<Failure>,
    /// Agent's clock, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Proxy reloads since the agent started (0 from agents that predate it).
    #[serde(default)]
    pub reloads: u64,
    /// Revisions applied through the proxy's runtime API, with no reload.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runtime_updates: u64,
    /// The pairs of the last revision that failed the check (see
    /// [`RevisionDoc::tls`]); empty when every pair passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bad_tls: Vec<TlsProblem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub revision: String,
    pub message: String,
}

/// `GET /v2/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub clusters: BTreeMap<String, ClusterStatus>,
    /// The daemon's last plan as the status page shows it (routes per host,
    /// excluded services with the label at fault), for the clusters the
    /// caller may see. Its shape is the daemon's (`plan::view::View`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<serde_json::Value>,
    /// Where each `sluice.tls = acme` host's certificate stands (the full
    /// view only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acme: BTreeMap<String, AcmeHostStatus>,
}

/// One ACME host's certificate, as `sluice status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeHostStatus {
    /// `waiting` (for every proxy replica to serve its challenge route),
    /// `ordering`, `issued` or `failed`.
    pub state: String,
    /// The certificate it serves, if any: its end (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<u64>,
    /// Why the last order failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds until the next attempt after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_s: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Hash of the newest published revision.
    pub revision: Option<String>,
    pub published_ms: Option<u64>,
    pub replicas: BTreeMap<String, ReplicaStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    pub running: Option<String>,
    pub failed: Option<Failure>,
    /// Daemon's clock, milliseconds since the Unix epoch.
    pub last_seen_ms: u64,
    /// Proxy reloads the replica's agent reported since it started.
    #[serde(default)]
    pub reloads: u64,
    /// Revisions it applied at runtime, without a reload.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runtime_updates: u64,
    /// Certificate/key pairs the replica found broken in the last revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bad_tls: Vec<TlsProblem>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
