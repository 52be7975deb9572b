//! The apply stage: one rendered revision per cluster → one proxy service
//! per `[Extensions.NAME]` on Swarm.
//!
//! Per cluster, [`apply_cluster`]:
//! 1. delivers the revision: with Interlock's rolling delivery, one Docker
//!    config object per rendered file, named `<ProxyServiceName>-<hash12>`
//!    (reused when it already exists, so re-applying is free);
//! 2. builds the proxy's service spec ([`spec::proxy_service_spec`], pure):
//!    every `Proxy*` key, the routes' networks and secrets, and owner labels
//!    including the hash of the spec itself;
//! 3. reconciles the service ([`reconcile_proxy`]): created when absent,
//!    left alone when its spec-hash label matches (no API write, so a
//!    restarted daemon with nothing changed updates nothing), updated
//!    otherwise; a same-named service another owner made is never touched;
//! 4. removes this cluster's superseded config objects that no service
//!    (current or rollback spec) refers to.
//!
//! Every object is found through its `com.docker.sluice.instance` and
//! `com.docker.sluice.extension` labels (see [`owner`]), so applying one
//! cluster never touches another cluster's, or another instance's, objects.
//! [`remove_orphans`] removes the services and config objects of extensions
//! that are no longer configured.
//!
//! Hitless delivery (`Delivery = "hitless"`, the default) goes through
//! [`hitless::apply_hitless`] instead: an agent in the proxy task fetches each
//! revision from the daemon's API (`crate::serve`), and the spec
//! ([`ProxyDelivery::Agent`]) mounts no per-revision config, so a new
//! revision leaves the service as it is.

pub mod config_object;
pub mod error;
pub mod hitless;
pub mod owner;
pub mod service;
pub mod spec;
pub mod swarm_api;

pub use error::ApplyError;
pub use hitless::{AgentAccess, apply_hitless};
pub use service::{Outcome, reconcile_proxy, remove_orphans};
pub use spec::{
    DeliveredConfig, Lists, ProxyDelivery, SecretMount, SpecContext, proxy_service_spec,
};
pub use swarm_api::SwarmApi;

use crate::config::Extension;
use crate::plan::ClusterPlan;
use crate::render::Revision;

/// Apply one cluster's revision to its proxy service the rolling way
/// (config objects and a service update). On error nothing of
/// the running service has changed (the caller keeps the last good revision);
/// config objects created on the way are reused by the next attempt.
pub async fn apply_cluster(
    swarm: &SwarmApi,
    ext: &Extension,
    plan: &ClusterPlan,
    revision: &Revision,
    lists: &Lists,
    instance: &str,
) -> Result<Outcome, ApplyError> {
    let ctx = SpecContext::from_lists(instance, &lists.networks, &lists.secrets);
    // A missing secret or network, or a service we do not own, fails here,
    // before any object is created.
    let no_configs = ProxyDelivery::ConfigObjects {
        revision: revision.hash.clone(),
        configs: Vec::new(),
    };
    proxy_service_spec(ext, plan, &no_configs, &ctx)?;
    service::check_ownership(&swarm.docker, &ext.proxy_service_name, instance, &ext.name).await?;
    let configs = config_object::ensure_config_objects(swarm, ext, revision, instance).await?;
    let delivery = ProxyDelivery::ConfigObjects {
        revision: revision.hash.clone(),
        configs,
    };
    let desired = proxy_service_spec(ext, plan, &delivery, &ctx)?;
    let outcome = reconcile_proxy(&swarm.docker, desired).await?;
    if outcome != Outcome::Unchanged {
        // The service runs the new revision already; a failed clean-up only
        // leaves objects for the next change to remove.
        match config_object::remove_superseded(swarm, instance, &ext.name, Some(&revision.hash))
            .await
        {
            Ok(removed) if !removed.is_empty() => {
                tracing::info!(cluster = %ext.name, removed = ?removed, "removed superseded config objects")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(cluster = %ext.name, error = %e, "superseded config objects not removed")
            }
        }
    }
    Ok(outcome)
}
