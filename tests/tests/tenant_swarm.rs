//! Tenants on the real Swarm (`tests/swarm/up.sh`): services of one cluster
//! that reach for what is not theirs are left out, each named in the log,
//! while the services they aimed at keep serving, and a service with a
//! broken certificate is left out without freezing its neighbours' routes.
//! The proxy is the hitless nginx agent (the agent checks certificate/key
//! pairs; see `sluice_agent::tls_check`).
//!
//! Collections are MKE/UCP's `com.docker.ucp.access.label`, set here on
//! services and secrets as MKE would. Without a Swarm this test prints
//! SKIPPED and passes, unless `SLUICE_REQUIRE_SWARM=1`. Everything it makes
//! is named `tenant-*` and removed at the end.

use std::time::{Duration, Instant};

use sluice_tests::certs::{Ca, Leaf};
use sluice_tests::ports::free_port;
use sluice_tests::swarm::config::{self, Cluster, Delivery};
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

/// First convergence: the agent image, tasks, the proxy's first revision.
const START: Duration = Duration::from_secs(180);
/// A change that may replace the proxy task (a new secret to mount).
const CHANGE: Duration = Duration::from_secs(90);
const COLLECTION: &str = "com.docker.ucp.access.label";

/// The first base64 line of a certificate: enough to tell two apart in
/// `openssl s_client` output.
fn fingerprint_line(leaf: &Leaf) -> &str {
    leaf.cert_pem.lines().nth(1).expect("a PEM body")
}

