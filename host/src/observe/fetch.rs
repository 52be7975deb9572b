//! Reading the Swarm: everything at once, or one kind of object, or only
//! the services an event named. Every list is parsed straight into the
//! compact [`model`](crate::snapshot::model) (what routing reads, nothing
//! else), and only tasks meant to run are asked for: the engine's task
//! history (up to five per slot) never leaves it.

use serde::de::DeserializeOwned;

use super::raw::{RawClient, RawError};
use crate::snapshot::model::{Network, Node, Secret, Service, Task};
use crate::snapshot::{Observed, Snapshot, Swarm, swarm};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("listing Swarm objects: {0}")]
    Raw(#[from] RawError),
}

/// Tasks whose desired state is `running` (the engine filters: tasks shut
/// down or failed are history).
const RUNNING_TASKS: &str = r#"{"desired-state":{"running":true}}"#;

/// A list from the engine, with `filters` (JSON) when given.
async fn list<T: DeserializeOwned>(
    raw: &RawClient,
    path: &str,
    filters: Option<&str>,
) -> Result<Vec<T>, RawError> {
    match filters {
        None => raw.get_json(path).await,
        Some(f) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("filters", f)
                .finish();
            raw.get_json(&format!("{path}?{query}")).await
        }
    }
}

/// Everything the planner needs, as flat lists; the requests run
/// concurrently.
pub async fn snapshot(raw: &RawClient) -> Result<Snapshot, FetchError> {
    let (services, tasks, networks, nodes, secrets) = tokio::join!(
        list::<Service>(raw, "/services", None),
        running_tasks(raw),
        networks(raw),
        nodes(raw),
        secrets(raw),
    );
    Ok(Snapshot {
        services: services?,
        tasks: tasks?,
        networks: networks?,
        nodes: nodes?,
        secrets: secrets?,
    })
}

/// One full read, grouped for the planner.
pub async fn swarm(raw: &RawClient) -> Result<Swarm, FetchError> {
    Ok(Swarm::from_snapshot(snapshot(raw).await?))
}

/// Every task meant to run.
pub async fn running_tasks(raw: &RawClient) -> Result<Vec<Task>, RawError> {
    list(raw, "/tasks", Some(RUNNING_TASKS)).await
}

pub async fn networks(raw: &RawClient) -> Result<Vec<Network>, RawError> {
    list(raw, "/networks", None).await
}

pub async fn nodes(raw: &RawClient) -> Result<Vec<Node>, RawError> {
    list(raw, "/nodes", None).await
}

pub async fn secrets(raw: &RawClient) -> Result<Vec<Secret>, RawError> {
    list(raw, "/secrets", None).await
}

/// The services `ids` and their running tasks: `None` for one that is gone.
/// Two requests whatever the number of services (the engine ORs filter
/// values), made together. The engine refuses a task filter that names a
/// service it does not have, so when some are gone the tasks are asked
/// again for the others.
pub async fn services(
    raw: &RawClient,
    ids: &[String],
) -> Result<Vec<(String, Option<Observed>)>, FetchError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (by_id, by_service) = (filter("id", ids, false), filter("service", ids, true));
    let (found, tasks) = tokio::join!(
        list::<Service>(raw, "/services", Some(&by_id)),
        list::<Task>(raw, "/tasks", Some(&by_service)),
    );
    // The `id` filter matches ID prefixes too: keep exact matches only.
    let found: Vec<Service> = found?
        .into_iter()
        .filter(|s| s.id.as_ref().is_some_and(|id| ids.contains(id)))
        .collect();
    let tasks = match tasks {
        Ok(tasks) => tasks,
        Err(_) if found.len() < ids.len() => {
            let present: Vec<String> = found.iter().filter_map(|s| s.id.clone()).collect();
            if present.is_empty() {
                Vec::new()
            } else {
                list::<Task>(raw, "/tasks", Some(&filter("service", &present, true))).await?
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut grouped = swarm::group(found, tasks);
    Ok(ids
        .iter()
        .map(|id| {
            let observed = grouped
                .remove(id)
                .map(|o| std::sync::Arc::try_unwrap(o).unwrap_or_else(|o| (*o).clone()));
            (id.clone(), observed)
        })
        .collect())
}

/// `{"<key>":{"<id>":true,...}}`, with `desired-state` running for tasks.
fn filter(key: &str, ids: &[String], running: bool) -> String {
    let ids: serde_json::Map<String, serde_json::Value> = ids
        .iter()
        .map(|id| (id.clone(), serde_json::Value::Bool(true)))
        .collect();
    let mut f = serde_json::json!({ key: ids });
    if running {
        f["desired-state"] = serde_json::json!({"running": true});
    }
    f.to_string()
}
