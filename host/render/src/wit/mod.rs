//! Host bindings of the renderer interface, one module per released version
//! (as `wit/` has one frozen folder per version). `latest` is the model the
//! rest of the host speaks. The records a version kept from the one before
//! have the same shape, so an older plugin is called with `latest`'s types
//! (the component model checks a call by shape); what differs is only the
//! `render` function: 1.0.0 returns a list of files where 1.1.0 returns
//! `rendered`, and 1.2.0 also takes the routes' policies.

pub mod v1_0_0;
pub mod v1_1_0;
pub mod v1_2_0;

pub use v1_2_0 as latest;
