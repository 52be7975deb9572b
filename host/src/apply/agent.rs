//! Hitless delivery's side of the proxy service: the proxy task runs
//! `sluice agent` (which starts the proxy and fetches every revision from the
//! daemon), so the service spec carries only how to run the agent and reach
//! the daemon, plus the cluster's token as a Docker secret.
//!
//! A new revision then changes nothing in the spec. What still changes it,
//! and so still rolls the proxy tasks: the networks the routes need (unless
//! `Networks` pins them), the routes' TLS secrets (Swarm hands secrets to a
//! task only when it starts), the token (a new daemon key) and the `Proxy*`
//! keys themselves.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::SecretSpec;
use bollard::query_parameters::ListSecretsOptionsBuilder;
use sha2::{Digest, Sha256};

use super::config_object;
use super::engine::Engine;
use super::error::ApplyError;
use super::owner;
use super::service::{self, Outcome, reconcile_proxy};
use super::spec::{ProxyDelivery, SecretMount, SpecContext, proxy_service_spec};
use crate::config::Extension;
use crate::plan::ClusterPlan;
use crate::snapshot::Snapshot;
use crate::wit::latest::PluginInfo;

/// Where the image has the agent (`tests/swarm/images.sh` agent images).
pub const AGENT_BINARY: &str = "/usr/local/bin/sluice";
/// The token's file name under `/run/secrets/` in the proxy task.
pub const TOKEN_TARGET: &str = "sluice-agent-token";
/// Swarm's limit on a secret's name.
const MAX_NAME_LEN: usize = 64;

/// How agents of one cluster reach the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAccess {
    /// The daemon's API as the proxy tasks see it, `http://host:port`.
    pub endpoint: String,
    /// The cluster's bearer token.
    pub token: String,
}

/// Reconcile a hitless cluster's proxy service. The revision itself goes to
/// the agents through the daemon's API, not through Swarm; `info` only says
/// which proxy to start.
pub async fn apply_hitless(
    engine: &Engine,
    ext: &Extension,
    plan: &ClusterPlan,
    info: &PluginInfo,
    snapshot: &Snapshot,
    instance: &str,
    access: &AgentAccess,
) -> Result<Outcome, ApplyError> {
    let ctx = SpecContext::from_snapshot(instance, snapshot);
    let mut delivery = agent_delivery(ext, info, access, None);
    // A missing TLS secret or network, or a service we do not own, fails
    // here, before the token secret is created.
    proxy_service_spec(ext, plan, &delivery, &ctx)?;
    service::check_ownership(&engine.docker, &ext.proxy_service_name, instance, &ext.name).await?;
    let token = ensure_token_secret(engine, ext, instance, &access.token).await?;
    let current_secret = token.name.clone();
    if let ProxyDelivery::Agent { token: slot, .. } = &mut delivery {
        *slot = Some(token);
    }
    let desired = proxy_service_spec(ext, plan, &delivery, &ctx)?;
    let outcome = reconcile_proxy(&engine.docker, desired).await?;
    if outcome != Outcome::Unchanged {
        // Left over from rolling delivery, or from an older daemon key.
        if let Err(e) = config_object::remove_superseded(engine, instance, &ext.name, None).await {
            tracing::warn!(cluster = %ext.name, error = %e, "config objects of rolling delivery not removed");
        }
        remove_token_secrets(engine, &ext.name, instance, Some(&current_secret)).await;
    }
    Ok(outcome)
}

/// The spec's delivery part: the agent as command, its settings as env.
pub fn agent_delivery(
    ext: &Extension,
    info: &PluginInfo,
    access: &AgentAccess,
    token: Option<SecretMount>,
) -> ProxyDelivery {
    let proxy_cmd =
        serde_json::to_string(&proxy_command(ext, info)).expect("strings always serialise");
    ProxyDelivery::Agent {
        command: vec![AGENT_BINARY.to_owned(), "agent".to_owned()],
        env: vec![
            format!("SLUICE_ENDPOINT={}", access.endpoint),
            format!("SLUICE_CLUSTER={}", ext.name),
            // Swarm expands the template per task.
            "SLUICE_REPLICA={{.Task.Name}}".to_owned(),
            format!("SLUICE_TOKEN_FILE=/run/secrets/{TOKEN_TARGET}"),
            format!("SLUICE_PROXY_CMD={proxy_cmd}"),
        ],
        token,
    }
}

/// The proxy's argv for the agent to start: the plugin's proxy binary with
/// `ProxyArgs`, or the foreground arguments it needs ("{config}" is the
/// main config's path, which `ProxyConfigPath` may move).
pub fn proxy_command(ext: &Extension, info: &PluginInfo) -> Vec<String> {
    let args: &[&str] = match info.proxy.as_str() {
        _ if !ext.proxy_args.is_empty() => &[],
        "nginx" => &["-g", "daemon off;", "-c", "{config}"],
        // Master-worker mode: USR2 reloads without dropping connections.
        "haproxy" => &["-W", "-db", "-f", "{config}"],
        _ => &[],
    };
    let mut argv = vec![info.proxy.clone()];
    if ext.proxy_args.is_empty() {
        argv.extend(args.iter().map(|a| a.to_string()));
    } else {
        argv.extend(ext.proxy_args.iter().cloned());
    }
    argv
}

