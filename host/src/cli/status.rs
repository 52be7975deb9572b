//! `sluice status`: what each proxy replica runs, from the daemon's API.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::agent::client::DaemonClient;
use sluice::plan::view::View;
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
    if !status.acme.is_empty() {
        out.push_str("ACME certificates:\n");
    }
    for (host, a) in &status.acme {
        out.push_str(&format!("  {host}: {}", a.state));
        if let Some(end) = a.not_after_ms {
            let left = end.saturating_sub(now) / 1000;
            out.push_str(&format!(
                ", serving one that ends in {}d {}h",
                left / 86_400,
                left % 86_400 / 3600
            ));
        }
        if let Some(retry) = a.retry_in_s {
            out.push_str(&format!(", next try in {retry}s"));
        }
        out.push('\n');
        if let Some(error) = &a.error {
            out.push_str(&format!("    {}\n", error.replace('\n', "\n    ")));
        }
    }
    if let Some(plan) = &status.plan {
        match serde_json::from_value::<View>(plan.clone()) {
            Ok(view) => out.push_str(&plan_table(&view, now)),
            Err(e) => out.push_str(&format!(
                "the daemon's plan is in a shape this sluice does not read ({e}); --json shows it\n"
            )),
        }
    }
    // Messages carry plugin and Docker text: no control sequence reaches
    // the operator's terminal.
    printable(&out)
}

/// `text` with every control character but the line break shown as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

/// The daemon's plan as the status page shows it: routes per host, and each
/// excluded service with the label at fault.
fn plan_table(view: &View, now: u64) -> String {
    let mut out = format!(
        "plan (made {:.1}s ago):\n",
        now.saturating_sub(view.updated_ms) as f64 / 1000.0
    );
    for c in &view.clusters {
        out.push_str(&format!(
            "  cluster {}: plugin {}, revision {}\n",
            c.name,
            c.plugin.as_deref().unwrap_or("-"),
            c.revision.as_deref().unwrap_or("-"),
        ));
        if let Some(why) = &c.failing {
            out.push_str(&format!("    failing: {why}\n"));
        }
        for r in &c.routes {
            let services: Vec<String> = r
                .services
                .iter()
                .map(|s| {
                    let plural = if s.servers == 1 { "" } else { "s" };
                    format!(
                        "{} ({} server{plural}, weight {})",
                        s.service, s.servers, s.weight
                    )
                })
                .collect();
            let to = if services.is_empty() {
                "no running task (503)".to_owned()
            } else {
                services.join(", ")
            };
            out.push_str(&format!("    {}{} -> {to}\n", r.host, shown_path(&r.path)));
        }
    }
    if !view.excluded.is_empty() {
        out.push_str("excluded services:\n");
    }
    for e in &view.excluded {
        out.push_str(&format!(
            "  {}{}{}: {}\n",
            e.service,
            e.cluster
                .as_deref()
                .map_or(String::new(), |c| format!(" (cluster {c})")),
            e.label
                .as_deref()
                .map_or(String::new(), |l| format!(", {l}")),
            e.message.replace('\n', "\n    ")
        ));
    }
    out
}

fn shown_path(path: &str) -> &str {
    if path == "/" { "" } else { path }
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
                runtime_updates: 0,
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
                runtime_updates: 0,
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

    #[test]
    fn control_sequences_never_reach_the_terminal() {
        let view = View {
            excluded: vec![sluice::plan::view::Excluded {
                cluster: None,
                service: "bad".into(),
                label: None,
                message: "\u{1b}]0;owned\u{7}\u{1b}[2Jgone".into(),
            }],
            ..View::default()
        };
        let status = StatusDoc {
            plan: Some(serde_json::to_value(&view).unwrap()),
            ..StatusDoc::default()
        };
        let text = table(&status, 0);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("?]0;owned??[2Jgone"), "{text:?}");
        let odd = StatusDoc {
            plan: Some(serde_json::json!({"clusters": 3})),
            ..StatusDoc::default()
        };
        assert!(table(&odd, 0).contains("does not read"));
    }

    #[test]
    fn table_shows_the_plans_routes_and_exclusions() {
        use sluice::plan::view::{ClusterView, Excluded, RouteView, ServiceView};
        let view = View {
            updated_ms: 9_500,
            clusters: vec![ClusterView {
                name: "east".into(),
                plugin: Some("nginx".into()),
                revision: Some("aaaaaaaaaaaa".into()),
                failing: None,
                routes: vec![
                    RouteView {
                        host: "a.test".into(),
                        path: "/".into(),
                        services: vec![ServiceView {
                            service: "web".into(),
                            servers: 2,
                            weight: 200,
                        }],
                    },
                    RouteView {
                        host: "a.test".into(),
                        path: "/api".into(),
                        services: Vec::new(),
                    },
                ],
            }],
            excluded: vec![Excluded {
                cluster: Some("east".into()),
                service: "bad".into(),
                label: Some("com.docker.lb.port".into()),
                message: "must be a port number".into(),
            }],
        };
        let status = StatusDoc {
            plan: Some(serde_json::to_value(&view).unwrap()),
            ..StatusDoc::default()
        };
        assert_eq!(
            table(&status, 10_000),
            "no clusters published yet\n\
             plan (made 0.5s ago):\n\
             \x20 cluster east: plugin nginx, revision aaaaaaaaaaaa\n\
             \x20   a.test -> web (2 servers, weight 200)\n\
             \x20   a.test/api -> no running task (503)\n\
             excluded services:\n\
             \x20 bad (cluster east), com.docker.lb.port: must be a port number\n"
        );
    }

    #[test]
    fn table_shows_each_acme_host_and_why_it_has_no_new_certificate() {
        use sluice::serve::wire::AcmeHostStatus;
        let mut status = StatusDoc::default();
        status.acme.insert(
            "a.example".into(),
            AcmeHostStatus {
                state: "issued".into(),
                not_after_ms: Some(10_000 + (2 * 86_400 + 3 * 3600) * 1000),
                ..AcmeHostStatus::default()
            },
        );
        status.acme.insert(
            "b.example".into(),
            AcmeHostStatus {
                state: "failed".into(),
                error: Some("rate limited\n\u{1b}[2J".into()),
                retry_in_s: Some(60),
                ..AcmeHostStatus::default()
            },
        );
        assert_eq!(
            table(&status, 10_000),
            "no clusters published yet\n\
             ACME certificates:\n\
             \x20 a.example: issued, serving one that ends in 2d 3h\n\
             \x20 b.example: failed, next try in 60s\n\
             \x20   rate limited\n\
             \x20   ?[2J\n"
        );
    }
}
