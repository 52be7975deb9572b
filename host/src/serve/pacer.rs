//! Pure: when to publish a cluster's revisions. A change after a quiet spell
//! goes out at once; changes that follow within `MIN_INTERVAL` are held and
//! the newest goes out once renders have been stable for `QUIET` (or after
//! `MAX_HOLD` under sustained churn). A burst of changes is thus at most two
//! reloads: the first change and the final state.
//!
//! A reconcile round in progress is not quiet: it may be reading the next
//! change of the burst. At 10,000 services one round of a burst can take
//! longer than `QUIET`, and without this the held revision went out in the
//! middle of the burst (three reloads for one burst); only `MAX_HOLD` ends a
//! hold while a round runs.

use std::time::{Duration, Instant};

/// No two publications of a cluster are closer than this.
pub const MIN_INTERVAL: Duration = Duration::from_millis(300);
/// A held revision goes out once no newer one came for this long...
pub const QUIET: Duration = Duration::from_millis(300);
/// ...or once it has been held this long, whichever is first.
pub const MAX_HOLD: Duration = Duration::from_secs(2);

/// One cluster's pacing state; `T` is the revision.
#[derive(Debug)]
pub struct Pacer<T> {
    published: Option<(String, Instant)>,
    held: Option<Held<T>>,
    /// A reconcile round is in progress.
    busy: bool,
    /// The round in progress rendered something new (held).
    changed_in_round: bool,
    /// The round in progress published something.
    published_in_round: bool,
}

#[derive(Debug)]
struct Held<T> {
    hash: String,
    item: T,
    since: Instant,
    changed: Instant,
}

impl<T> Default for Pacer<T> {
    fn default() -> Self {
        Pacer {
            published: None,
            held: None,
            busy: false,
            changed_in_round: false,
            published_in_round: false,
        }
    }
}

impl<T> Pacer<T> {
    /// A fresh render. Returns it when it is to be published now.
    pub fn offer(&mut self, now: Instant, hash: &str, item: T) -> Option<T> {
        if let Some(held) = &mut self.held {
            if held.hash != hash {
                held.hash = hash.to_owned();
                held.item = item;
                held.changed = now;
                self.changed_in_round = self.busy;
            }
            if self.published.as_ref().is_some_and(|(h, _)| h == hash) {
                // Back to what runs: nothing to publish.
                self.held = None;
            }
            return None;
        }
        match &self.published {
            Some((h, _)) if h == hash => None,
            Some((_, at)) if now.duration_since(*at) < MIN_INTERVAL => {
                self.changed_in_round = self.busy;
                self.held = Some(Held {
                    hash: hash.to_owned(),
                    item,
                    since: now,
                    changed: now,
                });
                None
            }
            _ => {
                self.published = Some((hash.to_owned(), now));
                self.published_in_round = self.busy;
                Some(item)
            }
        }
    }

    /// A reconcile round started (`true`) or ended (at `now`). A round
    /// that rendered something new may have spent a while after it (the
    /// apply), while more changes queued unseen: quiet counts from its end.
    ///
    /// A publication made during a round counts as made at its end: when
    /// rounds take longer than `MIN_INTERVAL` (20,000 services on a busy
    /// machine), the next round's render would otherwise always look like a
    /// change after a quiet spell and go out at once, one per round.
    pub fn round(&mut self, now: Instant, running: bool) {
        if !running {
            if std::mem::take(&mut self.changed_in_round)
                && let Some(held) = &mut self.held
            {
                held.changed = held.changed.max(now);
            }
            if std::mem::take(&mut self.published_in_round)
                && let Some((_, at)) = &mut self.published
            {
                *at = (*at).max(now);
            }
        }
        self.busy = running;
    }

    /// When the held revision is due, if one is held.
    pub fn due(&self) -> Option<Instant> {
        let held = self.held.as_ref()?;
        let longest = held.since + MAX_HOLD;
        let stable = if self.busy {
            longest
        } else {
            (held.changed + QUIET).min(longest)
        };
        let spaced = self
            .published
            .as_ref()
            .map_or(stable, |(_, at)| *at + MIN_INTERVAL);
        Some(stable.max(spaced))
    }

