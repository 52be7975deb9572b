//! The per-call store state: an empty WASI context, the memory limiter, and
//! the `log` import.

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::wit::latest::sluice::renderer::log::{Host as LogHost, Level};

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limiter,
    plugin: String,
    log_budget: usize,
    pub(crate) logs_dropped: usize,
}

impl State {
    pub(crate) fn new(plugin: &str, memory_bytes: usize, log_bytes: usize) -> State {
        State {
            // Nothing preopened, no env, no args, no network: a renderer sees
            // only its input.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: Limiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory_bytes)
                    .instances(16)
                    .tables(64)
                    .memories(16)
                    .trap_on_grow_failure(true)
                    .build(),
                memory_denied: false,
                peak_memory_bytes: 0,
            },
            plugin: plugin.to_string(),
            log_budget: log_bytes,
            logs_dropped: 0,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl LogHost for State {
    fn log(&mut self, level: Level, message: String) {
        // A chatty plugin must not flood the daemon's log.
        if message.len() > self.log_budget {
            self.logs_dropped += 1;
            return;
        }
        self.log_budget -= message.len();
        let plugin = self.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

// The `types` interface has no functions; its host trait is empty.
impl crate::wit::latest::sluice::renderer::types::Host for State {}

/// wasmtime's `StoreLimits`, remembering whether it refused a memory growth,
/// so a failed call can be reported as "over the memory limit" rather than as
/// whatever trap the guest's allocator turned the refusal into.
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_denied: bool,
    /// Largest linear memory granted so far (conformance reports it).
    pub(crate) peak_memory_bytes: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.memory_growing(current, desired, maximum);
        if matches!(r, Ok(true)) {
            self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        } else {
            self.memory_denied = true;
        }
        r
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
