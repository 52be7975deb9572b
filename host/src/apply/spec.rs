//! Pure: an Extension, its cluster's plan and the delivered config → the
//! proxy's Swarm service spec, labelled with its own hash.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecRollbackConfig, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecSecrets, TaskSpecPlacement, TaskSpecPlacementPreferences,
    TaskSpecPlacementSpread,
};

use super::error::ApplyError;
use super::owner;
use crate::config::{Extension, PublishMode};
use crate::plan::ClusterPlan;
use crate::snapshot::{Network, Secret, Snapshot, Swarm};

/// Owner and name → ID lookups the spec needs, taken from the snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpecContext {
    /// The Sluice instance name (owner label).
    pub instance: String,
    /// Network name → ID.
    pub networks: BTreeMap<String, String>,
    /// Secret name → ID.
    pub secrets: BTreeMap<String, String>,
}

/// The Swarm's networks and secrets, which a proxy spec names by ID.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    pub networks: std::sync::Arc<Vec<Network>>,
    pub secrets: std::sync::Arc<Vec<Secret>>,
}

impl Lists {
    pub fn of(swarm: &Swarm) -> Lists {
        Lists {
            networks: swarm.networks.clone(),
            secrets: swarm.secrets.clone(),
        }
    }
}

impl SpecContext {
    pub fn from_snapshot(instance: &str, snapshot: &Snapshot) -> SpecContext {
        SpecContext::from_lists(instance, &snapshot.networks, &snapshot.secrets)
    }

    pub fn from_lists(instance: &str, networks: &[Network], secrets: &[Secret]) -> SpecContext {
        let networks = networks
            .iter()
            .filter_map(|n| Some((n.name.clone()?, n.id.clone()?)))
            .collect();
        let secrets = secrets
            .iter()
            .filter_map(|s| Some((s.spec.as_ref()?.name.clone()?, s.id.clone()?)))
            .collect();
        SpecContext {
            instance: instance.to_owned(),
            networks,
            secrets,
        }
    }
}

/// A Docker config object mounted into the proxy at `path`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeliveredConfig {
    pub id: String,
    pub name: String,
    pub path: String,
}

/// How the rendered revision reaches the proxy, as far as the spec is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum ProxyDelivery {
    /// Interlock's rolling delivery: one config object per rendered file of
    /// this revision, so every revision is a new spec and a rolling update.
    ConfigObjects {
        revision: String,
        configs: Vec<DeliveredConfig>,
    },
    /// Hitless delivery: an agent in the proxy task fetches each revision, so
    /// the spec carries only how to run and reach it and does not change per
    /// revision (see [`super::agent`]).
    Agent {
        /// The container's command: the agent, which starts the proxy (so
        /// `ProxyArgs` go to the agent's proxy command, not to the image).
        command: Vec<String>,
        env: Vec<String>,
        /// The cluster's agent token.
        token: Option<SecretMount>,
    },
}

/// A Docker secret mounted at `/run/secrets/<target>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretMount {
    pub id: String,
    pub name: String,
    pub target: String,
}

/// Mode of the config files and secrets in the proxy (read-only, everyone).
const FILE_MODE: u32 = 0o444;
/// The agent's credentials: root only (the agent runs as root; the proxy's
/// workers, which run as its user, cannot read them).
const CREDENTIALS_MODE: u32 = 0o400;

/// Datagrams the agent's traffic socket may hold before the proxy's lines
/// are dropped.
const TRAFFIC_QUEUE: &str = "1024";

