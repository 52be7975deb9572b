//! `AllowedHosts` (Sluice): the host names an Extension's services may
//! claim, as shell-style globs (`*.team-a.example.com`). `*` matches any
//! characters, dots included, so one pattern delegates a whole subtree;
//! matching ignores case, as host names do.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// Compiled once when the config is read; compared by its patterns.
#[derive(Clone, Debug)]
pub struct HostPatterns {
    patterns: Vec<String>,
    set: GlobSet,
}

impl HostPatterns {
    /// The patterns, or why one of them is not a host glob.
    pub fn new(patterns: Vec<String>) -> Result<Self, String> {
        if patterns.is_empty() {
            return Err(
                "the list is empty (it would allow no host); remove the key to allow every host"
                    .into(),
            );
        }
        let mut set = GlobSetBuilder::new();
        for (i, p) in patterns.iter().enumerate() {
            set.add(glob(p).map_err(|e| format!("pattern {i} ({p:?}): {e}"))?);
        }
        let set = set.build().map_err(|e| e.to_string())?;
        Ok(HostPatterns { patterns, set })
    }

    pub fn allows(&self, host: &str) -> bool {
        self.set.is_match(host)
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

fn glob(pattern: &str) -> Result<Glob, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | '?');
    if pattern.is_empty() || !pattern.chars().all(plain) {
        return Err(
            "a host pattern has only letters, digits, '.', '-', '_' and the wildcards '*' and '?'"
                .into(),
        );
    }
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map_err(|e| e.kind().to_string())
}

impl PartialEq for HostPatterns {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_hosts() {
        let p = HostPatterns::new(vec![
            "*.team-a.example.com".into(),
            "team-a.example.com".into(),
        ])
        .unwrap();
        // (host, allowed)
        let table = [
            ("team-a.example.com", true),
            ("app.team-a.example.com", true),
            ("deep.app.team-a.example.com", true),
            ("APP.Team-A.example.com", true),
            ("team-b.example.com", false),
            ("app.team-b.example.com", false),
            ("team-a.example.com.evil.org", false),
            ("xteam-a.example.com", false),
            ("", false),
        ];
        for (host, want) in table {
            assert_eq!(p.allows(host), want, "{host}");
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        // (patterns, message part)
        let table: [(&[&str], &str); 4] = [
            (&[], "empty"),
            (&[""], "pattern 0"),
            (&["ok.example", "a/b"], "pattern 1 (\"a/b\")"),
            (&["[a-"], "only letters"),
        ];
        for (patterns, want) in table {
            let err =
                HostPatterns::new(patterns.iter().map(|s| s.to_string()).collect()).unwrap_err();
            assert!(err.contains(want), "{patterns:?}: {err}");
        }
    }
}
