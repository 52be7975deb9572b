//! Upstream names: `[a-z0-9_]`, unique within a cluster, and stable — a name
//! depends only on its own host (+ path) unless another key sanitizes to the
//! same text; then every colliding key gets a short hash of its own identity,
//! so it never depends on iteration order.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use sha2::{Digest, Sha256};

/// What an upstream serves. Borrows the route's host and path: a cluster
/// has one key per upstream, and they are only looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UpstreamKey<'a> {
    /// A host's root (`path` None) or one of its context roots.
    Host {
        host: &'a str,
        path: Option<&'a str>,
    },
    /// The cluster's `default_backend`.
    Default,
}

impl<'a> UpstreamKey<'a> {
    pub fn root(host: &'a str) -> Self {
        UpstreamKey::Host { host, path: None }
    }

    pub fn context(host: &'a str, path: &'a str) -> Self {
        UpstreamKey::Host {
            host,
            path: Some(path),
        }
    }

    /// Readable name before collision handling.
    fn base(&self) -> String {
        match self {
            UpstreamKey::Host { host, path: None } => sanitize(host),
            UpstreamKey::Host {
                host,
                path: Some(p),
            } => format!(
                "{}__{}",
                sanitize(host),
                sanitize(p.trim_start_matches('/'))
            ),
            UpstreamKey::Default => "default_backend".into(),
        }
    }

    /// Identity hashed into the suffix; `\0` cannot occur in a host or path.
    fn identity(&self) -> String {
        match self {
            UpstreamKey::Host { host, path } => {
                format!("{host}\0{}", path.unwrap_or(""))
            }
            UpstreamKey::Default => "\0default".into(),
        }
    }
}

/// Lower-case; anything but `[a-z0-9]` becomes `_`.
pub fn sanitize(s: &str) -> String {
    if s.is_ascii() {
        let bytes = s
            .bytes()
            .map(|b| match b.to_ascii_lowercase() {
                b @ (b'a'..=b'z' | b'0'..=b'9') => b,
                _ => b'_',
            })
            .collect();
        return String::from_utf8(bytes).expect("ASCII in, ASCII out");
    }
    s.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn hashed(key: &UpstreamKey, len: usize) -> String {
    let digest = hex::encode(Sha256::digest(key.identity().as_bytes()));
    format!("{}_{}", key.base(), &digest[..len])
}

/// A unique name for every key (looked up once per upstream, so a hash map).
pub fn assign<'a>(keys: &BTreeSet<UpstreamKey<'a>>) -> FxHashMap<UpstreamKey<'a>, String> {
    // Keys grouped by base name, each group in key order (the sort is stable).
    let mut by_base: Vec<(String, UpstreamKey)> = keys.iter().map(|k| (k.base(), *k)).collect();
    by_base.sort_by(|a, b| a.0.cmp(&b.0));

    let mut names = FxHashMap::default();
    names.reserve(by_base.len());
    let groups = || by_base.chunk_by(|a, b| a.0 == b.0);
    if groups().all(|g| g.len() == 1) {
        // No collisions (the usual case): every key keeps its base name.
        names.extend(by_base.into_iter().map(|(base, k)| (k, base)));
        return names;
    }
    // Unambiguous bases first, so they keep their plain name.
    let plain: BTreeSet<&str> = groups()
        .filter_map(|g| match g {
            [(base, _)] => Some(base.as_str()),
            _ => None,
        })
        .collect();
    let mut suffixed = BTreeSet::new();
    for group in groups().filter(|g| g.len() > 1) {
        for (_, k) in group {
            // 8 hex digits; longer only if that clashes with some other name.
            let name = (8..=64)
                .step_by(8)
                .map(|len| hashed(k, len))
                .find(|n| !plain.contains(n.as_str()) && !suffixed.contains(n))
                .expect("sha256 identities of distinct keys differ");
            suffixed.insert(name.clone());
            names.insert(*k, name);
        }
    }
    for group in groups() {
        if let [(base, k)] = group {
            names.insert(*k, base.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: &[UpstreamKey]) -> Vec<String> {
        let set: BTreeSet<_> = keys.iter().cloned().collect();
        let map = assign(&set);
        keys.iter().map(|k| map[k].clone()).collect()
    }

    #[test]
    fn sanitize_table() {
        for (input, want) in [
            ("demo.a", "demo_a"),
            ("Shop-Local.Example", "shop_local_example"),
            ("*.example.com", "__example_com"),
            ("xn--bcher-kva.example", "xn__bcher_kva_example"),
            ("/app/v1", "_app_v1"),
            ("a_b", "a_b"),
        ] {
            assert_eq!(sanitize(input), want, "{input}");
        }
    }

    #[test]
    fn plain_names_when_no_collision() {
        let got = names(&[
            UpstreamKey::root("demo.a"),
            UpstreamKey::context("shop.local", "/app"),
            UpstreamKey::context("shop.local", "/app/v2"),
            UpstreamKey::Default,
        ]);
        assert_eq!(
            got,
            [
                "demo_a",
                "shop_local__app",
                "shop_local__app_v2",
                "default_backend"
            ]
        );
    }

    #[test]
    fn collisions_get_distinct_hash_suffixes() {
        let keys = [
            UpstreamKey::root("a-b.com"),
            UpstreamKey::root("a.b.com"),
            UpstreamKey::root("a_b.com"),
        ];
        let got = names(&keys);
        for n in &got {
            assert!(
                n.starts_with("a_b_com_") && n.len() == "a_b_com_".len() + 8,
                "{n}"
            );
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
        }
        let unique: BTreeSet<_> = got.iter().collect();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn names_are_stable_under_unrelated_keys() {
        let alone = names(&[UpstreamKey::root("a-b.com"), UpstreamKey::root("a.b.com")]);
        let more = names(&[
            UpstreamKey::root("a-b.com"),
            UpstreamKey::root("a.b.com"),
            UpstreamKey::root("zzz.com"),
        ]);
        assert_eq!(alone[..], more[..2]);
    }

    #[test]
    fn default_backend_host_does_not_clash_with_default() {
        let got = names(&[UpstreamKey::root("default-backend"), UpstreamKey::Default]);
        assert_ne!(got[0], got[1]);
        assert!(got.iter().all(|n| n.starts_with("default_backend_")));
    }

    #[test]
    fn suffixed_name_never_takes_a_plain_name() {
        // Make a plain host whose name equals what a collision suffix would be.
        let a = UpstreamKey::root("x-y");
        let suffixed = hashed(&a, 8);
        let keys = [a, UpstreamKey::root("x.y"), UpstreamKey::root(&suffixed)];
        let got = names(&keys);
        let unique: BTreeSet<_> = got.iter().collect();
        assert_eq!(unique.len(), 3, "{got:?}");
        assert_eq!(got[2], suffixed);
    }
}
