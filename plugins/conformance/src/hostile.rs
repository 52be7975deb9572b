//! Hostile strings: every place where a label (or a setting) puts text into
//! the input, crossed with payloads that would add or hide config if written
//! raw. Each case comes as a benign/hostile pair that differ only in that text.

use super::corpus::{self, simple_host};
use sluice_render::wit::latest::{Redirect, RenderInput, Setting, TlsFiles};

/// Appended to a benign value to make it hostile.
pub const PAYLOADS: &[(&str, &str)] = &[
    ("semicolon", "; injected on;"),
    ("close brace", "} injected {"),
    ("open brace", "{"),
    ("newline", "\ninjected on;\n"),
    ("carriage return", "\r\ninjected on;"),
    ("double quote", "\" injected \""),
    ("single quote", "' injected '"),
    ("hash", " # injected"),
    ("bare hash", "#"),
    ("space", " injected"),
];

/// Where a string from the labels lands in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    HostName,
    ContextRoot,
    WebsocketEndpoint,
    RedirectTarget,
    StickyCookie,
    CertPath,
    KeyPath,
    ServiceName,
    ServerAddress,
    ClusterName,
    ServerInfo,
}

pub const POSITIONS: &[Position] = &[
    Position::HostName,
    Position::ContextRoot,
    Position::WebsocketEndpoint,
    Position::RedirectTarget,
    Position::StickyCookie,
    Position::CertPath,
    Position::KeyPath,
    Position::ServiceName,
    Position::ServerAddress,
    Position::ClusterName,
    Position::ServerInfo,
];

/// The host every position's element hangs off (unless it is the host name).
pub const VICTIM_HOST: &str = "victim.example.org";

impl Position {
    pub fn label(self) -> &'static str {
        match self {
            Position::HostName => "host name",
            Position::ContextRoot => "context root",
            Position::WebsocketEndpoint => "websocket endpoint",
            Position::RedirectTarget => "redirect target",
            Position::StickyCookie => "sticky cookie",
            Position::CertPath => "certificate path",
            Position::KeyPath => "key path",
            Position::ServiceName => "service name",
            Position::ServerAddress => "server address",
            Position::ClusterName => "cluster name",
            Position::ServerInfo => "server info",
        }
    }

    /// A plain value for this position; hostile values extend it.
    pub fn benign(self) -> &'static str {
        match self {
            Position::HostName => "inj.example.org",
            Position::ContextRoot => "/injroot",
            Position::WebsocketEndpoint => "/injws",
            Position::RedirectTarget => "https://injtarget.example.org",
            Position::StickyCookie => "injcookie",
            Position::CertPath => "/run/secrets/inj.crt",
            Position::KeyPath => "/run/secrets/inj.key",
            Position::ServiceName => "injservice",
            Position::ServerAddress => "10.77.0.1",
            Position::ClusterName => "injcluster",
            Position::ServerInfo => "sluice/inj",
        }
    }

    /// Words a diagnostic may use to name the element, besides its value.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Position::HostName => &["host"],
            Position::ContextRoot => &["context"],
            Position::WebsocketEndpoint => &["websocket"],
            Position::RedirectTarget => &["redirect"],
            Position::StickyCookie => &["cookie"],
            Position::CertPath => &["cert", "tls", "ssl"],
            Position::KeyPath => &["key", "tls", "ssl"],
            Position::ServiceName => &["service"],
            Position::ServerAddress => &["address", "server"],
            Position::ClusterName => &["cluster", "extension"],
            Position::ServerInfo => &["server-info", "server_info", "info"],
        }
    }

    /// The input with `value` at this position.
    pub fn input(self, config_path: &str, settings: &[Setting], value: &str) -> RenderInput {
        let mut host = simple_host(VICTIM_HOST, "10.77.0.2");
        match self {
            Position::HostName => {
                host = simple_host(value, "10.77.0.2");
                // The identifier stays valid: names are the host's job.
                if let Some(u) = &mut host.upstream {
                    u.name = "inj_upstream".into();
                }
            }
            Position::ContextRoot => {
                let up = corpus::upstream("inj_root", vec![corpus::server("10.77.0.3", 80, "r")]);
                host.context_roots
                    .push(sluice_render::wit::latest::ContextRoot {
                        path: value.into(),
                        rewrite: true,
                        upstream: up,
                    });
            }
            Position::WebsocketEndpoint => host.websocket_endpoints.push(value.into()),
            Position::RedirectTarget => host.redirects.push(Redirect {
                scheme: None,
                target: value.into(),
            }),
            Position::StickyCookie => {
                if let Some(u) = &mut host.upstream {
                    u.sticky_cookie = Some(value.into());
                }
            }
            Position::CertPath => {
                host.tls = Some(TlsFiles {
                    cert_path: value.into(),
                    key_path: None,
                })
            }
            Position::KeyPath => {
                host.tls = Some(TlsFiles {
                    cert_path: "/run/secrets/victim.crt".into(),
                    key_path: Some(value.into()),
                })
            }
            Position::ServiceName => {
                if let Some(u) = &mut host.upstream {
                    u.servers[0].service = value.into();
                }
            }
            Position::ServerAddress => {
                if let Some(u) = &mut host.upstream {
                    u.servers[0].address = value.into();
                }
            }
            Position::ClusterName | Position::ServerInfo => {}
        }
        let mut input = corpus::input(config_path, settings, vec![host]);
        match self {
            Position::ClusterName => {
                input.cluster.name = value.into();
                input.cluster.service_cluster = value.into();
            }
            Position::ServerInfo => input.cluster.server_info = value.into(),
            _ => {}
        }
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_position_places_its_value() {
        for p in POSITIONS {
            let marker = format!("{}MARK", p.benign());
            let input = p.input("/etc/p/p.conf", &[], &marker);
            let json = serde_json::to_string(&input).unwrap();
            assert!(json.contains(&marker), "{p:?}: {json}");
            let benign = serde_json::to_string(&p.input("/etc/p/p.conf", &[], p.benign())).unwrap();
            assert!(!benign.contains("MARK"), "{p:?}");
        }
    }
}
