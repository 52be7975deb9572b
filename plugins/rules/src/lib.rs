//! The rules every string of a render input obeys, written once.
//!
//! The host parses labels and config into a render input; each plugin checks
//! that input again before it writes a proxy config, because a plugin must not
//! trust its input either. When the two sides used their own copies of these
//! rules they drifted (a 129-character cookie name passed the host and made
//! HAProxy refuse its whole cluster). Now the host refuses a label with the
//! same function the plugins run on the value it becomes, so anything the host
//! accepts renders.
//!
//! Each rule takes the value in its final, normalised form (a host name after
//! IDNA and lower-casing, a path as it reaches the config) and is strict enough
//! for every bundled proxy's syntax: nginx, HAProxy map and crt-list files, and
//! Caddy's JSON placeholders. Layout: [`names`] (hosts, upstreams, cookies),
//! [`paths`] (URL and file paths), [`redirect`], [`text`] (free text that
//! reaches a config), [`policy`] (header names and values, client networks).
//!
//! No dependencies, so it builds natively and inside a wasm plugin alike.

mod invalid;
pub mod names;
pub mod paths;
pub mod policy;
pub mod redirect;
pub mod rewrite;
pub mod text;

pub use invalid::Invalid;
pub use names::{
    MAX_COOKIE_NAME, MAX_HOST_NAME, MAX_UPSTREAM_NAME, cookie_name, host_name, upstream_name,
};
pub use paths::{MAX_URL_PATH, file_path, normalize_root, url_path};
pub use policy::{MAX_HEADER_NAME, MAX_HEADER_VALUE, cidr, header_name, header_value};
pub use redirect::{MAX_REDIRECT_TARGET, redirect_target};
pub use rewrite::{MAX_REWRITE, replacement_groups, rewrite_pattern, rewrite_replacement};
pub use text::{auth_realm, plain_text};
