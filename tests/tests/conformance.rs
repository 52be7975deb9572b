//! The renderer conformance kit (`sluice plugin check`) on the bundled
//! plugins, the example third-party plugins (Rust/Caddy, Python/Traefik), and
//! fixtures that must fail: raw host names (injection), a random stamp
//! (determinism), and a component built for interface 9.0.0 (refused).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use sluice::render::{PLUGIN_DIR, PluginError, PluginHost, SUPPORTED_VERSIONS};
use sluice::wit::latest::{Setting, SettingValue};
use sluice_conformance::{self as conformance, Options, Report, Status};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn bundled(file: &str) -> PathBuf {
    Path::new(PLUGIN_DIR).join(file)
}

fn check(path: &Path, options: &Options) -> Report {
    let report = conformance::check_file(path, options).unwrap();
    println!("{report}");
    report
}

fn assert_passes(report: &Report) {
    assert!(report.passed(), "failed checks: {:?}", report.failed());
}

/// The real proxy's check ran and passed: a missing proxy binary is a skip
/// for `sluice plugin check`, but not for this suite (`.ci/run` installs it).
fn assert_proxy_checked(report: &Report) {
    assert_eq!(
        status(report, "proxy validate"),
        Status::Pass,
        "the proxy's own check did not run: install the proxy (see .ci/run)"
    );
}

fn status(report: &Report, name: &str) -> Status {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .status
}

fn text(key: &str, value: &str) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::Text(value.into()),
    }
}

#[test]
fn nginx_passes() {
    let report = check(
        &bundled("sluice_plugin_nginx.wasm"),
        &Options {
            // `nginx -t` here runs as root, without the image's `nginx` user.
            settings: vec![text("User", "root")],
            proxy_check: true,
            ..Options::default()
        },
    );
    assert_passes(&report);
    assert_proxy_checked(&report);
    assert_eq!(report.renders.len(), 17);
    assert!(report.renders.iter().all(|r| r.outcome == "ok"));
}

#[test]
fn haproxy_passes() {
    let report = check(
        &bundled("sluice_plugin_haproxy.wasm"),
        &Options {
            proxy_check: true,
            ..Options::default()
        },
    );
    assert_passes(&report);
    assert_proxy_checked(&report);
    assert!(report.renders.iter().all(|r| r.outcome == "ok"));
}

#[test]
fn raw_host_names_fail_the_injection_check() {
    let report = check(
        &bundled("sluice_fixture_inject.wasm"),
        &Options {
            large_services: 100,
            probe_keys: vec!["Greeting".into()],
            ..Options::default()
        },
    );
    assert_eq!(report.failed(), ["injection: routes"]);
    let failures = &report.check("injection: routes").unwrap().failures;
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("host name + semicolon")),
        "{failures:#?}"
    );
    assert_eq!(status(&report, "determinism"), Status::Pass);
}

#[test]
fn code_for_the_proxy_fails_the_code_check() {
    let report = check(
        &bundled("sluice_fixture_codeload.wasm"),
        &Options::default(),
    );
    assert_eq!(status(&report, "proxy code"), Status::Fail);
    let failures = &report.check("proxy code").unwrap().failures;
    assert!(
        failures
            .iter()
            .all(|f| f.contains("`load_module` loads a shared object")),
        "{failures:#?}"
    );
}

#[test]
fn random_output_fails_the_determinism_check() {
    let report = check(
        &bundled("sluice_fixture_noisy.wasm"),
        &Options {
            large_services: 100,
            probe_keys: vec!["Greeting".into()],
            ..Options::default()
        },
    );
    assert_eq!(report.failed(), ["determinism"]);
    assert_eq!(status(&report, "injection: routes"), Status::Pass);
}

