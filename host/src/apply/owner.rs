//! Ownership labels: how Sluice recognises the Swarm objects it manages, and
//! the spec hash that makes "nothing changed" a label comparison.

use std::collections::HashMap;

use bollard::models::ServiceSpec;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The Sluice instance (daemon) that owns the object.
pub const INSTANCE: &str = crate::plan::secrets::OWNED_BY;
/// The Extension (service cluster) the object belongs to.
pub const EXTENSION: &str = "com.docker.sluice.extension";
/// sha256 of the service spec without this label.
pub const SPEC_HASH: &str = "com.docker.sluice.spec-hash";
/// The rendered revision (its full hash) a config object or service carries.
pub const REVISION: &str = "com.docker.sluice.revision";
/// Path of the rendered file a config object holds.
pub const PATH: &str = "com.docker.sluice.path";
/// The port each proxy replica's agent serves `/metrics` on
/// (`AgentMetricsPort`): Prometheus's Swarm discovery keeps and addresses
/// the replicas by it (examples/monitoring).
pub const METRICS_PORT: &str = "com.docker.sluice.metrics-port";
/// Interlock's proxy label, kept so tooling that looks for it still works.
pub const PROXY_TYPE: (&str, &str) = ("type", "com.docker.interlock.core.proxy");

/// A label's value, if the object has labels and that one.
pub fn label<'a>(labels: &'a Option<HashMap<String, String>>, key: &str) -> Option<&'a str> {
    labels.as_ref()?.get(key).map(String::as_str)
}

/// Who owns an object, for error messages.
pub fn describe_owner(labels: &Option<HashMap<String, String>>) -> String {
    match (label(labels, INSTANCE), label(labels, EXTENSION)) {
        (Some(i), Some(e)) => format!("Sluice instance {i:?}, extension {e:?}"),
        (Some(i), None) => format!("Sluice instance {i:?}"),
        _ => "no Sluice instance".to_owned(),
    }
}

/// sha256 (hex) of the spec's canonical JSON, with the [`SPEC_HASH`] label left
/// out so that the hash can be stored in the spec it describes.
pub fn spec_hash(spec: &ServiceSpec) -> String {
    let mut value = serde_json::to_value(spec).expect("a ServiceSpec always serialises");
    if let Some(labels) = value.get_mut("Labels").and_then(Value::as_object_mut) {
        labels.remove(SPEC_HASH);
    }
    let mut text = String::new();
    write_canonical(&value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// JSON with object keys sorted at every level: the models hold labels in
/// `HashMap`s, whose iteration order changes from run to run.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(labels: &[(&str, &str)]) -> ServiceSpec {
        ServiceSpec {
            name: Some("p".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn hash_ignores_label_order_and_its_own_label() {
        let many: Vec<(String, String)> = (0..32)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let forward: Vec<(&str, &str)> =
            many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let mut with_hash = forward.clone();
        with_hash.push((SPEC_HASH, "stale"));
        let base = spec_hash(&spec(&forward));
        assert_eq!(spec_hash(&spec(&backward)), base);
        assert_eq!(spec_hash(&spec(&with_hash)), base);
        assert_ne!(spec_hash(&spec(&forward[1..])), base);
    }

    #[test]
    fn canonical_json_sorts_nested_keys() {
        let mut out = String::new();
        write_canonical(
            &serde_json::json!({"b": [{"z": 1, "a": "x"}], "a": null}),
            &mut out,
        );
        assert_eq!(out, r#"{"a":null,"b":[{"a":"x","z":1}]}"#);
    }

    #[test]
    fn owner_description_names_instance_and_extension() {
        let both = spec(&[(INSTANCE, "i1"), (EXTENSION, "east")]).labels;
        assert_eq!(
            describe_owner(&both),
            r#"Sluice instance "i1", extension "east""#
        );
        assert_eq!(describe_owner(&None), "no Sluice instance");
    }
}
