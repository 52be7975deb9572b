//! The process-wide plugin host: one Engine, an epoch ticker, a compilation
//! cache, and the plugins loaded so far.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Cache, CacheConfig, Config, Engine};

use super::builtin::builtin;
use super::error::PluginError;
use super::limits::Limits;
use super::plugin::{EPOCH_TICKS_PER_SEC, Exports, Interface, Plugin, PluginId};
use super::state::State;
use super::version::{SUPPORTED_VERSIONS, interface_version};
use crate::wit::latest::{PluginInfo, Reload};
use crate::wit::{v1_0_0, v1_1_0, v1_2_0};

/// Which renderer an Extension uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginRef {
    /// A bundled plugin by name: "nginx" or "haproxy".
    Builtin(String),
    /// A component file.
    Path(PathBuf),
}

pub struct PluginHost {
    engine: Engine,
    linker: Linker<State>,
    limits: Limits,
    loaded: Mutex<HashMap<(String, String), Arc<Plugin>>>,
    stop_ticker: Arc<AtomicBool>,
}

impl PluginHost {
    /// A host with the default limits.
    pub fn new() -> anyhow::Result<PluginHost> {
        PluginHost::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> anyhow::Result<PluginHost> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        // `perf` can name plugin functions only with a map of the JIT code.
        if std::env::var_os("SLUICE_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        // Compiling a component costs from ~60 ms (Rust) to seconds (Python):
        // keep compiled code on disk, keyed by content, across runs.
        if let Some(dir) = cache_dir() {
            let mut cache = CacheConfig::new();
            cache.with_directory(&dir);
            match Cache::new(cache) {
                Ok(c) => {
                    config.cache(Some(c));
                }
                Err(e) => tracing::warn!(dir = %dir.display(), "compilation cache disabled: {e:#}"),
            }
        }
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        // Each version's `log` import (a plugin imports its own version's).
        v1_2_0::Renderer::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v1_1_0::Renderer::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;
        v1_0_0::Renderer::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), stop_ticker.clone());
        Ok(PluginHost {
            engine,
            linker,
            limits,
            loaded: Mutex::default(),
            stop_ticker,
        })
    }

    /// Load what an Extension's `Plugin` names, checking the sha256 pin.
    pub fn load(
        &self,
        plugin: &PluginRef,
        sha256: Option<&str>,
    ) -> Result<Arc<Plugin>, PluginError> {
        match plugin {
            PluginRef::Builtin(name) => {
                let (bytes, digest) =
                    builtin(name).ok_or_else(|| PluginError::UnknownBuiltin(name.clone()))?;
                self.load_digested(name, bytes, digest.to_owned(), sha256)
            }
            PluginRef::Path(path) => self.load_file(path, sha256),
        }
    }

    pub fn load_file(&self, path: &Path, sha256: Option<&str>) -> Result<Arc<Plugin>, PluginError> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| PluginError::Read {
            plugin: format!("`{source}`"),
            path: source.clone(),
            source: e,
        })?;
        self.load_bytes(&source, &bytes, sha256)
    }

    /// Compile (or reuse) a component. `source` names it in messages.
    pub fn load_bytes(
        &self,
        source: &str,
        bytes: &[u8],
        sha256: Option<&str>,
    ) -> Result<Arc<Plugin>, PluginError> {
        self.load_digested(source, bytes, hex::encode(Sha256::digest(bytes)), sha256)
    }

    /// [`PluginHost::load_bytes`] with the bytes' sha256 (hex) at hand.
    fn load_digested(
        &self,
        source: &str,
        bytes: &[u8],
        digest: String,
        sha256: Option<&str>,
    ) -> Result<Arc<Plugin>, PluginError> {
        if let Some(expected) = sha256
            && !expected.eq_ignore_ascii_case(&digest)
        {
            return Err(PluginError::DigestMismatch {
                plugin: format!("`{source}`"),
                expected: expected.to_ascii_lowercase(),
                actual: digest,
            });
        }
        let key = (source.to_string(), digest.clone());
        if let Some(p) = self.loaded.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let name = format!("`{source}` (sha256:{})", &digest[..12]);
        let started = std::time::Instant::now();
        let component = Component::new(&self.engine, bytes).map_err(|e| PluginError::Compile {
            plugin: name.clone(),
            message: format!("{e:#}"),
        })?;
        let interface = interface_version(&self.engine, &component).ok_or_else(|| {
            PluginError::NotARenderer {
                plugin: name.clone(),
                reason: "it exports no `sluice:renderer/render` interface".into(),
            }
        })?;
        if !SUPPORTED_VERSIONS.contains(&interface.as_str()) {
            return Err(PluginError::UnsupportedVersion {
                plugin: name,
                found: interface,
                supported: SUPPORTED_VERSIONS.join(", "),
            });
        }
        let pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| PluginError::Instantiate {
                    plugin: name.clone(),
                    message: format!("{e:#}"),
                })?;
        let (export_name, version) = match interface.as_str() {
            "1.0.0" => (v1_0_0::EXPORT_NAME, Interface::V1_0),
            "1.1.0" => (v1_1_0::EXPORT_NAME, Interface::V1_1),
            _ => (v1_2_0::EXPORT_NAME, Interface::V1_2),
        };
        let function = |f: &str| {
            component
                .get_export_index(None, export_name)
                .and_then(|render| component.get_export_index(Some(&render), f))
                .ok_or_else(|| PluginError::NotARenderer {
                    plugin: name.clone(),
                    reason: format!("its `{export_name}` export has no `{f}` function"),
                })
        };
        let exports = Exports {
            interface: version,
            info: function("info")?,
            validate_settings: function("validate-settings")?,
            render: function("render")?,
        };
        let mut plugin = Plugin {
            id: PluginId {
                source: source.to_string(),
                sha256: digest,
                interface,
            },
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                proxy: String::new(),
                default_config_path: String::new(),
                validate_command: Vec::new(),
                reload: Reload::Signal(String::new()),
            },
            engine: self.engine.clone(),
            pre,
            exports,
            limits: self.limits,
            validated: Default::default(),
        };
        plugin.info = plugin.call_info()?;
        if !plugin.info.default_config_path.starts_with('/')
            || plugin.info.validate_command.is_empty()
        {
            return Err(PluginError::NotARenderer {
                plugin: name,
                reason: "its info() lacks an absolute default-config-path or a validate-command"
                    .into(),
            });
        }
        tracing::debug!(plugin = %plugin.id, elapsed_ms = started.elapsed().as_millis() as u64, "plugin loaded");
        let plugin = Arc::new(plugin);
        self.loaded.lock().unwrap().insert(key, plugin.clone());
        Ok(plugin)
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Epoch deadlines need a clock: tick the engine's epoch EPOCH_TICKS_PER_SEC times a second.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    let period = Duration::from_millis(1000 / EPOCH_TICKS_PER_SEC);
    std::thread::Builder::new()
        .name("sluice-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(period);
                engine.increment_epoch();
            }
        })
        .expect("spawn epoch ticker thread");
}

/// `$SLUICE_CACHE_DIR`, else the user's cache dir; None disables the cache.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SLUICE_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("sluice").join("wasmtime"))
}
