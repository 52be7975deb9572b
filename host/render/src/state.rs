//! The per-call store state: an empty WASI context, the memory limiter, and
//! the `log` import.

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::Limits;
use crate::wit::latest::sluice::renderer::log::{Host as LogHost, Level};
use crate::wit::v1_0_0::sluice::renderer::log as log_v1_0;
use crate::wit::v1_1_0::sluice::renderer::log as log_v1_1;

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: Limiter,
    plugin: String,
    log_budget: usize,
    pub(crate) logs_dropped: usize,
}

impl State {
    pub(crate) fn new(plugin: &str, limits: &Limits) -> State {
        State {
            // Nothing preopened, no env, no args, no network: a renderer sees
            // only its input.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: Limiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .table_elements(limits.table_elements)
                    .instances(16)
                    .tables(64)
                    .memories(16)
                    .trap_on_grow_failure(true)
                    .build(),
                memory_denied: false,
                peak_memory_bytes: 0,
                memory_total: 0,
                memory_limit: limits.memory_bytes,
                table_total: 0,
                table_limit: limits.table_elements,
            },
            plugin: plugin.to_string(),
            log_budget: limits.log_bytes,
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

/// An older plugin's `log`: the same function, its own version's types.
macro_rules! older_log {
    ($($version:ident),+) => {$(
        impl $version::Host for State {
            fn log(&mut self, level: $version::Level, message: String) {
                let level = match level {
                    $version::Level::Trace => Level::Trace,
                    $version::Level::Debug => Level::Debug,
                    $version::Level::Info => Level::Info,
                    $version::Level::Warn => Level::Warn,
                    $version::Level::Error => Level::Error,
                };
                LogHost::log(self, level, message)
            }
        }
    )+};
}
older_log!(log_v1_0, log_v1_1);

// The `types` interfaces have no functions; their host traits are empty.
impl crate::wit::latest::sluice::renderer::types::Host for State {}
impl crate::wit::v1_1_0::sluice::renderer::types::Host for State {}
impl crate::wit::v1_0_0::sluice::renderer::types::Host for State {}

/// wasmtime's `StoreLimits` (per memory and per table), plus the totals over
/// all memories and all tables of the call (a component may have several of
/// each: the per-item caps alone would allow 16 memories of the limit).
/// Remembers whether it refused a memory growth, so a failed call can be
/// reported as "over the memory limit" rather than as whatever trap the
/// guest's allocator turned the refusal into.
pub(crate) struct Limiter {
    inner: StoreLimits,
    pub(crate) memory_denied: bool,
    /// Largest total of linear memory granted so far (conformance reports it).
    pub(crate) peak_memory_bytes: usize,
    memory_total: usize,
    memory_limit: usize,
    table_total: usize,
    table_limit: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_add(desired)
            .saturating_sub(current);
        if total > self.memory_limit {
            self.memory_denied = true;
            // As StoreLimits does with trap_on_grow_failure.
            return Err(wasmtime::format_err!(
                "forcing trap when growing memory: all memories together would use {total} bytes, over the limit of {}",
                self.memory_limit
            ));
        }
        let r = self.inner.memory_growing(current, desired, maximum);
        if matches!(r, Ok(true)) {
            self.memory_total = total;
            self.peak_memory_bytes = self.peak_memory_bytes.max(total);
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
        let total = self
            .table_total
            .saturating_add(desired)
            .saturating_sub(current);
        if total > self.table_limit {
            return Err(wasmtime::format_err!(
                "forcing trap when growing table: all tables together would hold {total} elements, over the limit of {}",
                self.table_limit
            ));
        }
        let r = self.inner.table_growing(current, desired, maximum);
        if matches!(r, Ok(true)) {
            self.table_total = total;
        }
        r
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(memory: usize, tables: usize) -> Limiter {
        let limits = Limits {
            memory_bytes: memory,
            table_elements: tables,
            ..Limits::default()
        };
        State::new("test", &limits).limits
    }

    #[test]
    fn memories_and_tables_are_limited_together() {
        let mut l = limiter(100, 10);
        // Two memories of 60 bytes each: each under the cap, not together.
        assert!(l.memory_growing(0, 60, None).unwrap());
        let err = l.memory_growing(0, 60, None).unwrap_err().to_string();
        assert!(
            err.contains("all memories together") && err.contains("120"),
            "{err}"
        );
        assert!(l.memory_denied);
        // Growing the first within the total is fine.
        assert!(l.memory_growing(60, 100, None).unwrap());
        assert_eq!(l.peak_memory_bytes, 100);
        assert!(l.table_growing(0, 6, None).unwrap());
        let err = l.table_growing(0, 6, None).unwrap_err().to_string();
        assert!(err.contains("all tables together"), "{err}");
        assert!(l.table_growing(6, 10, None).unwrap());
    }
}
