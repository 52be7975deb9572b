//! Renders into a temporary directory and runs the real `haproxy -c` on the
//! result: every route feature and every `[Config]` key must give a config
//! HAProxy 2.6 accepts without a warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_plugin_kit::{RenderInput, SettingValue};

use crate::render::render;
use crate::test_support::*;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("sluice-haproxy-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> String {
        self.0
            .join(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn haproxy_present() -> bool {
    let found = Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "\n!!!!!!!! SKIPPED: no `haproxy` binary on PATH; the rendered config was NOT checked !!!!!!!!\n"
        );
    }
    found
}

/// A self-signed combined PEM (certificate + key) for `name`.
pub fn combined_pem(dir: &TempDir, name: &str) -> String {
    let (cert, key) = (
        dir.path(&format!("{name}.crt")),
        dir.path(&format!("{name}.key.tmp")),
    );
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN={name}"))
        .args(["-keyout", &key, "-out", &cert])
        .output()
        .expect("run openssl");
    assert!(
        status.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let pem = dir.path(&format!("{name}.pem"));
    let both = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
    std::fs::write(&pem, both).unwrap();
    pem
}

/// Writes the rendered files; returns the main config's path.
pub fn write_rendered(input: &RenderInput) -> String {
    let rendered = render(input).unwrap_or_else(|e| panic!("render failed: {e:?}"));
    for f in &rendered.files {
        std::fs::write(&f.path, &f.contents).unwrap_or_else(|e| panic!("write {}: {e}", f.path));
    }
    rendered.files[0].path.clone()
}

/// `haproxy -c` must accept the config and print neither warnings nor alerts.
fn assert_haproxy_accepts(config: &str) {
    let out = Command::new("haproxy")
        .args(["-c", "-f", config])
        .output()
        .expect("run haproxy");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let cfg = std::fs::read_to_string(config).unwrap();
    assert!(
        out.status.success(),
        "haproxy -c failed:\n{text}\n--- {config}:\n{cfg}"
    );
    assert!(
        !text.contains("[WARNING]") && !text.contains("[ALERT]"),
        "haproxy -c complained:\n{text}\n--- {config}:\n{cfg}"
    );
}

fn check(tag: &str, build: impl FnOnce(&TempDir, &str) -> RenderInput) {
    if !haproxy_present() {
        return;
    }
    let dir = TempDir::new(tag);
    let pem = combined_pem(&dir, "example.org");
    let input = build(&dir, &pem);
    let config = write_rendered(&input);
    assert!(Path::new(&config).exists());
    assert_haproxy_accepts(&config);
}

#[test]
fn every_route_feature() {
    check("all", |dir, pem| {
        let mut input = all_features(&dir.path("haproxy.cfg"), pem);
        input.cluster.server_info = "sluice/0.1.0 (it's #1, 100% \\ \"q\")".into();
        input
    });
}

#[test]
fn every_route_feature_with_default_backend() {
    check("default", |dir, pem| {
        let mut input = all_features(&dir.path("haproxy.cfg"), pem);
        input.default_backend = Some(upstream("fallback", vec![server("10.9.9.9", 80, 1)]));
        input
    });
}

#[test]
fn no_hosts_at_all() {
    check("empty", |dir, _| input(&dir.path("haproxy.cfg"), vec![]));
}

#[test]
fn passthrough_only() {
    check("pt", |dir, _| {
        let mut h = host(
            "secure.example.org",
            Some(upstream("secure", vec![server("10.0.4.9", 8443, 1)])),
        );
        h.passthrough = true;
        input(&dir.path("haproxy.cfg"), vec![h])
    });
}

#[test]
fn every_setting() {
    check("settings", |dir, pem| {
        let dh = dir.path("dh.pem");
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-genparam",
                "-algorithm",
                "DH",
                "-pkeyopt",
                "dh_param:ffdhe2048",
                "-out",
                &dh,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl dhparam: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = |s: &str| SettingValue::Text(s.into());
        let list = |l: &[&str]| SettingValue::TextList(l.iter().map(|s| s.to_string()).collect());
        let mut input = all_features(&dir.path("haproxy.cfg"), pem);
        input.cluster.settings = vec![
            setting("PidPath", text(&dir.path("proxy.pid"))),
            setting("MaxConnections", SettingValue::Integer(2048)),
            setting("ConnectTimeout", SettingValue::Integer(5)),
            setting("ClientTimeout", SettingValue::Integer(30)),
            setting("ServerTimeout", SettingValue::Integer(45)),
            setting("TunnelTimeout", SettingValue::Integer(7200)),
            setting("AdminUser", text("admin")),
            setting("AdminPass", text("s3cret pa$$ 'quoted' #hash")),
            setting("SSLOpts", text("no-tls-tickets prefer-client-ciphers")),
            setting("SSLDefaultDHParam", SettingValue::Integer(2048)),
            setting("SSLDefaultDHParamPath", text(&dh)),
            setting("SSLVerify", text("none")),
            setting(
                "SSLCiphers",
                text("ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL:!MD5"),
            ),
            setting("SSLProtocols", text("TLSv1.2")),
            setting("SSLCAFile", text(pem)),
            setting("HideInfoHeaders", SettingValue::Boolean(true)),
            setting("SyslogAddr", text("127.0.0.1:514")),
            setting("GlobalOptions", list(&["tune.bufsize 32768", "nbthread 2"])),
            setting(
                "DefaultOptions",
                list(&["option http-keep-alive", "timeout http-request 10s"]),
            ),
        ];
        input
    });
}

#[test]
fn wildcard_hosts_beside_every_route_feature() {
    check("wildcard", |dir, pem| {
        let mut input = wildcards(&dir.path("haproxy.cfg"), pem);
        input.hosts.extend(all_features("/x", pem).hosts);
        input.hosts.sort_by(|a, b| a.name.cmp(&b.name));
        input
    });
}

#[test]
fn wildcard_hosts_over_plain_http() {
    check("wildcard-plain", |dir, pem| {
        let mut input = wildcards(&dir.path("haproxy.cfg"), pem);
        // Plain HTTP only: no TLS frontends, the HTTP vhost maps alone.
        input.hosts.retain(|h| !h.passthrough && h.tls.is_none());
        input
    });
}
