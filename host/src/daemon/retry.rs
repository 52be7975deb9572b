//! Pure: when to try a failing cluster again, and whether to say so. The
//! error policy of the reconcile loop, as kube-runtime's controllers have one:
//! - a **transient** failure (the engine is busy or away, a render ran out of
//!   time) is retried soon: 1 s, doubling to 15 s;
//! - a **permanent** one (a bad label or setting, a service name owned by
//!   someone else, a missing secret) needs a person: it is retried slowly,
//!   30 s doubling to 5 min, in case that person acted;
//! - anything the attempt is made of changing (a new revision, a reload) is
//!   tried at once, whatever the backoff; so is a permanent failure when the
//!   Swarm changed (an event: the person may have created the secret or
//!   freed the service name), as a watch event requeues a kube controller;
//! - a failure is said when its message is new, not at every retry.
//!
//! Time is passed in, so the tests are timelines (as in `serve/pacer.rs`).

use std::time::{Duration, Instant};

/// Whether waiting alone can make a failure go away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Transient,
    Permanent,
}

impl Class {
    /// First wait and the most it grows to.
    pub fn backoff(self) -> (Duration, Duration) {
        match self {
            Class::Transient => (Duration::from_secs(1), Duration::from_secs(15)),
            Class::Permanent => (Duration::from_secs(30), Duration::from_secs(300)),
        }
    }
}

/// One cluster's last failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failing {
    pub message: String,
    pub class: Class,
    /// What the failed attempt was made of (a revision's hash, or any key
    /// that changes when the attempt's inputs do).
    pub attempt: String,
    pub backoff: Duration,
    pub next: Instant,
}

/// The policy's answer to a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub failing: Failing,
    /// Log it: the message is new (not said at every retry).
    pub say: bool,
}

/// `attempt` failed at `now` with `message` of `class`, after `previous`.
pub fn failed(
    previous: Option<&Failing>,
    now: Instant,
    attempt: &str,
    message: String,
    class: Class,
) -> Verdict {
    let (first, max) = class.backoff();
    let backoff = match previous {
        // The same attempt failing the same way waits longer each time.
        Some(p) if p.attempt == attempt && p.class == class => (p.backoff * 2).min(max),
        _ => first,
    };
    let say = previous.is_none_or(|p| p.message != message);
    Verdict {
        failing: Failing {
            message,
            class,
            attempt: attempt.to_owned(),
            backoff,
            next: now + backoff,
        },
        say,
    }
}

/// Whether `attempt` may be tried at `now`: always when nothing failed or
/// the attempt differs from the failed one, a permanent failure when the
/// Swarm changed since, else once its backoff is over.
pub fn due(failing: Option<&Failing>, now: Instant, attempt: &str, swarm_changed: bool) -> bool {
    failing.is_none_or(|f| {
        f.attempt != attempt || (swarm_changed && f.class == Class::Permanent) || now >= f.next
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// Feeds failures at the given seconds; returns (backoff s, said) each.
    fn timeline(events: &[(u64, &str, &str, Class)]) -> Vec<(u64, bool)> {
        let t0 = Instant::now();
        let mut state: Option<Failing> = None;
        events
            .iter()
            .map(|&(at, attempt, message, class)| {
                let v = failed(
                    state.as_ref(),
                    t0 + S * at as u32,
                    attempt,
                    message.into(),
                    class,
                );
                let out = (v.failing.backoff.as_secs(), v.say);
                state = Some(v.failing);
                out
            })
            .collect()
    }

    #[test]
    fn transient_failures_back_off_fast_and_are_said_once() {
        use Class::Transient as T;
        let got = timeline(&[
            (0, "r1", "engine busy", T),
            (1, "r1", "engine busy", T),
            (3, "r1", "engine busy", T),
            (7, "r1", "engine busy", T),
            (15, "r1", "engine busy", T),
            (30, "r1", "engine busy", T),
        ]);
        assert_eq!(
            got,
            [
                (1, true),
                (2, false),
                (4, false),
                (8, false),
                (15, false),
                (15, false)
            ]
        );
    }

    #[test]
    fn permanent_failures_are_retried_slowly() {
        use Class::Permanent as P;
        let got = timeline(&[
            (0, "r1", "not owned", P),
            (30, "r1", "not owned", P),
            (90, "r1", "not owned", P),
            (210, "r1", "not owned", P),
            (450, "r1", "not owned", P),
            (750, "r1", "not owned", P),
        ]);
        assert_eq!(
            got,
            [
                (30, true),
                (60, false),
                (120, false),
                (240, false),
                (300, false),
                (300, false)
            ]
        );
    }

    #[test]
    fn a_new_attempt_or_class_starts_over_and_a_new_message_is_said() {
        use Class::{Permanent as P, Transient as T};
        let got = timeline(&[
            (0, "r1", "busy", T),
            (1, "r1", "busy", T),
            // A new revision: first backoff again, same words not repeated.
            (2, "r2", "busy", T),
            // The same revision now fails for good: slow, and said.
            (3, "r2", "missing secret", P),
            (33, "r2", "missing secret", P),
            // Back to transient: fast again.
            (93, "r2", "busy", T),
        ]);
        assert_eq!(
            got,
            [
                (1, true),
                (2, false),
                (1, false),
                (30, true),
                (60, false),
                (1, true)
            ]
        );
    }

    #[test]
    fn due_when_the_backoff_is_over_or_the_attempt_changed() {
        let t0 = Instant::now();
        let v = failed(None, t0, "r1", "x".into(), Class::Permanent);
        let f = Some(&v.failing);
        assert!(due(None, t0, "r1", false));
        assert!(!due(f, t0 + S * 29, "r1", false));
        assert!(due(f, t0 + S * 30, "r1", false));
        assert!(
            due(f, t0 + S, "r2", false),
            "a changed attempt goes at once"
        );
        assert!(due(f, t0 + S, "r1", true), "the Swarm changed: try again");
        let busy = failed(None, t0, "r1", "busy".into(), Class::Transient);
        assert!(
            !due(Some(&busy.failing), t0, "r1", true),
            "a busy engine is not asked again for every event"
        );
    }
}
