//! Wildcard host names (`*.example.org`) with nginx's `server_name`
//! precedence: an exact name beats every wildcard, the longest wildcard
//! beats shorter ones, and `*.example.org` matches any depth of subdomain
//! (`a.example.org`, `a.b.example.org`) but not `example.org` itself.
//!
//! The HTTP frontends find a request's virtual host in two map files: the
//! exact names (`map_str`, a tree lookup) and, only when that misses, the
//! wildcard suffixes (`map_end`, first match in file order, so the file is
//! sorted longest suffix first). Names were checked by
//! [`crate::check::host_name`], so every line is two plain words.

/// `.example.org` for `*.example.org`; `None` for an exact name.
pub fn suffix(name: &str) -> Option<&str> {
    name.strip_prefix('*').filter(|rest| rest.starts_with('.'))
}

pub fn is_wildcard(name: &str) -> bool {
    suffix(name).is_some()
}

/// Whether the host name pattern `pattern` (exact or wildcard) takes the
/// name `name` (exact or wildcard, i.e. every name under it).
pub fn covers(pattern: &str, name: &str) -> bool {
    match suffix(pattern) {
        None => pattern == name,
        Some(s) => {
            let name = suffix(name).map_or(name, |n| &n[1..]);
            name.len() > s.len() && name.ends_with(s)
        }
    }
}

/// Wildcards longest suffix first (ties by name, for stable output), the
/// order in which `map_end` and ordered ACLs must try them.
pub fn longest_first<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut w: Vec<&str> = names.into_iter().filter(|n| is_wildcard(n)).collect();
    w.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    w.dedup();
    w
}

/// The exact-name map: `<name> <name>` per exact virtual host.
pub fn exact_map<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .filter(|n| !is_wildcard(n))
        .map(|n| format!("{n} {n}\n"))
        .collect()
}

/// The wildcard map: `<.suffix> <*.suffix>`, longest suffix first.
pub fn suffix_map<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    longest_first(names)
        .into_iter()
        .map(|n| format!("{} {n}\n", &n[1..]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_follows_nginx_server_name() {
        let cases: &[(&str, &str, bool)] = &[
            ("a.example", "a.example", true),
            ("a.example", "b.example", false),
            ("a.example", "x.a.example", false),
            ("*.example", "a.example", true),
            ("*.example", "a.b.example", true),
            ("*.example", "example", false),
            ("*.example", "aexample", false),
            ("*.b.example", "a.example", false),
            ("*.example", "*.b.example", true),
            ("*.b.example", "*.example", false),
            ("*.example", "*.example", false),
            ("a.example", "*.example", false),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(covers(pattern, name), *want, "{pattern} covers {name}");
        }
    }

    #[test]
    fn suffixes() {
        assert_eq!(suffix("*.a.b"), Some(".a.b"));
        assert_eq!(suffix("a.b"), None);
        assert_eq!(suffix("*a.b"), None);
    }

    #[test]
    fn map_files() {
        let names = ["a.example", "*.example", "*.a.example", "b.example"];
        assert_eq!(
            exact_map(names),
            "a.example a.example\nb.example b.example\n"
        );
        assert_eq!(
            suffix_map(names),
            ".a.example *.a.example\n.example *.example\n"
        );
        assert_eq!(suffix_map(["a.example"]), "");
    }
}
