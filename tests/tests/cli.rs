//! The `sluice` binary end to end: `render` and `validate` as a user runs them.
//! The binary is built on demand ([`sluice_bin`]), so the test never runs a
//! stale one.

use std::process::{Command, Output};

use sluice_tests::sluice_bin::sluice_bin;
use sluice_tests::swarm::env::repo_root;

fn sluice(args: &[&str]) -> Output {
    Command::new(sluice_bin())
        .current_dir(repo_root())
        .args(args)
        .output()
        .expect("run sluice")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {}\n--- stderr ---\n{}--- stdout ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

#[test]
fn render_writes_every_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().to_str().unwrap();
    let out = sluice(&[
        "render",
        "-c",
        "examples/features/config.toml",
        "--snapshot",
        "examples/features/snapshot.json",
        "--out",
        out_dir,
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    for file in [
        "main/etc/nginx/nginx.conf",
        "edge/usr/local/etc/haproxy/haproxy.cfg",
    ] {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), describe(&out)));
        assert!(
            text.contains("demo.local") || text.contains("edge.example.com"),
            "{file}"
        );
    }
}

#[test]
fn render_names_service_and_label_of_a_broken_label() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = sluice(&[
        "render",
        "-c",
        "tests/fixtures/matrix/defaults.toml",
        "--snapshot",
        "tests/fixtures/matrix/bad-label.json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("broken"))
        .unwrap_or_else(|| panic!("no message names service `broken`:\n{}", describe(&out)));
    assert!(line.contains("com.docker.lb.port"), "{line}");
    // Everything else was still rendered.
    let main = dir.path().join("main/etc/nginx/nginx.conf");
    let text = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{e}\n{}", describe(&out)));
    assert!(text.contains("plain.local") && !text.contains("broken.local"));
}

#[test]
fn validate_names_a_bad_config_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[Extensions.main]\n  Plugin = \"nginx\"\n  [Extensions.main.Config]\n    MaxConnections = \"lots\"\n",
    )
    .unwrap();
    let out = sluice(&["validate", "-c", config.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The plugin's finding names the key and the line it is on.
    assert!(
        stderr.contains("key Extensions.main.Config.MaxConnections (line 4)"),
        "{}",
        describe(&out)
    );

    std::fs::write(
        &config,
        "[Extensions.main]\n  Plugin = \"haproxy\"\n  [Extensions.main.Config]\n    SSLVerify = \"maybe\"\n",
    )
    .unwrap();
    let out = sluice(&["validate", "-c", config.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SSLVerify"),
        "{}",
        describe(&out)
    );
}

#[test]
fn validate_accepts_the_examples() {
    for config in [
        "examples/features/config.toml",
        "tests/fixtures/matrix/seed.toml",
    ] {
        let out = sluice(&["validate", "-c", config]);
        assert!(out.status.success(), "{config}: {}", describe(&out));
    }
}

#[test]
fn validate_says_what_interlock_keys_do_here_once_each() {
    let out = sluice(&["validate", "-c", "tests/fixtures/matrix/seed.toml"]);
    assert!(out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note: ")).collect();
    // The seed sets ConfigImage in both Extensions: one note names both.
    let config_image: Vec<&&str> = notes
        .iter()
        .filter(|n| n.contains("`ConfigImage`"))
        .collect();
    assert_eq!(config_image.len(), 1, "{}", describe(&out));
    assert!(
        config_image[0].contains("east") && config_image[0].contains("west"),
        "{}",
        config_image[0]
    );
    let mut unique = notes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), notes.len(), "a note repeated:\n{stderr}");
}

/// `sluice rotate-key` as an operator runs it: a file from before key
/// generations is refused with what to do; a current file rotates one step,
/// stays private, and the rotated daemon still accepts the credentials the
/// proxies hold; a broken file is named with its line.
#[test]
fn rotate_key_moves_each_key_one_step() {
    use sluice::serve::Keyring;
    use sluice::trust::keyfile::KeyFile;
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("agent.key");
    let file = path.to_str().unwrap();
    let rotate = || sluice(&["rotate-key", "--agent-key-file", file]);

    std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
    let out = rotate();
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(file) && err.contains("no next key"), "{err}");

    // What the daemon does at its first start with this version.
    let before = Keyring::load_or_create(&path).unwrap();
    let held = before.credentials("east").unwrap();
    let old = KeyFile::parse(&std::fs::read(&path).unwrap()).unwrap();
    let out = rotate();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no proxy task restarts"));
    let new = KeyFile::parse(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(new.previous.as_ref(), Some(&old.current));
    assert_eq!(Some(&new.current), old.next.as_ref());
    assert!(new.next.is_some() && new.next != old.next);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let after = Keyring::load(&path).unwrap();
    assert!(after.verify_cluster("east", &held.token));
    assert_eq!(after.previous_credentials("east").unwrap(), Some(held));

    std::fs::write(
        &path,
        "current 0123456789abcdef0123456789abcdef\nnext short\n",
    )
    .unwrap();
    let out = rotate();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
}

/// `--log-format json`: every log line is one JSON object, with the
/// cluster as a field (what a log shipper indexes).
#[test]
fn json_log_lines_carry_their_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "DockerURL = \"unix:///nonexistent/docker.sock\"\n[Extensions.east]\n  ProxyServiceName = \"p\"\n",
    )
    .unwrap();
    let key = dir.path().join("agent.key");
    std::fs::write(&key, "a key for this test, long enough\n").unwrap();
    let out = sluice(&[
        "--log-format",
        "json",
        "run",
        "-c",
        config.to_str().unwrap(),
        "--agent-key-file",
        key.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let ready = logs
        .iter()
        .find(|l| l["fields"]["message"] == "plugin ready")
        .unwrap_or_else(|| panic!("no `plugin ready` line:\n{stderr}"));
    assert_eq!(ready["fields"]["cluster"], "east", "{ready}");
    assert_eq!(ready["level"], "INFO", "{ready}");
    // The failure itself names the socket, for a person, after the logs.
    assert!(stderr.contains("/nonexistent/docker.sock"), "{stderr}");
}
