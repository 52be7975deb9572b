//! A real ACME server for tests: Debian's `pebble`, with
//! `pebble-challtestsrv` as its DNS, answering every name with the address
//! the test points it at (the proxy node), so pebble's HTTP-01 validation
//! goes through the proxies as Let's Encrypt's would.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::certs::Ca;
use crate::ports::{accepts, free_port};

pub struct Pebble {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// The directory URL (`[ACME] Directory`).
    pub directory: String,
    /// The CA of pebble's own HTTPS listener (`[ACME] DirectoryCA`).
    pub listener_ca: PathBuf,
    listener_ca_pem: String,
    management: SocketAddr,
}

/// How pebble is started.
pub struct PebbleSetup<'a> {
    /// Where every test name resolves (IPv4 only).
    pub resolve_to: &'a str,
    /// The port pebble validates HTTP-01 on (the proxies' HTTP port).
    pub http_port: u16,
    /// Lifetime of the certificates it issues.
    pub validity: Duration,
}

impl Pebble {
    /// Starts pebble and its DNS; None when they are not installed.
    pub fn start(setup: PebbleSetup) -> Option<Pebble> {
        let installed = |bin: &str| {
            Command::new(bin)
                .arg("-h")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        };
        if !installed("pebble") || !installed("pebble-challtestsrv") {
            return None;
        }
        let dir = tempfile::tempdir().expect("pebble's directory");
        let ca = Ca::new("pebble listener test CA");
        let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
        let listener_ca = dir.path().join("listener-ca.pem");
        std::fs::write(&listener_ca, &ca.pem).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &leaf.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &leaf.key_pem).unwrap();
        let (api, management, dns) = (free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{api}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("cert.pem"),
            "privateKey": dir.path().join("key.pem"),
            "httpPort": setup.http_port,
            // TLS-ALPN-01 is not offered by Sluice: a port nothing uses.
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": setup.validity.as_secs(),
        }});
        let config_file = dir.path().join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let dns_server = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", setup.resolve_to, "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .expect("start pebble-challtestsrv");
        let mut children = vec![dns_server];
        let server = Command::new("pebble")
            .arg("-config")
            .arg(&config_file)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            // No random waits before validating, no nonces refused at
            // random (a test wants one outcome), and every order validated
            // anew (a renewal goes through the proxies again).
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .expect("start pebble");
        children.push(server);
        let pebble = Pebble {
            directory: format!("https://127.0.0.1:{api}/dir"),
            listener_ca,
            listener_ca_pem: ca.pem.clone(),
            management: SocketAddr::from((Ipv4Addr::LOCALHOST, management)),
            children,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let api_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, api));
        while !(accepts(api_addr) && accepts(pebble.management)) {
            assert!(
                Instant::now() < deadline,
                "pebble did not listen within 20 s:\n{}",
                pebble.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pebble)
    }

    fn client(&self) -> reqwest::blocking::Client {
        let ca = reqwest::Certificate::from_pem(self.listener_ca_pem.as_bytes()).unwrap();
        reqwest::blocking::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client for pebble")
    }

    /// The root that pebble's certificates chain to (new at every start).
    pub fn root_pem(&self) -> String {
        let url = format!("https://{}/roots/0", self.management);
        let resp = self
            .client()
            .get(&url)
            .send()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.text().expect("pebble's root")
    }

    /// pebble's and its DNS's output so far.
    pub fn log(&self) -> String {
        ["pebble.log", "pebble.err", "challtestsrv.err"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                format!("--- {f}\n{text}")
            })
            .collect()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
