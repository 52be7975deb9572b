//! The label parser under proptest: any labels, however hostile, give a
//! verdict (never a panic), and what it accepts carries no character a
//! proxy config could be steered with.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// Every label Sluice knows (`ssl_only` included: accepted, ignored).
fn keys() -> Vec<&'static str> {
    table::TABLE.iter().map(|l| l.name).collect()
}

/// Values near what each label takes, with config syntax and control
/// characters mixed in, plus anything at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9.*:/,=_ -]{0,24}",
        "[a-z.]{1,12}[;{}\"'`$\\\\\n\r\t #%]{1,3}[a-z.]{0,12}",
        Just("a.local,b.local".to_owned()),
        Just("/app".to_owned()),
        Just("8080".to_owned()),
        Just("true".to_owned()),
        Just("http://a.local,https://b.local".to_owned()),
        "[a-z]{1,8}".prop_map(|s| s.repeat(40)),
    ]
}

fn labels() -> impl Strategy<Value = HashMap<String, String>> {
    proptest::collection::hash_map(
        prop_oneof![
            4 => proptest::sample::select(keys()).prop_map(str::to_owned),
            1 => "com\\.docker\\.lb\\.[a-z_]{0,12}",
        ],
        value(),
        0..10,
    )
}

/// Characters no accepted value may carry into a config.
fn steering(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || matches!(c, ';' | '{' | '}' | '"' | '\'' | '`' | '\\' | ' '))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_labels_give_a_verdict_and_accepted_ones_are_inert(labels in labels()) {
        match parse(&labels) {
            Parsed::NotRouted => {}
            Parsed::Invalid(errors, _) => prop_assert!(!errors.is_empty()),
            Parsed::Routed(route, _) => {
                for h in &route.hosts {
                    prop_assert!(!h.is_empty() && !steering(h), "host {h:?}");
                }
                let texts = route
                    .context_root
                    .iter()
                    .chain(&route.network)
                    .chain(&route.ssl_cert)
                    .chain(&route.ssl_key)
                    .chain(&route.websocket_endpoints);
                for t in texts {
                    prop_assert!(!steering(t), "value {t:?}");
                }
                // A cookie name is an RFC 6265 token, which may hold `'`
                // (every plugin quotes it); the shared rule is the check.
                // service_cluster is only compared with the config's
                // ServiceCluster, never rendered (the fuzzer found `'`).
                if let Some(c) = &route.sticky_session_cookie {
                    prop_assert!(sluice_input_rules::cookie_name(c).is_ok(), "cookie {c:?}");
                }
                if let Some(root) = &route.context_root {
                    prop_assert!(root.starts_with('/'), "context root {root:?}");
                }
            }
        }
    }
}
