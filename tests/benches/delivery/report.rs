//! The table on stdout and the JSON document.

use serde_json::{Value, json};

use crate::burst::BurstResult;
use crate::churn::ChurnResult;
use crate::convergence::Sample;
use crate::stats::{percentile, summary};

pub struct ModeResult {
    pub mode: &'static str,
    pub one_network: Vec<Sample>,
    pub wide: Vec<Sample>,
    pub networks: usize,
    pub churn: ChurnResult,
    pub burst: BurstResult,
}

fn converge(samples: &[Sample]) -> Vec<f64> {
    samples.iter().map(|s| s.converge_s).collect()
}

impl ModeResult {
    pub fn json(&self) -> Value {
        let start: Vec<f64> = self.one_network.iter().map(|s| s.start_s).collect();
        let detect: Vec<f64> = self.one_network.iter().filter_map(|s| s.detect_s).collect();
        let c = &self.churn;
        let b = &self.burst;
        json!({
            "convergence_one_network": summary(&converge(&self.one_network)),
            "convergence_many_networks": summary(&converge(&self.wide)),
            "proxy_networks_many": self.networks,
            "service_create_to_task_running": summary(&start),
            "task_running_to_daemon_delivery_one_network": summary(&detect),
            "steady_load": {
                "reconfigurations": c.changes,
                "requests": c.load.requests,
                "ok": c.load.ok,
                "failed": c.load.failed(),
                "no_answer": c.load.errors,
                "status_5xx": c.load.status_5xx,
                "other": c.load.other,
                "seconds": c.load.seconds,
                "first_failures": c.load.samples,
                "change_to_served": summary(&c.change_s),
                "proxy_service_updates": c.proxy_updates,
                "reloads": c.reloads,
            },
            "burst": {
                "changes": b.changes,
                "sent_within_s": b.burst_s,
                "all_served_after_s": b.converged_s,
                "reloads_affected_cluster": b.reloads_affected,
                "reloads_unaffected_cluster": b.reloads_unaffected,
                "proxy_service_updates_affected_cluster": b.updates_affected,
                "proxy_service_updates_unaffected_cluster": b.updates_unaffected,
            },
        })
    }
}

/// Seconds, or "–" without samples.
fn s(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3} s"))
}

/// The Markdown table: one row per metric, hitless and rolling side by side.
pub fn table(results: &[ModeResult]) -> String {
    let by = |mode: &str| results.iter().find(|r| r.mode == mode);
    let (h, r) = (by("hitless"), by("rolling"));
    let cell = |m: Option<&ModeResult>, f: &dyn Fn(&ModeResult) -> String| m.map_or("–".into(), f);
    let pct = |samples: fn(&ModeResult) -> &Vec<Sample>, p: f64| {
        move |m: &ModeResult| s(percentile(&converge(samples(m)), p))
    };
    let n_one = results.first().map_or(0, |m| m.one_network.len());
    let n_wide = results.first().map_or(0, |m| m.wide.len());
    let nets = results.first().map_or(0, |m| m.networks);
    let changes = results.first().map_or(0, |m| m.churn.changes);
    let burst = results.first().map_or(0, |m| m.burst.changes);
    let ratio = match (h, r) {
        (Some(h), Some(r)) => {
            let (h, r) = (
                percentile(&converge(&h.one_network), 50.0),
                percentile(&converge(&r.one_network), 50.0),
            );
            h.zip(r)
                .map_or("–".into(), |(h, r)| format!("{:.0}×", r / h))
        }
        _ => "–".into(),
    };
    fn one(m: &ModeResult) -> &Vec<Sample> {
        &m.one_network
    }
    fn wide(m: &ModeResult) -> &Vec<Sample> {
        &m.wide
    }
    let rows: Vec<[String; 4]> = vec![
        [
            format!("convergence p50, proxy on 1 network ({n_one} services)"),
            "≤ 0.5 s".into(),
            cell(h, &pct(one, 50.0)),
            cell(r, &pct(one, 50.0)),
        ],
        [
            format!("convergence p95, proxy on 1 network ({n_one} services)"),
            "≤ 1 s".into(),
            cell(h, &pct(one, 95.0)),
            cell(r, &pct(one, 95.0)),
        ],
        [
            "rolling p50 / hitless p50".into(),
            "≥ 10×".into(),
            ratio,
            String::new(),
        ],
        [
            format!("convergence p50, proxy on {nets} networks ({n_wide} services)"),
            "= 1 network".into(),
            cell(h, &pct(wide, 50.0)),
            cell(r, &pct(wide, 50.0)),
        ],
        [
            format!("convergence p95, proxy on {nets} networks ({n_wide} services)"),
            "= 1 network".into(),
            cell(h, &pct(wide, 95.0)),
            cell(r, &pct(wide, 95.0)),
        ],
        [
            format!("failed requests / requests, steady load during {changes} reconfigurations"),
            "0 (hitless)".into(),
            cell(h, &|m| {
                format!("{} / {}", m.churn.load.failed(), m.churn.load.requests)
            }),
            cell(r, &|m| {
                format!("{} / {}", m.churn.load.failed(), m.churn.load.requests)
            }),
        ],
        [
            format!(
                "proxy reloads (hitless) / service updates (rolling), {changes} reconfigurations"
            ),
            String::new(),
            cell(h, &|m| {
                format!(
                    "{} reloads, {} updates",
                    m.churn.reloads.unwrap_or(0),
                    m.churn.proxy_updates
                )
            }),
            cell(r, &|m| format!("{} updates", m.churn.proxy_updates)),
        ],
        [
            format!("burst of {burst} changes: reloads / updates, affected cluster"),
            "≤ 2".into(),
            cell(h, &|m| {
                format!(
                    "{} reloads, {} updates (sent in {:.2} s)",
                    m.burst.reloads_affected.unwrap_or(0),
                    m.burst.updates_affected,
                    m.burst.burst_s
                )
            }),
            cell(r, &|m| {
                format!(
                    "{} updates (sent in {:.2} s)",
                    m.burst.updates_affected, m.burst.burst_s
                )
            }),
        ],
        [
            format!("burst of {burst} changes: reloads / updates, unaffected cluster"),
            "0".into(),
            cell(h, &|m| {
                format!(
                    "{} reloads, {} updates",
                    m.burst.reloads_unaffected.unwrap_or(0),
                    m.burst.updates_unaffected
                )
            }),
            cell(r, &|m| format!("{} updates", m.burst.updates_unaffected)),
        ],
        [
            format!("burst of {burst} changes: until every new host answers"),
            String::new(),
            cell(h, &|m| format!("{:.2} s", m.burst.converged_s)),
            cell(r, &|m| format!("{:.2} s", m.burst.converged_s)),
        ],
    ];
    let mut out = String::from(
        "| metric | target | hitless | rolling (Interlock's way) |\n| --- | --- | --- | --- |\n",
    );
    for [a, b, c, d] in rows {
        out.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    out
}
