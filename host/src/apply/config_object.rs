//! Interlock's rolling delivery: every rendered file of a revision becomes a
//! Docker config object, mounted at its path; a new revision means new
//! objects and a rolling update of the proxy service.
//!
//! Superseded objects are removed once no service's current *or previous*
//! spec refers to them: the previous spec is what Swarm rolls back to when an
//! update fails (`FailureAction = rollback`), so the last revision before the
//! current one is kept until the next one replaces it.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::{Config, ConfigSpec, ServiceSpec};

use super::error::ApplyError;
use super::owner;
use super::spec::DeliveredConfig;
use super::swarm_api::SwarmApi;
use crate::config::Extension;
use crate::render::Revision;

/// Swarm's limit on a config object's data (swarmkit `MaxConfigSize`, 500 KiB;
/// newer engines allow more, this is what every engine accepts).
pub const MAX_CONFIG_BYTES: usize = 500 * 1024;

/// Swarm's limit on a config object's name.
const MAX_NAME_LEN: usize = 64;

/// `<ProxyServiceName>-<hash12>` for the main file, `…-<n>` for the n-th
/// extra file. A long service name is shortened so the name stays within
/// Swarm's limit; the labels, not the name, say whose object it is.
pub fn config_object_name(service_name: &str, revision_hash: &str, index: usize) -> String {
    let short = &revision_hash[..revision_hash.len().min(12)];
    let suffix = if index == 0 {
        format!("-{short}")
    } else {
        format!("-{short}-{index}")
    };
    let mut cut = service_name.len().min(MAX_NAME_LEN - suffix.len());
    while !service_name.is_char_boundary(cut) {
        cut -= 1;
    }
    // Names must end in a letter or digit; a cut may leave '-' or '_' there.
    let base = service_name[..cut].trim_end_matches(['-', '_']);
    format!("{base}{suffix}")
}