/// The proxy service spec of one cluster, labelled with its own hash.
///
/// Update order: with `PublishMode = "host"` each task binds the published
/// ports on its node, so Swarm cannot start a replacement next to the old task
/// and a start-first update stalls whenever every eligible node already runs a
/// proxy (the usual one-proxy-per-LB-node layout); those proxies update
/// stop-first. Ingress ports belong to the routing mesh, not the task, so
/// those proxies update start-first and never drop below their replica count.
pub fn proxy_service_spec(
    ext: &Extension,
    plan: &ClusterPlan,
    delivery: &ProxyDelivery,
    ctx: &SpecContext,
) -> Result<ServiceSpec, ApplyError> {
    let mut container_labels: HashMap<String, String> =
        ext.proxy_container_labels.clone().into_iter().collect();
    container_labels.extend(owner_labels(ext, ctx));

    let mut container = TaskSpecContainerSpec {
        image: Some(ext.proxy_image.clone()),
        args: non_empty(ext.proxy_args.clone()),
        labels: Some(container_labels),
        stop_signal: Some(ext.proxy_stop_signal.clone()).filter(|s| !s.is_empty()),
        stop_grace_period: Some(nanos(ext.proxy_stop_grace_period)),
        secrets: non_empty(secrets(ext, plan, ctx)?),
        ..Default::default()
    };
    let mut labels: HashMap<String, String> = ext.proxy_labels.clone().into_iter().collect();
    labels.insert(
        owner::PROXY_TYPE.0.to_owned(),
        owner::PROXY_TYPE.1.to_owned(),
    );
    labels.extend(owner_labels(ext, ctx));
    match delivery {
        ProxyDelivery::ConfigObjects { revision, configs } => {
            let mut configs = configs.clone();
            configs.sort();
            container.configs = non_empty(configs.into_iter().map(config_mount).collect());
            labels.insert(owner::REVISION.to_owned(), revision.clone());
        }
        ProxyDelivery::Agent {
            command,
            env,
            token,
        } => {
            container.command = non_empty(command.clone());
            container.args = None;
            container.env = non_empty(env.clone());
            if let Some(port) = ext.agent_metrics_port {
                labels.insert(owner::METRICS_PORT.to_owned(), port.to_string());
                // nginx sends a traffic line per request without waiting;
                // with the kernel's default queue of 10 datagrams a busy
                // proxy loses ~1% of them (traffic bench). The sysctl is the
                // container's own (its network namespace).
                container.sysctls = Some(HashMap::from([(
                    "net.unix.max_dgram_qlen".to_owned(),
                    TRAFFIC_QUEUE.to_owned(),
                )]));
            }
            if let Some(t) = token {
                container
                    .secrets
                    .get_or_insert_with(Vec::new)
                    .push(secret_mount_mode(
                        t.id.clone(),
                        t.name.clone(),
                        t.target.clone(),
                        CREDENTIALS_MODE,
                    ));
            }
        }
    }

    let (update_order, rollback_order) = match ext.publish_mode {
        PublishMode::Host => (
            ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
            ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
        ),
        PublishMode::Ingress => (
            ServiceSpecUpdateConfigOrderEnum::START_FIRST,
            ServiceSpecRollbackConfigOrderEnum::START_FIRST,
        ),
    };
    let mut spec = ServiceSpec {
        name: Some(ext.proxy_service_name.clone()),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            placement: placement(ext)?,
            networks: non_empty(networks(ext, plan, ctx)?),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(saturating_i64(ext.proxy_replicas)),
            }),
            ..Default::default()
        }),
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: Some(1),
            delay: ext.proxy_update_delay.map(nanos),
            // Interlock ≥ 2.3 rolls a failed proxy update back instead of pausing.
            failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
            order: Some(update_order),
            ..Default::default()
        }),
        rollback_config: Some(ServiceSpecRollbackConfig {
            parallelism: Some(1),
            delay: ext.proxy_update_delay.map(nanos),
            order: Some(rollback_order),
            ..Default::default()
        }),
        endpoint_spec: Some(endpoint(ext)),
        ..Default::default()
    };
    let hash = owner::spec_hash(&spec);
    spec.labels
        .get_or_insert_with(HashMap::new)
        .insert(owner::SPEC_HASH.to_owned(), hash);
    Ok(spec)
}

/// Sluice's labels win over same-named user labels: they decide ownership.
fn owner_labels(ext: &Extension, ctx: &SpecContext) -> [(String, String); 2] {
    [
        (owner::INSTANCE.to_owned(), ctx.instance.clone()),
        (owner::EXTENSION.to_owned(), ext.name.clone()),
    ]
}

fn config_mount(c: DeliveredConfig) -> TaskSpecContainerSpecConfigs {
    TaskSpecContainerSpecConfigs {
        file: Some(TaskSpecContainerSpecFile1 {
            name: Some(c.path),
            uid: Some("0".into()),
            gid: Some("0".into()),
            mode: Some(FILE_MODE),
        }),
        config_id: Some(c.id),
        config_name: Some(c.name),
        ..Default::default()
    }
}

/// The routes' secrets, each at `/run/secrets/<name>` (the paths the planner
/// wrote into the TLS file locations).
fn secrets(
    ext: &Extension,
    plan: &ClusterPlan,
    ctx: &SpecContext,
) -> Result<Vec<TaskSpecContainerSpecSecrets>, ApplyError> {
    plan.secrets
        .iter()
        .map(|name| {
            let id = ctx
                .secrets
                .get(name)
                .ok_or_else(|| ApplyError::MissingSecret {
                    cluster: ext.name.clone(),
                    secret: name.clone(),
                })?;
            Ok(secret_mount(id.clone(), name.clone(), name.clone()))
        })
        .collect()
}

