//! Pure: what the switch does to each of Interlock's services, said before
//! anything is done.

use std::collections::HashMap;

use crate::apply::owner;
use crate::apply::swarm_api::ServiceSpecs;
use crate::config::{Config, PublishMode};

/// One cluster's proxy service, as the take-over finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyState {
    /// Someone else's (Interlock's): labelled as this instance's at take-over.
    Interlocks,
    /// Already this instance's (a take-over ran before).
    Ours,
    /// No such service: the daemon creates it.
    Absent,
    /// Another Sluice instance's (or extension's): left alone, the switch refused.
    OtherSluice(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub extension: String,
    pub service: String,
    pub state: ProxyState,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    pub proxies: Vec<Proxy>,
    /// What the switch does and what Sluice treats differently, one line each.
    pub lines: Vec<String>,
    /// Why the take-over must not run (each names the service).
    pub blocked: Vec<String>,
}

/// `config` (Interlock's, as Sluice reads it) against the Swarm's
/// `services`, for instance `instance`; `proxy_image` is the image the
/// operator gives for hitless delivery, if any.
pub fn assess(
    config: &Config,
    services: &[ServiceSpecs],
    instance: &str,
    proxy_image: Option<&str>,
) -> Assessment {
    let by_name: HashMap<&str, &ServiceSpecs> = services
        .iter()
        .filter_map(|s| Some((s.spec.as_ref()?.name.as_deref()?, s)))
        .collect();
    let mut out = Assessment::default();
    for (name, ext) in &config.extensions {
        let service = ext.proxy_service_name.as_str();
        let state = match by_name.get(service).and_then(|s| s.spec.as_ref()) {
            None => ProxyState::Absent,
            Some(spec) => {
                let inst = owner::label(&spec.labels, owner::INSTANCE);
                let extn = owner::label(&spec.labels, owner::EXTENSION);
                match (inst, extn) {
                    (Some(i), Some(e)) if i == instance && e == name => ProxyState::Ours,
                    (Some(i), e) => ProxyState::OtherSluice(format!(
                        "instance {i:?}, extension {:?}",
                        e.unwrap_or_default()
                    )),
                    (None, _) => ProxyState::Interlocks,
                }
            }
        };
        let replicas = by_name.get(service).and_then(|s| {
            s.spec
                .as_ref()?
                .mode
                .as_ref()?
                .replicated
                .as_ref()?
                .replicas
        });
        let (mode, order) = match ext.publish_mode {
            PublishMode::Host => (
                "host",
                "stop-first: on each node its port closes while the task is replaced \
                 (host-mode ports belong to the task); more replicas than nodes a client \
                 uses, or a load balancer in front, hide it",
            ),
            PublishMode::Ingress => (
                "ingress",
                "start-first: the new task runs before the old one stops, no port closes",
            ),
        };
        out.lines.push(match &state {
            ProxyState::Interlocks => format!(
                "cluster {name}: proxy service {service} ({} replicas, {mode} ports {} and {}) \
                 is taken over in place: same name, ports and placement; the daemon's first \
                 update of it is {order}",
                replicas.map_or("?".into(), |r| r.to_string()),
                ext.published_port,
                ext.published_ssl_port,
            ),
            ProxyState::Ours => format!(
                "cluster {name}: proxy service {service} is already this instance's ({instance})"
            ),
            ProxyState::Absent => format!(
                "cluster {name}: no service {service} yet: the daemon creates it ({mode} ports {} and {})",
                ext.published_port, ext.published_ssl_port
            ),
            ProxyState::OtherSluice(whose) => format!(
                "cluster {name}: service {service} belongs to another Sluice ({whose}): left alone"
            ),
        });
        if let ProxyState::OtherSluice(whose) = &state {
            out.blocked.push(format!(
                "service {service} (ProxyServiceName of [Extensions.{name}]) belongs to Sluice \
                 {whose}, not to instance {instance:?} and extension {name:?}: run migrate with \
                 that --instance, or rename the proxy service"
            ));
        }
        if let Some(extension_service) = &ext.service_name
            && by_name.contains_key(extension_service.as_str())
        {
            out.lines.push(format!(
                "cluster {name}: service {extension_service} (Interlock's extension) is not \
                 used by Sluice, which renders in the daemon; it is left running: remove it \
                 once the switch is done"
            ));
        }
        out.lines.push(match proxy_image {
            Some(image) => format!(
                "cluster {name}: ProxyImage becomes {image} with hitless delivery (the image \
                 must carry sluice-agent); route changes then reload in place"
            ),
            None => format!(
                "cluster {name}: Delivery = \"rolling\": Interlock's proxy image has no Sluice \
                 agent, so each route change replaces the proxy tasks as under Interlock; \
                 give --proxy-image (an image with sluice-agent) for hitless delivery"
            ),
        });
        out.proxies.push(Proxy {
            extension: name.clone(),
            service: service.to_owned(),
            state,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Extension;
    use bollard::models::{ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated};

    fn service(name: &str, labels: &[(&str, &str)]) -> ServiceSpecs {
        ServiceSpecs {
            id: format!("id-{name}"),
            spec: Some(ServiceSpec {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                mode: Some(ServiceSpecMode {
                    replicated: Some(ServiceSpecModeReplicated { replicas: Some(2) }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            previous_spec: None,
        }
    }

    fn config(exts: &[(&str, &str, PublishMode)]) -> Config {
        let mut c = Config::new();
        for (name, proxy, mode) in exts {
            let mut e = Extension::new(name);
            e.proxy_service_name = proxy.to_string();
            e.publish_mode = *mode;
            e.service_name = Some(format!("{proxy}-extension"));
            c.extensions.insert(name.to_string(), e);
        }
        c
    }

    #[test]
    fn each_proxy_state_is_said_and_only_another_sluices_blocks() {
        let c = config(&[
            ("a", "ucp-interlock-proxy", PublishMode::Host),
            ("b", "proxy-b", PublishMode::Ingress),
            ("c", "proxy-c", PublishMode::Ingress),
            ("d", "proxy-d", PublishMode::Ingress),
        ]);
        let services = [
            service(
                "ucp-interlock-proxy",
                &[("type", "com.docker.interlock.core.proxy")],
            ),
            service("ucp-interlock-proxy-extension", &[]),
            service(
                "proxy-b",
                &[(owner::INSTANCE, "sluice"), (owner::EXTENSION, "b")],
            ),
            service(
                "proxy-d",
                &[(owner::INSTANCE, "other"), (owner::EXTENSION, "d")],
            ),
        ];
        let a = assess(&c, &services, "sluice", None);
        let states: Vec<(&str, &ProxyState)> = a
            .proxies
            .iter()
            .map(|p| (p.service.as_str(), &p.state))
            .collect();
        assert_eq!(
            states,
            [
                ("ucp-interlock-proxy", &ProxyState::Interlocks),
                ("proxy-b", &ProxyState::Ours),
                ("proxy-c", &ProxyState::Absent),
                (
                    "proxy-d",
                    &ProxyState::OtherSluice("instance \"other\", extension \"d\"".into())
                ),
            ]
        );
        let text = a.lines.join("\n");
        assert!(
            text.contains("ucp-interlock-proxy (2 replicas, host ports"),
            "{text}"
        );
        assert!(text.contains("stop-first"), "{text}");
        assert!(
            text.contains("ucp-interlock-proxy-extension (Interlock's extension)"),
            "{text}"
        );
        assert!(text.contains("Delivery = \"rolling\""), "{text}");
        assert_eq!(a.blocked.len(), 1);
        assert!(a.blocked[0].contains("proxy-d"), "{:?}", a.blocked);
    }

    #[test]
    fn a_proxy_image_means_hitless_delivery() {
        let c = config(&[("a", "p", PublishMode::Ingress)]);
        let a = assess(&c, &[], "sluice", Some("sluice/nginx-agent"));
        let text = a.lines.join("\n");
        assert!(
            text.contains("ProxyImage becomes sluice/nginx-agent"),
            "{text}"
        );
        assert!(text.contains("no service p yet"), "{text}");
        assert!(a.blocked.is_empty());
    }
}
