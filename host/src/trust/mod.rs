//! Trust on the agent channel (daemon ↔ proxy agents).
//!
//! Everything derives from the daemon's key file in its state directory
//! ([`crate::serve::Keyring`], `agent.key`: the current and the next key,
//! see [`keyfile`]): nothing else needs to be stored, and a daemon restarted
//! on another manager with the same file hands out exactly the same
//! credentials, so no proxy task is updated.
//!
//! - [`derive`]: named 32-byte seeds from the key (HMAC-SHA256).
//! - [`signing`]: the Ed25519 key that signs every revision; agents verify
//!   the signature over the exact bytes they received before reading them.
//! - [`certs`]: the channel's CA, the daemon's server certificate and one
//!   client certificate per cluster (mutual TLS).
//! - [`tls`]: rustls configurations for the daemon's API and the agents.
//! - [`keyfile`]: the key generations (current, next, previous) and rotation.
//! - [`credentials`]: what an agent holds (its Docker secret): the CA, its
//!   cluster's client certificate and key, token and revision keys.

pub mod certs;
pub mod derive;
pub mod keyfile;

// What the agent shares: crate `sluice-wire`.
pub use sluice_wire::{credentials, signing, tls};

pub use certs::Authority;
pub use credentials::Credentials;
pub use signing::{Signer, Verifier};
