//! The take-over and its rollback. Every spec the switch changes is saved
//! first, in a config object labelled [`super::BACKUP`] (the first save wins,
//! so running the take-over twice keeps the original); the rollback puts
//! those specs back and removes them.

use std::collections::HashMap;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::{ConfigSpec, ServiceSpec};
use bollard::query_parameters::{InspectServiceOptions, UpdateServiceOptionsBuilder};
use sha2::{Digest, Sha256};

use super::assess::{Assessment, ProxyState};
use super::{BACKUP, BACKUP_SERVICE};
use crate::apply::{SwarmApi, owner};

/// What a take-over or rollback did, a line each.
pub type Done = Vec<String>;

/// Label each of Interlock's proxy services as `instance`'s (its tasks keep
/// running: only service labels change) and scale the core to 0.
pub async fn take_over(
    swarm: &SwarmApi,
    assessment: &Assessment,
    core: &str,
    instance: &str,
) -> anyhow::Result<Done> {
    anyhow::ensure!(
        assessment.blocked.is_empty(),
        "not taking over: {}",
        assessment.blocked.join("; ")
    );
    let mut done = Vec::new();
    for p in &assessment.proxies {
        if p.state != ProxyState::Interlocks {
            continue;
        }
        update(swarm, &p.service, instance, |spec| {
            let labels = spec.labels.get_or_insert_with(HashMap::new);
            labels.insert(owner::INSTANCE.into(), instance.into());
            labels.insert(owner::EXTENSION.into(), p.extension.clone());
        })
        .await?;
        done.push(format!(
            "service {}: now Sluice instance {instance}'s, cluster {} (its tasks kept running)",
            p.service, p.extension
        ));
    }
    update(swarm, core, instance, |spec| {
        if let Some(r) = spec.mode.as_mut().and_then(|m| m.replicated.as_mut()) {
            r.replicas = Some(0);
        }
    })
    .await?;
    done.push(format!(
        "service {core}: scaled to 0 (Interlock no longer updates the proxies)"
    ));
    Ok(done)
}

/// Put back every spec a take-over of `instance` saved, then forget them:
/// the services restored, each with what was done.
pub async fn rollback(swarm: &SwarmApi, instance: &str) -> anyhow::Result<Vec<(String, String)>> {
    let backups = swarm
        .list_configs(&[format!("{BACKUP}={instance}")], None)
        .await?;
    anyhow::ensure!(
        !backups.is_empty(),
        "nothing to roll back: no config object labelled {BACKUP}={instance}"
    );
    let mut done = Vec::new();
    for b in backups {
        let name = b
            .spec
            .as_ref()
            .and_then(|s| s.name.clone())
            .unwrap_or_default();
        let labels = b.spec.as_ref().and_then(|s| s.labels.clone());
        let service = owner::label(&labels, BACKUP_SERVICE)
            .with_context(|| format!("config object {name:?} has no {BACKUP_SERVICE} label"))?
            .to_owned();
        let data = b
            .spec
            .as_ref()
            .and_then(|s| s.data.clone())
            .unwrap_or_default();
        let saved: ServiceSpec = STANDARD
            .decode(data)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .with_context(|| format!("config object {name:?} does not hold a service spec"))?;
        restorable(&saved, &service).map_err(|e| anyhow::anyhow!("config object {name:?}: {e}"))?;
        let current = swarm
            .docker
            .inspect_service(&service, None::<InspectServiceOptions>)
            .await
            .with_context(|| format!("reading service {service:?}"))?;
        let version = current.version.and_then(|v| v.index).unwrap_or_default();
        let options = UpdateServiceOptionsBuilder::default()
            .version(i32::try_from(version).unwrap_or(i32::MAX))
            .build();
        swarm
            .docker
            .update_service(&service, saved, options, None)
            .await
            .with_context(|| format!("restoring service {service:?}"))?;
        let id = b.id.clone().unwrap_or_default();
        swarm.remove_config(&id, &name).await?;
        let line = format!("service {service}: its spec from before the take-over is back");
        done.push((service, line));
    }
    Ok(done)
}

/// Save `service`'s spec (once), then apply `change` to it.
async fn update(
    swarm: &SwarmApi,
    service: &str,
    instance: &str,
    change: impl FnOnce(&mut ServiceSpec),
) -> anyhow::Result<()> {
    let current = swarm
        .docker
        .inspect_service(service, None::<InspectServiceOptions>)
        .await
        .with_context(|| format!("reading service {service:?}"))?;
    let mut spec = current.spec.clone().unwrap_or_default();
    save(swarm, service, instance, &spec).await?;
    change(&mut spec);
    let version = current.version.and_then(|v| v.index).unwrap_or_default();
    let options = UpdateServiceOptionsBuilder::default()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    swarm
        .docker
        .update_service(service, spec, options, None)
        .await
        .with_context(|| format!("updating service {service:?}"))?;
    Ok(())
}

async fn save(
    swarm: &SwarmApi,
    service: &str,
    instance: &str,
    spec: &ServiceSpec,
) -> anyhow::Result<()> {
    let existing = swarm
        .list_configs(
            &[
                format!("{BACKUP}={instance}"),
                format!("{BACKUP_SERVICE}={service}"),
            ],
            None,
        )
        .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    // Config names are at most 64 characters; the labels say whose it is.
    let digest = hex::encode(Sha256::digest(format!("{instance}\0{service}")));
    let name = format!("sluice-migrate-{}", &digest[..16]);
    let json = serde_json::to_vec(spec).context("a service spec serialises")?;
    let labels = HashMap::from([
        (BACKUP.to_owned(), instance.to_owned()),
        (BACKUP_SERVICE.to_owned(), service.to_owned()),
    ]);
    swarm
        .create_config(&ConfigSpec {
            name: Some(name),
            labels: Some(labels),
            data: Some(STANDARD.encode(json)),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// A saved spec is put back only on the service it was saved from: a
/// backup object whose label names another service is refused.
fn restorable(saved: &ServiceSpec, service: &str) -> Result<(), String> {
    match saved.name.as_deref() {
        Some(name) if name == service => Ok(()),
        other => Err(format!(
            "it holds the spec of service {other:?}, but its {BACKUP_SERVICE} label names {service:?}: not restored"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_goes_back_only_to_its_own_service() {
        let spec = |name: Option<&str>| ServiceSpec {
            name: name.map(str::to_owned),
            ..Default::default()
        };
        assert!(restorable(&spec(Some("ucp-interlock-proxy")), "ucp-interlock-proxy").is_ok());
        assert!(restorable(&spec(Some("ucp-interlock-proxy")), "payments").is_err());
        assert!(restorable(&spec(None), "payments").is_err());
    }
}
