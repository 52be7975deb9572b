//! The daemon's log, captured in memory: the process-wide tracing subscriber
//! writes into one buffer that tests read from a mark on.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<u8>> {
    BUFFER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Install the capturing subscriber (once per process). `RUST_LOG` overrides
/// the default filter: info, and debug for Sluice (one "round done" a round).
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sluice=debug"));
        // Another subscriber (a test's own) may already be installed: then
        // there is nothing to read, and the log assertions say so.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(|| Sink)
            .try_init();
    });
}

/// A position in the log.
#[derive(Clone, Copy, Debug)]
pub struct Mark(usize);

pub fn mark() -> Mark {
    Mark(lock().len())
}

/// Everything logged since `mark`.
pub fn since(mark: Mark) -> String {
    let buf = lock();
    String::from_utf8_lossy(&buf[mark.0.min(buf.len())..]).into_owned()
}

/// The daemon's "round done" lines in `log`, in order.
pub fn rounds(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("round done")).collect()
}

/// A round that created and updated no proxy service.
pub fn quiet(round: &str) -> bool {
    round.contains("created=[]") && round.contains("updated=[]")
}