/// `sluice-agent-<extension>-<sha8 of token>`: a new key means a new
/// secret (secrets are immutable), within Swarm's name limit.
pub fn token_secret_name(extension: &str, token: &str) -> String {
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    let suffix = format!("-{}", &digest[..8]);
    let prefix = format!("sluice-agent-{extension}");
    let mut cut = prefix.len().min(MAX_NAME_LEN - suffix.len());
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}{suffix}",
        prefix[..cut].trim_end_matches(['-', '_', '.'])
    )
}

fn owner_labels(extension: &str, instance: &str) -> Vec<String> {
    vec![
        format!("{}={instance}", owner::INSTANCE),
        format!("{}={extension}", owner::EXTENSION),
    ]
}

async fn ensure_token_secret(
    engine: &Engine,
    ext: &Extension,
    instance: &str,
    token: &str,
) -> Result<SecretMount, ApplyError> {
    let name = token_secret_name(&ext.name, token);
    let filters = HashMap::from([("name", vec![name.clone()])]);
    let found = engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(ApplyError::docker(format!("list secret {name:?}")))?;
    // The name filter matches by prefix.
    let existing = found
        .iter()
        .find(|s| s.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(name.as_str()))
        .and_then(|s| s.id.clone());
    let id = match existing {
        Some(id) => id,
        None => {
            let labels = HashMap::from([
                (owner::INSTANCE.to_owned(), instance.to_owned()),
                (owner::EXTENSION.to_owned(), ext.name.clone()),
            ]);
            let spec = SecretSpec {
                name: Some(name.clone()),
                labels: Some(labels),
                data: Some(STANDARD.encode(token.as_bytes())),
                ..Default::default()
            };
            engine
                .docker
                .create_secret(spec)
                .await
                .map_err(ApplyError::docker(format!(
                    "create the agent token secret {name:?} of cluster {:?}",
                    ext.name
                )))?
                .id
        }
    };
    Ok(SecretMount {
        id,
        name,
        target: TOKEN_TARGET.to_owned(),
    })
}

/// Remove an extension's token secrets but `keep` (all of them for an
/// extension no longer configured). Best effort: Swarm refuses to remove a
/// secret a service still uses, and the next change retries.
pub async fn remove_token_secrets(
    engine: &Engine,
    extension: &str,
    instance: &str,
    keep: Option<&str>,
) {
    let filters = HashMap::from([
        ("label", owner_labels(extension, instance)),
        ("name", vec![format!("sluice-agent-{extension}-")]),
    ]);
    let Ok(secrets) = engine
        .docker
        .list_secrets(Some(
            ListSecretsOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    else {
        return;
    };
    for s in secrets {
        let (Some(id), Some(name)) = (s.id, s.spec.and_then(|s| s.name)) else {
            continue;
        };
        if Some(name.as_str()) != keep && engine.docker.delete_secret(&id).await.is_ok() {
            tracing::info!(cluster = %extension, secret = %name, "removed an agent token secret");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::latest::Reload;

    fn info(proxy: &str) -> PluginInfo {
        PluginInfo {
            name: proxy.into(),
            version: "1.0.0".into(),
            proxy: proxy.into(),
            default_config_path: "/etc/p.conf".into(),
            validate_command: vec![],
            reload: Reload::Signal("HUP".into()),
        }
    }

    fn ext(args: &[&str]) -> Extension {
        let mut ext = crate::config::Extension::new("east");
        ext.proxy_args = args.iter().map(|a| a.to_string()).collect();
        ext
    }

    #[test]
    fn proxy_commands() {
        let table: [(&str, &[&str], &[&str]); 4] = [
            (
                "nginx",
                &[],
                &["nginx", "-g", "daemon off;", "-c", "{config}"],
            ),
            ("haproxy", &[], &["haproxy", "-W", "-db", "-f", "{config}"]),
            (
                "nginx",
                &["-g", "daemon off;"],
                &["nginx", "-g", "daemon off;"],
            ),
            ("envoy", &[], &["envoy"]),
        ];
        for (proxy, args, want) in table {
            assert_eq!(
                proxy_command(&ext(args), &info(proxy)),
                want,
                "{proxy} {args:?}"
            );
        }
    }

    #[test]
    fn token_secret_names_fit_swarm_and_follow_the_token() {
        let a = token_secret_name("east", "token-1");
        assert!(
            a.starts_with("sluice-agent-east-") && a.len() == "sluice-agent-east-".len() + 8,
            "{a}"
        );
        assert_ne!(a, token_secret_name("east", "token-2"));
        let long = token_secret_name(&"x".repeat(80), "t");
        assert!(long.len() <= MAX_NAME_LEN, "{long}");
    }

    #[test]
    fn agent_delivery_env_names_cluster_endpoint_and_proxy() {
        let access = AgentAccess {
            endpoint: "http://10.0.0.1:8080".into(),
            token: "t".into(),
        };
        let ProxyDelivery::Agent {
            command,
            env,
            token,
        } = agent_delivery(&ext(&[]), &info("nginx"), &access, None)
        else {
            panic!("agent delivery expected");
        };
        assert_eq!(command, [AGENT_BINARY, "agent"]);
        assert_eq!(token, None);
        for want in [
            "SLUICE_ENDPOINT=http://10.0.0.1:8080",
            "SLUICE_CLUSTER=east",
            "SLUICE_REPLICA={{.Task.Name}}",
            "SLUICE_TOKEN_FILE=/run/secrets/sluice-agent-token",
            r#"SLUICE_PROXY_CMD=["nginx","-g","daemon off;","-c","{config}"]"#,
        ] {
            assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
        }
    }
}
