//! Host bindings of the renderer interface, one module per released version
//! (as `wit/` has one frozen folder per version). `latest` is the model the
//! rest of the host speaks. The records 1.1.0 kept from 1.0.0 have the same
//! shape, so a 1.0.0 plugin is called with `latest`'s types (the component
//! model checks a call by shape); only its `render` result differs, a list
//! of files where 1.1.0 returns `rendered`.

pub mod v1_0_0;
pub mod v1_1_0;

pub use v1_1_0 as latest;
