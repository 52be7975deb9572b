//! What can go wrong with a plugin. Every message names the plugin, and the
//! cluster when the failure happened while rendering one.

use crate::wit::latest::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: cannot read {path}: {source}")]
    Read {
        plugin: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown built-in plugin `{0}` (built in: nginx, haproxy)")]
    UnknownBuiltin(String),
    #[error("plugin {plugin}: sha256 is {actual}, but PluginSha256 pins {expected}")]
    DigestMismatch {
        plugin: String,
        expected: String,
        actual: String,
    },
    #[error("plugin {plugin}: not a Sluice renderer: {reason}")]
    NotARenderer { plugin: String, reason: String },
    #[error(
        "plugin {plugin}: targets renderer interface {found}, this Sluice supports {supported}; \
         upgrade Sluice or rebuild the plugin against a supported version"
    )]
    UnsupportedVersion {
        plugin: String,
        found: String,
        supported: String,
    },
    #[error("plugin {plugin}: failed to compile: {message}")]
    Compile { plugin: String, message: String },
    #[error("plugin {plugin}: failed to instantiate: {message}")]
    Instantiate { plugin: String, message: String },
    #[error("plugin {plugin}{}: ran past its {limit_ms} ms deadline", for_cluster(.cluster))]
    Timeout {
        plugin: String,
        cluster: Option<String>,
        limit_ms: u64,
    },
    #[error("plugin {plugin}{}: exceeded its {limit_mib} MiB memory limit", for_cluster(.cluster))]
    MemoryLimit {
        plugin: String,
        cluster: Option<String>,
        limit_mib: usize,
    },
    #[error("plugin {plugin}{}: trapped: {message}", for_cluster(.cluster))]
    Trap {
        plugin: String,
        cluster: Option<String>,
        message: String,
    },
    #[error("plugin {plugin}{}: refused the settings: {}", for_cluster(.cluster), list(.diagnostics))]
    InvalidSettings {
        plugin: String,
        cluster: Option<String>,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("plugin {plugin}{}: refused the input: {}", for_cluster(.cluster), list(.diagnostics))]
    InvalidInput {
        plugin: String,
        cluster: Option<String>,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("plugin {plugin}{}: failed: {message}", for_cluster(.cluster))]
    Failed {
        plugin: String,
        cluster: Option<String>,
        message: String,
    },
    #[error("plugin {plugin}{}: bad output: {message}", for_cluster(.cluster))]
    BadOutput {
        plugin: String,
        cluster: Option<String>,
        message: String,
    },
}

impl PluginError {
    /// Whether trying again unchanged can succeed: a file that could not be
    /// read, an instance the machine could not make (memory, mappings), or a
    /// render cut off by its wall-clock deadline (a busy machine). Everything
    /// else is the same for the same plugin and input (fuel, memory and
    /// output are deterministic): it needs a new plugin, settings or routes.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PluginError::Read { .. }
                | PluginError::Instantiate { .. }
                | PluginError::Timeout { .. }
        )
    }
}

fn for_cluster(cluster: &Option<String>) -> String {
    match cluster {
        Some(c) => format!(" (cluster {c})"),
        None => String::new(),
    }
}

/// `key: message; key: message`.
pub(crate) fn list(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| match &d.key {
            Some(k) => format!("{k}: {}", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
