//! Per-call resource limits.

use std::time::Duration;

/// What one call into a plugin may use. A plugin that goes past any of these
/// fails that call only.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Linear memory, all memories of the instance together.
    pub memory_bytes: usize,
    /// Elements of all tables together.
    pub table_elements: usize,
    /// Wall-clock deadline of one call (enforced with epochs).
    pub deadline: Duration,
    /// Sum of the rendered files' sizes.
    pub output_bytes: usize,
    /// Number of rendered files.
    pub output_files: usize,
    /// Bytes of log messages kept per call; the rest is dropped (and counted).
    pub log_bytes: usize,
    /// Server slots in one render (1.1.0).
    pub slots: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            table_elements: 1 << 20,
            deadline: Duration::from_secs(5),
            // 10k services render ~4.5 MB of nginx config: 7x headroom.
            output_bytes: 32 << 20,
            output_files: 256,
            log_bytes: 64 << 10,
            // 20k backends with room for 8 servers each.
            slots: 160_000,
        }
    }
}
