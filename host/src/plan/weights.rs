//! `com.docker.lb.weight`: a service's share of an upstream it shares.
//!
//! Without any weight label every server weighs 1, so traffic follows task
//! count (Interlock's canary). Once one service of the upstream has the label,
//! a service without it counts as [`DEFAULT_WEIGHT`], and service `s` with
//! weight `W_s` and `n_s` servers should get `W_s / Σ W` of the traffic
//! whatever `n_s` is: each of its servers ideally weighs `x_s = W_s / n_s`.
//!
//! Rounding: proxies take integer weights and HAProxy caps them at 256.
//! First the exact answer is tried: `x_s * lcm(n)` is an integer; divided by
//! the greatest common divisor of all of them, it is used when the largest is
//! at most [`MAX_SERVER_WEIGHT`] (90/10 over 4+1 tasks → 9 and 4). Otherwise
//! the largest `x_s` is scaled to 256 and every weight is
//! `round(x_s * 256 / max x)` (at least 1), again divided by the common
//! divisor; each server's weight is then off by at most 0.5/256 of the
//! largest. When the ratio of largest to smallest `x_s` exceeds 256 the
//! smallest cannot be represented and is raised to 1; [`assign`] reports it.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use crate::wit::latest::Server;

/// Weight of a service without the label, in an upstream where another has one.
pub const DEFAULT_WEIGHT: u32 = 100;
/// HAProxy's maximum server weight.
pub const MAX_SERVER_WEIGHT: u32 = 256;

/// Set every server's weight. `labels` maps service → its weight label.
/// Returns false when the requested shares could not be represented exactly
/// enough (some server had to be raised to weight 1).
pub fn assign<K: Borrow<str> + Ord>(
    servers: &mut [Server],
    labels: &BTreeMap<K, Option<u32>>,
) -> bool {
    if labels.values().all(Option::is_none) {
        servers.iter_mut().for_each(|s| s.weight = 1);
        return true;
    }
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for s in servers.iter() {
        *counts.entry(s.service.clone()).or_default() += 1;
    }
    let label = |svc: &str| u64::from(labels.get(svc).copied().flatten().unwrap_or(DEFAULT_WEIGHT));
    let lcm = counts
        .values()
        .fold(1u64, |l, &n| l / gcd(l, u64::from(n)) * u64::from(n));
    let exact: BTreeMap<&str, u64> = counts
        .iter()
        .map(|(svc, &n)| (svc.as_str(), label(svc) * lcm / u64::from(n)))
        .collect();
    let (mut per_service, mut representable) = (reduce(exact), true);
    if per_service
        .values()
        .any(|&w| w > u64::from(MAX_SERVER_WEIGHT))
    {
        let ideal: BTreeMap<&str, f64> = counts
            .iter()
            .map(|(svc, &n)| (svc.as_str(), label(svc) as f64 / f64::from(n)))
            .collect();
        let max = ideal.values().copied().fold(0.0, f64::max);
        let scale = f64::from(MAX_SERVER_WEIGHT) / max;
        let rounded = ideal
            .iter()
            .map(|(svc, x)| {
                let w = (x * scale).round();
                representable &= w >= 1.0;
                (*svc, (w as u64).max(1))
            })
            .collect();
        per_service = reduce(rounded);
    }
    for s in servers.iter_mut() {
        s.weight = u32::try_from(per_service[s.service.as_str()]).unwrap_or(MAX_SERVER_WEIGHT);
    }
    representable
}

