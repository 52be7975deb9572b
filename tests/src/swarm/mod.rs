//! Real-Swarm end-to-end harness (tests/tests/swarm_e2e.rs): the two-node
//! Swarm of tests/swarm/up.sh ([`env`]), the daemon in-process ([`daemon`])
//! with its log captured ([`logs`]) or with an agent key of its own for
//! `/v2/status` ([`keyed`]), scenario scratch spaces that clean up
//! after themselves ([`scenario`]), configs ([`config`]), and observation
//! that doesn't go through the code under test: the `docker` CLI ([`cli`])
//! and plain HTTP from the host to the nodes' published ports ([`http`]).

pub mod cli;
pub mod config;
pub mod daemon;
pub mod env;
pub mod http;
pub mod images;
pub mod keyed;
pub mod logs;
pub mod poll;
pub mod scenario;

pub use env::{SwarmEnv, swarm};
pub use scenario::{Node, Scenario, serial};
