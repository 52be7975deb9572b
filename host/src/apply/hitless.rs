//! Hitless delivery's side of the proxy service: the proxy task runs
//! `sluice agent` (which starts the proxy and fetches every revision from the
//! daemon), so the service spec carries only how to run the agent and reach
//! the daemon, the commands it may run and the directory it may write (the
//! host's, see [`crate::proxies`], or the operator's `ProxyValidateCommand`,
//! `ProxyReload`, `ProxyConfigPath`), plus the cluster's credentials as a
//! Docker secret ([`crate::trust::Credentials`]).
//!
//! A new revision then changes nothing in the spec. What still changes it,
//! and so still rolls the proxy tasks: the networks the routes need (unless
//! `Networks` pins them), the routes' TLS secrets (Swarm hands secrets to a
//! task only when it starts), the credentials (a new daemon key) and the
//! `Proxy*` keys themselves.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::{SecretSpec, ServiceSpec};
use bollard::query_parameters::ListSecretsOptionsBuilder;
use sha2::{Digest, Sha256};

use super::config_object;
use super::error::ApplyError;
use super::owner;
use super::service::{self, Outcome, reconcile_proxy_keeping};
use super::spec::{Lists, ProxyDelivery, SecretMount, SpecContext, proxy_service_spec};
use super::swarm_api::SwarmApi;
use crate::config::{Extension, ProxyReload};
use crate::plan::ClusterPlan;
use crate::plan::secrets::AGENT_SECRET_PREFIX;
use crate::proxies;
use crate::trust::Credentials;
use crate::wit::latest::PluginInfo;

/// Where the image has the agent binary (`sluice-agent`; see
/// `examples/deploy/Dockerfile.nginx` and `tests/swarm/images.sh`).
pub const AGENT_BINARY: &str = "/usr/local/bin/sluice-agent";
/// The credentials' file name under `/run/secrets/` in the proxy task.
pub const CREDENTIALS_TARGET: &str = "sluice-agent";
/// Swarm's limit on a secret's name.
const MAX_NAME_LEN: usize = 64;

/// How agents of one cluster reach the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAccess {
    /// The daemon's API as the proxy tasks see it, `https://host:port`.
    pub endpoint: String,
    /// What the cluster's agents hold.
    pub credentials: Credentials,
    /// After a key rotation, the credentials made before it, which still
    /// open the channel: a proxy service mounting them is not updated for
    /// the rotation's sake, only with its next change.
    pub previous: Option<Credentials>,
}

/// Reconcile a hitless cluster's proxy service. The revision itself goes to
/// the agents through the daemon's API, not through Swarm; `info` only says
/// which proxy to start.
pub async fn apply_hitless(
    swarm: &SwarmApi,
    ext: &Extension,
    plan: &ClusterPlan,
    info: &PluginInfo,
    lists: &Lists,
    instance: &str,
    access: &AgentAccess,
) -> Result<Outcome, ApplyError> {
    let ctx = SpecContext::from_lists(instance, &lists.networks, &lists.secrets);
    let mut delivery = agent_delivery(ext, info, access, None)?;
    // A missing TLS secret or network, or a service we do not own, fails
    // here, before the credentials secret is created.
    proxy_service_spec(ext, plan, &delivery, &ctx)?;
    service::check_ownership(&swarm.docker, &ext.proxy_service_name, instance, &ext.name).await?;
    let secret =
        ensure_credentials_secret(swarm, ext, instance, &access.credentials.to_json()).await?;
    let current_secret = secret.name.clone();
    if let ProxyDelivery::Agent { token: slot, .. } = &mut delivery {
        *slot = Some(secret);
    }
    let desired = proxy_service_spec(ext, plan, &delivery, &ctx)?;
    let previous = access
        .previous
        .as_ref()
        .map(|p| credentials_secret_name(&ext.name, &p.to_json()));
    let keep = |running: &ServiceSpec| {
        previous
            .as_deref()
            .is_some_and(|name| current_but_credentials(ext, plan, &ctx, &delivery, name, running))
    };
    let outcome = reconcile_proxy_keeping(&swarm.docker, desired, keep).await?;
    if outcome != Outcome::Unchanged {
        // Left over from rolling delivery, or from an older daemon key.
        if let Err(e) = config_object::remove_superseded(swarm, instance, &ext.name, None).await {
            tracing::warn!(cluster = %ext.name, error = %e, "config objects of rolling delivery not removed");
        }
        remove_credentials_secrets(swarm, &ext.name, instance, Some(&current_secret)).await;
    }
    Ok(outcome)
}

