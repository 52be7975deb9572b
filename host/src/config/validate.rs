//! Checks that need the whole file: what one extension or two extensions
//! together ask for that Swarm cannot give.

use std::collections::BTreeMap;

use super::error::{ConfigError, Pos};
use super::model::{Config, Extension, PublishMode};
use super::values::join_key;
use crate::wit::latest::SettingValue;

/// Where an extension's table and keys are, for errors about defaulted or
/// combined values.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExtensionSpans {
    /// The extension's name in its `[Extensions.NAME]` header.
    pub header: Pos,
    pub keys: BTreeMap<&'static str, Pos>,
}

pub(crate) fn validate(
    config: &Config,
    spans: &BTreeMap<String, ExtensionSpans>,
) -> Result<(), ConfigError> {
    let at = |ext: &Extension, key: &'static str| -> (String, Pos) {
        let path = join_key(&join_key("Extensions", &ext.name), key);
        let ext_spans = spans.get(&ext.name).cloned().unwrap_or_default();
        let pos = ext_spans.keys.get(key).copied().unwrap_or(ext_spans.header);
        (path, pos)
    };
    for ext in config.extensions.values() {
        check_service_name(ext, at(ext, "ProxyServiceName"))?;
        // The agent listens in the proxy's container, beside the proxy.
        if let Some(metrics) = ext.agent_metrics_port {
            let refuse = |message: String| {
                let (key, pos) = at(ext, "AgentMetricsPort");
                Err(ConfigError::Value { key, pos, message })
            };
            if metrics >= FIRST_LOOPBACK_PORT {
                return refuse(format!(
                    "AgentMetricsPort {metrics}: the bundled plugins listen on loopback ports from {FIRST_LOOPBACK_PORT} up (one per TLS host) in the proxy's container; choose a port below {FIRST_LOOPBACK_PORT}"
                ));
            }
            let plugin_port = ext
                .config
                .iter()
                .find_map(|s| match (&s.key[..], &s.value) {
                    ("MetricsPort", SettingValue::Integer(p)) => Some(*p),
                    _ => None,
                });
            if plugin_port == Some(i64::from(metrics)) {
                return refuse(format!(
                    "AgentMetricsPort equals the plugin's MetricsPort ({metrics}) in [Config]; the agent and the proxy's exporter need ports of their own"
                ));
            }
            for other in ["TargetPort", "TargetSSLPort"] {
                if port(ext, other) == metrics {
                    let (key, pos) = at(ext, "AgentMetricsPort");
                    return Err(ConfigError::Value {
                        key,
                        pos,
                        message: format!(
                            "AgentMetricsPort equals {other} ({metrics}); the agent listens in the proxy's container and needs a port of its own"
                        ),
                    });
                }
            }
        }
        for (a, b) in [
            ("PublishedPort", "PublishedSSLPort"),
            ("TargetPort", "TargetSSLPort"),
        ] {
            if port(ext, a) == port(ext, b) {
                let (key, pos) = at(ext, b);
                return Err(ConfigError::Value {
                    key,
                    pos,
                    message: format!(
                        "{b} equals {a} ({}); HTTP and HTTPS need different ports",
                        port(ext, a)
                    ),
                });
            }
        }
    }
    let extensions: Vec<&Extension> = config.extensions.values().collect();
    for (i, second) in extensions.iter().enumerate() {
        for first in &extensions[..i] {
            let conflict = |key: &'static str, message: String| {
                let (key, pos) = at(second, key);
                ConfigError::Conflict {
                    key,
                    pos,
                    first: first.name.clone(),
                    second: second.name.clone(),
                    message,
                }
            };
            if first.service_cluster == second.service_cluster {
                return Err(conflict(
                    "ServiceCluster",
                    format!(
                        "both use ServiceCluster {:?}; each service cluster needs its own extension",
                        first.service_cluster
                    ),
                ));
            }
            if first.proxy_service_name == second.proxy_service_name {
                return Err(conflict(
                    "ProxyServiceName",
                    format!("both use ProxyServiceName {:?}", first.proxy_service_name),
                ));
            }
            // An ingress port is reserved on every node, so it clashes with
            // the same port published by any other proxy, in either mode.
            if first.publish_mode == PublishMode::Ingress
                || second.publish_mode == PublishMode::Ingress
            {
                for key in ["PublishedPort", "PublishedSSLPort"] {
                    let port = port(second, key);
                    if [first.published_port, first.published_ssl_port].contains(&port) {
                        return Err(conflict(
                            key,
                            format!(
                                "both publish port {port}, and PublishMode \"ingress\" reserves a port on every node; use different ports or PublishMode = \"host\" for both"
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The bundled plugins' first loopback port (nginx: one per TLS host
/// upwards; HAProxy: its TLS frontend).
const FIRST_LOOPBACK_PORT: u16 = 10443;

fn port(ext: &Extension, key: &str) -> u16 {
    match key {
        "PublishedPort" => ext.published_port,
        "PublishedSSLPort" => ext.published_ssl_port,
        "TargetPort" => ext.target_port,
        "TargetSSLPort" => ext.target_ssl_port,
        _ => unreachable!("not a port key: {key}"),
    }
}

/// Swarm's rule for service names (a DNS label: letters, digits, inner `-`
/// or `_`, at most 63), checked here so that a bad extension name or
/// `ProxyServiceName` is reported against the config rather than by Docker.
fn check_service_name(ext: &Extension, (key, pos): (String, Pos)) -> Result<(), ConfigError> {
    let name = &ext.proxy_service_name;
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(ConfigError::Value {
            key,
            pos,
            message: format!(
                "proxy service name {name:?} is not a valid Swarm service name (letters, digits, inner '-' or '_', at most 63)"
            ),
        })
    }
}
