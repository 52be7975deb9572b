//! The apply stage against a real Swarm (`tests/swarm/up.sh`).
//!
//! Without a Swarm these tests print SKIPPED and pass, unless
//! `SLUICE_REQUIRE_SWARM=1`, which makes a missing Swarm a failure (CI).
//! They create only objects named `sluice-apply-test-*`, and remove them.
//! What they observe is read back with the `docker` CLI, independently of
//! the code under test.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use sluice::apply::{ApplyError, Outcome, SwarmApi, apply_cluster, remove_orphans};
use sluice::config::{Delivery, Extension, PublishMode};
use sluice::plan::ClusterPlan;
use sluice::render::{PluginId, Revision, hash_files};
use sluice::snapshot::Snapshot;
use sluice::wit::latest::{Cluster, OutputFile, PluginInfo, Reload, RenderInput};

const CONFIG_PATH: &str = "/etc/sluice-apply-test/proxy.conf";

struct Swarm {
    swarm: SwarmApi,
    sock: String,
    nginx_image: String,
}

/// The harness's Swarm (`tests/swarm/up.sh`, started on first use), or None
/// after a SKIPPED line when there can be none here.
async fn swarm(test: &str) -> Option<Swarm> {
    let env = sluice_tests::swarm::swarm(test)?;
    let sock = env.manager_sock.clone();
    let swarm = SwarmApi::connect(&format!("unix://{sock}"))
        .await
        .unwrap_or_else(|e| panic!("up.sh succeeded but the manager does not answer: {e}"));
    Some(Swarm {
        swarm,
        sock,
        nginx_image: env.nginx_image.clone(),
    })
}

impl Swarm {
    fn try_docker(&self, args: &[&str]) -> Result<String, String> {
        self.try_docker_with_input(args, None)
    }

