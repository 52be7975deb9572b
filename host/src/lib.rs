//! Sluice: Docker Swarm layer-7 routing, a drop-in for Interlock.
//!
//! # Layout
//! The pipeline has one module per stage:
//! - `observe`: Swarm → [`snapshot::Snapshot`] (services, tasks, networks).
//! - [`plan`]: pure; snapshot + [`config::Config`] → routes per service cluster.
//! - [`render`]: the wasm plugin host; routes → proxy config files.
//! - `apply`: Docker and the proxies.
//! - [`serve`]: the daemon's HTTPS API; [`agent`] (crate `sluice-agent`):
//!   its client in each proxy task (hitless delivery); [`trust`]: what makes
//!   that channel trustworthy (CA, client certificates, signed revisions),
//!   with what both ends share in crate `sluice-wire`.
//! - [`acme`]: certificates from an ACME directory, which reach the
//!   proxies as files of their revisions.
//! - [`proxies`]: the proxy kinds the host drives, with their commands.
//!
//! [`wit`] holds the bindings of each renderer interface version.

/// The proxy agent (its own crate and binary, `sluice-agent`).
pub use sluice_agent as agent;
pub mod acme;
pub mod allocator;
pub mod apply;
pub mod config;
pub mod daemon;
pub mod dashboard;
pub mod metrics;
pub mod migrate;
pub mod observe;
pub mod plan;
pub mod proxies;
pub mod render;
pub mod serve;
pub mod snapshot;
pub mod trust;
/// The renderer interface's bindings (in the runtime crate, `sluice-render`).
pub use sluice_render::wit;

/// The label parser lives with the planner; tests and tools name it here.
pub use plan::labels;
