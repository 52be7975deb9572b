//! Rendered configs checked by the real `nginx -t` (Debian's nginx 1.22; the
//! stream module is loaded through GlobalOptions when it is dynamic).
//! Skipped, loudly, when no nginx binary is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use sluice_plugin_kit::*;

use super::fixtures::*;
use super::render_output::feature_hosts;

const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

fn nginx_present() -> bool {
    let ok = Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "\n!!!!! SKIPPED: no `nginx` binary on PATH; real `nginx -t` checks did not run !!!!!\n"
        );
    }
    ok
}

fn scratch_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sluice-nginx-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate, its key, both in one PEM, and DH parameters.
struct Certs {
    cert: String,
    key: String,
    combined: String,
    dhparam: String,
}

fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        // Made once per machine and reused: other test processes may race,
        // so each builds its own copy and only the first rename wins.
        let shared = std::env::temp_dir().join("sluice-nginx-test-certs");
        if !shared.join("dh.pem").exists() {
            let dir = scratch_dir("certs");
            openssl(
                &dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "cert.pem",
                    "-days",
                    "3650",
                    "-subj",
                    "/CN=app.example.org",
                ],
            );
            let both = std::fs::read_to_string(dir.join("cert.pem")).unwrap()
                + &std::fs::read_to_string(dir.join("key.pem")).unwrap();
            std::fs::write(dir.join("combined.pem"), both).unwrap();
            openssl(&dir, &["dhparam", "-dsaparam", "-out", "dh.pem", "2048"]);
            if std::fs::rename(&dir, &shared).is_err() {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
        let p = |f: &str| shared.join(f).to_string_lossy().into_owned();
        Certs {
            cert: p("cert.pem"),
            key: p("key.pem"),
            combined: p("combined.pem"),
            dhparam: p("dh.pem"),
        }
    })
}

/// Settings that let `nginx -t` run here: a user that exists, files in the
/// prefix (relative paths resolve against `-p`), the stream module.
fn test_settings() -> Vec<Setting> {
    let mut s = vec![
        text("User", "root"),
        text("PidPath", "nginx.pid"),
        text("ErrorLogPath", "error.log"),
        text("AccessLogPath", "access.log"),
        // The module is loaded below, explicitly, so the test works with
        // and without Debian's modules-enabled.
        text("ModulesInclude", ""),
    ];
    if Path::new(STREAM_MODULE).exists() {
        s.push(list(
            "GlobalOptions",
            &[&format!("load_module {STREAM_MODULE};")],
        ));
    }
    s
}

/// `settings` over [`test_settings`], replacing keys given in both.
fn with_settings(extra: Vec<Setting>) -> Vec<Setting> {
    let mut s: Vec<Setting> = test_settings()
        .into_iter()
        .filter(|t| !extra.iter().any(|e| e.key.eq_ignore_ascii_case(&t.key)))
        .collect();
    s.extend(extra);
    s
}

