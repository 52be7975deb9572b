//! The render stage: one cluster's plan → its rendered revision.

use std::sync::Arc;

use super::isolate::{RefusedHost, isolate};
use super::{CodePolicy, Plugin, PluginError, PluginHost, PluginId};
use crate::config::Extension;
use crate::plan::ClusterPlan;
use crate::wit::latest::{Diagnostic, OutputFile, PluginInfo, RenderInput, Severity, Slot};

/// One cluster's rendered config: what the proxies of that cluster should run.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    pub extension: String,
    pub plugin: PluginId,
    pub info: PluginInfo,
    pub files: Vec<OutputFile>,
    /// BLAKE3 over every file's path and contents, hex: identical output,
    /// identical hash, so unchanged output needs no delivery.
    pub hash: String,
    /// The server slots in `files` (1.1.0 plugins that have them).
    pub slots: Vec<Slot>,
    /// With slots: the hash of the files with every slot's contents left
    /// out ([`shape_of`]). Two revisions of one shape differ only in their
    /// slots, so a proxy can go from one to the other at runtime.
    pub shape: Option<String>,
    /// Warnings from `validate-settings`.
    pub warnings: Vec<Diagnostic>,
    /// Hosts the plugin refused, left out of `files` ([`super::isolate`]).
    pub refused: Vec<RefusedHost>,
    /// The largest linear memory the plugin grew to in the renders that
    /// made this revision.
    pub peak_memory_bytes: usize,
}

impl Revision {
    /// The main config file (always the first).
    pub fn main_file(&self) -> &OutputFile {
        &self.files[0]
    }
}

/// Load the Extension's plugin (checking its pin) and its settings.
pub fn load_plugin(
    host: &PluginHost,
    ext: &Extension,
) -> Result<(Arc<Plugin>, Vec<Diagnostic>), PluginError> {
    let plugin = host.load(&ext.plugin, ext.plugin_sha256.as_deref())?;
    let diagnostics = plugin.validate_settings(&ext.config)?;
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(PluginError::InvalidSettings {
            plugin: plugin.id().to_string(),
            cluster: Some(ext.name.clone()),
            diagnostics,
        });
    }
    Ok((plugin, diagnostics))
}

/// What `ext`'s operator allows a plugin that says `info` to render
/// ([`CodePolicy::of`]): statements they wrote in the Extension's settings,
/// read with the grammars of the plugin's kind and of their own commands.
pub fn code_policy(ext: &Extension, info: &PluginInfo) -> CodePolicy {
    let commands = ext
        .proxy_command
        .iter()
        .chain(ext.proxy_validate_command.iter());
    CodePolicy::of(info, commands, &ext.config)
}

/// Render one cluster with its Extension's plugin.
pub fn render_cluster(
    host: &PluginHost,
    ext: &Extension,
    plan: &ClusterPlan,
) -> Result<Revision, PluginError> {
    let (plugin, warnings) = load_plugin(host, ext)?;
    let policy = code_policy(ext, plugin.info());
    render_with(&plugin, plan, warnings, &policy)
}

/// Render with an already loaded plugin; output that runs code in the proxy
/// against `policy` fails the render ([`super::directives`]).
pub fn render_with(
    plugin: &Plugin,
    plan: &ClusterPlan,
    warnings: Vec<Diagnostic>,
    policy: &CodePolicy,
) -> Result<Revision, PluginError> {
    let input = &plan.input;
    let config_path = config_path(input, plugin.info());
    let peak = std::cell::Cell::new(0usize);
    let render = |input: &RenderInput| {
        // The whole plan's policies, or (isolating refused hosts) those of
        // the upstreams left in `input`.
        let subset;
        let policies = if std::ptr::eq(input, &plan.input) {
            plan.policies.as_slice()
        } else {
            subset = policies_of(input, &plan.policies);
            subset.as_slice()
        };
        let (result, stats) = plugin.render_measured(input, policies, config_path);
        peak.set(peak.get().max(stats.peak_memory_bytes));
        result
    };
    let (rendered, refused) = match render(input) {
        Ok(rendered) => (rendered, Vec::new()),
        Err(e) => isolate(render, input, e)?,
    };
    let (files, slots) = (rendered.files, rendered.slots);
    policy
        .check(&files)
        .map_err(|message| PluginError::BadOutput {
            plugin: plugin.id().to_string(),
            cluster: Some(plan.extension.clone()),
            message,
        })?;
    Ok(Revision {
        extension: plan.extension.clone(),
        plugin: plugin.id().clone(),
        info: plugin.info().clone(),
        hash: hash_files(&files),
        shape: (!slots.is_empty()).then(|| shape_of(&files, &slots)),
        slots,
        files,
        warnings,
        refused,
        peak_memory_bytes: peak.get(),
    })
}

/// The proxy's main config file: the Extension's `ProxyConfigPath`, else
/// the host's path for a proxy kind it knows, the plugin's only for others.
pub fn config_path<'a>(input: &'a RenderInput, info: &'a PluginInfo) -> &'a str {
    match input.cluster.config_path.as_str() {
        "" => crate::proxies::builtin(&info.proxy)
            .map_or(info.default_config_path.as_str(), |k| k.config_path),
        set => set,
    }
}

/// The policies of the upstreams `input` names.
fn policies_of(
    input: &RenderInput,
    all: &[crate::wit::latest::RoutePolicy],
) -> Vec<crate::wit::latest::RoutePolicy> {
    let named: std::collections::BTreeSet<&str> = crate::plan::upstreams(input)
        .map(|u| u.name.as_str())
        .collect();
    all.iter()
        .filter(|p| named.contains(p.upstream.as_str()))
        .cloned()
        .collect()
}

/// The files' hash with each slot's contents replaced by its backend and
/// name (length-prefixed, as in [`hash_files`]). The slots were checked to
/// lie in order inside the files (`sluice_render`'s output check).
pub fn shape_of(files: &[OutputFile], slots: &[Slot]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"sluice shape v1\0");
    let mut slots = slots.iter().peekable();
    for (i, f) in files.iter().enumerate() {
        h.update(&(f.path.len() as u64).to_le_bytes());
        h.update(f.path.as_bytes());
        let text = f.contents.as_bytes();
        let mut at = 0;
        while let Some(s) = slots.next_if(|s| s.file as usize == i) {
            let (start, end) = (s.start as usize, s.end as usize);
            let before = text.get(at..start).unwrap_or_default();
            h.update(&(before.len() as u64).to_le_bytes());
            h.update(before);
            for part in [&s.backend, &s.name] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            at = end.max(at);
        }
        let rest = text.get(at..).unwrap_or_default();
        h.update(&(rest.len() as u64).to_le_bytes());
        h.update(rest);
    }
    h.finalize().to_hex().to_string()
}

/// Content hash of a set of files: BLAKE3, hex. Only ever compared with
/// itself (revision identity, config object names), and a 10k-host config
/// hashes in a fraction of SHA-256's time, on every core.
pub fn hash_files(files: &[OutputFile]) -> String {
    // Below this, spreading one file over threads costs more than it saves.
    const PARALLEL_BYTES: usize = 256 * 1024;
    let mut h = blake3::Hasher::new();
    for f in files {
        // Length-prefix both parts so no two different file sets hash alike.
        h.update(&(f.path.len() as u64).to_le_bytes());
        h.update(f.path.as_bytes());
        h.update(&(f.contents.len() as u64).to_le_bytes());
        if f.contents.len() >= PARALLEL_BYTES {
            h.update_rayon(f.contents.as_bytes());
        } else {
            h.update(f.contents.as_bytes());
        }
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
