//! Shared harness for Sluice's integration tests.
//!
//! - [`inputs`]: small render inputs built in code.
//! - Behaviour tests (real nginx and HAProxy on loopback): [`backend`]s that
//!   answer with their identity, [`certs`] from a test CA, the [`proxy`]
//!   under test on free [`ports`], a [`client`], and the [`scenarios`] run
//!   against both proxies.
//! - [`pebble`]: a real ACME server (Debian's pebble) for automatic HTTPS.

pub mod backend;
pub mod bench_run;
pub mod bench_snapshot;
pub mod certs;
pub mod client;
pub mod grpc;
pub mod h2;
pub mod inputs;
pub mod pebble;
pub mod policy_scenarios;
pub mod ports;
pub mod procs;
pub mod proxy;
pub mod scenarios;
pub mod sluice_bin;
pub mod swarm;
