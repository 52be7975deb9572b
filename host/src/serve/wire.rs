//! The JSON documents exchanged between the daemon and its proxy agents.
//! Defined here rather than reusing the WIT types so that an agent image and
//! a daemon of different builds keep understanding each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::render::Revision;
use crate::wit::latest::Reload;

/// One cluster's rendered config, as an agent installs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionDoc {
    pub cluster: String,
    /// Content hash of `files`: the revision's identity.
    pub hash: String,
    /// The main config first.
    pub files: Vec<FileDoc>,
    /// argv; `{config}` stands for the main file's path.
    pub validate_command: Vec<String>,
    pub reload: ReloadDoc,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDoc {
    pub path: String,
    pub contents: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadDoc {
    /// Signal name ("HUP", "SIGUSR2") for the proxy's main process.
    Signal(String),
    /// argv; `{config}` stands for the main file's path.
    Command(Vec<String>),
}

impl RevisionDoc {
    pub fn from_revision(cluster: &str, revision: &Revision) -> RevisionDoc {
        RevisionDoc {
            cluster: cluster.to_owned(),
            hash: revision.hash.clone(),
            files: revision
                .files
                .iter()
                .map(|f| FileDoc {
                    path: f.path.clone(),
                    contents: f.contents.clone(),
                })
                .collect(),
            validate_command: revision.info.validate_command.clone(),
            reload: match &revision.info.reload {
                Reload::Signal(s) => ReloadDoc::Signal(s.clone()),
                Reload::Command(argv) => ReloadDoc::Command(argv.clone()),
            },
        }
    }

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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub revision: String,
    pub message: String,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub clusters: BTreeMap<String, ClusterStatus>,
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
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
