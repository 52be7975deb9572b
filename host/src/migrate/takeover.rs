//! The take-over and its rollback. Every spec the switch changes is saved
//! first, in a config object labelled [`super::BACKUP`]; the rollback puts
//! those specs back and removes them.
//!
//! A backup is trusted only as far as the take-over can tell it is its own:
//! while a service is still Interlock's (unlabelled, or the core still
//! running) any earlier backup of it is replaced by its current spec; a
//! rollback restores only objects with the name the take-over gives them,
//! and only onto the service each was saved from.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::{Config as ConfigObject, ConfigSpec, ServiceSpec, TaskState};
use bollard::query_parameters::{InspectServiceOptions, ListTasksOptionsBuilder};
use sha2::{Digest, Sha256};

use super::assess::{Assessment, ProxyState};
use super::{BACKUP, BACKUP_ROLE, BACKUP_SERVICE};
use crate::apply::service::{out_of_sequence, status, update_options};
use crate::apply::{SwarmApi, owner};

/// What a take-over did, a line each.
pub type Done = Vec<String>;

/// How long the core's tasks may take to stop.
const CORE_STOP: Duration = Duration::from_secs(90);

/// Scale the core to 0 and wait for its tasks to stop, then label each of
/// Interlock's proxy services as `instance`'s (its tasks keep running: only
/// service labels change), and read the labels back.
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
    // The core first: a core still running could update a proxy between our
    // read and our write, or rebuild its spec without our labels.
    let current = inspect(swarm, core).await?;
    let spec = current.spec.clone().unwrap_or_default();
    let Some(replicas) = spec
        .mode
        .as_ref()
        .and_then(|m| m.replicated.as_ref())
        .map(|r| r.replicas.unwrap_or(1))
    else {
        bail!(
            "service {core} is not a replicated service (global mode?): Sluice scales only a \
             replicated core to 0; stop it yourself, then run the take-over again"
        );
    };
    // Still running: its spec now is the one to put back.
    save(swarm, core, instance, "core", &spec, replicas > 0).await?;
    update(swarm, core, |spec| {
        if let Some(r) = spec.mode.as_mut().and_then(|m| m.replicated.as_mut()) {
            r.replicas = Some(0);
        }
    })
    .await?;
    wait_stopped(swarm, core).await?;
    done.push(format!(
        "service {core}: scaled to 0, its tasks stopped (Interlock no longer updates the proxies)"
    ));
    for p in &assessment.proxies {
        if p.state != ProxyState::Interlocks {
            continue;
        }
        let current = inspect(swarm, &p.service).await?;
        save(
            swarm,
            &p.service,
            instance,
            "proxy",
            &current.spec.unwrap_or_default(),
            true,
        )
        .await?;
        update(swarm, &p.service, |spec| {
            let labels = spec.labels.get_or_insert_with(HashMap::new);
            labels.insert(owner::INSTANCE.into(), instance.into());
            labels.insert(owner::EXTENSION.into(), p.extension.clone());
        })
        .await?;
        let labels = inspect(swarm, &p.service)
            .await?
            .spec
            .and_then(|s| s.labels);
        anyhow::ensure!(
            owner::label(&labels, owner::INSTANCE) == Some(instance)
                && owner::label(&labels, owner::EXTENSION) == Some(p.extension.as_str()),
            "service {}: the owner labels did not stick (something else updates it?)",
            p.service
        );
        done.push(format!(
            "service {}: now Sluice instance {instance}'s, cluster {} (its tasks kept running)",
            p.service, p.extension
        ));
    }
    Ok(done)
}

/// What a rollback did: the services restored, each with its line, and
/// what could not be restored (those backups are kept for another try).
#[derive(Debug, Default)]
pub struct RolledBack {
    pub restored: Vec<(String, String)>,
    pub failed: Vec<String>,
}

/// Put back every spec a take-over of `instance` saved (proxies first, the
/// core last), then forget them.
pub async fn rollback(swarm: &SwarmApi, instance: &str) -> anyhow::Result<RolledBack> {
    let mut backups = swarm
        .list_configs(&[format!("{BACKUP}={instance}")], None)
        .await?;
    anyhow::ensure!(
        !backups.is_empty(),
        "nothing to roll back: no config object labelled {BACKUP}={instance}"
    );
    let role = |b: &ConfigObject| {
        let labels = b.spec.as_ref().and_then(|s| s.labels.clone());
        owner::label(&labels, BACKUP_ROLE) == Some("core")
    };
    backups.sort_by_key(role);
    let mut out = RolledBack::default();
    for b in backups {
        let name = b
            .spec
            .as_ref()
            .and_then(|s| s.name.clone())
            .unwrap_or_default();
        match restore(swarm, instance, &b).await {
            Ok(service) => {
                let id = b.id.clone().unwrap_or_default();
                swarm.remove_config(&id, &name).await?;
                let line = format!("service {service}: its spec from before the take-over is back");
                out.restored.push((service, line));
            }
            Err(e) => out.failed.push(format!("config object {name:?}: {e:#}")),
        }
    }
    Ok(out)
}

