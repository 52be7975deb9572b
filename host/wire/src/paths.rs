//! The one rule both ends apply to an agent's config root (the daemon before
//! it sets `SLUICE_CONFIG_ROOT`, the agent before it writes anything): an
//! absolute, plain directory of its own, never a system directory, whose
//! files (the C library's preload list, cron, passwords) a revision could
//! then replace.

/// Directories that hold the system's own files, or the container's secrets.
const SYSTEM: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/run/secrets",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/lib",
    "/var/run",
    "/var/spool",
    "/var/tmp",
    "/etc/cron.d",
    "/etc/ssl",
    "/etc/security",
];

/// An absolute path, not `/` itself, whose every part is a plain name: no
/// `.`, `..`, empty part (`//`) or NUL. Judged by the text, because
/// `Path::components` hides a `.` or `//` in the middle. The one rule for a
/// config root, a file a plugin renders, and a file an agent writes.
pub fn is_plain_absolute(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && !path.contains('\0')
        && path[1..]
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Why `root` cannot be a config root, if it cannot.
/// The file name of `path` when it is a plain absolute path naming a file
/// directly in `dir` (as a secret under `/run/secrets`), else None.
pub fn name_in<'p>(dir: &str, path: &'p str) -> Option<&'p str> {
    let name = path.strip_prefix(dir)?.strip_prefix('/')?;
    (!name.is_empty() && !name.contains('/') && is_plain_absolute(path)).then_some(name)
}

pub fn config_root_problem(root: &str) -> Option<String> {
    let trimmed = root.trim_end_matches('/');
    if !is_plain_absolute(trimmed) {
        return Some(format!(
            "{root:?} is not an absolute directory without '.', '..' or empty parts"
        ));
    }
    if SYSTEM.contains(&trimmed) {
        return Some(format!(
            "{root:?} is a system directory; give the proxy's config a directory of its own (e.g. /etc/nginx)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_roots() {
        for (root, ok) in [
            ("/etc/nginx", true),
            ("/usr/local/etc/haproxy", true),
            ("/tmp/sluice-agent-x", true),
            ("/etc/envoy/", true),
            ("/", false),
            ("/etc", false),
            ("/etc/", false),
            ("/usr/local/etc", false),
            ("/run/secrets", false),
            ("/tmp", false),
            ("etc/nginx", false),
            ("/etc/../root", false),
            ("/etc/./nginx", false),
            ("/etc//nginx", false),
        ] {
            assert_eq!(config_root_problem(root).is_none(), ok, "{root}");
        }
    }

    #[test]
    fn plain_absolute_paths() {
        for (path, ok) in [
            ("/etc/nginx/nginx.conf", true),
            ("/a", true),
            ("/", false),
            ("", false),
            ("a/b", false),
            ("/a/./b", false),
            ("/a/../b", false),
            ("/a//b", false),
            ("/a/b/", false),
            ("/a/\0b", false),
        ] {
            assert_eq!(is_plain_absolute(path), ok, "{path:?}");
        }
    }

    #[test]
    fn names_directly_in_a_directory() {
        // (path, name)
        let table = [
            ("/run/secrets/a.pem", Some("a.pem")),
            ("/run/secrets", None),
            ("/run/secrets/", None),
            ("/run/secrets/a/b", None),
            ("/run/secrets/..", None),
            ("/run/secrets//a", None),
            ("/run/secretsx/a", None),
            ("run/secrets/a", None),
        ];
        for (path, want) in table {
            assert_eq!(name_in("/run/secrets", path), want, "{path}");
        }
    }
}
