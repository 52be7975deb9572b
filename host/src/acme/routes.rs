//! Pure: what ACME adds to a cluster's plan and revision.
//!
//! - Every ACME host gets a context root `/.well-known/acme-challenge/` whose
//!   one server is the daemon's challenge listener (unless a service of the
//!   host routes that path itself). Its upstream's name is checked unused in
//!   the cluster, so no service's upstream can stand in for it and answer
//!   the directory in the host's name.
//! - A host with an issued certificate terminates TLS with files under the
//!   proxy's config directory (`sluice-acme/<host>.pem`: the chain, then
//!   the key, one file as HAProxy's `crt` wants it and nginx reads it), and the
//!   revision carries those files: they are installed with the config it
//!   belongs to, by the agent, and a renewal is a reload in place.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use sha2::{Digest, Sha256};

use super::challenge::PATH;
use super::store::Issued;
use crate::plan::ClusterPlan;
use crate::render::Revision;
use crate::render::{hash_files, shape_of};
use crate::wit::latest::{ContextRoot, OutputFile, Server, TlsFiles, TlsVerify, Upstream};

/// Where the certificate files go, under the config file's directory.
pub const DIR: &str = "sluice-acme";

/// The file of `host`'s certificate under `config_dir`: chain and key in
/// one (HAProxy reads the key only from there; nginx, without a key path,
/// from the certificate's file).
pub fn files_of(config_dir: &str, host: &str) -> TlsFiles {
    let dir = config_dir.trim_end_matches('/');
    TlsFiles {
        cert_path: format!("{dir}/{DIR}/{host}.pem"),
        key_path: None,
    }
}

/// `plan` with the challenge routes of its ACME hosts and the TLS files of
/// those with a certificate. `config_dir`: the directory of the proxy's main
/// config file.
pub fn decorate(
    plan: &ClusterPlan,
    challenge: SocketAddr,
    certs: &BTreeMap<String, Issued>,
    config_dir: &str,
) -> ClusterPlan {
    let mut out = plan.clone();
    let taken: BTreeSet<String> = crate::plan::upstreams(&plan.input)
        .map(|u| u.name.clone())
        .collect();
    for host in out
        .input
        .hosts
        .iter_mut()
        .filter(|h| plan.acme_hosts.contains(&h.name))
    {
        let routed_by_a_service = host
            .context_roots
            .iter()
            .any(|c| c.path.trim_end_matches('/') == PATH.trim_end_matches('/'));
        if !routed_by_a_service {
            host.context_roots.push(ContextRoot {
                path: PATH.to_owned(),
                rewrite: false,
                upstream: Upstream {
                    name: unused_name(&host.name, &taken),
                    servers: vec![Server {
                        address: challenge.ip().to_string(),
                        port: challenge.port(),
                        weight: 1,
                        max_fails: None,
                        fail_timeout_seconds: None,
                        service: "sluice-acme".to_owned(),
                    }],
                    sticky_cookie: None,
                    ip_hash: false,
                    tls: false,
                    tls_verify: TlsVerify::None,
                },
            });
            // Longest path first, as the planner orders them.
            host.context_roots.sort_by(|a, b| {
                b.path
                    .len()
                    .cmp(&a.path.len())
                    .then_with(|| a.path.cmp(&b.path))
            });
        }
        if host.tls.is_none() && certs.contains_key(&host.name) {
            host.tls = Some(files_of(config_dir, &host.name));
        }
    }
    out
}

/// `sluice_acme_<hash of the host>`, longer until no upstream has it.
fn unused_name(host: &str, taken: &BTreeSet<String>) -> String {
    let digest = hex::encode(Sha256::digest(host.as_bytes()));
    (12..=digest.len())
        .map(|n| format!("sluice_acme_{}", &digest[..n]))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| format!("sluice_acme_{digest}_{}", taken.len()))
}

