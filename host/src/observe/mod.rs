//! Observe: Swarm → [`Snapshot`](crate::snapshot::Snapshot), and the triggers
//! that say when to look again.
//!
//! - [`connect`]: reach the engine named by `DockerURL`, negotiate the API
//!   version, make sure it is a Swarm manager.
//! - [`fetch`]: list services, tasks, networks, nodes and secrets.
//! - [`watch`]: Swarm events (services, networks, secrets, configs, nodes) as
//!   triggers. Swarm sends no task events, so tasks are polled: fast while a
//!   service converges, every `PollInterval` otherwise.

pub mod connect;
pub mod fetch;
pub mod raw;
pub mod watch;
