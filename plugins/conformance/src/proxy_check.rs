//! `--proxy-check`: the plugin's own validate-command run on what it rendered,
//! when the proxy binary is on this machine. Files are rendered again into a
//! scratch directory (the cluster's config path pointed there) and TLS paths
//! are pointed at a self-signed certificate made with `openssl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::report::CheckResult;
use sluice_render::Plugin;
use sluice_render::wit::latest::RenderInput;

const NAME: &str = "proxy validate";

/// `program` as found on PATH (or as given, when it is a path).
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| program.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sluice-conformance-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Self-signed certificate, key, and both in one PEM. The key sits at the
/// certificate's path + `.key`, where HAProxy looks for it.
struct Certs {
    cert: String,
    key: String,
    combined: String,
}

fn make_certs(dir: &Path) -> Result<Certs, String> {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "cert.pem.key",
            "-out",
            "cert.pem",
            "-days",
            "30",
            "-subj",
            "/CN=conformance.example.org",
        ])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"));
    std::fs::write(
        dir.join("combined.pem"),
        read("cert.pem")? + &read("cert.pem.key")?,
    )
    .map_err(|e| format!("combined.pem: {e}"))?;
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    Ok(Certs {
        cert: p("cert.pem"),
        key: p("cert.pem.key"),
        combined: p("combined.pem"),
    })
}

/// Point TLS files at real ones; false when the input needs them and there are none.
fn use_certs(input: &mut RenderInput, certs: Option<&Certs>) -> bool {
    for h in &mut input.hosts {
        if let Some(t) = &mut h.tls {
            let Some(c) = certs else { return false };
            match &mut t.key_path {
                Some(k) => {
                    t.cert_path = c.cert.clone();
                    *k = c.key.clone();
                }
                None => t.cert_path = c.combined.clone(),
            }
        }
    }
    true
}

/// Render each input into the scratch dir and run the validate-command on it.
pub fn check(plugin: &Plugin, inputs: &[(String, RenderInput)]) -> CheckResult {
    let argv = &plugin.info().validate_command;
    let Some(program) = argv.first() else {
        return CheckResult::new(
            NAME,
            "no validate-command".into(),
            vec!["info() has an empty validate-command".into()],
        );
    };
    if find_program(program).is_none() {
        return CheckResult::skipped(NAME, format!("`{program}` is not on PATH"));
    }
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return CheckResult::new(NAME, "no scratch dir".into(), vec![e.to_string()]),
    };
    let certs = make_certs(&scratch.0);
    let file_name = Path::new(&plugin.info().default_config_path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "proxy.conf".into());
    let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
    for (n, (name, input)) in inputs.iter().enumerate() {
        let mut input = input.clone();
        if !use_certs(&mut input, certs.as_ref().ok()) {
            skipped += 1;
            continue;
        }
        let dir = scratch.0.join(n.to_string());
        let config = dir.join(&file_name);
        input.cluster.config_path = config.to_string_lossy().into_owned();
        let files = match plugin.render(&input) {
            Ok(r) => r.files,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if let Err(e) = write_files(&files) {
            failures.push(format!("{name}: writing the files: {e}"));
            continue;
        }
        let args: Vec<String> = argv[1..]
            .iter()
            .map(|a| a.replace("{config}", &input.cluster.config_path))
            .collect();
        match Command::new(program).args(&args).current_dir(&dir).output() {
            Ok(out) if out.status.success() => passed += 1,
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                let head: Vec<&str> = text.lines().take(6).collect();
                failures.push(format!(
                    "{name}: `{program}` refused it ({}):\n{}",
                    out.status,
                    head.join("\n")
                ));
            }
            Err(e) => failures.push(format!("{name}: cannot run `{program}`: {e}")),
        }
    }
    let tls_note = match &certs {
        Err(e) if skipped > 0 => format!(", {skipped} skipped (TLS files needed: {e})"),
        _ => String::new(),
    };
    CheckResult::new(
        NAME,
        format!(
            "{passed}/{} configs accepted by `{}`{tls_note}",
            inputs.len() - skipped,
            argv.join(" ")
        ),
        failures,
    )
}

fn write_files(files: &[sluice_render::wit::latest::OutputFile]) -> std::io::Result<()> {
    for f in files {
        let p = Path::new(&f.path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(p, &f.contents)?;
    }
    Ok(())
}