/// Whether the `running` proxy service is exactly what `delivery` asks for,
/// except that it mounts the credentials secret `previous` (made before the
/// last key rotation, still valid): it then keeps it, so a rotation restarts
/// no proxy task.
fn current_but_credentials(
    ext: &Extension,
    plan: &ClusterPlan,
    ctx: &SpecContext,
    delivery: &ProxyDelivery,
    previous: &str,
    running: &ServiceSpec,
) -> bool {
    let mounted = running
        .task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.secrets.as_ref())
        .into_iter()
        .flatten()
        .find(|s| s.secret_name.as_deref() == Some(previous))
        .and_then(|s| s.secret_id.clone());
    let Some(id) = mounted else {
        return false;
    };
    let mut kept = delivery.clone();
    if let ProxyDelivery::Agent { token: slot, .. } = &mut kept {
        *slot = Some(SecretMount {
            id,
            name: previous.to_owned(),
            target: CREDENTIALS_TARGET.to_owned(),
        });
    }
    let Ok(with_previous) = proxy_service_spec(ext, plan, &kept, ctx) else {
        return false;
    };
    let wanted = owner::label(&with_previous.labels, owner::SPEC_HASH);
    wanted.is_some() && wanted == owner::label(&running.labels, owner::SPEC_HASH)
}

/// The spec's delivery part: the agent as command, its settings as env.
pub fn agent_delivery(
    ext: &Extension,
    info: &PluginInfo,
    access: &AgentAccess,
    credentials: Option<SecretMount>,
) -> Result<ProxyDelivery, ApplyError> {
    let commands = AgentCommands::of(ext, info)?;
    let json = |argv: &[String]| serde_json::to_string(argv).expect("strings always serialise");
    let reload = match &commands.reload {
        ProxyReload::Signal(name) => name.clone(),
        ProxyReload::Command(argv) => json(argv),
    };
    let mut env = vec![
        format!("SLUICE_ENDPOINT={}", access.endpoint),
        format!("SLUICE_CLUSTER={}", ext.name),
        // Swarm expands the template per task.
        "SLUICE_REPLICA={{.Task.Name}}".to_owned(),
        format!("SLUICE_CREDENTIALS_FILE=/run/secrets/{CREDENTIALS_TARGET}"),
        format!("SLUICE_PROXY_CMD={}", json(&commands.proxy)),
        format!("SLUICE_VALIDATE_CMD={}", json(&commands.validate)),
        format!("SLUICE_RELOAD={reload}"),
        format!("SLUICE_CONFIG_ROOT={}", commands.config_root),
    ];
    if let Some(port) = ext.agent_metrics_port {
        env.push(format!("SLUICE_METRICS_ADDR=0.0.0.0:{port}"));
    }
    if let Some(socket) = &commands.master_socket {
        env.push(format!("SLUICE_HAPROXY_MASTER_SOCKET={socket}"));
    }
    if commands.reload_checks {
        env.push("SLUICE_RELOAD_CHECKS=true".to_owned());
    }
    Ok(ProxyDelivery::Agent {
        command: vec![AGENT_BINARY.to_owned()],
        env,
        token: credentials,
    })
}

/// What the agent of a cluster runs and where it writes: the host's
/// choices for the proxy kind the plugin names, or the operator's keys;
/// never the plugin's own commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentCommands {
    /// Runs the proxy in the foreground ("{config}": the main config).
    pub proxy: Vec<String>,
    pub validate: Vec<String>,
    pub reload: ProxyReload,
    /// The directory of the main config: the only place revisions write.
    pub config_root: String,
    /// The proxy's runtime API socket, when the agent runs the built-in
    /// command that serves it ([`proxies::ProxyKind::master_socket`]).
    pub master_socket: Option<String>,
    /// The proxy checks configs as it reloads (the host's kind, with its
    /// own validate command and reload): no separate check before a reload.
    pub reload_checks: bool,
}

