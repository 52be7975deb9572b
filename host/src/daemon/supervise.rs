//! Keeping the Docker event watcher alive. It ends only if it panics (a bug,
//! or a library's); the daemon must then neither stall nor exit quietly, so
//! it is started again with backoff, and every restart is an error in the log.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Between restarts: doubling from the first to the last, back to the first
/// after the watcher ran this long without failing.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// Run `start()`'s task until it returns normally (its receiver is gone:
/// the daemon is shutting down); after a panic, log it and start it again.
pub(super) async fn watcher<F, Fut>(what: &'static str, mut start: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = BACKOFF_MIN;
    loop {
        let started = Instant::now();
        let task = tokio::spawn(start());
        // Aborting the supervisor (daemon shutdown) aborts the watcher too.
        let _guard = AbortOnDrop(task.abort_handle());
        match task.await {
            Ok(()) => return,
            Err(e) if e.is_cancelled() => return,
            Err(e) => {
                if started.elapsed() >= HEALTHY_AFTER {
                    backoff = BACKOFF_MIN;
                }
                tracing::error!(
                    watcher = what,
                    error = %panic_message(e),
                    restart_in = ?backoff,
                    "the watcher panicked; proxies keep their config, restarting it"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a panicked task said, when it said it with a string.
pub(super) fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_watcher_is_restarted_with_backoff_until_it_ends() {
        let starts = Arc::new(AtomicUsize::new(0));
        let at = Arc::new(std::sync::Mutex::new(Vec::new()));
        let begin = Instant::now();
        let (s, a) = (starts.clone(), at.clone());
        watcher("test", move || {
            let n = s.fetch_add(1, Ordering::SeqCst);
            a.lock().unwrap().push(begin.elapsed().as_secs());
            async move {
                // Three panics, then a normal end (the daemon shut down).
                if n < 3 {
                    panic!("stream broke {n}");
                }
            }
        })
        .await;
        assert_eq!(starts.load(Ordering::SeqCst), 4);
        // Restarted after 1, 2 and 4 s.
        assert_eq!(*at.lock().unwrap(), [0, 1, 3, 7]);
    }

    #[tokio::test]
    async fn panic_messages_are_kept() {
        let e = tokio::spawn(async { panic!("boom {}", 7) })
            .await
            .unwrap_err();
        assert_eq!(panic_message(e), "boom 7");
        let e = tokio::spawn(async { std::panic::panic_any(5u8) })
            .await
            .unwrap_err();
        assert_eq!(panic_message(e), "a panic without a message");
    }
}
