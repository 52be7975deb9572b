//! Bring one proxy service to its desired spec, touching only services this
//! Sluice instance owns, and writing nothing when the spec hash is unchanged.

use std::collections::{BTreeSet, HashMap};

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::models::{Service, ServiceSpec};
use bollard::query_parameters::{
    InspectServiceOptions, ListServicesOptionsBuilder, UpdateServiceOptions,
    UpdateServiceOptionsBuilder,
};

use super::config_object;
use super::error::ApplyError;
use super::owner;
use super::swarm_api::SwarmApi;

/// What reconciling a proxy service did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    /// The running spec already has the desired hash: no API write was made.
    Unchanged,
}

/// Create or update the service `desired` names (as built by
/// [`proxy_service_spec`](super::spec::proxy_service_spec): it must carry the
/// owner and spec-hash labels).
pub async fn reconcile_proxy(docker: &Docker, desired: ServiceSpec) -> Result<Outcome, ApplyError> {
    reconcile_proxy_keeping(docker, desired, |_| false).await
}

/// [`reconcile_proxy`], leaving a running spec that `keep` accepts as it is
/// (what the running service can stay with although it is not `desired`).
pub async fn reconcile_proxy_keeping(
    docker: &Docker,
    desired: ServiceSpec,
    keep: impl Fn(&ServiceSpec) -> bool,
) -> Result<Outcome, ApplyError> {
    let name = desired.name.clone().unwrap_or_default();
    let required = |key: &str| {
        owner::label(&desired.labels, key)
            .map(str::to_owned)
            .ok_or_else(|| ApplyError::InvalidSpec {
                service: name.clone(),
                reason: format!("label {key} is missing"),
            })
    };
    let instance = required(owner::INSTANCE)?;
    let extension = required(owner::EXTENSION)?;
    let hash = required(owner::SPEC_HASH)?;
    if name.is_empty() {
        return Err(ApplyError::InvalidSpec {
            service: name,
            reason: "it has no name".into(),
        });
    }

    // A concurrent writer bumps the version between inspect and update;
    // Swarm then answers "update out of sequence" and one fresh try is due.
    for attempt in 0.. {
        let current = match docker
            .inspect_service(&name, None::<InspectServiceOptions>)
            .await
        {
            Ok(service) => service,
            Err(e) if status(&e) == Some(404) => {
                docker
                    .create_service(desired, None)
                    .await
                    .map_err(ApplyError::docker(format!("create service {name:?}")))?;
                return Ok(Outcome::Created);
            }
            Err(e) => return Err(ApplyError::docker(format!("inspect service {name:?}"))(e)),
        };
        check_owner(&name, &instance, &extension, &current)?;
        let labels = current.spec.as_ref().and_then(|s| s.labels.clone());
        if owner::label(&labels, owner::SPEC_HASH) == Some(hash.as_str())
            || current.spec.as_ref().is_some_and(&keep)
        {
            return Ok(Outcome::Unchanged);
        }
        match docker
            .update_service(&name, desired.clone(), update_options(&current), None)
            .await
        {
            Ok(response) => {
                for warning in response.warnings.iter().flatten() {
                    tracing::warn!(service = %name, "{warning}");
                }
                return Ok(Outcome::Updated);
            }
            Err(e) if attempt == 0 && out_of_sequence(&e) => continue,
            Err(e) => return Err(ApplyError::docker(format!("update service {name:?}"))(e)),
        }
    }
    unreachable!("the loop returns on its second pass")
}

/// Ok when the service `name` is absent or ours, so that nothing is created
/// for a service that would then be refused.
pub async fn check_ownership(
    docker: &Docker,
    name: &str,
    instance: &str,
    extension: &str,
) -> Result<(), ApplyError> {
    match docker
        .inspect_service(name, None::<InspectServiceOptions>)
        .await
    {
        Ok(current) => check_owner(name, instance, extension, &current),
        Err(e) if status(&e) == Some(404) => Ok(()),
        Err(e) => Err(ApplyError::docker(format!("inspect service {name:?}"))(e)),
    }
}

/// Refuse services this instance (and this extension) does not own.
fn check_owner(
    name: &str,
    instance: &str,
    extension: &str,
    current: &Service,
) -> Result<(), ApplyError> {
    let labels = current.spec.as_ref().and_then(|s| s.labels.clone());
    if owner::label(&labels, owner::INSTANCE) == Some(instance)
        && owner::label(&labels, owner::EXTENSION) == Some(extension)
    {
        return Ok(());
    }
    Err(ApplyError::NotOwned {
        service: name.to_owned(),
        expected: format!("Sluice instance {instance:?}, extension {extension:?}"),
        owner: owner::describe_owner(&labels),
    })
}

