//! Upstream names: `[a-z0-9_]`, unique within a cluster, and stable — a name
//! depends only on its own host (+ path) unless another key sanitizes to the
//! same text; then every colliding key gets a short hash of its own identity,
//! so it never depends on iteration order.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

/// What an upstream serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpstreamKey {
    /// A host's root (`path` None) or one of its context roots.
    Host { host: String, path: Option<String> },
    /// The cluster's `default_backend`.
    Default,
}

impl UpstreamKey {
    pub fn root(host: &str) -> Self {
        UpstreamKey::Host {
            host: host.to_owned(),
            path: None,
        }
    }

    pub fn context(host: &str, path: &str) -> Self {
        UpstreamKey::Host {
            host: host.to_owned(),
            path: Some(path.to_owned()),
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
                format!("{host}\0{}", path.as_deref().unwrap_or(""))
            }
            UpstreamKey::Default => "\0default".into(),
        }
    }
}

/// Lower-case; anything but `[a-z0-9]` becomes `_`.
pub fn sanitize(s: &str) -> String {
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

/// A unique name for every key.
pub fn assign(keys: &BTreeSet<UpstreamKey>) -> BTreeMap<UpstreamKey, String> {
    let mut by_base: BTreeMap<String, Vec<&UpstreamKey>> = BTreeMap::new();
    for k in keys {
        by_base.entry(k.base()).or_default().push(k);
    }
    let mut names = BTreeMap::new();
    let mut taken = BTreeSet::new();
    // Unambiguous bases first, so they keep their plain name.
    for (base, ks) in &by_base {
        if let [k] = ks.as_slice() {
            taken.insert(base.clone());
            names.insert((*k).clone(), base.clone());
        }
    }
    for ks in by_base.values().filter(|ks| ks.len() > 1) {
        for k in ks {
            // 8 hex digits; longer only if that clashes with some other name.
            let name = (8..=64)
                .step_by(8)
                .map(|len| hashed(k, len))
                .find(|n| !taken.contains(n))
                .expect("sha256 identities of distinct keys differ");
            taken.insert(name.clone());
            names.insert((*k).clone(), name);
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
