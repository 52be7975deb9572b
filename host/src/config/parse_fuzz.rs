//! The config parser under proptest: any text, and any known key with any
//! TOML value, ends in a config or an error naming a line; never a panic.

use std::path::Path;

use proptest::prelude::*;

use super::parse::{CORE_KEYS, EXTENSION_KEYS, parse_str};

/// A TOML value of any type, hostile strings included.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| format!("{s:?}")),
        "[a-zA-Z0-9:/._ -]{0,20}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        proptest::collection::vec(any::<String>(), 0..4).prop_map(|v| format!("{v:?}")),
        Just("[1, \"a\"]".to_owned()),
        Just("{ a = 1 }".to_owned()),
        Just("\"5s\"".to_owned()),
        Just("\"-1h\"".to_owned()),
        Just("99999999999999999999".to_owned()),
    ]
}

fn document() -> impl Strategy<Value = String> {
    let core = proptest::collection::vec((proptest::sample::select(CORE_KEYS), toml_value()), 0..6);
    let ext = proptest::collection::vec(
        (proptest::sample::select(EXTENSION_KEYS), toml_value()),
        0..10,
    );
    (core, "[a-z]{1,8}", ext).prop_map(|(core, name, ext)| {
        let mut text = String::new();
        for (k, v) in core {
            if k != "Extensions" {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        text.push_str(&format!("[Extensions.{name}]\n"));
        for (k, v) in ext {
            if k != "Config" {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_config_or_an_error(text in any::<String>()) {
        let _ = parse_str(&text, Path::new("/nonexistent"));
    }

    #[test]
    fn any_value_of_a_known_key_is_a_config_or_an_error_naming_a_line(text in document()) {
        if let Err(e) = parse_str(&text, Path::new("/nonexistent")) {
            let message = e.to_string();
            // A line, or the file a key named.
            prop_assert!(
                message.contains("line") || message.contains("/nonexistent"),
                "{message}\n{text}"
            );
        }
    }
}
