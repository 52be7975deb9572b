//! The agent channel between Sluice's daemon and its proxy agents, as both
//! ends share it: the JSON documents ([`docs`]), revision signatures
//! ([`signing`]), what an agent holds ([`credentials`]) and the TLS
//! configurations ([`tls`]), and where an agent may write ([`paths`]). No async runtime and no Docker or wasm here:
//! the agent binary links this and little else.

pub mod credentials;
pub mod docs;
pub mod paths;
pub mod signing;
pub mod tls;
