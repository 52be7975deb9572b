//! The `render` argument lowered straight from the plan, by reference.
//!
//! The render stage gives the plugin the plan's input with one field changed
//! (`cluster.config-path`, when the Extension sets none). Cloning a 10k-host
//! input for that, then dropping the clone, cost more than the plugin call's
//! own copy into wasm memory; these records borrow everything instead. They
//! have the WIT's shape, so the call is type-checked against the component
//! like the generated binding's.

use wasmtime::component::{ComponentType, Lower};

use crate::wit::latest::{RenderInput, Setting, Upstream, VirtualHost};

/// WIT `cluster`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct ClusterRef<'a> {
    name: &'a str,
    #[component(name = "service-cluster")]
    service_cluster: &'a str,
    #[component(name = "http-port")]
    http_port: u16,
    #[component(name = "https-port")]
    https_port: u16,
    #[component(name = "config-path")]
    config_path: &'a str,
    settings: &'a [Setting],
    #[component(name = "server-info")]
    server_info: &'a str,
}

/// WIT `render-input`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct RenderInputRef<'a> {
    cluster: ClusterRef<'a>,
    hosts: &'a [VirtualHost],
    #[component(name = "default-backend")]
    default_backend: Option<&'a Upstream>,
}

impl<'a> RenderInputRef<'a> {
    /// `input` as the plugin should see it, with `config_path` in its cluster.
    pub(super) fn new(input: &'a RenderInput, config_path: &'a str) -> Self {
        let c = &input.cluster;
        RenderInputRef {
            cluster: ClusterRef {
                name: &c.name,
                service_cluster: &c.service_cluster,
                http_port: c.http_port,
                https_port: c.https_port,
                config_path,
                settings: &c.settings,
                server_info: &c.server_info,
            },
            hosts: &input.hosts,
            default_backend: input.default_backend.as_ref(),
        }
    }
}