/// `revision` with the certificate files its hosts use, its hash and shape
/// taken again (a renewed certificate is a new revision, never a runtime
/// change of the same shape).
pub fn attach(
    mut revision: Revision,
    plan: &ClusterPlan,
    certs: &BTreeMap<String, Issued>,
    config_dir: &str,
) -> Revision {
    let mut added = false;
    for host in plan
        .input
        .hosts
        .iter()
        .filter(|h| plan.acme_hosts.contains(&h.name))
    {
        let (Some(issued), Some(tls)) = (certs.get(&host.name), &host.tls) else {
            continue;
        };
        if *tls != files_of(config_dir, &host.name) {
            continue;
        }
        let mut contents = issued.chain_pem.clone();
        if !contents.ends_with('\n') {
            contents.push('\n');
        }
        contents.push_str(&issued.key_pem);
        revision.files.push(OutputFile {
            path: tls.cert_path.clone(),
            contents,
        });
        added = true;
    }
    if added {
        revision.hash = hash_files(&revision.files);
        if revision.shape.is_some() {
            revision.shape = Some(shape_of(&revision.files, &revision.slots));
        }
    }
    revision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Extension};
    use crate::plan::fixtures::{one_service_snapshot, svc};

    /// Services (name, labels) with one task each, in cluster "default".
    fn cluster(services: &[(&str, &[(&str, &str)])]) -> (ClusterPlan, Vec<String>) {
        let snap = one_service_snapshot(
            services
                .iter()
                .enumerate()
                .map(|(i, (name, labels))| svc(&format!("s{i}"), name, labels))
                .collect(),
        );
        let mut config = Config::new();
        config
            .extensions
            .insert("default".into(), Extension::new("default"));
        let plan = crate::plan::plan(&snap, &config);
        let said = plan.diagnostics.iter().map(|d| format!("{d:?}")).collect();
        (plan.clusters["default"].as_ref().clone(), said)
    }

    fn issued() -> Issued {
        Issued {
            chain_pem: "-----BEGIN CERTIFICATE-----\n".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----\n".into(),
            not_after: std::time::SystemTime::now(),
        }
    }

    const ACME: &[(&str, &str)] = &[
        ("com.docker.lb.hosts", "a.test"),
        ("com.docker.lb.port", "80"),
        ("sluice.tls", "acme"),
    ];

    #[test]
    fn acme_hosts_get_the_challenge_route_then_their_certificate() {
        let (plan, said) = cluster(&[
            ("a", ACME),
            (
                "b",
                &[
                    ("com.docker.lb.hosts", "b.test"),
                    ("com.docker.lb.port", "80"),
                ],
            ),
        ]);
        assert!(said.is_empty(), "{said:?}");
        assert_eq!(plan.acme_hosts, ["a.test".to_string()].into());
        let challenge: SocketAddr = "10.0.0.5:8402".parse().unwrap();

        let none = BTreeMap::new();
        let before = decorate(&plan, challenge, &none, "/etc/nginx");
        let a = &before.input.hosts[0];
        assert_eq!(a.name, "a.test");
        assert_eq!(a.tls, None, "HTTP until a certificate is issued");
        let route = &a.context_roots[0];
        assert_eq!(route.path, PATH);
        assert_eq!(route.upstream.servers[0].address, "10.0.0.5");
        assert_eq!(route.upstream.servers[0].port, 8402);
        assert!(route.upstream.name.starts_with("sluice_acme_"));
        assert!(
            before.input.hosts[1].context_roots.is_empty(),
            "b.test asked nothing"
        );

        let certs = BTreeMap::from([("a.test".to_string(), issued())]);
        let after = decorate(&plan, challenge, &certs, "/etc/nginx");
        let tls = after.input.hosts[0].tls.clone().unwrap();
        assert_eq!(tls.cert_path, "/etc/nginx/sluice-acme/a.test.pem");
        assert_eq!(tls.key_path, None, "the key is in the certificate's file");

        let revision = Revision {
            extension: "default".into(),
            plugin: crate::render::PluginId {
                source: "nginx".into(),
                sha256: "0".repeat(64),
                interface: "1.2.0".into(),
            },
            info: crate::wit::latest::PluginInfo {
                name: "nginx".into(),
                version: "1.0.0".into(),
                proxy: "nginx".into(),
                default_config_path: "/etc/nginx/nginx.conf".into(),
                validate_command: vec![],
                reload: crate::wit::latest::Reload::Signal("HUP".into()),
            },
            files: vec![OutputFile {
                path: "/etc/nginx/nginx.conf".into(),
                contents: "x".into(),
            }],
            hash: hash_files(&[]),
            slots: vec![],
            shape: None,
            warnings: vec![],
            refused: vec![],
            peak_memory_bytes: 0,
        };
        let with = attach(revision.clone(), &after, &certs, "/etc/nginx");
        let paths: Vec<&str> = with.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/etc/nginx/nginx.conf", "/etc/nginx/sluice-acme/a.test.pem"]
        );
        let pem = &with.files[1].contents;
        assert!(
            pem.find("CERTIFICATE").unwrap() < pem.find("PRIVATE KEY").unwrap(),
            "chain then key: {pem}"
        );
        assert_eq!(
            with.hash,
            hash_files(&with.files),
            "a renewal is a new revision"
        );
        let renewed = BTreeMap::from([(
            "a.test".to_string(),
            Issued {
                chain_pem: "other".into(),
                ..issued()
            },
        )]);
        assert_ne!(
            attach(revision, &after, &renewed, "/etc/nginx").hash,
            with.hash
        );
    }

    #[test]
    fn no_service_upstream_can_stand_in_for_the_challenge_listener() {
        // A host named so that its upstream takes the challenge name.
        let (plan, _) = cluster(&[("a", ACME)]);
        let wanted = unused_name("a.test", &BTreeSet::new());
        let squatter_host = wanted.replace('_', "-");
        let (mut plan2, _) = cluster(&[
            ("a", ACME),
            (
                "evil",
                &[
                    ("com.docker.lb.hosts", &squatter_host),
                    ("com.docker.lb.port", "80"),
                ],
            ),
        ]);
        plan2.acme_hosts = plan.acme_hosts.clone();
        let taken: Vec<String> = crate::plan::upstreams(&plan2.input)
            .map(|u| u.name.clone())
            .collect();
        let decorated = decorate(
            &plan2,
            "10.0.0.5:8402".parse().unwrap(),
            &BTreeMap::new(),
            "/etc/nginx",
        );
        let a = decorated
            .input
            .hosts
            .iter()
            .find(|h| h.name == "a.test")
            .unwrap();
        let ours = &a.context_roots[0].upstream.name;
        assert!(
            !taken.contains(ours),
            "{ours} is also a service's upstream: {taken:?}"
        );
        let names: Vec<&str> = crate::plan::upstreams(&decorated.input)
            .map(|u| u.name.as_str())
            .collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    #[test]
    fn a_service_routing_the_challenge_path_itself_keeps_it() {
        let (plan, said) = cluster(&[
            ("a", ACME),
            (
                "own",
                &[
                    ("com.docker.lb.hosts", "a.test"),
                    ("com.docker.lb.port", "80"),
                    ("com.docker.lb.context_root", "/.well-known/acme-challenge"),
                ],
            ),
        ]);
        assert!(said.is_empty(), "{said:?}");
        let decorated = decorate(
            &plan,
            "10.0.0.5:8402".parse().unwrap(),
            &BTreeMap::new(),
            "/etc/nginx",
        );
        let roots = &decorated.input.hosts[0].context_roots;
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].upstream.servers[0].service, "own");
    }
}