    /// The held revision, if it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<T> {
        if self.due().is_none_or(|d| d > now) {
            return None;
        }
        let held = self.held.take()?;
        self.published = Some((held.hash, now));
        self.published_in_round = self.busy;
        Some(held.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offers `(at_ms, hash)` in order, checking due items in between, until
    /// `end_ms`; returns `(ms, hash)` of each publication.
    fn simulate(offers: &[(u64, &str)], end_ms: u64) -> Vec<(u64, String)> {
        simulate_rounds(offers, &[], end_ms)
    }

    /// [`simulate`] with reconcile rounds running over `[from, to)` ms.
    fn simulate_rounds(
        offers: &[(u64, &str)],
        rounds: &[(u64, u64)],
        end_ms: u64,
    ) -> Vec<(u64, String)> {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut pacer = Pacer::default();
        let mut out = Vec::new();
        let mut offers = offers.iter().peekable();
        for ms in 0..=end_ms {
            // A round ending where the next begins still ends first.
            if pacer.busy && rounds.iter().any(|(_, to)| *to == ms) {
                pacer.round(at(ms), false);
            }
            let running = rounds.iter().any(|(from, to)| (*from..*to).contains(&ms));
            if running != pacer.busy {
                pacer.round(at(ms), running);
            }
            if let Some(h) = pacer.take_due(at(ms)) {
                out.push((ms, h));
            }
            while let Some((_, hash)) = offers.next_if(|(t, _)| *t == ms) {
                if let Some(h) = pacer.offer(at(ms), hash, hash.to_string()) {
                    out.push((ms, h));
                }
            }
        }
        out
    }

    fn pubs(list: &[(u64, &str)]) -> Vec<(u64, String)> {
        list.iter().map(|(t, h)| (*t, h.to_string())).collect()
    }

    #[test]
    fn timelines() {
        let burst: Vec<(u64, String)> = (0..100).map(|i| (i * 10, format!("r{i}"))).collect();
        let burst: Vec<(u64, &str)> = burst.iter().map(|(t, h)| (*t, h.as_str())).collect();
        let churn: Vec<(u64, String)> = (0..400).map(|i| (i * 10, format!("c{i}"))).collect();
        let churn: Vec<(u64, &str)> = churn.iter().map(|(t, h)| (*t, h.as_str())).collect();
        // (case, offers, simulated until, publications)
        type Case<'a> = (&'a str, &'a [(u64, &'a str)], u64, Vec<(u64, String)>);
        let table: [Case; 6] = [
            (
                "a lone change goes out at once",
                &[(0, "a")],
                1000,
                pubs(&[(0, "a")]),
            ),
            (
                "the same hash again is nothing",
                &[(0, "a"), (500, "a"), (900, "a")],
                1500,
                pubs(&[(0, "a")]),
            ),
            (
                "spaced changes each go out at once",
                &[(0, "a"), (400, "b"), (800, "c")],
                1500,
                pubs(&[(0, "a"), (400, "b"), (800, "c")]),
            ),
            (
                "a change right after one waits for quiet",
                &[(0, "a"), (100, "b")],
                1000,
                pubs(&[(0, "a"), (400, "b")]),
            ),
            (
                "100 changes within a second: first and last",
                &burst,
                3000,
                pubs(&[(0, "r0"), (1290, "r99")]),
            ),
            (
                "sustained churn goes out every MAX_HOLD",
                &churn,
                5000,
                pubs(&[(0, "c0"), (2010, "c200"), (4010, "c399")]),
            ),
        ];
        for (name, offers, end, want) in table {
            assert_eq!(simulate(offers, end), want, "{name}");
        }
    }

    #[test]
    fn reverting_to_what_runs_publishes_nothing() {
        assert_eq!(
            simulate(&[(0, "a"), (100, "b"), (200, "a")], 2000),
            pubs(&[(0, "a")])
        );
    }

    #[test]
    fn a_round_in_progress_is_not_quiet() {
        // b is held at 100; a round runs from 200 to 900 (reading the
        // burst's next change, say): b waits for its end, not for 400.
        assert_eq!(
            simulate_rounds(&[(0, "a"), (100, "b")], &[(200, 900)], 2000),
            pubs(&[(0, "a"), (900, "b")])
        );
        // The round offers c before its end: c goes out once quiet after
        // the round (which may have been applying while changes queued).
        assert_eq!(
            simulate_rounds(&[(0, "a"), (100, "b"), (699, "c")], &[(200, 900)], 2000),
            pubs(&[(0, "a"), (1200, "c")])
        );
        // b is rendered early in a round that then applies for 500 ms:
        // quiet starts when the round ends, not when b was rendered.
        assert_eq!(
            simulate_rounds(&[(0, "a"), (100, "b")], &[(90, 600)], 2000),
            pubs(&[(0, "a"), (900, "b")])
        );
        // A round that renders nothing new does not put quiet off.
        assert_eq!(
            simulate_rounds(&[(0, "a"), (100, "b")], &[(250, 450)], 2000),
            pubs(&[(0, "a"), (450, "b")])
        );
        // A round that never ends still lets the hold end at MAX_HOLD.
        assert_eq!(
            simulate_rounds(&[(0, "a"), (100, "b")], &[(150, 5000)], 5000),
            pubs(&[(0, "a"), (2100, "b")])
        );
    }

    #[test]
    fn rounds_slower_than_the_spacing_still_make_two_publications() {
        // Back-to-back rounds of 400 ms, each rendering the burst's next
        // state: the first goes out at once, the last once quiet after the
        // last round, none in between.
        assert_eq!(
            simulate_rounds(
                &[(50, "a"), (450, "b"), (850, "c")],
                &[(0, 400), (400, 800), (800, 1200)],
                3000
            ),
            pubs(&[(50, "a"), (1500, "c")])
        );
        // A lone change after such a round still goes out at once.
        assert_eq!(
            simulate_rounds(&[(50, "a"), (1000, "b")], &[(0, 400), (950, 1100)], 3000),
            pubs(&[(50, "a"), (1000, "b")])
        );
    }
}