/// The compatibility promise: newer refused (naming plugin, found and
/// supported versions), a supported version runs.
#[test]
fn newer_interface_is_refused_supported_one_runs() {
    let future = bundled("sluice_fixture_future.wasm");
    let host = PluginHost::new().unwrap();
    let err = host.load_file(&future, None).unwrap_err();
    assert!(
        matches!(err, PluginError::UnsupportedVersion { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for part in ["sluice_fixture_future.wasm", "9.0.0", SUPPORTED_VERSIONS[0]] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
    let report = check(&future, &Options::default());
    assert_eq!(report.failed(), ["load"]);
    assert_eq!(report.checks.len(), 1);

    let nginx = host
        .load_file(&bundled("sluice_plugin_nginx.wasm"), None)
        .unwrap();
    assert_eq!(nginx.id().interface, SUPPORTED_VERSIONS[0]);
}

/// The other half of the promise: a plugin built for the first interface
/// (1.0.0, the frozen folder) loads and renders on a host that speaks a
/// newer one, unchanged: its files, no server slots, its own `log` import.
#[test]
fn a_plugin_for_an_older_interface_keeps_rendering() {
    let host = PluginHost::new().unwrap();
    let legacy = host
        .load_file(&bundled("sluice_fixture_legacy.wasm"), None)
        .unwrap();
    assert_eq!(legacy.id().interface, "1.0.0");
    assert_ne!(SUPPORTED_VERSIONS[0], "1.0.0", "a newer version is current");
    assert_eq!(legacy.info().name, "fixture-legacy");
    let rendered = legacy
        .render(&sluice_tests::inputs::one_host("/etc/fixture/fixture.conf"))
        .unwrap();
    assert!(rendered.slots.is_empty());
    assert_eq!(rendered.files.len(), 1);
    assert!(
        rendered.files[0].contents.contains("demo.local "),
        "{:?}",
        rendered.files[0].contents
    );
    // It has no policies: given some, it refuses (naming the labels) rather
    // than render without them.
    let policy = sluice_tests::policy_scenarios::policy("demo_local");
    let refused = legacy
        .render_policies(
            &sluice_tests::inputs::one_host("/etc/fixture/fixture.conf"),
            &[policy],
        )
        .unwrap_err();
    let PluginError::InvalidInput { diagnostics, .. } = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(diagnostics[0].key.as_deref(), Some("sluice.*"));
    assert!(
        diagnostics[0].message.contains("1.2.0") && diagnostics[0].message.contains("demo_local"),
        "{refused}"
    );
    let report = check(&bundled("sluice_fixture_legacy.wasm"), &Options::default());
    assert!(
        !report.failed().contains(&"load"),
        "the conformance kit loads it: {:?}",
        report.failed()
    );
}

/// And for 1.1.0 (server slots, no policies): a plugin built against
/// `wit/v1.1.0` loads, renders with its slots, and refuses policies by
/// name rather than render without them.
#[test]
fn a_plugin_for_interface_1_1_keeps_rendering_with_its_slots() {
    let host = PluginHost::new().unwrap();
    let plugin = host
        .load_file(&bundled("sluice_fixture_v11.wasm"), None)
        .unwrap();
    assert_eq!(plugin.id().interface, "1.1.0");
    let input = sluice_tests::inputs::one_host("/etc/fixture/fixture.conf");
    let rendered = plugin.render(&input).unwrap();
    let servers = input.hosts[0].upstream.as_ref().unwrap().servers.len();
    assert!(servers > 0);
    assert_eq!(rendered.slots.len(), servers, "{rendered:?}");
    let text = &rendered.files[0].contents;
    let first = &rendered.slots[0];
    let server = first.server.as_ref().unwrap();
    assert_eq!(
        &text[first.start as usize..first.end as usize],
        format!("{}:{}", server.address, server.port)
    );
    let policy = sluice_tests::policy_scenarios::policy("demo_local");
    let refused = plugin.render_policies(&input, &[policy]).unwrap_err();
    let PluginError::InvalidInput { diagnostics, .. } = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(diagnostics[0].key.as_deref(), Some("sluice.*"));
    assert!(diagnostics[0].message.contains("1.2.0"), "{refused}");
    let report = check(&bundled("sluice_fixture_v11.wasm"), &Options::default());
    assert!(
        !report.failed().contains(&"load"),
        "the conformance kit loads it: {:?}",
        report.failed()
    );
}

/// Nested example builds are slow; one at a time.
static BUILD: Mutex<()> = Mutex::new(());

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn build_caddy() -> PathBuf {
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo().join("examples/renderer-caddy");
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS"))
    .unwrap();
    dir.join("target/wasm32-wasip2/release/sluice_renderer_caddy.wasm")
}

#[test]
fn caddy_example_passes() {
    let wasm = build_caddy();
    let report = check(
        &wasm,
        &Options {
            probe_keys: vec!["AdminListen".into()],
            proxy_check: true,
            ..Options::default()
        },
    );
    assert_passes(&report);
    // Caddy's standard build has no TLS passthrough: refused, naming the label.
    let refused: Vec<&str> = report
        .renders
        .iter()
        .filter(|r| r.outcome == "refused")
        .map(|r| r.case.as_str())
        .collect();
    assert_eq!(refused, ["tls passthrough", "every feature"]);
    assert!(
        report
            .renders
            .iter()
            .all(|r| r.outcome != "refused" || r.detail.contains("com.docker.lb.ssl_passthrough"))
    );
}

/// componentize-py from PATH, $COMPONENTIZE_PY, or a venv made here from PyPI.
fn componentize_py() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("COMPONENTIZE_PY") {
        return Ok(p.into());
    }
    if Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok("componentize-py".into());
    }
    let venv = repo().join("target/componentize-py-venv");
    let bin = venv.join("bin/componentize-py");
    if !bin.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "componentize-py"]))?;
    }
    Ok(bin)
}

fn build_traefik() -> Result<PathBuf, String> {
    let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo().join("examples/renderer-traefik-py");
    let wasm = dir.join("target/traefik.wasm");
    let newest_source = std::fs::read_dir(dir.join("src"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
        .unwrap();
    let built = wasm.metadata().and_then(|m| m.modified()).ok();
    if built.is_none_or(|b| b < newest_source) {
        let cpy = componentize_py()?;
        run(Command::new(dir.join("build.sh"))
            .arg(&wasm)
            .env("COMPONENTIZE_PY", cpy))
        .unwrap();
    }
    Ok(wasm)
}

#[test]
fn traefik_python_example_passes() {
    let wasm = match build_traefik() {
        Ok(w) => w,
        Err(why) => {
            eprintln!("\n!!!!! SKIPPED: componentize-py cannot be installed: {why} !!!!!\n");
            return;
        }
    };
    let options = Options {
        probe_keys: ["EntryPointHTTP", "EntryPointHTTPS", "PassHostHeader"]
            .map(String::from)
            .to_vec(),
        proxy_check: true,
        ..Options::default()
    };
    let report = check(&wasm, &options);
    assert_passes(&report);

    // The README's schema check on every corpus output.
    let out = tempfile::tempdir().unwrap();
    let written = conformance::write_corpus(
        &wasm,
        &Options {
            large_services: 200,
            ..options
        },
        out.path(),
    )
    .unwrap();
    assert_eq!(written, 17);
    let files: Vec<PathBuf> = walk(out.path());
    run(Command::new("python3")
        .arg(repo().join("examples/renderer-traefik-py/check_dynamic.py"))
        .args(&files))
    .unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
