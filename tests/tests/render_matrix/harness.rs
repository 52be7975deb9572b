//! Runs one case through the real pipeline (config::parse_str → plan::plan →
//! render::render_cluster), writes each cluster's files into a scratch dir
//! and has the real proxy check them.
//!
//! Paths, so the proxies can check the files here:
//! - `ProxyConfigPath` is set to `<dir>/<cluster>/<nginx.conf|haproxy.cfg>`;
//!   every other file a plugin writes sits beside it.
//! - The planner points certificates at `/run/secrets/<name>` (where Swarm
//!   mounts secrets in the proxy). Rather than write into the machine's
//!   `/run/secrets`, the rendered files get that prefix rewritten to
//!   `<dir>/secrets/`, where a test certificate and key (one combined PEM,
//!   which both nginx and HAProxy accept for cert and key) are written for
//!   every secret the cluster needs.
//! - Config fixtures are templates: `@DIR@` is the scratch dir, `@FIXTURES@`
//!   is `tests/fixtures/matrix`.
//! - nginx run as root refuses a `user` that does not exist (Debian has no
//!   `nginx` user, the default and the seed's value): such a `User` is
//!   replaced by `root`. No other setting is touched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sluice::config::{self, Config, PluginRef};
use sluice::plan::{self, Plan, Severity};
use sluice::render::{PluginError, PluginHost, Revision, render_cluster};
use sluice::snapshot::Snapshot;
use sluice::wit::latest::{Setting, SettingValue};
use sluice_tests::certs::Ca;
use sluice_tests::proxy::Kind;
use tempfile::TempDir;

use super::cases::Case;

const SECRETS_DIR: &str = "/run/secrets/";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/matrix")
}

fn plugin_host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new().expect("plugin host"))
}

struct Pki {
    ca_pem: String,
    combined: String,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca = Ca::new("sluice render matrix CA");
        let leaf = ca.leaf(&["matrix.local"]);
        Pki {
            ca_pem: ca.pem.clone(),
            combined: leaf.combined_pem(),
        }
    })
}

