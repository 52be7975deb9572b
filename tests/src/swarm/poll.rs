//! Polling with deadlines, and the timing lines the scenarios print.

use std::time::{Duration, Instant};

const PERIOD: Duration = Duration::from_millis(200);

/// Calls `probe` until it returns Ok or `timeout` passes: its value, or its
/// last error. Never panics (clean-up in `Drop` uses it while unwinding).
pub fn within<T>(
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(value) => return Ok(value),
            Err(last) if started.elapsed() >= timeout => return Err(last),
            Err(_) => std::thread::sleep(PERIOD),
        }
    }
}

/// As [`within`], panicking at the deadline with the last error; returns the
/// value and how long it took.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    probe: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    let started = Instant::now();
    match within(timeout, probe) {
        Ok(value) => (value, started.elapsed()),
        Err(last) => panic!("timed out after {timeout:?} waiting for {what}; last: {last}"),
    }
}

/// One `[e2e timing]` line: scenario, step, seconds.
pub fn timing(scenario: &str, step: &str, took: Duration) {
    println!(
        "[e2e timing] {scenario:<10} {step:<44} {:6.2}s",
        took.as_secs_f64()
    );
}
