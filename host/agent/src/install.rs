//! One revision into the running proxy: check its certificate/key pairs
//! ([`tls_check`]), validate its files in staging ([`staging`]), install
//! them, then reload the agent's way. A refused revision changes nothing
//! live, so the proxy keeps (and a restart would load) the last good one.
//! The commands are the agent's settings, never the revision's.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::files::{self, FilesError};
use super::proxy::{Proxy, ProxyError};
use super::settings::Reload;
use super::staging::Staged;
use super::tls_check;
use sluice_wire::docs::{RevisionDoc, TlsProblem};

/// A validation or reload command that takes longer is stopped and failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Command output kept in a report.
const MAX_OUTPUT: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("revision {revision} has no files")]
    NoFiles { revision: String },
    #[error("{}", tls_message(.0))]
    Tls(Vec<TlsProblem>),
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error("{command:?} refused the config: {output}")]
    Invalid {
        command: Vec<String>,
        output: String,
    },
    #[error("running {command:?}: {reason}")]
    Command {
        command: Vec<String>,
        reason: String,
    },
    #[error("reload: {0}")]
    Reload(#[from] ProxyError),
    #[error("reload not taken: {0} (the config passed the validate command)")]
    Unconfirmed(String),
}

fn tls_message(problems: &[TlsProblem]) -> String {
    let each: Vec<String> = problems.iter().map(|p| p.reason.clone()).collect();
    format!(
        "broken certificate/key pairs (reported, so that their services are left out): {}",
        each.join("; ")
    )
}

impl InstallError {
    /// The pairs this refusal found broken, for the report.
    pub fn bad_tls(&self) -> &[TlsProblem] {
        match self {
            InstallError::Tls(problems) => problems,
            _ => &[],
        }
    }
}

/// `{config}` in each argument → the main config's path.
pub fn substitute(argv: &[String], config: &str) -> Vec<String> {
    argv.iter().map(|a| a.replace("{config}", config)).collect()
}

/// Check and validate `doc` in staging, then install it over `previous`
/// (the revision in place, if any); a refused revision leaves the files as
/// they were.
pub async fn install_valid(
    root: &Path,
    validate: &[String],
    doc: &RevisionDoc,
    previous: Option<&RevisionDoc>,
) -> Result<(), InstallError> {
    if doc.files.is_empty() {
        return Err(InstallError::NoFiles {
            revision: doc.hash.clone(),
        });
    }
    let broken = tls_check::check(&doc.tls);
    if !broken.is_empty() {
        return Err(InstallError::Tls(broken));
    }
    validate_staged(root, validate, doc).await?;
    // Validated: the backup is only for a failure half-way through writing.
    drop(install_files(root, doc, previous)?);
    Ok(())
}

/// Run `validate` on a staged copy of `doc`'s files; errors name the live
/// paths.
pub async fn validate_staged(
    root: &Path,
    validate: &[String],
    doc: &RevisionDoc,
) -> Result<(), InstallError> {
    let staged = Staged::new(root, &doc.files)?;
    let argv = substitute(validate, &staged.main);
    run_checked(&argv).await.map_err(|e| match e {
        InstallError::Invalid { command: _, output } => InstallError::Invalid {
            command: substitute(validate, doc.main_path()),
            output: staged.unstaged(&output),
        },
        InstallError::Command { command, reason } => InstallError::Command {
            command: command.iter().map(|a| staged.unstaged(a)).collect(),
            reason,
        },
        other => other,
    })
}

fn install_files(
    root: &Path,
    doc: &RevisionDoc,
    previous: Option<&RevisionDoc>,
) -> Result<files::Backup, InstallError> {
    let old: Vec<String> = previous
        .map(|p| p.files.iter().map(|f| f.path.clone()).collect())
        .unwrap_or_default();
    Ok(files::install(root, &doc.files, &old)?)
}

