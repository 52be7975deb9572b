//! Observe: Swarm → [`Swarm`](crate::snapshot::Swarm), and the triggers
//! that say when to look again.
//!
//! - [`connect`]: reach the engine named by `DockerURL`, negotiate the API
//!   version, make sure it is a Swarm manager.
//! - [`fetch`]: list services, tasks, networks, nodes and secrets, or only
//!   some services.
//! - [`follow`]: the Swarm as last read, kept up to date one event's worth
//!   at a time.
//! - [`watch`]: Swarm events (services, networks, secrets, configs, nodes) as
//!   triggers. Swarm sends no task events, so tasks are polled: fast while a
//!   service converges, every `PollInterval` otherwise.

pub mod connect;
pub mod fetch;
pub mod follow;
pub mod raw;
pub mod watch;