impl AgentCommands {
    pub fn of(ext: &Extension, info: &PluginInfo) -> Result<AgentCommands, ApplyError> {
        let kind = proxies::builtin(&info.proxy);
        let missing = |what: &str| ApplyError::ProxyCommands {
            cluster: ext.name.clone(),
            plugin: info.name.clone(),
            proxy: info.proxy.clone(),
            missing: what.to_owned(),
        };
        let validate = match (&ext.proxy_validate_command, kind) {
            (Some(argv), _) => argv.clone(),
            (None, Some(k)) => proxies::owned(k.validate),
            (None, None) => return Err(missing("ProxyValidateCommand")),
        };
        let reload = match (&ext.proxy_reload, kind) {
            (Some(r), _) => r.clone(),
            (None, Some(k)) => ProxyReload::Signal(k.reload_signal.to_owned()),
            (None, None) => return Err(missing("ProxyReload")),
        };
        let config_path = match (&ext.proxy_config_path, kind) {
            (Some(p), _) => p.clone(),
            (None, Some(k)) => k.config_path.to_owned(),
            (None, None) => return Err(missing("ProxyConfigPath")),
        };
        let config_root = std::path::Path::new(&config_path)
            .parent()
            .and_then(|p| p.to_str())
            .unwrap_or("/")
            .to_owned();
        if let Some(problem) = sluice_wire::paths::config_root_problem(&config_root) {
            return Err(ApplyError::ConfigRoot {
                cluster: ext.name.clone(),
                path: config_path,
                problem,
            });
        }
        // The binary is the host's for a kind it knows, else the operator's:
        // never a name the plugin chose.
        let mut master_socket = None;
        let proxy = match (&ext.proxy_command, kind) {
            (Some(argv), _) => argv.clone(),
            (None, Some(k)) => {
                let mut argv = vec![k.name.to_owned()];
                if ext.proxy_args.is_empty() {
                    argv.extend(proxies::owned(k.run_args));
                    // Only with the host's own arguments (the agent adds
                    // the socket's to them).
                    master_socket = k.master_socket.map(str::to_owned);
                } else {
                    argv.extend(ext.proxy_args.iter().cloned());
                }
                argv
            }
            (None, None) => return Err(missing("ProxyCommand")),
        };
        let reload_checks = kind.is_some_and(|k| k.checks_on_reload)
            && ext.proxy_validate_command.is_none()
            && ext.proxy_reload.is_none()
            && ext.proxy_command.is_none();
        Ok(AgentCommands {
            proxy,
            validate,
            reload,
            config_root,
            master_socket,
            reload_checks,
        })
    }
}

/// `sluice-agent-<extension>-<sha8 of the credentials>`: a new key means a
/// new secret (secrets are immutable), within Swarm's name limit.
pub fn credentials_secret_name(extension: &str, contents: &str) -> String {
    let digest = hex::encode(Sha256::digest(contents.as_bytes()));
    let suffix = format!("-{}", &digest[..8]);
    let prefix = format!("{AGENT_SECRET_PREFIX}{extension}");
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

async fn ensure_credentials_secret(
    swarm: &SwarmApi,
    ext: &Extension,
    instance: &str,
    contents: &str,
) -> Result<SecretMount, ApplyError> {
    let name = credentials_secret_name(&ext.name, contents);
    let filters = HashMap::from([("name", vec![name.clone()])]);
    let found = swarm
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
                data: Some(STANDARD.encode(contents.as_bytes())),
                ..Default::default()
            };
            swarm
                .docker
                .create_secret(spec)
                .await
                .map_err(ApplyError::docker(format!(
                    "create the agent credentials secret {name:?} of cluster {:?}",
                    ext.name
                )))?
                .id
        }
    };
    Ok(SecretMount {
        id,
        name,
        target: CREDENTIALS_TARGET.to_owned(),
    })
}