/// For a proxy that checks a config as it reloads ([`crate::confirm`]):
/// check `doc`'s certificate/key pairs, install its files over `previous`,
/// signal, and wait for the proxy's new workers. When none come, the files
/// `previous` installed are put back and `validate` (on a staged copy) says
/// why, so what was refused reads as before. Ok carries the reload's time.
pub async fn install_confirmed(
    root: &Path,
    validate: &[String],
    doc: &RevisionDoc,
    previous: &RevisionDoc,
    proxy: &Proxy,
    signal: nix::sys::signal::Signal,
    slowest: Duration,
) -> Result<Duration, InstallError> {
    if doc.files.is_empty() {
        return Err(InstallError::NoFiles {
            revision: doc.hash.clone(),
        });
    }
    let broken = tls_check::check(&doc.tls);
    if !broken.is_empty() {
        return Err(InstallError::Tls(broken));
    }
    use crate::confirm::{Reloading, grace, wait_for};
    let backup = install_files(root, doc, Some(previous))?;
    // A restart must load the last good config, not a refused one.
    let put_back = |backup: files::Backup| {
        if let Err(e) = backup.restore() {
            tracing::error!("putting the last good files back: {e}");
        }
    };
    let reloading = match Reloading::signal(proxy, signal) {
        Ok(r) => r,
        Err(e) => {
            put_back(backup);
            return Err(e.into());
        }
    };
    if !reloading.taken_within(grace(slowest)).await {
        if let Err(refused) = validate_staged(root, validate, doc).await {
            put_back(backup);
            return Err(refused);
        }
        let wait = wait_for(slowest);
        if !reloading.taken_within(wait).await {
            put_back(backup);
            return Err(InstallError::Unconfirmed(format!(
                "the proxy started no new workers within {wait:?} of the reload signal"
            )));
        }
    }
    drop(backup);
    Ok(reloading.elapsed())
}

/// Write `doc`'s files over `previous`'s without validating or reloading:
/// for a revision the proxy took at runtime (its files differ from the
/// installed, validated ones only in server slots), so that a later reload
/// or restart serves what runs now.
pub fn install_taken(
    root: &Path,
    doc: &RevisionDoc,
    previous: &RevisionDoc,
) -> Result<(), InstallError> {
    let old: Vec<String> = previous.files.iter().map(|f| f.path.clone()).collect();
    drop(files::install(root, &doc.files, &old)?);
    Ok(())
}

/// Make the running proxy load what is installed.
pub async fn reload(proxy: &Proxy, how: &Reload, doc: &RevisionDoc) -> Result<(), InstallError> {
    match how {
        Reload::Signal(signal) => Ok(proxy.signal(*signal)?),
        Reload::Command(argv) => run_checked(&substitute(argv, doc.main_path())).await,
    }
}

/// Run `argv` to completion; non-zero exit is [`InstallError::Invalid`].
async fn run_checked(argv: &[String]) -> Result<(), InstallError> {
    let Some((program, args)) = argv.split_first() else {
        // Settings refuse an empty validate command; nothing to run here.
        return Ok(());
    };
    let failed = |reason: String| InstallError::Command {
        command: argv.to_vec(),
        reason,
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child)
        .await
        .map_err(|_| failed(format!("no result within {COMMAND_TIMEOUT:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        text = format!("{text}\n{}", stdout.trim());
    }
    if text.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(" [...]");
    }
    Err(InstallError::Invalid {
        command: argv.to_vec(),
        output: format!("{} ({})", text.trim(), output.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_wire::docs::FileDoc;

    fn revision(dir: &std::path::Path, hash: &str, contents: &str) -> RevisionDoc {
        RevisionDoc {
            cluster: "east".into(),
            hash: hash.into(),
            seq: 1,
            files: vec![FileDoc {
                path: dir.join("proxy.conf").to_str().unwrap().into(),
                contents: contents.into(),
            }],
            tls: Vec::new(),
            slots: None,
        }
    }

    /// Accepts a file whose first line is "ok".
    fn validate() -> Vec<String> {
        [
            "sh",
            "-c",
            "head -n1 \"$0\" | grep -qx ok || { echo \"bad config $0\" >&2; exit 3; }",
            "{config}",
        ]
        .map(String::from)
        .to_vec()
    }

    #[tokio::test]
    async fn refused_revision_leaves_the_last_good_files() {
        let dir = std::env::temp_dir().join(format!("sluice-install-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = revision(&dir, "h1", "ok\nroutes v1\n");
        install_valid(&dir, &validate(), &good, None).await.unwrap();
        let bad = revision(&dir, "h2", "broken\n");
        let err = install_valid(&dir, &validate(), &bad, Some(&good))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad config") && err.contains("proxy.conf"),
            "{err}"
        );
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(
            !err.contains("sluice-staging"),
            "names the live path: {err}"
        );
        let main = std::fs::read_to_string(dir.join("proxy.conf")).unwrap();
        assert_eq!(main, "ok\nroutes v1\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["proxy.conf"], "nothing staged is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn config_placeholder_is_substituted_everywhere() {
        let argv = ["haproxy", "-c", "-f", "{config}", "--x={config}"].map(String::from);
        assert_eq!(
            substitute(&argv, "/etc/h.cfg"),
            ["haproxy", "-c", "-f", "/etc/h.cfg", "--x=/etc/h.cfg"]
        );
    }
}