    fn try_docker_with_input(&self, args: &[&str], input: Option<&str>) -> Result<String, String> {
        use std::io::Write;
        let mut child = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.sock))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("docker {args:?}: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(input.unwrap_or_default().as_bytes())
            .map_err(|e| e.to_string())?;
        drop(stdin);
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn docker(&self, args: &[&str]) -> String {
        self.try_docker(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn lines(&self, args: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = self
            .docker(args)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect();
        lines.sort();
        lines
    }

    fn service_version(&self, service: &str) -> u64 {
        self.docker(&[
            "service",
            "inspect",
            "--format",
            "{{.Version.Index}}",
            service,
        ])
        .trim()
        .parse()
        .expect("a version index")
    }

    /// The version once Swarm's own follow-up writes (endpoint allocation,
    /// update status) have stopped moving it.
    fn settled_version(&self, service: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = self.service_version(service);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = self.service_version(service);
            if now == last || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    fn service_json(&self, service: &str) -> serde_json::Value {
        let all: serde_json::Value =
            serde_json::from_str(&self.docker(&["service", "inspect", service])).unwrap();
        all[0].clone()
    }

    fn service_exists(&self, service: &str) -> bool {
        self.try_docker(&["service", "inspect", service]).is_ok()
    }

    fn config_names(&self, extension: &str) -> Vec<String> {
        self.lines(&[
            "config",
            "ls",
            "--filter",
            &format!("label=com.docker.sluice.extension={extension}"),
            "--format",
            "{{.Name}}",
        ])
    }

    /// A scratch space: an overlay network and a secret named after `case`;
    /// everything named `sluice-apply-test-<case>*` goes when it drops.
    fn scratch(&self, case: &str) -> Scratch<'_> {
        let prefix = format!("sluice-apply-test-{case}");
        let scratch = Scratch {
            swarm: self,
            prefix: prefix.clone(),
        };
        scratch.clean();
        let net = format!("{prefix}-net");
        self.docker(&["network", "create", "--driver", "overlay", &net]);
        let secret = format!("{prefix}-crt");
        self.try_docker_with_input(
            &["secret", "create", &secret, "-"],
            Some("not a real certificate\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        scratch
    }

    /// What the observe stage would report: the scratch network and secret.
    fn snapshot(&self, prefix: &str) -> sluice::apply::Lists {
        let networks: serde_json::Value =
            serde_json::from_str(&self.docker(&["network", "inspect", &format!("{prefix}-net")]))
                .unwrap();
        let secrets: serde_json::Value =
            serde_json::from_str(&self.docker(&["secret", "inspect", &format!("{prefix}-crt")]))
                .unwrap();
        let snapshot: Snapshot =
            serde_json::from_value(serde_json::json!({"networks": networks, "secrets": secrets}))
                .unwrap();
        sluice::apply::Lists::of(&sluice::snapshot::Swarm::from_snapshot(snapshot))
    }
}

struct Scratch<'a> {
    swarm: &'a Swarm,
    prefix: String,
}

impl Scratch<'_> {
    fn clean(&self) {
        let s = self.swarm;
        let names = |kind: &str| -> BTreeSet<String> {
            let filter = format!("name={}", self.prefix);
            let listed = s.try_docker(&[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"]);
            let mut names: BTreeSet<String> = listed
                .unwrap_or_default()
                .lines()
                .filter(|n| n.starts_with(&self.prefix))
                .map(str::to_owned)
                .collect();
            // `network ls` can miss a swarm network an interrupted run left
            // behind, so the fixed names are always tried as well.
            match kind {
                "network" => names.insert(format!("{}-net", self.prefix)),
                "secret" => names.insert(format!("{}-crt", self.prefix)),
                _ => false,
            };
            names
        };
        for service in names("service") {
            let _ = s.try_docker(&["service", "rm", &service]);
        }
        // Configs, secrets and networks stay "in use" while tasks shut down.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut left = 0;
            for kind in ["config", "secret", "network"] {
                for name in names(kind) {
                    match s.try_docker(&[kind, "rm", &name]) {
                        Err(e) if !e.contains("not found") => left += 1,
                        _ => {}
                    }
                }
            }
            if left == 0 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        self.clean();
    }
}

fn extension(swarm: &Swarm, name: &str, port: u16) -> Extension {
    let mut ext = Extension::new(name);
    ext.proxy_service_name = name.to_owned();
    ext.proxy_image = swarm.nginx_image.clone();
    ext.proxy_replicas = 1;
    // Host mode: a port another test holds leaves a task pending instead of
    // failing the API call.
    ext.publish_mode = PublishMode::Host;
    ext.published_port = port;
    ext.published_ssl_port = port + 1;
    ext.proxy_constraints = vec!["node.role==manager".to_owned()];
    ext.proxy_stop_grace_period = Duration::from_secs(1);
    ext.delivery = Delivery::Rolling;
    ext
}

fn plan(ext: &Extension, snapshot: &sluice::apply::Lists, secrets: &[&str]) -> ClusterPlan {
    ClusterPlan {
        extension: ext.name.clone(),
        input: RenderInput {
            cluster: Cluster {
                name: ext.name.clone(),
                service_cluster: ext.service_cluster.clone(),
                http_port: ext.target_port,
                https_port: ext.target_ssl_port,
                config_path: CONFIG_PATH.to_owned(),
                settings: vec![],
                server_info: "sluice/test".to_owned(),
            },
            hosts: vec![],
            default_backend: None,
        },
        networks: snapshot
            .networks
            .iter()
            .filter_map(|n| n.id.clone())
            .collect(),
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        policies: Vec::new(),
        acme_hosts: Default::default(),
    }
}

fn revision(ext: &Extension, contents: &str) -> Revision {
    let files = vec![OutputFile {
        path: CONFIG_PATH.to_owned(),
        contents: contents.to_owned(),
    }];
    Revision {
        extension: ext.name.clone(),
        plugin: PluginId {
            source: "test".into(),
            sha256: "0".repeat(64),
            interface: "1.0.0".into(),
        },
        info: PluginInfo {
            name: "test".into(),
            version: "0.0.0".into(),
            proxy: "nginx".into(),
            default_config_path: CONFIG_PATH.into(),
            validate_command: vec![],
            reload: Reload::Signal("HUP".into()),
        },
        hash: hash_files(&files),
        slots: vec![],
        shape: None,
        files,
        warnings: vec![],
        refused: vec![],
        peak_memory_bytes: 0,
    }
}

fn short(rev: &Revision) -> &str {
    &rev.hash[..12]
}

#[tokio::test]
async fn create_unchanged_update_and_clean_up() {
    let Some(swarm) = swarm("create_unchanged_update_and_clean_up").await else {
        return;
    };
    let scratch = swarm.scratch("life");
    let (name, instance) = (scratch.prefix.clone(), "sluice-apply-test-life-instance");
    let ext = extension(&swarm, &name, 27180);
    let snapshot = swarm.snapshot(&name);
    let secret = format!("{name}-crt");
    let plan = plan(&ext, &snapshot, &[&secret]);
    let [r1, r2, r3] = ["# one\n", "# two\n", "# three\n"].map(|c| revision(&ext, c));
    let apply = |rev: &Revision| {
        let (ext, plan, snapshot, rev) = (ext.clone(), plan.clone(), snapshot.clone(), rev.clone());
        let swarm = swarm.swarm.clone();
        async move { apply_cluster(&swarm, &ext, &plan, &rev, &snapshot, instance).await }
    };

    assert_eq!(apply(&r1).await.unwrap(), Outcome::Created);
    let service = swarm.service_json(&name);
    let spec = &service["Spec"];
    assert_eq!(spec["Labels"]["com.docker.sluice.instance"], instance);
    assert_eq!(spec["Labels"]["com.docker.sluice.extension"], name.as_str());
    assert_eq!(spec["Labels"]["type"], "com.docker.interlock.core.proxy");
    assert_eq!(
        spec["TaskTemplate"]["Networks"][0]["Target"],
        snapshot.networks[0].id.clone().unwrap()
    );
    assert_eq!(
        spec["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["File"]["Name"],
        secret.as_str()
    );
    assert_eq!(
        spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]["File"]["Name"],
        CONFIG_PATH
    );
    assert_eq!(spec["UpdateConfig"]["FailureAction"], "rollback");
    assert_eq!(spec["UpdateConfig"]["Order"], "stop-first");
    assert_eq!(
        swarm.config_names(&name),
        [format!("{name}-{}", short(&r1))]
    );
    let v1 = swarm.settled_version(&name);

    // The same revision again (as after a daemon restart): no write at all.
    assert_eq!(apply(&r1).await.unwrap(), Outcome::Unchanged);
    assert_eq!(
        swarm.service_version(&name),
        v1,
        "an unchanged apply must not touch the service"
    );

    assert_eq!(apply(&r2).await.unwrap(), Outcome::Updated);
    assert!(swarm.service_version(&name) > v1);
    // r1 stays while it is the rollback target (PreviousSpec).
    let mut want = vec![
        format!("{name}-{}", short(&r1)),
        format!("{name}-{}", short(&r2)),
    ];
    want.sort();
    assert_eq!(swarm.config_names(&name), want);

    assert_eq!(apply(&r3).await.unwrap(), Outcome::Updated);
    let mut want = vec![
        format!("{name}-{}", short(&r2)),
        format!("{name}-{}", short(&r3)),
    ];
    want.sort();
    assert_eq!(
        swarm.config_names(&name),
        want,
        "r1's config object must be gone"
    );
    assert_eq!(apply(&r3).await.unwrap(), Outcome::Unchanged);
}

#[tokio::test]
async fn orphans_go_and_nothing_else() {
    let Some(swarm) = swarm("orphans_go_and_nothing_else").await else {
        return;
    };
    let scratch = swarm.scratch("orphan");
    let prefix = scratch.prefix.clone();
    let snapshot = swarm.snapshot(&prefix);
    let (mine, other) = (
        "sluice-apply-test-orphan-instance",
        "sluice-apply-test-orphan-other",
    );
    let [keep, gone, foreign] = [("keep", 27190), ("gone", 27192), ("foreign", 27194)]
        .map(|(n, port)| extension(&swarm, &format!("{prefix}-{n}"), port));
    for (ext, instance) in [(&keep, mine), (&gone, mine), (&foreign, other)] {
        let rev = revision(ext, &format!("# {}\n", ext.name));
        let outcome = apply_cluster(
            &swarm.swarm,
            ext,
            &plan(ext, &snapshot, &[]),
            &rev,
            &snapshot,
            instance,
        )
        .await;
        assert_eq!(outcome.unwrap(), Outcome::Created, "{}", ext.name);
    }
    let keep_version = swarm.settled_version(&keep.name);

    let removed = remove_orphans(&swarm.swarm, mine, &BTreeSet::from([keep.name.clone()]))
        .await
        .unwrap();
    assert_eq!(removed, std::slice::from_ref(&gone.name));
    assert!(!swarm.service_exists(&gone.name));
    assert_eq!(
        swarm.config_names(&gone.name),
        Vec::<String>::new(),
        "its config objects go with it"
    );
    assert!(swarm.service_exists(&keep.name) && swarm.service_exists(&foreign.name));
    assert_eq!(swarm.service_version(&keep.name), keep_version);
    assert_eq!(swarm.config_names(&keep.name).len(), 1);
    assert_eq!(
        swarm.config_names(&foreign.name).len(),
        1,
        "another instance's objects stay"
    );
}

#[tokio::test]
async fn services_we_do_not_own_are_refused() {
    let Some(swarm) = swarm("services_we_do_not_own_are_refused").await else {
        return;
    };
    let scratch = swarm.scratch("owner");
    let prefix = scratch.prefix.clone();
    let snapshot = swarm.snapshot(&prefix);

    // Made by someone else, by hand.
    let by_hand = extension(&swarm, &format!("{prefix}-byhand"), 27200);
    swarm.docker(&[
        "service",
        "create",
        "--detach",
        "--quiet",
        "--name",
        &by_hand.name,
        "--replicas",
        "0",
        "--label",
        "owner=someone",
        &swarm.nginx_image,
    ]);
    // Made by another Sluice instance.
    let other = extension(&swarm, &format!("{prefix}-other"), 27202);
    let rev = revision(&other, "# other\n");
    let other_plan = plan(&other, &snapshot, &[]);
    let created = apply_cluster(
        &swarm.swarm,
        &other,
        &other_plan,
        &rev,
        &snapshot,
        "sluice-apply-test-owner-a",
    )
    .await;
    assert_eq!(created.unwrap(), Outcome::Created);

    for ext in [&by_hand, &other] {
        let before = swarm.settled_version(&ext.name);
        let rev = revision(ext, "# mine now?\n");
        let err = apply_cluster(
            &swarm.swarm,
            ext,
            &plan(ext, &snapshot, &[]),
            &rev,
            &snapshot,
            "sluice-apply-test-owner-b",
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ApplyError::NotOwned { .. }), "{err}");
        assert!(
            err.to_string().contains(&format!("{:?}", ext.name)),
            "{err}"
        );
        assert_eq!(
            swarm.service_version(&ext.name),
            before,
            "{} must be left alone",
            ext.name
        );
    }
    let by_b = swarm.lines(&[
        "config",
        "ls",
        "--filter",
        "label=com.docker.sluice.instance=sluice-apply-test-owner-b",
        "--format",
        "{{.Name}}",
    ]);
    assert_eq!(
        by_b,
        Vec::<String>::new(),
        "nothing is created for a refused service"
    );
}

#[tokio::test]
async fn refusals_create_nothing() {
    let Some(swarm) = swarm("refusals_create_nothing").await else {
        return;
    };
    let scratch = swarm.scratch("refuse");
    let prefix = scratch.prefix.clone();
    let snapshot = swarm.snapshot(&prefix);
    let ext = extension(&swarm, &prefix, 27210);

    let missing = format!("{prefix}-nosuch");
    let err = apply_cluster(
        &swarm.swarm,
        &ext,
        &plan(&ext, &snapshot, &[&missing]),
        &revision(&ext, "# x\n"),
        &snapshot,
        "i",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ApplyError::MissingSecret { secret, .. } if *secret == missing),
        "{err}"
    );

    let huge = revision(&ext, &"#".repeat(600 * 1024));
    let err = apply_cluster(
        &swarm.swarm,
        &ext,
        &plan(&ext, &snapshot, &[]),
        &huge,
        &snapshot,
        "i",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ApplyError::ConfigTooLarge { .. }), "{err}");

    assert!(!swarm.service_exists(&ext.name));
    assert_eq!(swarm.config_names(&ext.name), Vec::<String>::new());
}
