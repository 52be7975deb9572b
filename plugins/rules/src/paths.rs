//! URL paths (context roots, WebSocket endpoints) and file paths.

use crate::Invalid;

/// nginx's and HAProxy's comfortable limit for a location or map key.
pub const MAX_URL_PATH: usize = 1024;

/// A URL path prefix: `/` then letters, digits and `/-._~` only, at most
/// [`MAX_URL_PATH`]. Percent-escapes, `;`, `$`, `{}`, `*` and the rest of
/// RFC 3986 are refused: each is syntax in some proxy (nginx variables and
/// statement ends, Caddy placeholders and wildcards) or matches a decoded URI
/// differently per proxy.
pub fn url_path(path: &str) -> Result<(), Invalid> {
    if !path.starts_with('/') {
        return Err(Invalid::new(format!("path {path:?} must start with '/'")));
    }
    if path.len() > MAX_URL_PATH {
        return Err(Invalid::new(format!(
            "path must have at most {MAX_URL_PATH} characters, found {}",
            path.len()
        )));
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"/-._~".contains(&b);
    if !path.bytes().all(safe) {
        return Err(Invalid::new(format!(
            "path {path:?} may only contain letters, digits and / - . _ ~"
        )));
    }
    // nginx merges `//` and resolves `.`/`..` before matching a location;
    // HAProxy and Caddy match the raw path: such a prefix would route
    // differently per proxy. One trailing `/` is fine.
    let segments: Vec<&str> = path[1..].split('/').collect();
    let inner = &segments[..segments.len() - 1];
    let last = segments[segments.len() - 1];
    if inner.iter().any(|s| s.is_empty())
        || inner.iter().chain([&last]).any(|s| *s == "." || *s == "..")
    {
        return Err(Invalid::new(format!(
            "path {path:?} has an empty, `.` or `..` segment (proxies normalise those differently)"
        )));
    }
    Ok(())
}

/// The form a context root takes in a config: no trailing slash, except `/`.
pub fn normalize_root(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

/// A file inside the proxy container (certificates, keys, the main config):
/// absolute, of letters, digits and `/._-+@=` only, which HAProxy's crt-list
/// lines and converter arguments take unquoted, and no `..` component.
pub fn file_path(path: &str) -> Result<(), Invalid> {
    if !path.starts_with('/') {
        return Err(Invalid::new(format!("file path {path:?} must be absolute")));
    }
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"/._-+@=".contains(&b);
    if !path.bytes().all(safe) {
        return Err(Invalid::new(format!(
            "file path {path:?} may only contain letters, digits and / . _ - + @ ="
        )));
    }
    if path.split('/').any(|c| c == "..") {
        return Err(Invalid::new(format!(
            "file path {path:?} must not step up with '..'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rule = fn(&str) -> Result<(), Invalid>;

    #[test]
    fn accepts_and_refuses() {
        let longest = format!("/{}", "p".repeat(MAX_URL_PATH - 1));
        let too_long = format!("/{}", "p".repeat(MAX_URL_PATH));
        let cases: &[(Rule, &str, bool)] = &[
            (url_path, "/", true),
            (url_path, "/app", true),
            (url_path, "/app/", true),
            (url_path, "/a-b_c.d~e/v1", true),
            (url_path, &longest, true),
            (url_path, &too_long, false),
            (url_path, "", false),
            (url_path, "app", false),
            (url_path, "/a b", false),
            (url_path, "/a;b", false),
            (url_path, "/a{b", false),
            (url_path, "/a}b", false),
            (url_path, "/$uri", false),
            (url_path, "/a\"b", false),
            (url_path, "/a'b", false),
            (url_path, "/a\nb", false),
            (url_path, "/a\\b", false),
            (url_path, "/a#b", false),
            (url_path, "/a?b", false),
            (url_path, "/a*", false),
            (url_path, "/%20x", false),
            (url_path, "/.well-known/acme", true),
            (url_path, "/a..b", true),
            (url_path, "//", false),
            (url_path, "/a//b", false),
            (url_path, "/a/./b", false),
            (url_path, "/a/../b", false),
            (url_path, "/..", false),
            (url_path, "/a/.", false),
            (file_path, "/run/secrets/app.example.org.pem", true),
            (file_path, "/etc/nginx/nginx.conf", true),
            (file_path, "/a+b@c=d", true),
            (file_path, "relative.pem", false),
            (file_path, "", false),
            (file_path, "/a b.pem", false),
            (file_path, "/a,b.pem", false),
            (file_path, "/a)b", false),
            (file_path, "/a#b", false),
            (file_path, "/a$b", false),
            (file_path, "/a{b}", false),
            (file_path, "/a\nb", false),
            (file_path, "/run/../etc/shadow", false),
        ];
        for (rule, input, ok) in cases {
            assert_eq!(rule(input).is_ok(), *ok, "{input:?}: {:?}", rule(input));
        }
    }

    #[test]
    fn normalized_roots() {
        for (input, want) in [
            ("/app", "/app"),
            ("/app/", "/app"),
            ("/", "/"),
            ("//", "/"),
            ("/a/b//", "/a/b"),
        ] {
            assert_eq!(normalize_root(input), want);
        }
    }
}