fn secret_mount(id: String, name: String, target: String) -> TaskSpecContainerSpecSecrets {
    secret_mount_mode(id, name, target, FILE_MODE)
}

fn secret_mount_mode(
    id: String,
    name: String,
    target: String,
    mode: u32,
) -> TaskSpecContainerSpecSecrets {
    TaskSpecContainerSpecSecrets {
        file: Some(TaskSpecContainerSpecFile {
            name: Some(target),
            uid: Some("0".into()),
            gid: Some("0".into()),
            mode: Some(mode),
        }),
        secret_id: Some(id),
        secret_name: Some(name),
    }
}

/// `Networks` pins exactly those networks; otherwise the ones the routes need.
/// Sorted by ID so that the spec (and its hash) does not depend on order.
fn networks(
    ext: &Extension,
    plan: &ClusterPlan,
    ctx: &SpecContext,
) -> Result<Vec<NetworkAttachmentConfig>, ApplyError> {
    let ids: BTreeSet<String> = match &ext.networks {
        Some(names) => names
            .iter()
            .map(|name| resolve_network(ext, ctx, name))
            .collect::<Result<_, _>>()?,
        None => plan.networks.clone(),
    };
    Ok(ids
        .into_iter()
        .map(|id| NetworkAttachmentConfig {
            target: Some(id),
            ..Default::default()
        })
        .collect())
}

/// A network by name, or by ID (Swarm accepts either in `Networks`).
fn resolve_network(ext: &Extension, ctx: &SpecContext, name: &str) -> Result<String, ApplyError> {
    if let Some(id) = ctx.networks.get(name) {
        return Ok(id.clone());
    }
    if ctx.networks.values().any(|id| id == name) {
        return Ok(name.to_owned());
    }
    Err(ApplyError::MissingNetwork {
        cluster: ext.name.clone(),
        network: name.to_owned(),
    })
}

fn placement(ext: &Extension) -> Result<Option<TaskSpecPlacement>, ApplyError> {
    let preferences = ext
        .proxy_placement_preferences
        .iter()
        .map(|value| spread_preference(ext, value))
        .collect::<Result<Vec<_>, _>>()?;
    if ext.proxy_constraints.is_empty() && preferences.is_empty() {
        return Ok(None);
    }
    Ok(Some(TaskSpecPlacement {
        constraints: non_empty(ext.proxy_constraints.clone()),
        preferences: non_empty(preferences),
        ..Default::default()
    }))
}

/// `spread=node.labels.zone`, as `docker service create --placement-pref` takes it.
fn spread_preference(
    ext: &Extension,
    value: &str,
) -> Result<TaskSpecPlacementPreferences, ApplyError> {
    let bad = || ApplyError::PlacementPreference {
        cluster: ext.name.clone(),
        value: value.to_owned(),
    };
    let (strategy, descriptor) = value.split_once('=').ok_or_else(bad)?;
    let descriptor = descriptor.trim();
    if strategy.trim() != "spread" || descriptor.is_empty() {
        return Err(bad());
    }
    Ok(TaskSpecPlacementPreferences {
        spread: Some(TaskSpecPlacementSpread {
            spread_descriptor: Some(descriptor.to_owned()),
        }),
    })
}

fn endpoint(ext: &Extension) -> EndpointSpec {
    let mode = match ext.publish_mode {
        PublishMode::Host => EndpointPortConfigPublishModeEnum::HOST,
        PublishMode::Ingress => EndpointPortConfigPublishModeEnum::INGRESS,
    };
    let port = |published: u16, target: u16| EndpointPortConfig {
        protocol: Some(EndpointPortConfigProtocolEnum::TCP),
        target_port: Some(target.into()),
        published_port: Some(published.into()),
        publish_mode: Some(mode),
        ..Default::default()
    };
    EndpointSpec {
        mode: Some(EndpointSpecModeEnum::VIP),
        ports: Some(vec![
            port(ext.published_port, ext.target_port),
            port(ext.published_ssl_port, ext.target_ssl_port),
        ]),
    }
}

/// Swarm omits empty lists from what it stores; omit them here too.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    if items.is_empty() { None } else { Some(items) }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
