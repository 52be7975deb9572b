//! One full read of the Swarm state.

use bollard::Docker;
use bollard::query_parameters::{
    ListNetworksOptions, ListNodesOptions, ListSecretsOptions, ListServicesOptions,
};

use super::raw::{RawClient, RawError};
use crate::snapshot::{Snapshot, SwarmTask};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("listing Swarm objects: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("listing Swarm tasks: {0}")]
    Tasks(#[from] RawError),
}

/// List everything the planner needs; the requests run concurrently. Tasks
/// come through [`RawClient`] because bollard's model drops their addresses.
pub async fn snapshot(docker: &Docker, raw: &RawClient) -> Result<Snapshot, FetchError> {
    let (services, tasks, networks, nodes, secrets) = tokio::join!(
        docker.list_services(None::<ListServicesOptions>),
        raw.get_json::<Vec<SwarmTask>>("/tasks"),
        docker.list_networks(None::<ListNetworksOptions>),
        docker.list_nodes(None::<ListNodesOptions>),
        docker.list_secrets(None::<ListSecretsOptions>),
    );
    Ok(Snapshot {
        services: services?,
        tasks: tasks?,
        networks: networks?,
        nodes: nodes?,
        secrets: secrets?,
    })
}