/// Remove this instance's proxy services whose extension is not in `keep`,
/// and their config objects. Returns the removed service names.
pub async fn remove_orphans(
    swarm: &SwarmApi,
    instance: &str,
    keep: &BTreeSet<String>,
) -> Result<Vec<String>, ApplyError> {
    let filters = HashMap::from([("label", vec![format!("{}={instance}", owner::INSTANCE)])]);
    let services = swarm
        .docker
        .list_services(Some(
            ListServicesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(ApplyError::docker(format!(
            "list services of Sluice instance {instance:?}"
        )))?;
    let mut removed = Vec::new();
    for (id, name, extension) in orphans(&services, instance, keep) {
        match swarm.docker.delete_service(&id).await {
            Ok(()) => {}
            Err(e) if status(&e) == Some(404) => {}
            Err(e) => {
                return Err(ApplyError::docker(format!(
                    "remove service {name:?} (extension {extension:?})"
                ))(e));
            }
        }
        config_object::remove_superseded(swarm, instance, &extension, None).await?;
        super::hitless::remove_credentials_secrets(swarm, &extension, instance, None).await;
        removed.push(name);
    }
    Ok(removed)
}

/// (id, name, extension) of the owned services whose extension is gone.
fn orphans(
    services: &[Service],
    instance: &str,
    keep: &BTreeSet<String>,
) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = services
        .iter()
        .filter_map(|s| {
            let spec = s.spec.as_ref()?;
            if owner::label(&spec.labels, owner::INSTANCE) != Some(instance) {
                return None;
            }
            let extension = owner::label(&spec.labels, owner::EXTENSION)?;
            if keep.contains(extension) {
                return None;
            }
            Some((
                s.id.clone()?,
                spec.name.clone().unwrap_or_default(),
                extension.to_owned(),
            ))
        })
        .collect();
    out.sort();
    out
}

/// An update of `current`: Swarm refuses one that names another version.
pub(crate) fn update_options(current: &Service) -> UpdateServiceOptions {
    let version = current
        .version
        .as_ref()
        .and_then(|v| v.index)
        .unwrap_or_default();
    UpdateServiceOptionsBuilder::default()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build()
}

pub(crate) fn status(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Another writer updated the service between our read and our write.
pub(crate) fn out_of_sequence(e: &BollardError) -> bool {
    matches!(e, BollardError::DockerResponseServerError { message, .. } if message.contains("update out of sequence"))
}

#[cfg(test)]
mod tests {
    use bollard::models::ObjectVersion;

    use super::*;

    fn service(id: &str, labels: &[(&str, &str)]) -> Service {
        Service {
            id: Some(id.into()),
            version: Some(ObjectVersion { index: Some(7) }),
            spec: Some(ServiceSpec {
                name: Some(format!("svc-{id}")),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ownership_needs_instance_and_extension() {
        let table: [(&[(&str, &str)], bool); 4] = [
            (&[(owner::INSTANCE, "i1"), (owner::EXTENSION, "east")], true),
            (
                &[(owner::INSTANCE, "i2"), (owner::EXTENSION, "east")],
                false,
            ),
            (
                &[(owner::INSTANCE, "i1"), (owner::EXTENSION, "west")],
                false,
            ),
            (&[("type", "com.docker.interlock.core.proxy")], false),
        ];
        for (labels, ok) in table {
            let result = check_owner("edge", "i1", "east", &service("x", labels));
            match result {
                Ok(()) => assert!(ok, "{labels:?} must be refused"),
                Err(e) => {
                    assert!(!ok, "{labels:?} must be accepted: {e}");
                    assert!(e.to_string().contains("\"edge\""), "{e}");
                }
            }
        }
    }

    #[test]
    fn orphans_are_owned_services_of_dropped_extensions() {
        let mine = |id, ext| service(id, &[(owner::INSTANCE, "i1"), (owner::EXTENSION, ext)]);
        let services = [
            mine("a", "east"),
            mine("b", "west"),
            service("c", &[(owner::INSTANCE, "i2"), (owner::EXTENSION, "gone")]),
            service("d", &[(owner::INSTANCE, "i1")]),
            mine("e", "gone"),
        ];
        let keep = BTreeSet::from(["east".to_owned(), "west".to_owned()]);
        assert_eq!(
            orphans(&services, "i1", &keep),
            [("e".to_owned(), "svc-e".to_owned(), "gone".to_owned())]
        );
        assert_eq!(orphans(&services, "i1", &BTreeSet::new()).len(), 3);
    }

    #[test]
    fn out_of_sequence_is_recognised() {
        let e = |message: &str| BollardError::DockerResponseServerError {
            status_code: 500,
            message: message.into(),
        };
        assert!(out_of_sequence(&e(
            "rpc error: code = Unknown desc = update out of sequence"
        )));
        assert!(!out_of_sequence(&e("no such service")));
    }
}
