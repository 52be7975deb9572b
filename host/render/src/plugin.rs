//! A loaded plugin: compiled, version-checked, pre-linked. Every call runs in a
//! fresh store, so nothing a plugin does in one call survives into the next.

use std::time::{Duration, Instant};

use wasmtime::component::{ComponentExportIndex, Instance, InstancePre};
use wasmtime::{Engine, Store, Trap};

use super::error::PluginError;
use super::limits::Limits;
use super::lowered::RenderInputRef;
use super::output::{check_output, sound_slots};
use super::state::State;
use crate::wit::latest::{
    Diagnostic, OutputFile, PluginInfo, RenderError, RenderInput, Rendered, RoutePolicy, Setting,
    Severity,
};

/// Who a plugin is, for messages and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginId {
    /// What the config named: a built-in name or a path.
    pub source: String,
    /// sha256 of the component file, hex.
    pub sha256: String,
    /// Renderer interface version the component implements.
    pub interface: String,
}

impl std::fmt::Display for PluginId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` (sha256:{})", self.source, &self.sha256[..12])
    }
}

/// What one call cost: wall time (instantiation included) and the largest
/// linear memory the instance grew to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    pub elapsed: Duration,
    pub peak_memory_bytes: usize,
}

/// The interface versions a plugin may implement, and what differs between
/// them for the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Interface {
    /// `render` returns the files.
    V1_0,
    /// `render` returns `rendered`: the files and their server slots.
    V1_1,
    /// `render` also takes the routes' policies.
    V1_2,
}

/// The functions of a plugin's `render` export.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exports {
    pub(super) interface: Interface,
    pub(super) info: ComponentExportIndex,
    pub(super) validate_settings: ComponentExportIndex,
    /// Called with a borrowed input (see `lowered`).
    pub(super) render: ComponentExportIndex,
}

pub struct Plugin {
    pub(super) id: PluginId,
    pub(super) info: PluginInfo,
    pub(super) engine: Engine,
    pub(super) pre: InstancePre<State>,
    pub(super) exports: Exports,
    pub(super) limits: Limits,
    /// The last settings validated and the answer: a plugin is a pure
    /// function, and an Extension renders with the same settings many times.
    pub(super) validated: std::sync::Mutex<Option<(Vec<Setting>, Vec<Diagnostic>)>>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("info", &self.info)
            .finish()
    }
}

/// Ticks of the host's epoch clock per second (see `host.rs`).
pub(super) const EPOCH_TICKS_PER_SEC: u64 = 100;

impl Plugin {
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    /// The plugin's `info()`, read once at load.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    fn name(&self) -> String {
        self.id.to_string()
    }

    /// Run `f` against a fresh instance under this plugin's limits.
    pub(super) fn call<R>(
        &self,
        cluster: Option<&str>,
        f: impl FnOnce(&mut Store<State>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_measured(cluster, f).0
    }

    /// `info()`, as the plugin answers it (read once, at load).
    pub(super) fn call_info(&self) -> Result<PluginInfo, PluginError> {
        self.call(None, |store, instance| {
            let f =
                instance.get_typed_func::<(), (PluginInfo,)>(&mut *store, &self.exports.info)?;
            Ok(f.call(&mut *store, ())?.0)
        })
    }

    /// [`Plugin::call`] on the bare instance, also reporting what the call cost.
    fn call_measured<R>(
        &self,
        cluster: Option<&str>,
        f: impl FnOnce(&mut Store<State>, &Instance) -> wasmtime::Result<R>,
    ) -> (Result<R, PluginError>, CallStats) {
        let started = Instant::now();
        let mut store = Store::new(&self.engine, State::new(&self.name(), &self.limits));
        store.limiter(|s| &mut s.limits);
        let ticks = (self.limits.deadline.as_millis() as u64 * EPOCH_TICKS_PER_SEC / 1000).max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| f(&mut store, &instance));
        if store.data().logs_dropped > 0 {
            tracing::warn!(plugin = %self.id, dropped = store.data().logs_dropped, "plugin log messages dropped");
        }
        let memory_denied = store.data().limits.memory_denied;
        let stats = CallStats {
            elapsed: started.elapsed(),
            peak_memory_bytes: store.data().limits.peak_memory_bytes,
        };
        // Unmapping a large render's memory takes a millisecond or two; the
        // answer is wanted now.
        rayon::spawn(move || drop(store));
        (
            result.map_err(|e| self.classify(e, cluster, memory_denied)),
            stats,
        )
    }

    /// Turn a wasmtime error into the user-facing kind.
    fn classify(
        &self,
        err: wasmtime::Error,
        cluster: Option<&str>,
        memory_denied: bool,
    ) -> PluginError {
        let plugin = self.name();
        let cluster = cluster.map(str::to_string);
        if memory_denied {
            return PluginError::MemoryLimit {
                plugin,
                cluster,
                limit_mib: self.limits.memory_bytes >> 20,
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout {
                plugin,
                cluster,
                limit_ms: self.limits.deadline.as_millis() as u64,
            },
            _ => PluginError::Trap {
                plugin,
                cluster,
                message: format!("{err:#}"),
            },
        }
    }

    /// `validate-settings`: the plugin's diagnostics (empty = accepted).
    pub fn validate_settings(&self, settings: &[Setting]) -> Result<Vec<Diagnostic>, PluginError> {
        let memo = |m: &Option<(Vec<Setting>, Vec<Diagnostic>)>| match m {
            Some((s, d)) if s == settings => Some(d.clone()),
            _ => None,
        };
        if let Some(d) = memo(&self.validated.lock().expect("not poisoned")) {
            return Ok(d);
        }
        let diagnostics = self.call(None, |store, instance| {
            let f = instance.get_typed_func::<(&[Setting],), (Vec<Diagnostic>,)>(
                &mut *store,
                &self.exports.validate_settings,
            )?;
            Ok(f.call(&mut *store, (settings,))?.0)
        })?;
        *self.validated.lock().expect("not poisoned") =
            Some((settings.to_vec(), diagnostics.clone()));
        Ok(diagnostics)
    }

    /// `render` one cluster with no route policies, then check the files
    /// are sane (paths, sizes) and their slots too. A 1.0.0 plugin's files
    /// come with no slots.
    pub fn render(&self, input: &RenderInput) -> Result<Rendered, PluginError> {
        self.render_measured(input, &[], &input.cluster.config_path)
            .0
    }

    /// [`Plugin::render`] with the routes' `policies`.
    pub fn render_policies(
        &self,
        input: &RenderInput,
        policies: &[RoutePolicy],
    ) -> Result<Rendered, PluginError> {
        self.render_measured(input, policies, &input.cluster.config_path)
            .0
    }

    /// [`Plugin::render_policies`] of `input` with its `cluster.config_path`
    /// taken as `config_path` (without copying the input), also reporting
    /// the call's time and memory. Every render goes through here. A plugin
    /// older than 1.2.0 has no policies: given some, it refuses the input (naming the
    /// labels and their upstreams, so only the hosts that use them are left
    /// out), never renders without them.
    pub fn render_measured(
        &self,
        input: &RenderInput,
        policies: &[RoutePolicy],
        config_path: &str,
    ) -> (Result<Rendered, PluginError>, CallStats) {
        type Render<'a> = (RenderInputRef<'a>,);
        type RenderPolicies<'a> = (RenderInputRef<'a>, &'a [RoutePolicy]);
        type Files = (Result<Vec<OutputFile>, RenderError>,);
        type WithSlots = (Result<Rendered, RenderError>,);
        let lowered = RenderInputRef::new(input, config_path);
        let cluster = input.cluster.name.as_str();
        let export = self.exports.render;
        if self.exports.interface != Interface::V1_2 && !policies.is_empty() {
            let diagnostics = policies
                .iter()
                .map(|p| Diagnostic {
                    severity: Severity::Error,
                    key: Some("sluice.*".into()),
                    message: format!(
                        "upstream {}: sluice.* labels need a plugin for renderer interface 1.2.0; this one implements {}",
                        p.upstream, self.id.interface
                    ),
                })
                .collect();
            let refused = Err(PluginError::InvalidInput {
                plugin: self.name(),
                cluster: Some(cluster.to_owned()),
                diagnostics,
            });
            return (refused, CallStats::default());
        }
        let (result, stats) = self.call_measured(Some(cluster), |store, instance| {
            Ok(match self.exports.interface {
                Interface::V1_0 => {
                    let render = instance.get_typed_func::<Render, Files>(&mut *store, &export)?;
                    render
                        .call(&mut *store, (lowered,))?
                        .0
                        .map(|files| Rendered {
                            files,
                            slots: Vec::new(),
                        })
                }
                Interface::V1_1 => {
                    let render =
                        instance.get_typed_func::<Render, WithSlots>(&mut *store, &export)?;
                    render.call(&mut *store, (lowered,))?.0
                }
                Interface::V1_2 => {
                    let render = instance
                        .get_typed_func::<RenderPolicies, WithSlots>(&mut *store, &export)?;
                    render.call(&mut *store, (lowered, policies))?.0
                }
            })
        });
        let checked = result.and_then(|r| self.check_rendered(cluster, config_path, r));
        (checked, stats)
    }

    /// The plugin's answer as the host's error kinds, output checked.
    fn check_rendered(
        &self,
        cluster: &str,
        config_path: &str,
        result: Result<Rendered, RenderError>,
    ) -> Result<Rendered, PluginError> {
        let plugin = self.name();
        let cluster_name = Some(cluster.to_string());
        let rendered = match result {
            Ok(rendered) => rendered,
            Err(RenderError::InvalidSettings(diagnostics)) => {
                return Err(PluginError::InvalidSettings {
                    plugin,
                    cluster: cluster_name,
                    diagnostics,
                });
            }
            Err(RenderError::InvalidInput(diagnostics)) => {
                return Err(PluginError::InvalidInput {
                    plugin,
                    cluster: cluster_name,
                    diagnostics,
                });
            }
            Err(RenderError::Internal(message)) => {
                return Err(PluginError::Failed {
                    plugin,
                    cluster: cluster_name,
                    message,
                });
            }
        };
        check_output(&rendered.files, config_path, &self.limits).map_err(|message| {
            PluginError::BadOutput {
                plugin: plugin.clone(),
                cluster: cluster_name,
                message,
            }
        })?;
        let (rendered, dropped) = sound_slots(rendered, &self.limits);
        if let Some(problem) = dropped {
            tracing::warn!(plugin = %plugin, cluster = %cluster, "server slots ignored (every change of this cluster reloads the proxy): {problem}");
        }
        Ok(rendered)
    }
}