/// Divide every weight by their greatest common divisor.
fn reduce(weights: BTreeMap<&str, u64>) -> BTreeMap<&str, u64> {
    let divisor = weights.values().copied().reduce(gcd).unwrap_or(1).max(1);
    weights.into_iter().map(|(k, w)| (k, w / divisor)).collect()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(spec: &[(&str, usize)]) -> Vec<Server> {
        spec.iter()
            .flat_map(|(svc, n)| {
                (0..*n).map(move |i| Server {
                    address: format!("10.0.0.{i}"),
                    port: 80,
                    weight: 0,
                    max_fails: None,
                    fail_timeout_seconds: None,
                    service: svc.to_string(),
                })
            })
            .collect()
    }

    /// (services: name, tasks, weight label) → weight per server of each
    /// service, and whether it was exact.
    #[test]
    fn weight_table() {
        type Case<'a> = (
            &'a [(&'a str, usize, Option<u32>)],
            &'a [(&'a str, u32)],
            bool,
        );
        let cases: &[Case] = &[
            // No label anywhere: Interlock's canary, share ∝ tasks.
            (
                &[("a", 4, None), ("b", 1, None)],
                &[("a", 1), ("b", 1)],
                true,
            ),
            // Equal weights, unequal tasks: 50/50 → per server 1 vs 4.
            (
                &[("a", 4, Some(100)), ("b", 1, Some(100))],
                &[("a", 1), ("b", 4)],
                true,
            ),
            // Unlabelled service counts as 100 once another is labelled.
            (
                &[("a", 1, None), ("b", 1, Some(100))],
                &[("a", 1), ("b", 1)],
                true,
            ),
            (
                &[("a", 1, None), ("b", 1, Some(50))],
                &[("a", 2), ("b", 1)],
                true,
            ),
            // 90/10 canary, 4 stable tasks + 1 canary: 22.5 vs 10 per server.
            (
                &[("stable", 4, Some(90)), ("canary", 1, Some(10))],
                &[("stable", 9), ("canary", 4)],
                true,
            ),
            // Not exactly representable under 256: scaled and rounded.
            (
                &[("a", 7, Some(997)), ("b", 3, Some(3))],
                &[("a", 128), ("b", 1)],
                true,
            ),
            // 1:3 share, 3 tasks each: per server 1 vs 3.
            (
                &[("a", 3, Some(1)), ("b", 3, Some(3))],
                &[("a", 1), ("b", 3)],
                true,
            ),
            // Ratio 1000:1 cannot fit under 256: the small one is raised to 1.
            (
                &[("big", 1, Some(1000)), ("tiny", 1, Some(1))],
                &[("big", 256), ("tiny", 1)],
                false,
            ),
            // Ratio exactly 256 still fits.
            (
                &[("big", 1, Some(256)), ("tiny", 1, Some(1))],
                &[("big", 256), ("tiny", 1)],
                true,
            ),
            // A service alone with a label: all 1.
            (&[("a", 3, Some(7))], &[("a", 1)], true),
        ];
        for (spec, want, want_exact) in cases {
            let mut s = servers(&spec.iter().map(|(n, c, _)| (*n, *c)).collect::<Vec<_>>());
            let labels = spec.iter().map(|(n, _, w)| (n.to_string(), *w)).collect();
            let exact = assign(&mut s, &labels);
            for (svc, w) in *want {
                for server in s.iter().filter(|x| x.service == *svc) {
                    assert_eq!(server.weight, *w, "case {spec:?}: service {svc}");
                }
            }
            assert_eq!(exact, *want_exact, "case {spec:?}");
        }
    }

    #[test]
    fn shares_match_labels_within_rounding() {
        let spec = [("a", 7usize, Some(30u32)), ("b", 3, Some(70))];
        let mut s = servers(&[("a", 7), ("b", 3)]);
        let labels = spec.iter().map(|(n, _, w)| (n.to_string(), *w)).collect();
        assert!(assign(&mut s, &labels));
        let total: u32 = s.iter().map(|x| x.weight).sum();
        let a: u32 = s
            .iter()
            .filter(|x| x.service == "a")
            .map(|x| x.weight)
            .sum();
        let share = f64::from(a) / f64::from(total);
        assert!((share - 0.30).abs() < 0.005, "share {share}");
        assert!(
            s.iter()
                .all(|x| (1..=MAX_SERVER_WEIGHT).contains(&x.weight))
        );
    }
}
