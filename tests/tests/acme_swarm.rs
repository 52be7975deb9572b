//! Automatic HTTPS on the real Swarm (`tests/swarm/up.sh`) against a real
//! ACME server: Debian's pebble, whose DNS (pebble-challtestsrv) points every
//! name at the proxy node, so its HTTP-01 validation comes in through the
//! proxy's published port 80 and is passed on to the daemon's challenge
//! listener, as Let's Encrypt's would.
//!
//! A service labelled `sluice.tls=acme` is served over HTTP at once, then
//! over HTTPS with a certificate that verifies against pebble's root; the
//! certificate lives 120 s and is renewed 80 s before it ends, under steady
//! HTTPS load that must see no failed request, without the proxy task or
//! service changing. A daemon restarted on the same StateDir keeps the
//! certificate and orders nothing.
//!
//! Without a Swarm, or without pebble, this test prints SKIPPED and passes,
//! unless `SLUICE_REQUIRE_SWARM=1`. Everything it makes is named `acme-*` (nginx) or `acmeh-*` (HAProxy).

use std::fmt::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluice_tests::pebble::{Pebble, PebbleSetup};
use sluice_tests::ports::free_port;
use sluice_tests::swarm::config::{self, Cluster, Delivery};
use sluice_tests::swarm::logs;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

const HOST: &str = "app.acme.test";
/// First convergence: the agent image, tasks, the proxy's first revision.
const START: Duration = Duration::from_secs(180);
/// pebble's certificate lifetime, and how long before its end we renew:
/// the renewal comes 40 s after each issue.
const VALIDITY: Duration = Duration::from_secs(120);
const RENEW_BEFORE: Duration = Duration::from_secs(80);

/// HTTPS to `HOST` at `addr`, trusting only `root_pem`, a new connection
/// (and TLS handshake) for every request, so each sees the certificate
/// served at that moment.
fn https_client(addr: SocketAddr, root_pem: &str) -> reqwest::blocking::Client {
    let root = reqwest::Certificate::from_pem(root_pem.as_bytes()).expect("pebble's root PEM");
    reqwest::blocking::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .resolve(HOST, addr)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTPS client")
}

/// One GET of `https://HOST/`: the certificate served (DER) when whoami
/// service `service` answered 200, else what went wrong.
fn served(client: &reqwest::blocking::Client, port: u16, service: &str) -> Result<Vec<u8>, String> {
    let resp = client
        .get(format!("https://{HOST}:{port}/"))
        .send()
        .map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let cert = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate().map(<[u8]>::to_vec));
    let body = resp.text().map_err(|e| format!("body: {e}"))?;
    match cert {
        Some(cert) if status == 200 && body.contains(&format!("Name: {service}")) => Ok(cert),
        _ => Err(format!("{status}: {body:.200}")),
    }
}

