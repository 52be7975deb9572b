//! Host bindings of the renderer interface, one module per released version
//! (as `wit/` has one frozen folder per version). `latest` is the model the
//! rest of the host speaks; older versions convert to and from it.

pub mod v1_0_0;

pub use v1_0_0 as latest;