async fn restore(swarm: &SwarmApi, instance: &str, b: &ConfigObject) -> anyhow::Result<String> {
    let spec = b.spec.clone().unwrap_or_default();
    let labels = spec.labels.clone();
    let service = owner::label(&labels, BACKUP_SERVICE)
        .with_context(|| format!("it has no {BACKUP_SERVICE} label"))?
        .to_owned();
    let expected = backup_name(instance, &service);
    anyhow::ensure!(
        spec.name.as_deref() == Some(expected.as_str()),
        "not a backup the take-over made (it would be named {expected:?}): not restored"
    );
    let saved: ServiceSpec = STANDARD
        .decode(spec.data.unwrap_or_default())
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .context("it does not hold a service spec")?;
    restorable(&saved, &service)?;
    // A writer racing us (the version moved between read and write) gets
    // one fresh try; a service removed since is created from its spec.
    for attempt in 0.. {
        let current = match swarm
            .docker
            .inspect_service(&service, None::<InspectServiceOptions>)
            .await
        {
            Ok(s) => s,
            Err(e) if status(&e) == Some(404) => {
                swarm
                    .docker
                    .create_service(saved, None)
                    .await
                    .with_context(|| format!("creating service {service:?} again"))?;
                return Ok(service);
            }
            Err(e) => return Err(e).with_context(|| format!("reading service {service:?}")),
        };
        match swarm
            .docker
            .update_service(&service, saved.clone(), update_options(&current), None)
            .await
        {
            Ok(_) => return Ok(service),
            Err(e) if attempt == 0 && out_of_sequence(&e) => continue,
            Err(e) => return Err(e).with_context(|| format!("restoring service {service:?}")),
        }
    }
    unreachable!("the loop returns")
}

async fn inspect(swarm: &SwarmApi, service: &str) -> anyhow::Result<bollard::models::Service> {
    swarm
        .docker
        .inspect_service(service, None::<InspectServiceOptions>)
        .await
        .with_context(|| format!("reading service {service:?}"))
}

/// Apply `change` to `service`'s current spec.
async fn update(
    swarm: &SwarmApi,
    service: &str,
    change: impl FnOnce(&mut ServiceSpec),
) -> anyhow::Result<()> {
    let current = inspect(swarm, service).await?;
    let mut spec = current.spec.clone().unwrap_or_default();
    change(&mut spec);
    swarm
        .docker
        .update_service(service, spec, update_options(&current), None)
        .await
        .with_context(|| format!("updating service {service:?}"))?;
    Ok(())
}

/// Until no task of `service` runs (Swarm stops them after a scale to 0).
async fn wait_stopped(swarm: &SwarmApi, service: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let filters = HashMap::from([("service".to_owned(), vec![service.to_owned()])]);
    loop {
        let options = ListTasksOptionsBuilder::default().filters(&filters).build();
        let tasks = swarm
            .docker
            .list_tasks(Some(options))
            .await
            .with_context(|| format!("listing the tasks of {service:?}"))?;
        let running = tasks
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
            .count();
        if running == 0 {
            return Ok(());
        }
        if started.elapsed() > CORE_STOP {
            bail!(
                "service {service:?} still has {running} running task(s) {}s after it was scaled \
                 to 0; nothing else was changed: run `sluice migrate --rollback` or try again",
                CORE_STOP.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn backup_name(instance: &str, service: &str) -> String {
    // Config names are at most 64 characters; the labels say whose it is.
    let digest = hex::encode(Sha256::digest(format!("{instance}\0{service}")));
    format!("sluice-migrate-{}", &digest[..16])
}

/// Save `spec` as `service`'s backup. An earlier backup is kept unless
/// `replace` (the service is still as Interlock left it, so its current
/// spec is the one to put back, whatever an older object says).
async fn save(
    swarm: &SwarmApi,
    service: &str,
    instance: &str,
    role: &str,
    spec: &ServiceSpec,
    replace: bool,
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
        if !replace {
            return Ok(());
        }
        for old in existing {
            let name = old.spec.and_then(|s| s.name).unwrap_or_default();
            swarm
                .remove_config(&old.id.unwrap_or_default(), &name)
                .await?;
        }
    }
    let json = serde_json::to_vec(spec).context("a service spec serialises")?;
    let labels = HashMap::from([
        (BACKUP.to_owned(), instance.to_owned()),
        (BACKUP_SERVICE.to_owned(), service.to_owned()),
        (BACKUP_ROLE.to_owned(), role.to_owned()),
    ]);
    swarm
        .create_config(&ConfigSpec {
            name: Some(backup_name(instance, service)),
            labels: Some(labels),
            data: Some(STANDARD.encode(json)),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// A saved spec is put back only on the service it was saved from: a
/// backup object whose label names another service is refused.
fn restorable(saved: &ServiceSpec, service: &str) -> anyhow::Result<()> {
    match saved.name.as_deref() {
        Some(name) if name == service => Ok(()),
        other => bail!(
            "it holds the spec of service {other:?}, but its {BACKUP_SERVICE} label names \
             {service:?}: not restored"
        ),
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

    #[test]
    fn backup_names_fit_swarm_and_differ_per_instance_and_service() {
        let a = backup_name("sluice", "ucp-interlock-proxy");
        assert!(a.len() <= 64 && a.starts_with("sluice-migrate-"), "{a}");
        assert_ne!(a, backup_name("other", "ucp-interlock-proxy"));
        assert_ne!(a, backup_name("sluice", "ucp-interlock"));
    }
}
