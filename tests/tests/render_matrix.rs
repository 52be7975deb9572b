//! The render matrix: snapshots covering every `com.docker.lb.*` label ×
//! configs covering every `[Config]` key of each plugin (defaults, all keys
//! non-default, the seed's table) × both bundled plugins, through the real
//! pipeline, each result checked by the real `nginx -t` / `haproxy -c`.
//! Fixtures and path handling: `tests/fixtures/matrix/`, `render_matrix/harness.rs`.

#[path = "render_matrix/cases.rs"]
mod cases;
#[path = "render_matrix/harness.rs"]
mod harness;

use std::collections::BTreeSet;

use sluice::labels;

#[test]
fn every_case_passes_the_real_proxy_check() {
    let cases = cases::cases();
    let mut failed = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let outcome = harness::run(case);
        checked += outcome.checked;
        if !outcome.failures.is_empty() {
            failed.push(outcome.report());
        }
    }
    eprintln!(
        "render matrix: {} cases, {checked} cluster configs accepted by the proxies, {} cases failed",
        cases.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
}

/// The broken service is left out with an error naming it and its label;
/// every other service is still rendered, and the proxy takes the result.
#[test]
fn one_bad_label_leaves_the_rest_rendered() {
    for plugin in cases::PLUGINS {
        let case = cases::cases()
            .into_iter()
            .find(|c| c.snapshot == cases::BAD_LABEL && c.plugin == plugin)
            .expect("the table has a bad-label row");
        let outcome = harness::run(&case);
        assert!(outcome.failures.is_empty(), "{}", outcome.report());
        let error = outcome
            .plan
            .diagnostics
            .iter()
            .find(|d| d.service.as_deref() == Some("broken"))
            .unwrap_or_else(|| panic!("no diagnostic names `broken`:\n{}", outcome.plan_report()));
        assert_eq!(error.label.as_deref(), Some(labels::PORT), "{error:?}");
        assert!(
            error.message.contains("http"),
            "names the bad value: {error:?}"
        );
        let rendered: String = outcome
            .revisions
            .iter()
            .flat_map(|r| &r.files)
            .map(|f| f.contents.as_str())
            .collect();
        for host in ["plain.local", "tls.local", "edge.example.com"] {
            assert!(rendered.contains(host), "{}: {host} missing", case.name);
        }
        assert!(
            !rendered.contains("broken.local"),
            "{}: broken routed",
            case.name
        );
    }
}

/// The snapshots use every label Sluice knows (and ones it does not).
#[test]
fn snapshots_cover_every_label() {
    let mut used = BTreeSet::new();
    for row in cases::ROWS {
        let snapshot = harness::load_snapshot(row.snapshot).expect("snapshot");
        for s in &snapshot.services {
            let spec_labels = s.spec.as_ref().and_then(|s| s.labels.as_ref());
            used.extend(spec_labels.into_iter().flatten().map(|(k, _)| k.clone()));
        }
    }
    // Every row of the labels table (the parser's own list).
    let known: Vec<&str> = labels::table::TABLE.iter().map(|l| l.name).collect();
    assert!(known.len() >= 20, "the labels table: {known:?}");
    let missing: Vec<_> = known.iter().filter(|k| !used.contains(**k)).collect();
    assert!(
        missing.is_empty(),
        "labels no matrix snapshot uses: {missing:?}"
    );
}
