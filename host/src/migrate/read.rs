//! What the switch starts from: Interlock's core service, the `config.toml`
//! in its config object, and every service of the Swarm.

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::models::Service;
use bollard::query_parameters::InspectServiceOptions;

use crate::apply::SwarmApi;
use crate::apply::swarm_api::ServiceSpecs;

/// Interlock as the Swarm runs it.
pub struct Interlock {
    pub core: Service,
    /// The config object mounted at `/config.toml`, and its text.
    pub config_name: String,
    pub config_text: String,
    pub services: Vec<ServiceSpecs>,
}

/// Where the core mounts its config (`run -c /config.toml`).
const CONFIG_TARGET: &str = "/config.toml";

pub async fn read(swarm: &SwarmApi, core: &str) -> anyhow::Result<Interlock> {
    let service = swarm
        .docker
        .inspect_service(core, None::<InspectServiceOptions>)
        .await
        .with_context(|| format!("reading Interlock's core service {core:?} (--interlock)"))?;
    let configs = service
        .spec
        .as_ref()
        .and_then(|s| {
            s.task_template
                .as_ref()?
                .container_spec
                .as_ref()?
                .configs
                .clone()
        })
        .unwrap_or_default();
    let mounted = configs
        .iter()
        .find(|c| c.file.as_ref().and_then(|f| f.name.as_deref()) == Some(CONFIG_TARGET))
        .or(match configs.as_slice() {
            [only] => Some(only),
            _ => None,
        });
    let Some(mounted) = mounted else {
        bail!(
            "service {core:?} mounts no config object at {CONFIG_TARGET} (it has {}): is it \
             Interlock's core (ucp-interlock)?",
            configs.len()
        );
    };
    let (id, name) = (
        mounted.config_id.clone().unwrap_or_default(),
        mounted.config_name.clone().unwrap_or_default(),
    );
    let object = swarm.inspect_config(&id, &name).await?;
    let data = object.spec.and_then(|s| s.data).unwrap_or_default();
    let bytes = STANDARD
        .decode(data)
        .with_context(|| format!("config object {name:?}: its data is not base64"))?;
    let config_text = String::from_utf8(bytes)
        .with_context(|| format!("config object {name:?} is not UTF-8 text"))?;
    let services = swarm.list_service_specs().await?;
    Ok(Interlock {
        core: service,
        config_name: name,
        config_text,
        services,
    })
}
