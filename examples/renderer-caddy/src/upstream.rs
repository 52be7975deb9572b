//! An upstream as a Caddy `reverse_proxy` handler.

use serde_json::{Value, json};

use crate::settings::Settings;
use crate::sluice::renderer::types::{Server, TlsVerify, Upstream};

/// Caddy 2.6 has no weighted policy: a server of weight w is listed w times
/// (weights reduced by their gcd, at most this many entries per server).
const MAX_REPEAT: u32 = 16;

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn dial(s: &Server) -> String {
    if s.address.contains(':') {
        format!("[{}]:{}", s.address, s.port)
    } else {
        format!("{}:{}", s.address, s.port)
    }
}

/// `dial` entries, each server repeated by its (reduced) weight.
pub fn dials(servers: &[Server]) -> Vec<String> {
    let g = servers.iter().map(|s| s.weight.max(1)).fold(0, gcd).max(1);
    servers
        .iter()
        .flat_map(|s| std::iter::repeat_n(dial(s), (s.weight.max(1) / g).min(MAX_REPEAT) as usize))
        .collect()
}

/// The handler; `None` when the upstream has no servers (the route answers 503).
pub fn handler(u: &Upstream, settings: &Settings) -> Option<Value> {
    if u.servers.is_empty() {
        return None;
    }
    let upstreams: Vec<Value> = dials(&u.servers)
        .into_iter()
        .map(|d| json!({ "dial": d }))
        .collect();
    let mut h = json!({
        "handler": "reverse_proxy",
        "upstreams": upstreams,
    });
    let policy = match (&u.sticky_cookie, u.ip_hash) {
        (Some(name), _) => json!({ "policy": "cookie", "name": name }),
        (None, true) => json!({ "policy": "ip_hash" }),
        (None, false) => json!({ "policy": "round_robin" }),
    };
    h["load_balancing"] = json!({ "selection_policy": policy });
    let max_fails = u.servers.iter().filter_map(|s| s.max_fails).max();
    let fail_timeout = u
        .servers
        .iter()
        .filter_map(|s| s.fail_timeout_seconds)
        .max();
    if max_fails.is_some() || fail_timeout.is_some() {
        h["health_checks"] = json!({ "passive": {
            "max_fails": max_fails.unwrap_or(1),
            "fail_duration": format!("{}s", fail_timeout.unwrap_or(10)),
        }});
    }
    let mut transport = json!({
        "protocol": "http",
        "dial_timeout": format!("{}s", settings.connect_timeout),
        "response_header_timeout": format!("{}s", settings.read_timeout),
    });
    if u.tls {
        transport["tls"] = match u.tls_verify {
            TlsVerify::Required => json!({}),
            TlsVerify::None => json!({ "insecure_skip_verify": true }),
        };
    }
    h["transport"] = transport;
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(address: &str, weight: u32) -> Server {
        Server {
            address: address.into(),
            port: 80,
            weight,
            max_fails: None,
            fail_timeout_seconds: None,
            service: "s".into(),
        }
    }

    #[test]
    fn weights_repeat_servers() {
        let cases: &[(&[(&str, u32)], &[&str])] = &[
            (&[("10.0.0.1", 1)], &["10.0.0.1:80"]),
            (
                &[("10.0.0.1", 2), ("10.0.0.2", 4)],
                &["10.0.0.1:80", "10.0.0.2:80", "10.0.0.2:80"],
            ),
            (&[("fd00::1", 3)], &["[fd00::1]:80"]),
        ];
        for (servers, want) in cases {
            let s: Vec<Server> = servers.iter().map(|(a, w)| server(a, *w)).collect();
            assert_eq!(dials(&s), *want);
        }
    }
}
