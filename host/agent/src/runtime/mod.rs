//! Revisions applied through the proxy's runtime API instead of a reload.
//!
//! A revision whose server slots ([`SlotsDoc`]) have the same shape as the
//! installed one's differs from it only in what its slots hold: the agent
//! then sets the slots that changed (HAProxy: `set server` through the
//! master CLI, [`haproxy`]), writes the files so a later reload or restart
//! serves the same, and reloads nothing. Anything else, or any failure on
//! the way, takes the usual path: validate, install, reload.
//!
//! Nothing a revision carries is sent as it is: the commands are made here
//! from checked parts (names of `[A-Za-z0-9_.:-]`, an IP address written
//! by the agent, a port, a weight), so a forged or buggy slot can at worst
//! be refused.

pub mod haproxy;

use std::net::IpAddr;

use sluice_wire::docs::{SlotDoc, SlotsDoc};

/// Make the master socket's directory, which must be the agent's own and
/// writable by nobody else (whoever can write there could put their own
/// socket in HAProxy's place). The proxy binds the socket itself (`-S`).
pub fn prepare(socket: &std::path::Path) -> anyhow::Result<()> {
    crate::metrics::socket::own_dir(socket, "SLUICE_HAPROXY_MASTER_SOCKET")
}

/// One slot's change, as HAProxy's runtime API takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Set {
    /// Point the slot at a server and put it in rotation.
    Server {
        backend: String,
        name: String,
        address: IpAddr,
        port: u16,
        weight: u32,
        /// The slot was empty: it also goes back into rotation.
        enable: bool,
    },
    /// Take the slot out of rotation (its old address stays, unused).
    Empty { backend: String, name: String },
}

/// What the proxy needs to go from `installed` to `next`, or None when that
/// takes a reload: another shape, other slots, or anything that does not
/// check. Unchanged slots are left alone.
pub fn changes(installed: &SlotsDoc, next: &SlotsDoc) -> Option<Vec<Set>> {
    if installed.shape != next.shape || installed.slots.len() != next.slots.len() {
        return None;
    }
    let mut out = Vec::new();
    for (old, new) in installed.slots.iter().zip(&next.slots) {
        if old.backend != new.backend || old.name != new.name || !named(new) {
            return None;
        }
        let (backend, name) = (new.backend.clone(), new.name.clone());
        match (&old.server, &new.server) {
            (a, b) if a == b => {}
            (_, None) => out.push(Set::Empty { backend, name }),
            (was, Some(s)) => {
                let address: IpAddr = s.address.parse().ok()?;
                if s.port == 0 || s.weight > 256 {
                    return None;
                }
                out.push(Set::Server {
                    backend,
                    name,
                    address,
                    port: s.port,
                    weight: s.weight,
                    enable: was.is_none(),
                });
            }
        }
    }
    Some(out)
}

/// Backend and slot names the runtime API can take as they are.
fn named(slot: &SlotDoc) -> bool {
    [&slot.backend, &slot.name].iter().all(|n| {
        !n.is_empty()
            && n.len() <= 128
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_wire::docs::SlotServer;

    fn slot(name: &str, server: Option<(&str, u16, u32)>) -> SlotDoc {
        SlotDoc {
            backend: "up_a".into(),
            name: name.into(),
            server: server.map(|(a, p, w)| SlotServer {
                address: a.into(),
                port: p,
                weight: w,
            }),
        }
    }

    fn doc(shape: &str, slots: Vec<SlotDoc>) -> SlotsDoc {
        SlotsDoc {
            shape: shape.into(),
            slots,
        }
    }

    #[test]
    fn only_changed_slots_are_set() {
        let before = doc(
            "s",
            vec![
                slot("slot1", Some(("10.0.0.1", 80, 1))),
                slot("slot2", None),
                slot("slot3", Some(("10.0.0.3", 80, 1))),
                slot("slot4", Some(("10.0.0.4", 80, 1))),
            ],
        );
        let after = doc(
            "s",
            vec![
                slot("slot1", Some(("10.0.0.1", 80, 1))),
                slot("slot2", Some(("10.0.0.2", 8080, 1))),
                slot("slot3", None),
                slot("slot4", Some(("fd00::4", 80, 7))),
            ],
        );
        let sets = changes(&before, &after).unwrap();
        let server = |name: &str, address: &str, port, weight, enable| Set::Server {
            backend: "up_a".into(),
            name: name.into(),
            address: address.parse().unwrap(),
            port,
            weight,
            enable,
        };
        assert_eq!(
            sets,
            [
                server("slot2", "10.0.0.2", 8080, 1, true),
                Set::Empty {
                    backend: "up_a".into(),
                    name: "slot3".into()
                },
                server("slot4", "fd00::4", 80, 7, false),
            ]
        );
        assert_eq!(changes(&before, &before), Some(vec![]));
    }

    /// What takes a reload instead: another shape, other slots, and slots
    /// whose parts would not go into a command as they are.
    #[test]
    fn anything_else_takes_a_reload() {
        let base = doc("s", vec![slot("slot1", None)]);
        let with = |s: SlotDoc| doc("s", vec![s]);
        let mut renamed = slot("slot1", None);
        renamed.backend = "up_b".into();
        let cases = [
            doc("other", vec![slot("slot1", None)]),
            doc("s", vec![slot("slot1", None), slot("slot2", None)]),
            with(slot("slot9", None)),
            with(renamed),
            with(slot("slot1", Some(("example.com", 80, 1)))),
            with(slot("slot1", Some(("10.0.0.1; @1 shutdown", 80, 1)))),
            with(slot("slot1", Some(("10.0.0.1", 0, 1)))),
            with(slot("slot1", Some(("10.0.0.1", 80, 257)))),
        ];
        for next in &cases {
            assert_eq!(changes(&base, next), None, "{next:?}");
        }
        let mut hostile = base.clone();
        hostile.slots[0].name = "slot1;shutdown".into();
        assert_eq!(changes(&hostile, &hostile), None);
    }
}
