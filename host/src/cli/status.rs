//! `sluice status`: what each proxy replica runs, from the daemon's API.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::agent::client::DaemonClient;
use sluice::serve::Keyring;
use sluice::serve::wire::{StatusDoc, now_ms};
use sluice::trust::Credentials;

/// With `credentials_file` (an agent's), that cluster's view; else the full
/// view, with the admin token and the CA derived from the daemon's key.
pub fn run(
    endpoint: &str,
    credentials_file: Option<(&Path, &str)>,
    key_file: &Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let client = match credentials_file {
        Some((path, cluster)) => {
            let creds = Credentials::load(path, cluster)?;
            DaemonClient::new(endpoint, &creds.token, creds.tls()?)?
        }
        None => {
            let keys = Keyring::load(key_file).context(
                "deriving the admin token (pass --credentials-file and --cluster to use an agent's credentials instead)",
            )?;
            DaemonClient::new(endpoint, &keys.admin_token(), keys.admin_tls()?)?
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let status = runtime.block_on(client.status())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", table(&status, now_ms()));
    }
    let failing = status
        .clusters
        .values()
        .flat_map(|c| c.replicas.values())
        .any(|r| r.failed.is_some());
    Ok(if failing {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn table(status: &StatusDoc, now: u64) -> String {
    let short = |h: Option<&str>| h.map_or("-".to_owned(), |h| h[..h.len().min(12)].to_owned());
    let ago = |ms: u64| format!("{:.1}s ago", now.saturating_sub(ms) as f64 / 1000.0);
    let mut out = String::new();
    if status.clusters.is_empty() {
        out.push_str("no clusters published yet\n");
    }
    for (name, c) in &status.clusters {
        out.push_str(&format!(
            "cluster {name}: revision {} (published {})\n",
            short(c.revision.as_deref()),
            c.published_ms.map_or("never".to_owned(), ago)
        ));
        if c.replicas.is_empty() {
            out.push_str("  no replica has reported\n");
        }
        for (replica, r) in &c.replicas {
            let state = match (&r.running, &c.revision) {
                (Some(run), Some(newest)) if run == newest => "current",
                (None, _) => "not serving",
                _ => "behind",
            };
            out.push_str(&format!(
                "  {replica}: runs {} ({state}), seen {}\n",
                short(r.running.as_deref()),
                ago(r.last_seen_ms)
            ));
            if let Some(f) = &r.failed {
                out.push_str(&format!(
                    "    refused {}: {}\n",
                    short(Some(&f.revision)),
                    f.message.replace('\n', "\n      ")
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sluice::serve::wire::{ClusterStatus, Failure, ReplicaStatus};

    use super::*;

    #[test]
    fn table_shows_each_replica_and_its_error() {
        let mut status = StatusDoc::default();
        let mut east = ClusterStatus {
            revision: Some("aaaaaaaaaaaaaaaa".into()),
            published_ms: Some(1_000),
            ..Default::default()
        };
        east.replicas.insert(
            "proxy.1".into(),
            ReplicaStatus {
                running: Some("aaaaaaaaaaaaaaaa".into()),
                failed: None,
                last_seen_ms: 9_000,
                reloads: 0,
                bad_tls: Vec::new(),
            },
        );
        east.replicas.insert(
            "proxy.2".into(),
            ReplicaStatus {
                running: Some("bbbbbbbbbbbbbbbb".into()),
                failed: Some(Failure {
                    revision: "aaaaaaaaaaaaaaaa".into(),
                    message: "nginx: [emerg] bad".into(),
                }),
                last_seen_ms: 8_000,
                reloads: 0,
                bad_tls: Vec::new(),
            },
        );
        status.clusters.insert("east".into(), east);
        assert_eq!(
            table(&status, 10_000),
            "cluster east: revision aaaaaaaaaaaa (published 9.0s ago)\n\
             \x20 proxy.1: runs aaaaaaaaaaaa (current), seen 1.0s ago\n\
             \x20 proxy.2: runs bbbbbbbbbbbb (behind), seen 2.0s ago\n\
             \x20   refused aaaaaaaaaaaa: nginx: [emerg] bad\n"
        );
    }
}
