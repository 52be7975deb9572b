//! Hostile labels through the whole pipeline, checked by the real proxies:
//! services of the every-label snapshot get random, hostile label values
//! (proptest), and for both bundled plugins the plan must still render
//! every cluster, and the real `nginx -t` / `haproxy -c` must accept the
//! result. A service whose labels are bad is excluded by the host; no value
//! that the host accepts may make a plugin refuse the cluster or a proxy
//! refuse the config (that would stop every route change of the cluster).

#[allow(dead_code)]
#[path = "render_matrix/cases.rs"]
mod cases;
#[allow(dead_code)]
#[path = "render_matrix/harness.rs"]
mod harness;

use proptest::prelude::*;
use sluice::labels;
use sluice::snapshot::Snapshot;

const KEYS: &[&str] = &[
    labels::HOSTS,
    labels::PORT,
    labels::CONTEXT_ROOT,
    labels::CONTEXT_ROOT_REWRITE,
    labels::SSL_BACKEND,
    labels::SSL_BACKEND_TLS_VERIFY,
    labels::SSL_ONLY,
    labels::WEBSOCKET_ENDPOINTS,
    labels::STICKY_SESSION_COOKIE,
    labels::IP_HASH,
    labels::REDIRECTS,
    labels::BACKEND_MODE,
    labels::DEFAULT_BACKEND,
    labels::MAX_FAILS,
    labels::FAIL_TIMEOUT,
    labels::WEIGHT,
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.*:/,=_-]{0,30}",
        "[a-z.]{1,10}[;{}\"'`$\\\\\n#% ]{1,2}[a-z./]{0,10}",
        "[a-zA-Z0-9_-]{100,300}",
        "/[a-z0-9/._~%-]{0,40}",
        "https?://[a-z]{1,8}\\.[a-z]{2,3}(/[a-z%?=&]{0,12})?,https?://[a-z]{1,8}\\.[a-z]{2,3}",
        "[0-9]{1,6}",
        any::<String>(),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<(usize, &'static str, String)>> {
    proptest::collection::vec((0usize..64, proptest::sample::select(KEYS), value()), 1..6)
}

fn mutated(base: &Snapshot, mutations: &[(usize, &'static str, String)]) -> Snapshot {
    let mut snapshot = base.clone();
    let n = snapshot.services.len();
    for (i, key, value) in mutations {
        let service = &mut snapshot.services[i % n];
        if let Some(labels) = service.spec.as_mut().and_then(|s| s.labels.as_mut()) {
            labels.insert((*key).to_owned(), value.clone());
        }
    }
    snapshot
}

proptest! {
    // SLUICE_FUZZ_CASES for a longer run than the test suite's.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SLUICE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_labels_never_stop_a_cluster(mutations in mutations()) {
        if let Err(report) = never_stops(&mutations) {
            prop_assert!(false, "{report}");
        }
    }
}

/// Renders the mutated every-label snapshot with each bundled plugin: a
/// service the host excludes is fine, a render refusal, a host the plugin
/// leaves out, or a config the real proxy refuses is not.
fn never_stops(mutations: &[(usize, &'static str, String)]) -> Result<(), String> {
    let base = harness::load_snapshot(cases::EVERY_LABEL).expect("the snapshot loads");
    let snapshot = mutated(&base, mutations);
    for plugin in cases::PLUGINS {
        let case = cases::Case {
            name: format!("fuzzed every-label × defaults × {}", plugin.name()),
            snapshot: cases::EVERY_LABEL,
            config: "defaults.toml".into(),
            plugin,
            errors: &[],
        };
        let outcome = harness::run_with(&case, Some(snapshot.clone()));
        // Plan errors (bad labels, excluded services) are expected; any
        // render or proxy failure is not.
        let failures: Vec<&String> = outcome
            .failures
            .iter()
            .filter(|f| !f.starts_with("unexpected plan error"))
            .collect();
        if !failures.is_empty() || outcome.checked == 0 {
            return Err(format!(
                "{}\nmutations: {mutations:?}\n{}",
                plugin.name(),
                outcome.report()
            ));
        }
    }
    Ok(())
}

/// Values at the edges of the input rules, each once accepted by the labels
/// parser and then refused by a plugin (a host left out, before that the whole
/// cluster): `_` (nginx's catch-all name), an upper-case redirect scheme, `$`
/// and `'` in a redirect target, a path over 1024 characters, a 129-character
/// cookie name, and the longest host with a long context root (an upstream
/// name over nginx's old 200-character limit).
#[test]
fn edge_values_either_excluded_or_rendered_by_every_plugin() {
    let longest_host = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
    let long_root = format!("/{}", "r".repeat(1000));
    let cases: Vec<Vec<(usize, &'static str, String)>> = vec![
        vec![(0, labels::HOSTS, "_".into())],
        vec![
            (0, labels::HOSTS, "edge.example".into()),
            (
                0,
                labels::REDIRECTS,
                "edge.example,HTTPS://new.example/x".into(),
            ),
        ],
        vec![
            (0, labels::HOSTS, "edge.example".into()),
            (
                0,
                labels::REDIRECTS,
                "edge.example,https://new.example/$host".into(),
            ),
        ],
        vec![
            (0, labels::HOSTS, "edge.example".into()),
            (
                0,
                labels::REDIRECTS,
                "edge.example,https://new.example/it's".into(),
            ),
        ],
        vec![(0, labels::CONTEXT_ROOT, format!("/{}", "p".repeat(1100)))],
        vec![(0, labels::STICKY_SESSION_COOKIE, "c".repeat(128))],
        vec![(0, labels::STICKY_SESSION_COOKIE, "c".repeat(129))],
        vec![
            (0, labels::HOSTS, longest_host),
            (0, labels::CONTEXT_ROOT, long_root),
        ],
    ];
    let failed: Vec<String> = cases.iter().filter_map(|m| never_stops(m).err()).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
