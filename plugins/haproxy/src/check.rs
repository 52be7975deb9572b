//! Checks on route elements before they reach haproxy.cfg or its map and
//! crt-list files. Those two file formats have no quoting at all, so host
//! names, paths and certificate paths are held to character sets that cannot
//! split a line; strings that only reach haproxy.cfg go through
//! [`crate::quote::word`] instead and are refused only when unprintable.
//!
//! Each failure is an [`invalid`] diagnostic whose key is the Interlock label
//! (or config key) the value came from.

use sluice_plugin_kit::Diagnostic;
use sluice_plugin_kit::settings as kit;

/// The value rules, shared with the host (see `sluice-input-rules`); all are
/// strict enough for map and crt-list lines.
pub use sluice_plugin_kit::rules::{
    cookie_name, file_path, host_name, plain_text, redirect_target, upstream_name, url_path,
};

/// An error diagnostic for a route element; `key` is the label it came from.
pub fn invalid(key: &str, message: impl Into<String>) -> Diagnostic {
    kit::error(key, message)
}
