//! Server slots: a backend rendered with room for more servers than it has,
//! so that when only its tasks change (a scale-up, a task replaced) the
//! proxy's agent fills or empties slots through HAProxy's runtime API
//! instead of reloading. Each slot is a plain `server` line; an empty one is
//! `disabled` at `0.0.0.0:0`, as the runtime leaves a slot it empties, so a
//! proxy that loads the file fresh serves what one updated at runtime does.
//!
//! Which slot a task takes depends on the task (a hash of its address and
//! port; the next free slot on a collision), so tasks that stay keep their
//! slots, and their connections, when others come or go (all but a
//! collision's losers). The
//! number of slots moves only in powers of two, so most scale changes keep
//! the backend's shape.
//!
//! Backends left without slots (every change reloads, as before): `ip_hash`
//! ones (`balance source` maps servers statically), those whose servers
//! have passive health checks (`check` on a slot costs a file descriptor at
//! start-up even while it is empty), and those whose name is longer than
//! the runtime API's names may be (a very long host name).

use sluice_plugin_kit::{Server, Upstream};

use crate::settings::Config;

/// Longest backend name a slot may name (the host's rule for what goes to
/// the runtime API); a longer one (a long host name) reloads instead.
const MAX_BACKEND: usize = 128;

/// Whether `backend`, serving `upstream`, is rendered with slots.
pub fn eligible(backend: &str, upstream: &Upstream, config: &Config) -> bool {
    config.server_slots > 0
        && backend.len() <= MAX_BACKEND
        && !upstream.ip_hash
        && upstream
            .servers
            .iter()
            .all(|s| s.max_fails.is_none() && s.fail_timeout_seconds.is_none())
}

/// Slots for `servers` servers: at least `min`, else the next power of two.
pub fn count(servers: usize, min: usize) -> usize {
    servers.next_power_of_two().max(min)
}

/// `slots` slots, each holding one of `servers` or none.
pub fn assign(servers: &[Server], slots: usize) -> Vec<Option<&Server>> {
    let mut out: Vec<Option<&Server>> = vec![None; slots];
    // In address order, so a collision resolves the same way every time.
    let mut order: Vec<&Server> = servers.iter().collect();
    order.sort_by(|a, b| (&a.address, a.port).cmp(&(&b.address, b.port)));
    for server in order.into_iter().take(slots) {
        let mut at = (fnv1a(&server.address, server.port) % slots as u64) as usize;
        while out[at].is_some() {
            at = (at + 1) % slots;
        }
        out[at] = Some(server);
    }
    out
}

/// FNV-1a of `address:port`: stable across renders and plugin builds.
fn fnv1a(address: &str, port: u16) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in address.bytes().chain([b':']).chain(port.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(address: &str) -> Server {
        Server {
            address: address.into(),
            port: 8080,
            weight: 1,
            max_fails: None,
            fail_timeout_seconds: None,
            service: "svc".into(),
        }
    }

    #[test]
    fn counts_are_the_minimum_or_powers_of_two() {
        for (servers, min, want) in [
            (0, 4, 4),
            (1, 4, 4),
            (4, 4, 4),
            (5, 4, 8),
            (8, 4, 8),
            (9, 4, 16),
            (3, 1, 4),
            (1, 1, 1),
            (2, 6, 6),
        ] {
            assert_eq!(count(servers, min), want, "{servers}, at least {min}");
        }
    }

    /// Tasks that stay keep their slot when one comes or goes.
    #[test]
    fn slots_stay_with_their_task() {
        let names: Vec<String> = (1..=7).map(|i| format!("10.0.0.{i}")).collect();
        let servers: Vec<Server> = names.iter().map(|a| server(a)).collect();
        let slot_of = |servers: &[Server], address: &str| {
            assign(servers, 8)
                .iter()
                .position(|s| s.is_some_and(|s| s.address == address))
        };
        let before: Vec<_> = names.iter().map(|a| slot_of(&servers[..6], a)).collect();
        let after: Vec<_> = names.iter().map(|a| slot_of(&servers, a)).collect();
        // Every task of the six keeps its slot; the seventh takes a free one.
        assert_eq!(before[..6], after[..6]);
        assert!(after[6].is_some() && !before.contains(&after[6]));
        // And the same set, in another order, fills the same slots.
        let mut reversed = servers.clone();
        reversed.reverse();
        let addresses = |servers: &[Server]| -> Vec<Option<String>> {
            assign(servers, 8)
                .iter()
                .map(|s| s.map(|s| s.address.clone()))
                .collect()
        };
        assert_eq!(addresses(&servers), addresses(&reversed));
        let placed = assign(&servers, 8).iter().flatten().count();
        assert_eq!(placed, 7);
    }
}