/// The certificate the proxy presents for `host` (PEM text), via openssl.
fn served_cert(addr: &str, port: u16, host: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("{addr}:{port}"),
            "-servername",
            host,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tenants_cannot_take_hosts_or_secrets_and_a_broken_certificate_stays_local() {
    let _serial = serial();
    let Some(env) = swarm("tenant_swarm") else {
        return;
    };
    let image = sluice_tests::swarm::images::nginx_agent(env!("CARGO_BIN_EXE_test-agent"));
    let mut s = Scenario::new(env, "tenant");
    let p = s.prefix.clone();
    let net = s.step("network", || s.network("net"));
    let (port, ssl_port, api_port) = (free_port(), free_port(), free_port());
    let cluster = Cluster::east("tenant", "nginx", &image, &net, (port, ssl_port));
    let proxy = cluster.proxy_service(&p);
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("tenant test CA");
    let owner_leaf = ca.leaf(&["app.tenant"]);
    let thief_leaf = ca.leaf(&["app.tenant"]);
    let (x, y) = (ca.leaf(&["broken.tenant"]), ca.leaf(&["broken.tenant"]));
    // (name, contents, collection)
    let secrets = [
        ("team-a.pem", owner_leaf.combined_pem(), Some("team-a")),
        ("aaa.pem", thief_leaf.combined_pem(), Some("team-a")),
        ("broken.crt", x.cert_pem.clone(), None),
        // The key of another certificate: nginx -t would fail the cluster.
        ("broken.key", y.key_pem.clone(), None),
    ];
    for (name, contents, collection) in &secrets {
        let file = dir.path().join(name);
        std::fs::write(&file, contents).unwrap();
        let secret = format!("{p}-{name}");
        let mut args = vec!["secret", "create", "--label", "sluice.test=1"];
        let label = collection.map(|c| format!("{COLLECTION}={c}"));
        if let Some(l) = &label {
            args.extend(["--label", l]);
        }
        args.extend([secret.as_str(), file.to_str().unwrap()]);
        s.manager.run(&args);
    }
    let secret = |name: &str| format!("{p}-{name}");

    let tls = |cert: &str| [("ssl_cert", secret(cert))];
    // The owner first: creation time decides who had a host.
    let owner = whoami(
        &s,
        &cluster,
        "owner",
        "app.tenant",
        &tls("team-a.pem"),
        Some("team-a"),
    );
    std::thread::sleep(Duration::from_millis(50));
    // Sorts before "owner" by name (which decided before): the takeover.
    let aaa = whoami(
        &s,
        &cluster,
        "aaa",
        "app.tenant,aaa.tenant",
        &tls("aaa.pem"),
        Some("team-a"),
    );
    // Another collection: neither its host nor its secret may be team-a's.
    let squatter = whoami(&s, &cluster, "squatter", "app.tenant", &[], Some("team-b"));
    let borrower = whoami(
        &s,
        &cluster,
        "borrower",
        "borrow.tenant",
        &tls("team-a.pem"),
        Some("team-b"),
    );
    let mover = whoami(&s, &cluster, "mover", "move.tenant", &[], None);

    let config = config::build_with(
        env,
        &p,
        std::slice::from_ref(&cluster),
        Delivery::Hitless { api_port },
    );
    s.start_daemon(&config);
    let t = s.wait_served(Node::East, port, "app.tenant", &owner, START);
    s.timing("daemon start -> app.tenant 200 (owner)", t);

    // Agents' credentials are never usable from labels.
    let creds = s
        .manager
        .lines(&["secret", "ls", "--format", "{{.Name}}"])
        .into_iter()
        .find(|n| n.starts_with("sluice-agent-tenant-"))
        .expect("the daemon made the agent credentials secret");
    let creds_thief = whoami(
        &s,
        &cluster,
        "creds",
        "creds.tenant",
        &[("ssl_cert", creds.clone())],
        None,
    );
    // The newcomer keeps its own host.
    s.wait_served(Node::East, port, "aaa.tenant", &aaa, CHANGE);

    // app.tenant: only the owner's task, only the owner's certificate.
    for _ in 0..20 {
        let r = s
            .get(Node::East, port, "app.tenant")
            .expect("the proxy answers");
        assert_eq!(
            (r.status, r.whoami_name()),
            (200, Some(owner.as_str())),
            "{r:?}"
        );
    }
    let cert = served_cert(&env.manager_addr, ssl_port, "app.tenant");
    assert!(
        cert.contains(fingerprint_line(&owner_leaf)),
        "app.tenant does not present the owner's certificate:\n{cert}"
    );
    assert!(
        !cert.contains(fingerprint_line(&thief_leaf)),
        "app.tenant presents aaa's certificate"
    );
    let r = s
        .get(Node::East, port, "borrow.tenant")
        .expect("the proxy answers");
    assert_ne!(r.status, 200, "borrow.tenant is routed: {r:?}");

    // A broken certificate/key pair, then a neighbour's route change: the
    // change goes live, the broken service stays out, the owner serves.
    let pair = [
        ("ssl_cert", secret("broken.crt")),
        ("ssl_key", secret("broken.key")),
    ];
    let broken = whoami(&s, &cluster, "broken", "broken.tenant", &pair, None);
    let changed = Instant::now();
    s.manager
        .label_add(&mover, "com.docker.lb.hosts=move.tenant,moved.tenant");
    let t = s.wait_served(Node::East, port, "moved.tenant", &mover, CHANGE);
    s.timing("broken pair added, neighbour's change -> first 200", t);
    let (_, t) = until(
        "the broken pair reported and its service left out",
        CHANGE,
        || {
            let log = s.log();
            log.lines()
                .any(|l| {
                    l.contains(&broken)
                        && l.contains("failed the proxy's check")
                        && l.contains("does not belong")
                })
                .then_some(())
                .ok_or_else(|| "not yet".to_owned())
        },
    );
    s.timing("broken pair named in the log", t);
    eprintln!(
        "[tenant] neighbour change live {:.1} s after the broken pair appeared",
        changed.elapsed().as_secs_f64()
    );
    let r = s
        .get(Node::East, port, "broken.tenant")
        .expect("the proxy answers");
    assert_ne!(r.status, 200, "broken.tenant is routed: {r:?}");
    let r = s
        .get(Node::East, port, "app.tenant")
        .expect("the proxy answers");
    assert_eq!((r.status, r.whoami_name()), (200, Some(owner.as_str())));
    // And the cluster still follows changes after that, without touching the
    // proxy service (the broken pair's secrets stay attached: no restart).
    let before = s.settled_state(&proxy, CHANGE).version;
    s.manager
        .label_add(&mover, "com.docker.lb.hosts=move.tenant,again.tenant");
    s.wait_served(Node::East, port, "again.tenant", &mover, CHANGE);
    assert_eq!(
        s.settled_state(&proxy, CHANGE).version,
        before,
        "the proxy service was updated"
    );

    // Each excluded service is named with the label at fault and why.
    let log = s.log();
    let story: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("certificate/key pair")
                || l.contains("reconciled")
                || l.contains(broken.as_str())
        })
        .collect();
    eprintln!(
        "[tenant] the broken pair, as the daemon saw it:\n{}",
        story.join("\n")
    );
    // (service, label, words of the reason)
    let named = [
        (&aaa, "com.docker.lb.ssl_cert", "may not replace it"),
        (&squatter, "com.docker.lb.hosts", "may not claim it"),
        (&borrower, "com.docker.lb.ssl_cert", "collection"),
        (&creds_thief, "com.docker.lb.ssl_cert", "Sluice's own"),
        (
            &broken,
            "com.docker.lb.ssl_cert",
            "failed the proxy's check",
        ),
    ];
    for (service, label, why) in named {
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains(service.as_str())
                && l.contains(label)
                && l.contains(why)),
            "no ERROR line names {service}, {label} and {why:?}:\n{log}"
        );
    }
    for host in ["creds.tenant", "borrow.tenant"] {
        let r = s.get(Node::East, port, host).expect("the proxy answers");
        assert_ne!(r.status, 200, "{host} is routed: {r:?}");
    }
}

/// A whoami service of `cluster` on `hosts`, with `more`
/// `com.docker.lb.*` labels and MKE's collection label when given.
fn whoami(
    s: &Scenario,
    cluster: &Cluster,
    short: &str,
    hosts: &str,
    more: &[(&str, String)],
    collection: Option<&str>,
) -> String {
    let sc = cluster.service_cluster(&s.prefix);
    let mut labels = vec![
        ("hosts", hosts),
        ("port", "8000"),
        ("service_cluster", sc.as_str()),
    ];
    labels.extend(more.iter().map(|(k, v)| (*k, v.as_str())));
    let other: Vec<(&str, &str)> = collection.map(|c| (COLLECTION, c)).into_iter().collect();
    s.whoami_labelled(
        short,
        &cluster.networks[0],
        cluster.region,
        1,
        &labels,
        &other,
    )
}
