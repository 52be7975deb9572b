//! How the daemon's allocator (mimalloc, set in `main.rs`) gives memory back.
//!
//! At 10,000 services the daemon's live heap at rest is ~55 MiB (scale
//! bench, `BENCH_PARTS=heap`) and its RSS was 146 MiB (`BENCH_PARTS=daemon`):
//! mimalloc purges freed pages only while it is busy allocating, so an idle
//! daemon kept what its last rounds freed, and its arenas were advised for
//! transparent huge pages, which keep whole 2 MiB pages resident around a
//! few live objects. Built without that advice (mimalloc's `no_thp` feature,
//! workspace `Cargo.toml`), and with free memory handed back once the daemon
//! has been quiet for [`QUIET`], it rests lower (numbers in docs/scale.md)
//! while a round allocates exactly as before.

use std::time::Duration;

use tokio::sync::watch;

/// How long the daemon is quiet before its free memory is handed back: past
/// a burst, so rounds that follow each other keep their pages.
pub const QUIET: Duration = Duration::from_secs(1);

/// Tells [`release_when_quiet`] when the daemon's rounds start and end.
#[derive(Clone)]
pub struct Activity(watch::Sender<bool>);

impl Activity {
    pub fn new() -> (Activity, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        (Activity(tx), rx)
    }

    pub fn round_started(&self) {
        self.0.send_replace(true);
    }

    pub fn round_ended(&self) {
        self.0.send_replace(false);
    }
}

/// Once no round has run for [`QUIET`], `release` (once per quiet spell;
/// the daemon passes [`purge`]); never during a round, however long.
/// Ends when every [`Activity`] is dropped.
pub async fn release_when_quiet(mut rounds: watch::Receiver<bool>, mut release: impl FnMut()) {
    while rounds.changed().await.is_ok() {
        loop {
            if *rounds.borrow_and_update() {
                // A round runs: wait for its end.
                if rounds.changed().await.is_err() {
                    return;
                }
                continue;
            }
            tokio::select! {
                changed = rounds.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(QUIET) => break,
            }
        }
        release();
    }
}

/// Hand mimalloc's free pages back to the system: a forced collect purges
/// the free memory of every arena and of the calling thread's heap (pages
/// other threads' heaps keep are theirs to give back). Does nothing where
/// mimalloc is not the global allocator (the `sluice` binary sets it).
pub fn purge() {
    // SAFETY: mimalloc's collect may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn releases_once_per_quiet_spell_and_never_while_busy() {
        let (activity, rx) = Activity::new();
        let released = Arc::new(AtomicUsize::new(0));
        let count = released.clone();
        let task = tokio::spawn(release_when_quiet(rx, move || {
            count.fetch_add(1, Ordering::SeqCst);
        }));
        let step = |d: Duration| tokio::time::sleep(d);
        let round = |d: Duration| {
            let activity = activity.clone();
            async move {
                activity.round_started();
                tokio::time::sleep(d).await;
                activity.round_ended();
            }
        };
        let seen = || released.load(Ordering::SeqCst);
        // Nothing happened yet: nothing to release.
        step(QUIET * 3).await;
        assert_eq!(seen(), 0, "released before any round");
        // Rounds closer together than QUIET: still busy.
        for _ in 0..5 {
            round(QUIET / 10).await;
            step(QUIET / 2).await;
        }
        assert_eq!(seen(), 0, "released between busy rounds");
        step(QUIET).await;
        assert_eq!(seen(), 1, "not released once quiet");
        // Still quiet: once per spell.
        step(QUIET * 5).await;
        assert_eq!(seen(), 1, "released again without a round");
        // A round longer than the quiet spell is not quiet.
        activity.round_started();
        step(QUIET * 3).await;
        assert_eq!(seen(), 1, "released during a long round");
        activity.round_ended();
        step(QUIET * 2).await;
        assert_eq!(seen(), 2, "not released after the long round");
        drop(activity);
        tokio::time::timeout(QUIET, task)
            .await
            .expect("ends when the rounds' sender is gone")
            .expect("no panic");
    }
}