/// Render, write into a scratch prefix, and run `nginx -t` there. Warnings
/// count as failures: they mean nginx had to guess.
fn nginx_t(tag: &str, input: &RenderInput) -> Result<(), String> {
    let dir = scratch_dir(tag);
    let text = rendered(input);
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, &text).unwrap();
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .output()
        .expect("run nginx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("[warn]") || stderr.contains("[emerg]") {
        return Err(format!(
            "nginx -t failed for {tag} ({}):\n{stderr}\n--- config ---\n{text}",
            conf.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn feature_input(settings: Vec<Setting>) -> RenderInput {
    let c = certs();
    let (hosts, fallback) = feature_hosts(&c.cert, &c.key, &c.combined);
    let mut i = input(hosts, settings);
    i.cluster.http_port = 8080;
    i.cluster.https_port = 8443;
    i.default_backend = Some(fallback);
    i
}

#[test]
fn every_host_feature_passes_nginx() {
    if !nginx_present() {
        return;
    }
    nginx_t("features", &feature_input(test_settings())).unwrap();
}

#[test]
fn empty_cluster_passes_nginx() {
    if !nginx_present() {
        return;
    }
    nginx_t("empty", &input(vec![], test_settings())).unwrap();
    let no_stream: Vec<Setting> = test_settings()
        .into_iter()
        .filter(|s| s.key != "GlobalOptions")
        .collect();
    nginx_t(
        "no-stream-module",
        &input(vec![simple_host("a.com", "10.0.0.1")], no_stream),
    )
    .unwrap();
}

/// One valid, non-default value per key.
fn nondefault_settings() -> Vec<Setting> {
    let c = certs();
    let mut global = vec!["worker_shutdown_timeout 10s;"];
    let load = format!("load_module {STREAM_MODULE};");
    if Path::new(STREAM_MODULE).exists() {
        global.insert(0, &load);
    }
    vec![
        text("Version", "interlock/v3.0.0"),
        text("ModulesInclude", ""),
        text("User", "root root"),
        text("PidPath", "other.pid"),
        text("WorkerProcesses", "auto"),
        int("RlimitNoFile", 4096),
        int("MaxConnections", 2048),
        int("ConnectTimeout", 5),
        int("SendTimeout", 30),
        int("ReadTimeout", 90),
        boolean("IPHash", true),
        text("HTTPVersion", "1.0"),
        text(
            "SSLOpts",
            "ssl_session_cache shared:SSL:10m; ssl_session_timeout 5m;",
        ),
        int("SSLDefaultDHParam", 2048),
        text("SSLDefaultDHParamPath", &c.dhparam),
        text("SSLVerify", "none"),
        text("SSLCiphers", "ECDHE+AESGCM:!aNULL"),
        text("SSLProtocols", "TLSv1.2 TLSv1.3"),
        boolean("HideInfoHeaders", true),
        text("KeepaliveTimeout", "65s 60s"),
        text("ClientMaxBodySize", "1g"),
        text("ClientBodyBufferSize", "16k"),
        int("ClientHeaderBufferSize", 2048),
        text("LargeClientHeaderBuffers", "8 16k"),
        text("ClientBodyTimeout", "1m30s"),
        boolean("UnderscoresInHeaders", true),
        int("ServerNamesHashBucketSize", 64),
        int("UpstreamZoneSize", 128),
        list("GlobalOptions", &global),
        list(
            "HTTPOptions",
            &[
                "proxy_buffers 8 16k;",
                "map $host $sluice_test { default 1; }",
            ],
        ),
        list("TCPOptions", &["tcp_nodelay on;", "proxy_timeout 10m;"]),
        text("AccessLogPath", "off"),
        text("ErrorLogPath", "stderr"),
        text(
            "MainLogFormat",
            "escape=json '{\"addr\":\"$remote_addr\",\"status\":$status}';",
        ),
        text(
            "TraceLogFormat",
            "'$request_id $msec $upstream_response_time'",
        ),
        text("AdminUser", "admin"),
        text("AdminPass", "secret"),
        text("SSLTrustedCertificate", &c.cert),
        boolean("TrafficMetrics", true),
        boolean("HTTP2", false),
    ]
}

#[test]
fn nondefault_values_cover_every_key() {
    let given = nondefault_settings();
    for key in crate::settings::key_names() {
        assert!(
            given.iter().any(|s| s.key.eq_ignore_ascii_case(key)),
            "no value for {key}"
        );
    }
    assert!(
        crate::settings::validate(&given).is_empty(),
        "{:?}",
        crate::settings::validate(&given)
    );
}

#[test]
fn every_setting_alone_passes_nginx() {
    if !nginx_present() {
        return;
    }
    let mut failures = Vec::new();
    for s in nondefault_settings() {
        let key = s.key.clone();
        if let Err(e) = nginx_t(
            &format!("key-{key}"),
            &feature_input(with_settings(vec![s])),
        ) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_settings_together_pass_nginx() {
    if !nginx_present() {
        return;
    }
    nginx_t("all-keys", &feature_input(nondefault_settings())).unwrap();
}

/// The service-cluster seed's Config table (Interlock 3.2.3 defaults).
#[test]
fn seed_config_passes_nginx() {
    if !nginx_present() {
        return;
    }
    let main = "'$remote_addr - $remote_user [$time_local] \"$request\" '\n\t\t    '$status $body_bytes_sent \"$http_referer\" '\n\t\t    '\"$http_user_agent\" \"$http_x_forwarded_for\"';";
    let trace = "'$remote_addr - $remote_user [$time_local] \"$request\" $status '\n\t\t    '$body_bytes_sent \"$http_referer\" \"$http_user_agent\" '\n\t\t    '\"$http_x_forwarded_for\" $reqid $msec $request_time '\n\t\t    '$upstream_connect_time $upstream_header_time $upstream_response_time';";
    let seed = vec![
        text("Version", ""),
        text("HTTPVersion", "1.1"),
        int("MaxConnections", 1024),
        int("ConnectTimeout", 5),
        int("SendTimeout", 600),
        int("ReadTimeout", 600),
        boolean("IPHash", false),
        text("AdminUser", ""),
        text("AdminPass", ""),
        text("SSLOpts", ""),
        int("SSLDefaultDHParam", 1024),
        text("SSLDefaultDHParamPath", ""),
        text("SSLVerify", "required"),
        int("WorkerProcesses", 1),
        int("RLimitNoFile", 65535),
        text("SSLCiphers", "HIGH:!aNULL:!MD5"),
        text("SSLProtocols", "TLSv1.2"),
        text("MainLogFormat", main),
        text("TraceLogFormat", trace),
        text("KeepaliveTimeout", "75s"),
        text("ClientMaxBodySize", "32m"),
        text("ClientBodyBufferSize", "8k"),
        text("ClientHeaderBufferSize", "1k"),
        text("LargeClientHeaderBuffers", "4 8k"),
        text("ClientBodyTimeout", "60s"),
        boolean("UnderscoresInHeaders", false),
        int("UpstreamZoneSize", 64),
        int("ServerNamesHashBucketSize", 128),
        list("HTTPOptions", &[]),
        list("TCPOptions", &[]),
        boolean("HideInfoHeaders", false),
    ];
    assert!(crate::settings::validate(&seed).is_empty());
    nginx_t("seed", &feature_input(with_settings(seed))).unwrap();
}

#[test]
fn many_hosts_pass_nginx() {
    if !nginx_present() {
        return;
    }
    let c = certs();
    let mut hosts: Vec<Host> = (0..1500)
        .map(|n| {
            let mut h = simple_host(
                &format!("service-{n:04}.{}.example.com", "x".repeat(40)),
                "10.1.0.1",
            );
            if n % 3 == 0 {
                h.tls = Some(tls_files(&c.combined, None));
            }
            if n % 7 == 0 {
                h.passthrough = true;
            }
            h
        })
        .collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    nginx_t("many", &input(hosts, test_settings())).unwrap();
}

/// More TLS hosts than `MaxConnections`: with a loopback listener per host
/// (nginx counts listeners as connections) nginx -t refused this with
/// "1024 worker_connections are not enough for 1202 listening sockets"; and
/// the SNI map of 2,000 names must not warn "could not build optimal
/// map_hash" (it did with 64-byte buckets at ~1,500).
#[test]
fn more_tls_hosts_than_worker_connections_pass_nginx() {
    if !nginx_present() {
        return;
    }
    let c = certs();
    let mut hosts: Vec<Host> = (0..2000)
        .map(|n| {
            let mut h = simple_host(&format!("svc-{}.bench.example.com", n * 13 + 4), "10.1.0.1");
            h.tls = Some(tls_files(&c.combined, None));
            h
        })
        .collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    nginx_t("many-tls", &input(hosts, test_settings())).unwrap();
}

/// The one upstream zone holds every upstream's state at its smallest
/// `UpstreamZoneSize`: many upstreams with long names and IPv6 servers, and
/// one with thousands of servers. nginx -t fills the zone as a start does
/// ("ngx_slab_alloc() failed: no memory in upstream zone" when too small).
#[test]
fn shared_upstream_zone_fits_pass_nginx() {
    if !nginx_present() {
        return;
    }
    let v6 = |n: usize| {
        format!(
            "fd00:aaaa:bbbb:cccc:dddd:eeee:{:x}:{:x}",
            n / 65536,
            n % 65536
        )
    };
    let mut hosts: Vec<Host> = (0..2000)
        .map(|n| {
            let label = "l".repeat(58);
            let name = format!("{label}.{label}.{label}-{n:04}.example.com");
            let mut h = simple_host(&name, &v6(n));
            let u = h.upstream.as_mut().unwrap();
            u.servers.push(server(&v6(n + 100_000), 65535));
            h
        })
        .collect();
    let mut big = simple_host("big.example.com", "10.2.0.1");
    let servers: Vec<String> = (0..3000).map(|n| v6(200_000 + n)).collect();
    big.upstream.as_mut().unwrap().servers = servers.iter().map(|a| server(a, 8080)).collect();
    hosts.push(big);
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut settings = test_settings();
    settings.push(Setting {
        key: "UpstreamZoneSize".into(),
        value: SettingValue::Integer(32),
    });
    nginx_t("zone", &input(hosts, settings)).unwrap();
}

/// The oddest values the input rules accept survive nginx's parser as single
/// arguments (paths and targets stricter than this are refused before).
#[test]
fn quoted_values_pass_nginx() {
    if !nginx_present() {
        return;
    }
    let c = certs();
    let dir = scratch_dir("odd-cert");
    let odd = dir.join("my+cert@a=b.pem");
    std::fs::copy(&c.combined, &odd).unwrap();
    let mut h = simple_host("a.com", "10.0.0.1");
    h.tls = Some(tls_files(&odd.to_string_lossy(), None));
    h.context_roots = vec![context_root(
        "/it.s~x_",
        true,
        upstream("q", &[("10.0.0.3", 80)]),
    )];
    h.upstream.as_mut().unwrap().sticky_cookie = Some("we!rd$co#kie|~".into());
    h.websocket_endpoints = vec!["/it.s~x_/live".into()];
    h.redirects = vec![redirect(Some("https"), "https://b.com/a(x)*+,=!&@~%41")];
    let mut i = input(vec![h], test_settings());
    i.cluster.server_info = "sluice \"quoted\" \\ 0.1; (x)".into();
    nginx_t("quoted", &i).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