/// Remove an extension's credentials secrets but `keep` (all of them for an
/// extension no longer configured). Best effort: Swarm refuses to remove a
/// secret a service still uses, and the next change retries.
pub async fn remove_credentials_secrets(
    swarm: &SwarmApi,
    extension: &str,
    instance: &str,
    keep: Option<&str>,
) {
    let filters = HashMap::from([
        ("label", owner_labels(extension, instance)),
        ("name", vec![format!("{AGENT_SECRET_PREFIX}{extension}-")]),
    ]);
    let Ok(secrets) = swarm
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
        if Some(name.as_str()) != keep && swarm.docker.delete_secret(&id).await.is_ok() {
            tracing::info!(cluster = %extension, secret = %name, "removed an agent credentials secret");
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
            validate_command: ["sh", "-c", "touch /tmp/pwned", "{config}"]
                .map(String::from)
                .to_vec(),
            reload: Reload::Command(vec!["sh".into(), "-c".into(), "id".into()]),
        }
    }

    fn ext(args: &[&str]) -> Extension {
        let mut ext = crate::config::Extension::new("east");
        ext.proxy_args = args.iter().map(|a| a.to_string()).collect();
        ext
    }

    /// The agent drives HAProxy's master CLI only with the host's own
    /// command (which the agent extends), never with the operator's
    /// arguments.
    #[test]
    fn haproxys_master_socket_comes_with_the_hosts_own_command() {
        let socket = "/run/sluice-agent/haproxy-master.sock";
        let own = AgentCommands::of(&ext(&[]), &info("haproxy")).unwrap();
        assert_eq!(own.master_socket.as_deref(), Some(socket));
        let access = AgentAccess {
            endpoint: "https://10.0.0.1:8080".into(),
            credentials: crate::serve::Keyring::new(b"a daemon key, 16+ bytes".to_vec())
                .credentials("east")
                .unwrap(),
            previous: None,
        };
        let ProxyDelivery::Agent { env, .. } =
            agent_delivery(&ext(&[]), &info("haproxy"), &access, None).unwrap()
        else {
            panic!("agent delivery");
        };
        let want = format!("SLUICE_HAPROXY_MASTER_SOCKET={socket}");
        assert!(env.contains(&want), "{env:?}");
        let operators =
            AgentCommands::of(&ext(&["-W", "-f", "{config}"]), &info("haproxy")).unwrap();
        assert_eq!(operators.master_socket, None);
        let nginx = AgentCommands::of(&ext(&[]), &info("nginx")).unwrap();
        assert_eq!(nginx.master_socket, None);
    }

    /// nginx's own check on reload stands in for `nginx -t` only with the
    /// host's commands: an operator's validate command or reload is run.
    #[test]
    fn reloads_check_themselves_only_with_the_hosts_commands() {
        let own = |e: &Extension, proxy: &str| AgentCommands::of(e, &info(proxy)).unwrap();
        assert!(own(&ext(&[]), "nginx").reload_checks);
        assert!(own(&ext(&["-g", "daemon off;"]), "nginx").reload_checks);
        assert!(!own(&ext(&[]), "haproxy").reload_checks);
        let mut validate = ext(&[]);
        validate.proxy_validate_command = Some(vec!["my-check".into()]);
        assert!(!own(&validate, "nginx").reload_checks);
        let mut reload = ext(&[]);
        reload.proxy_reload = Some(ProxyReload::Signal("USR1".into()));
        assert!(!own(&reload, "nginx").reload_checks);
    }

    #[test]
    fn commands_are_the_hosts_or_the_operators_never_the_plugins() {
        let mut operator = ext(&[]);
        operator.proxy_validate_command =
            Some(vec!["envoy".into(), "--mode".into(), "validate".into()]);
        operator.proxy_reload = Some(ProxyReload::Command(vec!["hot-restart".into()]));
        operator.proxy_config_path = Some("/etc/envoy/envoy.yaml".into());
        operator.proxy_command = Some(vec!["envoy".into(), "-c".into(), "{config}".into()]);
        let mut no_command = operator.clone();
        no_command.proxy_command = None;
        let mut system_dir = operator.clone();
        system_dir.proxy_config_path = Some("/etc/envoy.yaml".into());
        let mut builtin_in_etc = ext(&[]);
        builtin_in_etc.proxy_config_path = Some("/etc/haproxy.cfg".into());
        let mut no_root = operator.clone();
        no_root.proxy_config_path = None;
        let mut slash = operator.clone();
        slash.proxy_config_path = Some("/envoy.yaml".into());
        // (extension, plugin's proxy, want proxy argv / validate / root, or the missing key)
        type Case = (
            Extension,
            &'static str,
            Result<(Vec<&'static str>, Vec<&'static str>, &'static str), &'static str>,
        );
        let table: Vec<Case> = vec![
            (
                ext(&[]),
                "nginx",
                Ok((
                    vec!["nginx", "-g", "daemon off;", "-c", "{config}"],
                    vec!["nginx", "-t", "-q", "-c", "{config}"],
                    "/etc/nginx",
                )),
            ),
            (
                ext(&[]),
                "haproxy",
                Ok((
                    vec!["haproxy", "-W", "-db", "-f", "{config}"],
                    vec!["haproxy", "-c", "-q", "-f", "{config}"],
                    "/usr/local/etc/haproxy",
                )),
            ),
            (
                ext(&["-g", "daemon off;"]),
                "nginx",
                Ok((
                    vec!["nginx", "-g", "daemon off;"],
                    vec!["nginx", "-t", "-q", "-c", "{config}"],
                    "/etc/nginx",
                )),
            ),
            (ext(&[]), "envoy", Err("ProxyValidateCommand")),
            (
                operator.clone(),
                "envoy",
                Ok((
                    vec!["envoy", "-c", "{config}"],
                    vec!["envoy", "--mode", "validate"],
                    "/etc/envoy",
                )),
            ),
            (no_command, "envoy", Err("ProxyCommand")),
            (no_root, "envoy", Err("ProxyConfigPath")),
            (slash, "envoy", Err("ProxyConfigPath")),
            (system_dir, "envoy", Err("system directory")),
            (builtin_in_etc, "haproxy", Err("system directory")),
        ];
        for (ext, proxy, want) in table {
            // The plugin's own commands (sh -c ...) are never used.
            let got = AgentCommands::of(&ext, &info(proxy));
            match (got, want) {
                (Ok(c), Ok((run, validate, root))) => {
                    assert_eq!(
                        (c.proxy, c.validate, c.config_root.as_str()),
                        (proxies::owned(&run), proxies::owned(&validate), root),
                        "{proxy}"
                    );
                }
                (Err(e), Err(key)) => {
                    let e = e.to_string();
                    assert!(e.contains(key) && e.contains("\"east\""), "{e}");
                }
                (got, want) => panic!("{proxy}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn credentials_secret_names_fit_swarm_and_follow_the_token() {
        let a = credentials_secret_name("east", "token-1");
        assert!(
            a.starts_with("sluice-agent-east-") && a.len() == "sluice-agent-east-".len() + 8,
            "{a}"
        );
        assert_ne!(a, credentials_secret_name("east", "token-2"));
        let long = credentials_secret_name(&"x".repeat(80), "t");
        assert!(long.len() <= MAX_NAME_LEN, "{long}");
    }

    #[test]
    fn agent_delivery_env_names_cluster_endpoint_and_proxy() {
        let access = AgentAccess {
            endpoint: "https://10.0.0.1:8080".into(),
            credentials: crate::serve::Keyring::new(b"a daemon key, 16+ bytes".to_vec())
                .credentials("east")
                .unwrap(),
            previous: None,
        };
        let Ok(ProxyDelivery::Agent {
            command,
            env,
            token,
        }) = agent_delivery(&ext(&[]), &info("nginx"), &access, None)
        else {
            panic!("agent delivery expected");
        };
        assert_eq!(command, [AGENT_BINARY]);
        assert_eq!(token, None);
        for want in [
            "SLUICE_ENDPOINT=https://10.0.0.1:8080",
            "SLUICE_CLUSTER=east",
            "SLUICE_REPLICA={{.Task.Name}}",
            "SLUICE_CREDENTIALS_FILE=/run/secrets/sluice-agent",
            r#"SLUICE_PROXY_CMD=["nginx","-g","daemon off;","-c","{config}"]"#,
            r#"SLUICE_VALIDATE_CMD=["nginx","-t","-q","-c","{config}"]"#,
            "SLUICE_RELOAD=HUP",
            "SLUICE_CONFIG_ROOT=/etc/nginx",
        ] {
            assert!(env.iter().any(|e| e == want), "{want} missing from {env:?}");
        }
        assert!(
            !env.iter()
                .any(|e| e.contains("pwned") || e.contains("BEGIN")),
            "no plugin command and no key material in env: {env:?}"
        );
        assert!(
            !env.iter().any(|e| e.starts_with("SLUICE_METRICS_ADDR")),
            "metrics are off unless asked for: {env:?}"
        );
        let mut with_metrics = ext(&[]);
        with_metrics.agent_metrics_port = Some(9102);
        let Ok(ProxyDelivery::Agent { env, .. }) =
            agent_delivery(&with_metrics, &info("nginx"), &access, None)
        else {
            panic!("agent delivery expected");
        };
        assert!(
            env.iter().any(|e| e == "SLUICE_METRICS_ADDR=0.0.0.0:9102"),
            "{env:?}"
        );
    }
}