/// The config object for the `index`-th file of `revision`.
pub fn config_object_spec(
    ext: &Extension,
    revision: &Revision,
    index: usize,
    instance: &str,
) -> Result<ConfigSpec, ApplyError> {
    let file = &revision.files[index];
    if file.contents.len() > MAX_CONFIG_BYTES {
        return Err(ApplyError::ConfigTooLarge {
            cluster: ext.name.clone(),
            path: file.path.clone(),
            size: file.contents.len(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    let labels = HashMap::from([
        (owner::INSTANCE.to_owned(), instance.to_owned()),
        (owner::EXTENSION.to_owned(), ext.name.clone()),
        (owner::REVISION.to_owned(), revision.hash.clone()),
        (owner::PATH.to_owned(), file.path.clone()),
    ]);
    Ok(ConfigSpec {
        name: Some(config_object_name(
            &ext.proxy_service_name,
            &revision.hash,
            index,
        )),
        labels: Some(labels),
        data: Some(STANDARD.encode(file.contents.as_bytes())),
        ..Default::default()
    })
}

/// Create the revision's config objects, reusing any that already exist (a
/// restarted daemon, or a revision seen before), so that applying the same
/// revision twice yields the same IDs and so the same service spec.
pub async fn ensure_config_objects(
    swarm: &SwarmApi,
    ext: &Extension,
    revision: &Revision,
    instance: &str,
) -> Result<Vec<DeliveredConfig>, ApplyError> {
    // Check every size before creating anything.
    let specs = (0..revision.files.len())
        .map(|i| config_object_spec(ext, revision, i, instance))
        .collect::<Result<Vec<_>, _>>()?;
    let mut delivered = Vec::with_capacity(specs.len());
    for (spec, file) in specs.into_iter().zip(&revision.files) {
        let name = spec.name.clone().unwrap_or_default();
        let id = match find_by_name(swarm, &name).await? {
            Some(existing) => reuse(ext, &spec, existing)?,
            None => match swarm.create_config(&spec).await {
                Ok(id) => id,
                // Created meanwhile (another daemon of the same instance).
                Err(e) if e.status() == Some(409) => match find_by_name(swarm, &name).await? {
                    Some(existing) => reuse(ext, &spec, existing)?,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            },
        };
        delivered.push(DeliveredConfig {
            id,
            name,
            path: file.path.clone(),
        });
    }
    Ok(delivered)
}

async fn find_by_name(swarm: &SwarmApi, name: &str) -> Result<Option<Config>, ApplyError> {
    let configs = swarm.list_configs(&[], Some(name)).await?;
    Ok(configs
        .into_iter()
        .find(|c| c.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(name)))
}

/// An existing object is ours to reuse only if it carries exactly our labels.
fn reuse(ext: &Extension, wanted: &ConfigSpec, existing: Config) -> Result<String, ApplyError> {
    let labels = existing.spec.as_ref().and_then(|s| s.labels.clone());
    let same = [
        owner::INSTANCE,
        owner::EXTENSION,
        owner::REVISION,
        owner::PATH,
    ]
    .iter()
    .all(|key| owner::label(&labels, key) == owner::label(&wanted.labels, key));
    match existing.id {
        Some(id) if same => Ok(id),
        _ => Err(ApplyError::ConfigNotOwned {
            cluster: ext.name.clone(),
            config: wanted.name.clone().unwrap_or_default(),
            owner: match owner::label(&labels, owner::REVISION) {
                Some(rev) if owner::label(&labels, owner::EXTENSION) == Some(&ext.name) => {
                    format!("{} (revision {rev})", owner::describe_owner(&labels))
                }
                _ => owner::describe_owner(&labels),
            },
        }),
    }
}

/// Remove this extension's config objects of other revisions that no
/// service refers to any more. Returns the removed names.
pub async fn remove_superseded(
    swarm: &SwarmApi,
    instance: &str,
    extension: &str,
    current_revision: Option<&str>,
) -> Result<Vec<String>, ApplyError> {
    let owned = swarm
        .list_configs(
            &[
                format!("{}={instance}", owner::INSTANCE),
                format!("{}={extension}", owner::EXTENSION),
            ],
            None,
        )
        .await?;
    let services = swarm.list_service_specs().await?;
    let in_use = referenced_configs(services.iter().flat_map(|s| [&s.spec, &s.previous_spec]));
    let mut removed = Vec::new();
    for (id, name) in superseded(&owned, &in_use, current_revision) {
        match swarm.remove_config(&id, &name).await {
            Ok(()) => removed.push(name),
            // Gone already, or taken into use since we looked: leave it.
            Err(e) if matches!(e.status(), Some(404) | Some(400) | Some(409)) => {
                tracing::info!(config = %name, error = %e, "superseded config object not removed");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// IDs of the config objects the given specs mount.
pub fn referenced_configs<'a>(
    specs: impl IntoIterator<Item = &'a Option<ServiceSpec>>,
) -> BTreeSet<String> {
    specs
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.task_template
                .as_ref()?
                .container_spec
                .as_ref()?
                .configs
                .as_ref()
        })
        .flatten()
        .filter_map(|c| c.config_id.clone())
        .collect()
}

/// (id, name) of the objects not of `current_revision` and not in use.
pub fn superseded(
    owned: &[Config],
    in_use: &BTreeSet<String>,
    current_revision: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = owned
        .iter()
        .filter_map(|c| {
            let spec = c.spec.as_ref()?;
            let id = c.id.clone()?;
            let revision = owner::label(&spec.labels, owner::REVISION);
            let stale = current_revision.is_none() || revision != current_revision;
            (stale && !in_use.contains(&id)).then(|| (id, spec.name.clone().unwrap_or_default()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::PluginId;
    use crate::wit::latest::{OutputFile, PluginInfo, Reload};

    fn revision(files: &[(&str, usize)]) -> Revision {
        let files: Vec<OutputFile> = files
            .iter()
            .map(|(p, n)| OutputFile {
                path: p.to_string(),
                contents: "x".repeat(*n),
            })
            .collect();
        Revision {
            extension: "east".into(),
            plugin: PluginId {
                source: "nginx".into(),
                sha256: "0".repeat(64),
                interface: "1.0.0".into(),
            },
            info: PluginInfo {
                name: "nginx".into(),
                version: "1.0.0".into(),
                proxy: "nginx".into(),
                default_config_path: "/etc/nginx/nginx.conf".into(),
                validate_command: vec![],
                reload: Reload::Signal("HUP".into()),
            },
            hash: crate::render::hash_files(&files),
            slots: vec![],
            shape: None,
            files,
            warnings: vec![],
            refused: vec![],
            peak_memory_bytes: 0,
        }
    }

    #[test]
    fn names_fit_swarm_limits() {
        let hash = "0123456789abcdef0123";
        let table = [
            (
                "sluice-proxy-east",
                0,
                "sluice-proxy-east-0123456789ab".to_owned(),
            ),
            (
                "sluice-proxy-east",
                2,
                "sluice-proxy-east-0123456789ab-2".to_owned(),
            ),
            (
                &"a".repeat(63),
                0,
                format!("{}-0123456789ab", "a".repeat(51)),
            ),
            (
                &format!("{}-{}", "a".repeat(48), "b".repeat(14)),
                1,
                format!("{}-0123456789ab-1", "a".repeat(48)),
            ),
        ];
        for (service, index, want) in table {
            let got = config_object_name(service, hash, index);
            assert_eq!(got, want);
            assert!(got.len() <= MAX_NAME_LEN);
        }
    }

    #[test]
    fn spec_carries_owner_labels_and_base64_data() {
        let rev = revision(&[("/etc/nginx/nginx.conf", 3)]);
        let spec = config_object_spec(&Extension::new("east"), &rev, 0, "i1").unwrap();
        assert_eq!(
            spec.name,
            Some(format!("sluice-proxy-east-{}", &rev.hash[..12]))
        );
        assert_eq!(spec.data.as_deref(), Some("eHh4"));
        let labels = &spec.labels;
        assert_eq!(owner::label(labels, owner::INSTANCE), Some("i1"));
        assert_eq!(owner::label(labels, owner::EXTENSION), Some("east"));
        assert_eq!(
            owner::label(labels, owner::REVISION),
            Some(rev.hash.as_str())
        );
        assert_eq!(
            owner::label(labels, owner::PATH),
            Some("/etc/nginx/nginx.conf")
        );
    }

    #[test]
    fn oversized_files_are_refused_naming_the_cluster() {
        let rev = revision(&[
            ("/etc/haproxy/haproxy.cfg", 10),
            ("/etc/haproxy/hosts.map", MAX_CONFIG_BYTES + 1),
        ]);
        assert!(config_object_spec(&Extension::new("east"), &rev, 0, "i1").is_ok());
        let err = config_object_spec(&Extension::new("east"), &rev, 1, "i1")
            .unwrap_err()
            .to_string();
        for part in [
            "\"east\"",
            "/etc/haproxy/hosts.map",
            "hitless",
            &(MAX_CONFIG_BYTES + 1).to_string(),
        ] {
            assert!(err.contains(part), "{part} missing from: {err}");
        }
        let at_limit = revision(&[("/a", MAX_CONFIG_BYTES)]);
        assert!(config_object_spec(&Extension::new("east"), &at_limit, 0, "i1").is_ok());
    }

    fn config(id: &str, revision: &str) -> Config {
        Config {
            id: Some(id.into()),
            spec: Some(ConfigSpec {
                name: Some(format!("n-{id}")),
                labels: Some(HashMap::from([(
                    owner::REVISION.to_owned(),
                    revision.to_owned(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn superseded_spares_current_and_in_use() {
        let owned = [
            config("a", "r1"),
            config("b", "r2"),
            config("c", "r3"),
            config("d", "r3"),
        ];
        let in_use = BTreeSet::from(["b".to_owned()]);
        let ids = |v: Vec<(String, String)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        assert_eq!(ids(superseded(&owned, &in_use, Some("r3"))), ["a"]);
        assert_eq!(ids(superseded(&owned, &in_use, None)), ["a", "c", "d"]);
        assert_eq!(
            ids(superseded(&owned, &BTreeSet::new(), Some("r1"))),
            ["b", "c", "d"]
        );
    }

    #[test]
    fn reuse_requires_matching_labels() {
        let ext = Extension::new("east");
        let rev = revision(&[("/etc/nginx/nginx.conf", 3)]);
        let wanted = config_object_spec(&ext, &rev, 0, "i1").unwrap();
        let existing = Config {
            id: Some("cfg1".into()),
            spec: Some(wanted.clone()),
            ..Default::default()
        };
        assert_eq!(reuse(&ext, &wanted, existing.clone()).unwrap(), "cfg1");

        let mut foreign = existing;
        foreign
            .spec
            .as_mut()
            .unwrap()
            .labels
            .as_mut()
            .unwrap()
            .insert(owner::INSTANCE.into(), "other".into());
        let err = reuse(&ext, &wanted, foreign).unwrap_err().to_string();
        assert!(
            err.contains("\"other\"") && err.contains("\"east\""),
            "{err}"
        );
    }
}
