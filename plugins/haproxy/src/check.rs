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

/// An error diagnostic for a route element; `key` is the label it came from.
pub fn invalid(key: &str, message: impl Into<String>) -> Diagnostic {
    kit::error(key, message)
}

/// DNS names (A-labels) plus `_`, which Swarm users do put in host names,
/// optionally led by a whole `*` label (`*.example.org`, see
/// [`crate::wildcard`]); `*` is a plain word in map files, crt-list SNI
/// filters and ACLs, so it needs no quoting anywhere.
pub fn host_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c);
    if name.is_empty() || name.len() > 253 {
        return Err(format!("host name {name:?} must have 1 to 253 characters"));
    }
    let rest = name.strip_prefix("*.").unwrap_or(name);
    if let Some(c) = rest.chars().find(|&c| !ok_char(c)) {
        return Err(format!(
            "host name {name:?} contains {c:?}; only a-z, 0-9, '-', '.' and '_' are routable, \
             and '*' only as a whole leading label (*.example.org)"
        ));
    }
    if rest.is_empty() || rest.starts_with(['.', '-']) {
        return Err(format!(
            "host name {name:?} must start with a letter or digit (after a leading '*.')"
        ));
    }
    Ok(())
}

/// A URL path prefix (context root, websocket endpoint): RFC 3986 path
/// characters only, so it is one word in a map file and cannot carry a query.
pub fn url_path(path: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@%".contains(c);
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must start with '/'"));
    }
    if path.len() > 1024 {
        return Err(format!(
            "path {:?}... is longer than 1024 characters",
            &path[..32]
        ));
    }
    match path.chars().find(|&c| !ok_char(c)) {
        Some(c) => Err(format!(
            "path {path:?} contains {c:?}, which is not allowed in a URL path"
        )),
        None => Ok(()),
    }
}

/// RFC 6265 cookie-name (an HTTP token).
pub fn cookie_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || name.len() > 128 {
        return Err(format!(
            "cookie name {name:?} must have 1 to 128 characters"
        ));
    }
    match name.chars().find(|&c| !ok_char(c)) {
        Some(c) => Err(format!(
            "cookie name {name:?} contains {c:?}, which a cookie name cannot"
        )),
        None => Ok(()),
    }
}

/// A redirect target: an absolute http(s) URL or an absolute path, printable
/// ASCII without blanks (it becomes a Location header prefix).
pub fn redirect_target(target: &str) -> Result<(), String> {
    let lower = target.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://") || target.starts_with('/')) {
        return Err(format!(
            "redirect target {target:?} must start with http://, https:// or /"
        ));
    }
    match target.chars().find(|c| !c.is_ascii_graphic()) {
        Some(c) => Err(format!("redirect target {target:?} contains {c:?}")),
        None => Ok(()),
    }
}

/// Upstream names become backend names (WIT promises `[a-z0-9_]`).
pub fn upstream_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "upstream name {name:?} must be non-empty [a-z0-9_]"
        ))
    }
}

/// Files named in crt-list lines and in converter arguments, where neither
/// quoting nor `,` `)` `#` blanks are possible.
pub fn file_path(path: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "/._-+@=".contains(c);
    if !path.starts_with('/') {
        return Err(format!("path {path:?} must be absolute"));
    }
    match path.chars().find(|&c| !ok_char(c)) {
        Some(c) => Err(format!(
            "path {path:?} contains {c:?}; only letters, digits and /._-+@= are allowed"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Check = fn(&str) -> Result<(), String>;

    #[test]
    fn accepts_and_refuses() {
        let cases: &[(Check, &str, bool)] = &[
            (host_name, "demo.local", true),
            (host_name, "xn--bcher-kva.example", true),
            (host_name, "my_app.local", true),
            (host_name, "", false),
            (host_name, "Demo.local", false),
            (host_name, "a b", false),
            (host_name, "a\nb", false),
            (host_name, "a#b", false),
            (host_name, "*.example.org", true),
            (host_name, "*.a.b.example.org", true),
            (host_name, "*", false),
            (host_name, "*.", false),
            (host_name, "*..example.org", false),
            (host_name, "*.-x.org", false),
            (host_name, "**.example.org", false),
            (host_name, "*example.org", false),
            (host_name, "a.*.example.org", false),
            (host_name, "*.*.example.org", false),
            (host_name, "*.example.org\n", false),
            (host_name, "*.a b", false),
            (host_name, "-x.org", false),
            (host_name, &"a".repeat(254), false),
            (url_path, "/", true),
            (url_path, "/app", true),
            (url_path, "/a-b/c_d/%20/~x/@:;=", true),
            (url_path, "app", false),
            (url_path, "/a b", false),
            (url_path, "/a#b", false),
            (url_path, "/a?b", false),
            (url_path, "/a\"b", false),
            (url_path, "/a\\b", false),
            (url_path, "/a\nb", false),
            (url_path, "/a{b", false),
            (cookie_name, "session", true),
            (cookie_name, "JSESSIONID", true),
            (cookie_name, "a#b", true),
            (cookie_name, "", false),
            (cookie_name, "a b", false),
            (cookie_name, "a;b", false),
            (cookie_name, "a\"b", false),
            (cookie_name, "a\nb", false),
            (redirect_target, "http://new.local", true),
            (redirect_target, "HTTPS://new.local/x?y=%41", true),
            (redirect_target, "/elsewhere", true),
            (redirect_target, "new.local", false),
            (redirect_target, "http://a b", false),
            (redirect_target, "http://a\nb", false),
            (redirect_target, "http://é", false),
            (upstream_name, "demo_local_1", true),
            (upstream_name, "", false),
            (upstream_name, "Demo", false),
            (upstream_name, "a-b", false),
            (file_path, "/run/secrets/app.example.org.pem", true),
            (file_path, "relative.pem", false),
            (file_path, "/a b.pem", false),
            (file_path, "/a,b.pem", false),
            (file_path, "/a)b", false),
            (file_path, "/a#b", false),
        ];
        for (check, input, ok) in cases {
            assert_eq!(check(input).is_ok(), *ok, "{input:?}: {:?}", check(input));
        }
    }
}
