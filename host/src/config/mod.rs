//! Interlock's `config.toml`, read as it is.
//!
//! [`model`] holds the typed config and [`defaults`] Interlock's defaults;
//! [`parse_str`]/[`load`] read TOML into it (unknown keys become warnings,
//! keys Sluice ignores become notes, bad values errors naming key and line).

pub mod acme;
pub mod defaults;
mod duration;
mod error;
mod host_patterns;
pub mod model;
mod parse;
mod plugin_choice;
mod settings;
mod validate;
mod values;

pub use acme::AcmeConfig;
pub use duration::parse_go_duration;
pub use error::{ConfigError, Pos};
pub use host_patterns::HostPatterns;
pub use model::*;
pub use parse::{Loaded, load, parse_str};

#[cfg(test)]
mod parse_fuzz;
#[cfg(test)]
mod parse_tests;
