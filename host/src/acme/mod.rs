//! Automatic HTTPS: certificates from an ACME directory for the hosts of
//! `sluice.tls = acme` services (`[ACME]` in config.toml).
//!
//! - [`store`]: the account and certificates in `StateDir`, which is what
//!   survives a restart (keep it on a volume).
//! - [`challenge`]: the plain HTTP listener on `ChallengeAddr` answering
//!   HTTP-01 tokens; the proxies pass `/.well-known/acme-challenge/` of every
//!   ACME host on to it ([`routes`] adds that route to the plan).
//! - [`order`]: one certificate from the directory (instant-acme).
//! - [`manager`]: the task that orders what is missing or due for renewal,
//!   one host at a time, with a backoff per host.
//! - [`routes`] (pure): a cluster's plan with the challenge routes and the
//!   issued certificates' files, and a revision with those files added;
//!   they reach the proxies with the revision, over the agent channel, so a
//!   new or renewed certificate is a reload in place.

pub mod challenge;
pub mod manager;
pub mod order;
pub mod routes;
pub mod store;

pub use manager::{Acme, HostStatus, Serving};
