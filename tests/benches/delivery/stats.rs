//! Percentiles of a few dozen samples.

use serde_json::{Value, json};

/// Nearest-rank percentile `p` (0..=100) of `samples`, in seconds.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50, p95, min, max and the samples, for the JSON.
pub fn summary(samples: &[f64]) -> Value {
    let min = samples.iter().copied().reduce(f64::min);
    let max = samples.iter().copied().reduce(f64::max);
    json!({
        "n": samples.len(),
        "p50_s": percentile(samples, 50.0),
        "p95_s": percentile(samples, 95.0),
        "min_s": min,
        "max_s": max,
        "samples_s": samples,
    })
}
