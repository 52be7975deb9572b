//! Shared harness for Sluice's integration tests.
//!
//! - [`inputs`]: small render inputs built in code.

pub mod inputs;