/// `sluice status` (the real CLI, admin view, the daemon's default key).
fn sluice_status(api_port: u16) -> String {
    let out = std::process::Command::new(sluice_tests::sluice_bin::sluice_bin())
        .args([
            "status",
            "--endpoint",
            &format!("https://127.0.0.1:{api_port}"),
        ])
        .output()
        .expect("run sluice status");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The lines of `text` that name `what` (a failure shows these, not pages).
fn lines_with(text: &str, what: &str) -> String {
    text.lines()
        .filter(|l| l.contains(what))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sluice_acme_orders_total{result="issued"}`, 0 when absent.
fn orders_issued(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("sluice_acme_orders_total{result=\"issued\"} "))
        .map_or(0, |v| v.trim().parse().expect("a counter value"))
}

/// The daemon's `GET /metrics`.
fn scrape(port: u16) -> String {
    let reply = sluice_tests::swarm::http::get("127.0.0.1", port, "metrics", "/metrics")
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body
}

#[test]
fn nginx_gets_a_certificate_from_pebble_and_renews_it_under_load() {
    certificate_and_renewal("nginx", "acme", sluice_tests::swarm::images::nginx_agent);
}

#[test]
fn haproxy_gets_a_certificate_from_pebble_and_renews_it_under_load() {
    certificate_and_renewal(
        "haproxy",
        "acmeh",
        sluice_tests::swarm::images::haproxy_agent,
    );
}

/// The scenario above with `plugin`'s proxy (`image` builds it around the
/// agent), every object named `prefix-*`.
fn certificate_and_renewal(plugin: &'static str, prefix: &str, image: fn(&str) -> String) {
    let _serial = serial();
    let Some(env) = swarm(&format!("acme_swarm ({plugin})")) else {
        return;
    };
    let (port, ssl_port, api_port, challenge_port, metrics_port) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let Some(pebble) = Pebble::start(PebbleSetup {
        resolve_to: &env.manager_addr,
        http_port: port,
        validity: VALIDITY,
    }) else {
        assert!(
            !sluice_tests::swarm::env::swarm_required(),
            "SLUICE_REQUIRE_SWARM=1 but pebble is not installed (apt install pebble)"
        );
        eprintln!("\n*** SKIPPED acme_swarm: pebble is not installed (apt install pebble)\n");
        return;
    };
    // `sluice status` runs inside the certificate's short life: build the
    // CLI now, not then (on a fresh machine that build took 75 s, long
    // enough for two renewals to pass unseen).
    sluice_tests::sluice_bin::sluice_bin();
    let image = image(env!("CARGO_BIN_EXE_test-agent"));
    let mut s = Scenario::new(env, prefix);
    let p = s.prefix.clone();
    let net = s.step("network", || s.network("net"));
    let cluster = Cluster::east("acme", plugin, &image, &net, (port, ssl_port));
    let proxy = cluster.proxy_service(&p);
    let app = s.whoami_labelled(
        "app",
        &net,
        "east",
        1,
        &[
            ("hosts", HOST),
            ("port", "8000"),
            ("service_cluster", &cluster.service_cluster(&p)),
        ],
        &[("sluice.tls", "acme")],
    );
    let state = tempfile::tempdir().unwrap();
    let mut config = config::build_with(
        env,
        &p,
        std::slice::from_ref(&cluster),
        Delivery::Hitless { api_port },
    );
    write!(
        config,
        "\n[ACME]\n  Directory = {:?}\n  DirectoryCA = {:?}\n  StateDir = {:?}\n  \
         ChallengeAddr = \":{challenge_port}\"\n  RenewBefore = \"{}s\"\n",
        pebble.directory,
        pebble.listener_ca,
        state.path(),
        RENEW_BEFORE.as_secs(),
    )
    .unwrap();
    let config = format!("MetricsAddr = \"127.0.0.1:{metrics_port}\"\n{config}");

    let started = Instant::now();
    s.start_daemon(&config);
    // HTTP at once: the host does not wait for its certificate.
    let t = s.wait_served(Node::East, port, HOST, &app, START);
    s.timing("daemon start -> HTTP 200", t);

    // Orders wait for the proxies to serve the challenge route: none failed.
    assert!(
        !s.log().contains("ACME: no certificate"),
        "an order failed:\n{}",
        s.log()
    );
    let root = pebble.root_pem();
    let addr: SocketAddr = format!("{}:{ssl_port}", env.manager_addr).parse().unwrap();
    let client = https_client(addr, &root);
    let (first, _) = until("HTTPS verifying against pebble's root", START, || {
        s.daemon_alive()?;
        served(&client, ssl_port, &app)
    });
    s.timing(
        "daemon start -> HTTPS 200 (pebble's cert)",
        started.elapsed(),
    );
    // pebble validated for real: through the proxy, to the daemon's answer.
    let answered = format!("ACME challenge answered host=Some(\"{HOST}:{port}\")");
    assert!(
        s.log().contains(&answered) || s.log().contains(&format!("host=Some(\"{HOST}\")")),
        "no challenge answered through the proxy for {HOST}:\n{}",
        s.log()
    );
    let issued_at = Instant::now();
    // Where the host stands, for the operator: `sluice status` and metrics.
    let status = sluice_status(api_port);
    assert!(
        status.contains(&format!("  {HOST}: issued, serving one that ends in 0d 0h")),
        "{status}"
    );
    let metrics = scrape(metrics_port);
    let issued_orders = orders_issued(&metrics);
    assert!(
        issued_orders >= 1,
        "no issued order counted:\n{}\nACME in the daemon's log:\n{}",
        lines_with(&metrics, "sluice_acme"),
        lines_with(&s.log(), "ACME")
    );
    for line in [
        "sluice_acme_hosts{state=\"issued\"} 1",
        "sluice_acme_certificate_expiry_earliest_seconds{cluster=\"acme\"} ",
    ] {
        assert!(
            metrics.contains(line),
            "no {line:?} in\n{}\nACME in the daemon's log:\n{}",
            lines_with(&metrics, "sluice_acme"),
            lines_with(&s.log(), "ACME")
        );
    }
    println!(
        "[acme swarm] first certificate, daemon's ACME log:\n{}",
        lines_with(&s.log(), "ACME")
    );
    let container = s.manager.container_ids(&proxy);
    assert_eq!(container.len(), 1, "one proxy container: {container:?}");
    let version = s.manager.service(&proxy).expect("the proxy service")["Version"]["Index"].clone();

    // Steady HTTPS load until the renewed certificate is served, and a few
    // seconds on: not one request may fail.
    let deadline = issued_at + VALIDITY;
    let (mut requests, mut failures) = (0u32, Vec::new());
    let mut renewed: Option<(Vec<u8>, Instant)> = None;
    while Instant::now() < deadline {
        if renewed
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() > Duration::from_secs(3))
        {
            break;
        }
        requests += 1;
        match served(&client, ssl_port, &app) {
            Ok(cert) if cert != first && renewed.is_none() => {
                renewed = Some((cert, Instant::now()));
            }
            Ok(cert) => {
                // A reload lets old workers take a new connection for a
                // moment (both certificates are valid); past a second,
                // only the renewed one may be served.
                if let Some((new, at)) = &renewed
                    && cert != *new
                {
                    assert!(
                        at.elapsed() < Duration::from_secs(1),
                        "the old certificate was served {:?} after the renewed one",
                        at.elapsed()
                    );
                }
            }
            Err(e) => failures.push(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some((second, renewed_at)) = renewed else {
        panic!(
            "no renewal within the certificate's {VALIDITY:?}; daemon log:\n{}\n{}",
            s.log(),
            pebble.log()
        );
    };
    s.timing(
        "first certificate -> renewed one served",
        renewed_at - issued_at,
    );
    println!(
        "[acme swarm] renewal under load: {requests} HTTPS requests (new connection each), {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "failed during the renewal: {failures:?}"
    );
    let metrics = scrape(metrics_port);
    assert!(
        orders_issued(&metrics) > issued_orders,
        "{}\nACME in the daemon's log:\n{}",
        lines_with(&metrics, "sluice_acme"),
        lines_with(&s.log(), "ACME")
    );
    assert_eq!(
        s.manager.container_ids(&proxy),
        container,
        "the renewal replaced the proxy container"
    );
    assert_eq!(
        s.manager.service(&proxy).expect("the proxy service")["Version"]["Index"],
        version,
        "the renewal updated the proxy service"
    );

    // A restart on the same StateDir: the certificate is read back, none
    // is ordered, and the proxy keeps serving it.
    s.stop_daemon();
    let mark = logs::mark();
    s.start_daemon(&config);
    until(
        "the restarted daemon to read its certificate",
        Duration::from_secs(20),
        || {
            let log = logs::since(mark);
            if log.contains("ACME certificate from StateDir") {
                Ok(())
            } else {
                Err(log.lines().last().unwrap_or_default().to_owned())
            }
        },
    );
    s.wait_quiet_rounds(mark, 2, Duration::from_secs(30));
    let after = served(&client, ssl_port, &app).expect("HTTPS after the restart");
    assert_eq!(after, second, "the restart changed the certificate");
    let log = logs::since(mark);
    assert!(
        !log.contains("ACME: ordering a certificate"),
        "the restarted daemon ordered again:\n{log}"
    );
    s.stop_daemon();
}
