//! How the daemon's allocator (mimalloc, set in `main.rs`) gives memory back.
//!
//! At 10,000 services the daemon's live heap at rest is ~55 MiB (scale
//! bench, `BENCH_PARTS=heap`) and its RSS was 146 MiB (`BENCH_PARTS=daemon`):
//! mimalloc purges freed pages only while it is busy allocating, so an idle
//! daemon kept what its last rounds freed, and its arenas were advised for
//! transparent huge pages, which keep whole 2 MiB pages resident around a
//! few live objects. Without huge pages, and with free memory handed back
//! once the daemon has been quiet for [`QUIET`], it rests lower (numbers in
//! docs/scale.md) while a round allocates exactly as before.

use std::time::Duration;

use tokio::sync::watch;

/// How long the daemon is quiet before its free memory is handed back: past
/// a burst, so rounds that follow each other keep their pages.
pub const QUIET: Duration = Duration::from_secs(1);

/// Called first thing in `main` (and by the benchmarks that measure what
/// the binary runs).
pub fn tune() {
    // The `no_thp` build feature keeps mimalloc from asking for huge pages;
    // on a host whose THP setting is `always` the kernel would still use
    // them (and khugepaged fill purged holes): off for this process, as
    // mimalloc's `MIMALLOC_ALLOW_THP=0` does, unless that says otherwise.
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none()
        && let Err(e) = nix::sys::prctl::set_thp_disable(true)
    {
        tracing::debug!("transparent huge pages stay on: {e}");
    }
}

/// Tells [`release_when_quiet`] that the daemon did something.
#[derive(Clone)]
pub struct Activity(watch::Sender<()>);

impl Activity {
    pub fn new() -> (Activity, watch::Receiver<()>) {
        let (tx, rx) = watch::channel(());
        (Activity(tx), rx)
    }

    pub fn happened(&self) {
        self.0.send_replace(());
    }
}

/// Once `activity` has been still for [`QUIET`], `release` (once per quiet
/// spell; the daemon passes [`purge`]). Ends when every [`Activity`] is
/// dropped.
pub async fn release_when_quiet(mut activity: watch::Receiver<()>, mut release: impl FnMut()) {
    while activity.changed().await.is_ok() {
        loop {
            tokio::select! {
                changed = activity.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(QUIET) => break,
            }
        }
        release();
    }
}

/// Hand mimalloc's free pages back to the system: a forced collect purges
/// what the arenas hold free, whichever thread freed it.
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
        // Nothing happened yet: nothing to release.
        step(QUIET * 3).await;
        assert_eq!(
            released.load(Ordering::SeqCst),
            0,
            "released before any activity"
        );
        // Rounds closer together than QUIET: still busy.
        for _ in 0..5 {
            activity.happened();
            step(QUIET / 2).await;
        }
        assert_eq!(
            released.load(Ordering::SeqCst),
            0,
            "released between busy rounds"
        );
        step(QUIET).await;
        assert_eq!(
            released.load(Ordering::SeqCst),
            1,
            "not released once quiet"
        );
        // Still quiet: once per spell.
        step(QUIET * 5).await;
        assert_eq!(
            released.load(Ordering::SeqCst),
            1,
            "released again without activity"
        );
        activity.happened();
        step(QUIET * 2).await;
        assert_eq!(released.load(Ordering::SeqCst), 2, "the next quiet spell");
        drop(activity);
        tokio::time::timeout(QUIET, task)
            .await
            .expect("ends when the activity's sender is gone")
            .expect("no panic");
    }
}