/// Fails the test unless the proxy's binary runs.
pub fn require_proxy(kind: Kind) {
    let ok = Command::new(kind.name())
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{}` is not on PATH; the render matrix checks every rendered config with the real \
         proxy: install it with `apt-get install -y nginx libnginx-mod-stream haproxy`",
        kind.name()
    );
}

/// What one case produced.
pub struct Outcome {
    pub case: String,
    pub dir: TempDir,
    pub plan: Plan,
    pub revisions: Vec<Revision>,
    /// Clusters the proxy accepted.
    pub checked: usize,
    /// One entry per failed step, each self-contained.
    pub failures: Vec<String>,
}

impl Outcome {
    /// The plan's diagnostics, one per line, for failure messages.
    pub fn plan_report(&self) -> String {
        let mut out = String::new();
        for d in &self.plan.diagnostics {
            let _ = writeln!(
                out,
                "  {:?} cluster={:?} service={:?} label={:?}: {}",
                d.severity, d.cluster, d.service, d.label, d.message
            );
        }
        out
    }

    pub fn report(&self) -> String {
        format!(
            "=== case {} ({} failure(s)) ===\nplan diagnostics:\n{}{}",
            self.case,
            self.failures.len(),
            self.plan_report(),
            self.failures.join("\n")
        )
    }
}

pub fn load_config(case: &Case, dir: &Path) -> Result<Config, String> {
    let path = fixtures().join(&case.config);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = text
        .replace("@DIR@", dir.to_str().expect("utf-8 temp dir"))
        .replace("@FIXTURES@", fixtures().to_str().expect("utf-8 repo path"));
    let loaded =
        config::parse_str(&text, &fixtures()).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut config = loaded.config;
    for ext in config.extensions.values_mut() {
        ext.plugin = PluginRef::Builtin(case.plugin.name().into());
        ext.plugin_sha256 = None;
        let file = match case.plugin {
            Kind::Nginx => "nginx.conf",
            Kind::Haproxy => "haproxy.cfg",
        };
        let main = dir.join(&ext.name).join(file);
        ext.proxy_config_path = Some(main.to_str().expect("utf-8 temp dir").to_string());
        if case.plugin == Kind::Nginx {
            fix_user(&mut ext.config);
        }
    }
    Ok(config)
}

fn user_exists(name: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: getpwnam reads a NUL-terminated string; the result is only null-checked.
    !unsafe { libc::getpwnam(c.as_ptr()) }.is_null()
}

fn fix_user(settings: &mut Vec<Setting>) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let current = settings
        .iter()
        .find(|s| s.key.eq_ignore_ascii_case("User"))
        .and_then(|s| match &s.value {
            SettingValue::Text(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "nginx".into());
    if user_exists(&current) {
        return;
    }
    settings.retain(|s| !s.key.eq_ignore_ascii_case("User"));
    settings.push(Setting {
        key: "User".into(),
        value: SettingValue::Text("root".into()),
    });
}

pub fn load_snapshot(path: &str) -> Result<Snapshot, String> {
    let path = repo_root().join(path);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the case; never panics on a proxy or plugin failure, it records it.
pub fn run(case: &Case) -> Outcome {
    run_with(case, None)
}

/// [`run`], with `snapshot` instead of the case's file when given.
pub fn run_with(case: &Case, snapshot: Option<Snapshot>) -> Outcome {
    require_proxy(case.plugin);
    let dir = tempfile::Builder::new()
        .prefix("sluice-matrix-")
        .tempdir()
        .expect("temp dir");
    let mut outcome = Outcome {
        case: case.name.clone(),
        plan: Plan::default(),
        revisions: Vec::new(),
        checked: 0,
        failures: Vec::new(),
        dir,
    };
    let dir = outcome.dir.path().to_path_buf();
    let loaded = load_config(case, &dir).and_then(|c| {
        let snapshot = match snapshot {
            Some(s) => s,
            None => load_snapshot(case.snapshot)?,
        };
        Ok((c, snapshot))
    });
    let (config, snapshot) = match loaded {
        Ok(x) => x,
        Err(e) => {
            outcome.failures.push(format!("loading inputs: {e}"));
            return outcome;
        }
    };
    outcome.plan = plan::plan(&snapshot, &config);
    check_plan_errors(case, &mut outcome);
    std::fs::write(dir.join("ca.pem"), &pki().ca_pem).expect("write ca.pem");

    for (name, cluster) in &outcome.plan.clusters {
        let ext = &config.extensions[name];
        let rendered = render_cluster(plugin_host(), ext, cluster);
        let rev = match rendered {
            Ok(rev) => rev,
            Err(e) => {
                outcome.failures.push(format!(
                    "cluster {name}: render failed: {}",
                    plugin_error(&e)
                ));
                continue;
            }
        };
        // The host's label rules are the plugins' own (plugins/rules): a host
        // left out by the plugin means they drifted apart again.
        for r in &rev.refused {
            outcome.failures.push(format!(
                "cluster {name}: {} refused host {} (services {:?}) that the labels \
                 parser accepted: {}",
                case.plugin.name(),
                r.host,
                r.services,
                r.reason
            ));
        }
        if case.all_keys() && !rev.warnings.is_empty() {
            outcome.failures.push(format!(
                "cluster {name}: every key of the all-keys config must be known and used, \
                 but the plugin warned:\n{}",
                diagnostics(&rev.warnings)
            ));
        }
        let secrets = cluster.secrets.iter().map(String::as_str);
        match write_and_check(case.plugin, &dir, &rev, secrets) {
            Ok(()) => outcome.checked += 1,
            Err(e) => outcome.failures.push(format!(
                "cluster {name}: {} refused the config\nplugin warnings:\n{}{e}",
                case.plugin.name(),
                diagnostics(&rev.warnings)
            )),
        }
        outcome.revisions.push(rev);
    }
    outcome
}

fn check_plan_errors(case: &Case, outcome: &mut Outcome) {
    let errors: Vec<(&str, &str)> = outcome
        .plan
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            (
                d.service.as_deref().unwrap_or("-"),
                d.label.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    for want in case.errors {
        if !errors.contains(want) {
            outcome.failures.push(format!(
                "the plan has no error naming service {} and label {}",
                want.0, want.1
            ));
        }
    }
    for got in &errors {
        if !case.errors.contains(got) {
            outcome.failures.push(format!(
                "unexpected plan error for service {} label {}",
                got.0, got.1
            ));
        }
    }
}

fn plugin_error(e: &PluginError) -> String {
    match e {
        PluginError::InvalidSettings {
            plugin,
            diagnostics: d,
            ..
        } => format!("plugin {plugin} refused the settings:\n{}", diagnostics(d)),
        other => other.to_string(),
    }
}

pub fn diagnostics(d: &[sluice::wit::latest::Diagnostic]) -> String {
    d.iter()
        .map(|d| format!("  {:?} key={:?}: {}\n", d.severity, d.key, d.message))
        .collect()
}

/// Writes the revision (secrets rewritten into `dir`) and runs the plugin's
/// own validate command on it.
pub fn write_and_check<'a>(
    kind: Kind,
    dir: &Path,
    rev: &Revision,
    secrets: impl Iterator<Item = &'a str>,
) -> Result<(), String> {
    let secrets_dir = dir.join("secrets");
    std::fs::create_dir_all(&secrets_dir).expect("secrets dir");
    for name in secrets {
        std::fs::write(secrets_dir.join(name), &pki().combined).expect("write secret");
    }
    let local_secrets = format!("{}/", secrets_dir.display());
    for f in &rev.files {
        let path = Path::new(&f.path);
        if !path.starts_with(dir) {
            return Err(format!(
                "the plugin wrote {} outside {}",
                f.path,
                dir.display()
            ));
        }
        std::fs::create_dir_all(path.parent().expect("file has a dir")).expect("config dir");
        std::fs::write(path, f.contents.replace(SECRETS_DIR, &local_secrets))
            .unwrap_or_else(|e| panic!("write {}: {e}", f.path));
    }
    let main = &rev.main_file().path;
    let argv: Vec<String> = rev
        .info
        .validate_command
        .iter()
        // Without `-q`: a refusal then says why (HAProxy's `-c -q` exits 1 silently).
        .filter(|a| *a != "-q")
        .map(|a| a.replace("{config}", main))
        .collect();
    let (program, args) = argv
        .split_first()
        .ok_or("the plugin has no validate command")?;
    let mut cmd = Command::new(program);
    if kind == Kind::Nginx {
        // Keep nginx's startup log out of /var/log.
        cmd.arg("-e").arg(dir.join("startup-error.log"));
    }
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("running {argv:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{argv:?} exited with {}\n--- stderr ---\n{}--- stdout ---\n{}--- {main} ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        numbered(&rev.main_file().contents)
    ))
}

fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(n, l)| format!("{:4} {l}\n", n + 1))
        .collect()
}
