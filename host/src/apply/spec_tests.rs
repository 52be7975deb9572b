use std::collections::BTreeSet;
use std::time::Duration;

use bollard::models::{
    EndpointPortConfigProtocolEnum as Proto, EndpointPortConfigPublishModeEnum as Publish,
    ServiceSpec, ServiceSpecRollbackConfigOrderEnum as RollbackOrder,
    ServiceSpecUpdateConfigFailureActionEnum as Failure, ServiceSpecUpdateConfigOrderEnum as Order,
    TaskSpecContainerSpec, TaskSpecPlacement,
};

use super::*;
use crate::wit::latest::{Cluster, RenderInput};

const INSTANCE: &str = "sluice-1";

fn ext() -> Extension {
    Extension::new("east")
}

fn plan() -> ClusterPlan {
    ClusterPlan {
        extension: "east".into(),
        input: RenderInput {
            cluster: Cluster {
                name: "east".into(),
                service_cluster: "east".into(),
                http_port: 80,
                https_port: 443,
                config_path: "/etc/nginx/nginx.conf".into(),
                settings: vec![],
                server_info: "sluice/test".into(),
            },
            hosts: vec![],
            default_backend: None,
        },
        networks: BTreeSet::from(["net-b-id".to_owned(), "net-a-id".to_owned()]),
        secrets: BTreeSet::new(),
        acme_hosts: Default::default(),
        policies: Vec::new(),
    }
}

fn ctx() -> SpecContext {
    SpecContext {
        instance: INSTANCE.into(),
        networks: [
            ("front", "net-f-id"),
            ("apps", "net-a-id"),
            ("more", "net-b-id"),
        ]
        .map(|(n, i)| (n.to_owned(), i.to_owned()))
        .into(),
        secrets: [("site.crt", "sec-crt-id"), ("site.key", "sec-key-id")]
            .map(|(n, i)| (n.to_owned(), i.to_owned()))
            .into(),
    }
}

fn rolling(revision: &str) -> ProxyDelivery {
    ProxyDelivery::ConfigObjects {
        revision: revision.into(),
        configs: vec![DeliveredConfig {
            id: format!("cfg-{revision}"),
            name: format!("sluice-proxy-east-{revision}"),
            path: "/etc/nginx/nginx.conf".into(),
        }],
    }
}

fn build(ext: &Extension, plan: &ClusterPlan) -> ServiceSpec {
    proxy_service_spec(ext, plan, &rolling("r1"), &ctx()).expect("spec builds")
}

fn container(spec: &ServiceSpec) -> &TaskSpecContainerSpec {
    spec.task_template
        .as_ref()
        .unwrap()
        .container_spec
        .as_ref()
        .unwrap()
}

fn placement(spec: &ServiceSpec) -> Option<&TaskSpecPlacement> {
    spec.task_template.as_ref().unwrap().placement.as_ref()
}

fn label<'a>(spec: &'a ServiceSpec, key: &str) -> Option<&'a str> {
    owner::label(&spec.labels, key)
}

fn ports(spec: &ServiceSpec) -> Vec<(i64, i64, Publish, Proto)> {
    spec.endpoint_spec
        .as_ref()
        .unwrap()
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p.published_port.unwrap(),
                p.target_port.unwrap(),
                p.publish_mode.unwrap(),
                p.protocol.unwrap(),
            )
        })
        .collect()
}

fn network_targets(spec: &ServiceSpec) -> Vec<String> {
    spec.task_template
        .as_ref()
        .unwrap()
        .networks
        .iter()
        .flatten()
        .map(|n| n.target.clone().unwrap())
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

type Check = fn(&ServiceSpec);
type Set = fn(&mut Extension);

/// One row per Extension key: set it, then check where it lands in the spec.
#[test]
fn every_key_lands_in_the_spec() {
    let table: Vec<(&str, Set, Check)> = vec![
        (
            "ProxyImage",
            |e| e.proxy_image = "sha256:abc".into(),
            |s| assert_eq!(container(s).image.as_deref(), Some("sha256:abc")),
        ),
        (
            "ProxyArgs",
            |e| e.proxy_args = strings(&["-g", "daemon off;"]),
            |s| assert_eq!(container(s).args, Some(strings(&["-g", "daemon off;"]))),
        ),
        (
            "ProxyArgs empty",
            |_| {},
            |s| assert_eq!(container(s).args, None),
        ),
        (
            "ProxyServiceName",
            |e| e.proxy_service_name = "edge".into(),
            |s| assert_eq!(s.name.as_deref(), Some("edge")),
        ),
        (
            "ProxyReplicas",
            |e| e.proxy_replicas = 5,
            |s| {
                assert_eq!(
                    s.mode
                        .as_ref()
                        .unwrap()
                        .replicated
                        .as_ref()
                        .unwrap()
                        .replicas,
                    Some(5)
                )
            },
        ),
        (
            "ProxyStopSignal",
            |e| e.proxy_stop_signal = "SIGTERM".into(),
            |s| assert_eq!(container(s).stop_signal.as_deref(), Some("SIGTERM")),
        ),
        (
            "ProxyStopGracePeriod",
            |e| e.proxy_stop_grace_period = Duration::from_millis(1500),
            |s| assert_eq!(container(s).stop_grace_period, Some(1_500_000_000)),
        ),
        (
            "ProxyConstraints",
            |e| e.proxy_constraints = strings(&["node.role==worker", "node.labels.lb==yes"]),
            |s| {
                assert_eq!(
                    placement(s).unwrap().constraints,
                    Some(strings(&["node.role==worker", "node.labels.lb==yes"]))
                )
            },
        ),
        ("no placement", |_| {}, |s| assert_eq!(placement(s), None)),
        (
            "ProxyPlacementPreferences",
            |e| {
                e.proxy_placement_preferences =
                    strings(&["spread=node.labels.zone", " spread = node.labels.rack "])
            },
            |s| {
                let prefs: Vec<_> = placement(s)
                    .unwrap()
                    .preferences
                    .iter()
                    .flatten()
                    .map(|p| {
                        p.spread
                            .as_ref()
                            .unwrap()
                            .spread_descriptor
                            .clone()
                            .unwrap()
                    })
                    .collect();
                assert_eq!(prefs, strings(&["node.labels.zone", "node.labels.rack"]));
            },
        ),
        (
            "ProxyLabels",
            |e| e.proxy_labels = [("team".to_owned(), "edge".to_owned())].into(),
            |s| {
                assert_eq!(label(s, "team"), Some("edge"));
                assert_eq!(label(s, "type"), Some("com.docker.interlock.core.proxy"));
            },
        ),
        (
            "ProxyLabels cannot forge ownership",
            |e| e.proxy_labels = [(owner::INSTANCE.to_owned(), "other".to_owned())].into(),
            |s| assert_eq!(label(s, owner::INSTANCE), Some(INSTANCE)),
        ),
        (
            "ProxyContainerLabels",
            |e| e.proxy_container_labels = [("log".to_owned(), "json".to_owned())].into(),
            |s| {
                let labels = container(s).labels.as_ref().unwrap();
                assert_eq!(labels.get("log").map(String::as_str), Some("json"));
                assert_eq!(
                    labels.get(owner::EXTENSION).map(String::as_str),
                    Some("east")
                );
                assert_eq!(
                    label(s, "log"),
                    None,
                    "container labels stay off the service"
                );
            },
        ),
        (
            "ProxyUpdateDelay",
            |e| e.proxy_update_delay = Some(Duration::from_secs(2)),
            |s| {
                let u = s.update_config.as_ref().unwrap();
                assert_eq!(u.delay, Some(2_000_000_000));
                assert_eq!(u.failure_action, Some(Failure::ROLLBACK));
                assert_eq!(u.parallelism, Some(1));
                assert_eq!(
                    s.rollback_config.as_ref().unwrap().delay,
                    Some(2_000_000_000)
                );
            },
        ),
        (
            "no ProxyUpdateDelay",
            |_| {},
            |s| assert_eq!(s.update_config.as_ref().unwrap().delay, None),
        ),
        (
            "PublishMode ingress",
            |_| {},
            |s| {
                assert_eq!(
                    ports(s),
                    vec![
                        (80, 80, Publish::INGRESS, Proto::TCP),
                        (8443, 443, Publish::INGRESS, Proto::TCP)
                    ]
                );
                assert_eq!(
                    s.update_config.as_ref().unwrap().order,
                    Some(Order::START_FIRST)
                );
                assert_eq!(
                    s.rollback_config.as_ref().unwrap().order,
                    Some(RollbackOrder::START_FIRST)
                );
            },
        ),
        (
            "PublishMode host + ports",
            |e| {
                e.publish_mode = PublishMode::Host;
                (
                    e.published_port,
                    e.target_port,
                    e.published_ssl_port,
                    e.target_ssl_port,
                ) = (8080, 8081, 9443, 9444);
            },
            |s| {
                assert_eq!(
                    ports(s),
                    vec![
                        (8080, 8081, Publish::HOST, Proto::TCP),
                        (9443, 9444, Publish::HOST, Proto::TCP)
                    ]
                );
                assert_eq!(
                    s.update_config.as_ref().unwrap().order,
                    Some(Order::STOP_FIRST)
                );
                assert_eq!(
                    s.rollback_config.as_ref().unwrap().order,
                    Some(RollbackOrder::STOP_FIRST)
                );
            },
        ),
        (
            "plan networks, sorted",
            |_| {},
            |s| assert_eq!(network_targets(s), strings(&["net-a-id", "net-b-id"])),
        ),
        (
            "Networks pins by name or ID",
            |e| e.networks = Some(strings(&["front", "net-a-id"])),
            |s| assert_eq!(network_targets(s), strings(&["net-a-id", "net-f-id"])),
        ),
        (
            "Networks empty pins none",
            |e| e.networks = Some(vec![]),
            |s| assert_eq!(network_targets(s), Vec::<String>::new()),
        ),
        (
            "owner labels",
            |_| {},
            |s| {
                assert_eq!(label(s, owner::INSTANCE), Some(INSTANCE));
                assert_eq!(label(s, owner::EXTENSION), Some("east"));
                assert_eq!(label(s, owner::REVISION), Some("r1"));
                assert_eq!(label(s, owner::SPEC_HASH).map(str::len), Some(64));
            },
        ),
        (
            "config object mount",
            |_| {},
            |s| {
                let configs = container(s).configs.as_ref().unwrap();
                assert_eq!(configs.len(), 1);
                let file = configs[0].file.as_ref().unwrap();
                assert_eq!(
                    (
                        configs[0].config_id.as_deref(),
                        configs[0].config_name.as_deref(),
                        file.name.as_deref()
                    ),
                    (
                        Some("cfg-r1"),
                        Some("sluice-proxy-east-r1"),
                        Some("/etc/nginx/nginx.conf")
                    )
                );
                assert_eq!(
                    (file.uid.as_deref(), file.gid.as_deref(), file.mode),
                    (Some("0"), Some("0"), Some(0o444))
                );
            },
        ),
    ];
    for (name, set, check) in table {
        let mut e = ext();
        set(&mut e);
        let spec = build(&e, &plan());
        eprintln!("case: {name}");
        check(&spec);
    }
}

#[test]
fn secrets_mount_at_run_secrets_by_name() {
    let mut p = plan();
    p.secrets = BTreeSet::from(["site.key".to_owned(), "site.crt".to_owned()]);
    let spec = build(&ext(), &p);
    let got: Vec<_> = container(&spec)
        .secrets
        .iter()
        .flatten()
        .map(|s| {
            let f = s.file.as_ref().unwrap();
            (
                s.secret_id.clone().unwrap(),
                s.secret_name.clone().unwrap(),
                f.name.clone().unwrap(),
                f.uid.clone().unwrap(),
                f.gid.clone().unwrap(),
                f.mode.unwrap(),
            )
        })
        .collect();
    let want = |id: &str, n: &str| {
        (
            id.to_owned(),
            n.to_owned(),
            n.to_owned(),
            "0".to_owned(),
            "0".to_owned(),
            0o444,
        )
    };
    assert_eq!(
        got,
        vec![
            want("sec-crt-id", "site.crt"),
            want("sec-key-id", "site.key")
        ]
    );
}

#[test]
fn errors_name_what_is_missing() {
    let mut p = plan();
    p.secrets = BTreeSet::from(["gone.pem".to_owned()]);
    let err = proxy_service_spec(&ext(), &p, &rolling("r1"), &ctx())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"gone.pem\"") && err.contains("\"east\""),
        "{err}"
    );

    let mut e = ext();
    e.networks = Some(strings(&["nowhere"]));
    let err = proxy_service_spec(&e, &plan(), &rolling("r1"), &ctx())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"nowhere\"") && err.contains("\"east\""),
        "{err}"
    );

    for bad in [
        "node.labels.zone",
        "pack=node.labels.zone",
        "spread=",
        "spread= ",
    ] {
        let mut e = ext();
        e.proxy_placement_preferences = strings(&[bad]);
        let err = proxy_service_spec(&e, &plan(), &rolling("r1"), &ctx()).unwrap_err();
        assert!(
            matches!(&err, ApplyError::PlacementPreference { value, .. } if value == bad),
            "{bad}: {err}"
        );
    }
}

fn hash(spec: &ServiceSpec) -> String {
    label(spec, owner::SPEC_HASH).unwrap().to_owned()
}

#[test]
fn hash_is_deterministic_and_tracks_every_change() {
    let base = hash(&build(&ext(), &plan()));
    assert_eq!(
        hash(&build(&ext(), &plan())),
        base,
        "same inputs, same hash"
    );

    // An unchanged revision reuses the same config objects: same spec.
    let again = proxy_service_spec(&ext(), &plan(), &rolling("r1"), &ctx()).unwrap();
    assert_eq!(hash(&again), base);
    let next = proxy_service_spec(&ext(), &plan(), &rolling("r2"), &ctx()).unwrap();
    assert_ne!(hash(&next), base, "a new revision is a new spec");

    let changes: Vec<(&str, Set)> = vec![
        ("ProxyImage", |e| e.proxy_image = "other".into()),
        ("ProxyArgs", |e| e.proxy_args = strings(&["-x"])),
        ("ProxyReplicas", |e| e.proxy_replicas = 3),
        ("ProxyStopSignal", |e| {
            e.proxy_stop_signal = "SIGTERM".into()
        }),
        ("ProxyStopGracePeriod", |e| {
            e.proxy_stop_grace_period = Duration::from_secs(9)
        }),
        ("ProxyConstraints", |e| {
            e.proxy_constraints = strings(&["node.role==worker"])
        }),
        ("ProxyPlacementPreferences", |e| {
            e.proxy_placement_preferences = strings(&["spread=node.id"])
        }),
        ("ProxyLabels", |e| {
            e.proxy_labels = [("a".to_owned(), "b".to_owned())].into()
        }),
        ("ProxyContainerLabels", |e| {
            e.proxy_container_labels = [("a".to_owned(), "b".to_owned())].into()
        }),
        ("ProxyUpdateDelay", |e| {
            e.proxy_update_delay = Some(Duration::from_secs(1))
        }),
        ("PublishMode", |e| e.publish_mode = PublishMode::Host),
        ("PublishedPort", |e| e.published_port = 81),
        ("TargetPort", |e| e.target_port = 81),
        ("PublishedSSLPort", |e| e.published_ssl_port = 8444),
        ("TargetSSLPort", |e| e.target_ssl_port = 444),
        ("Networks", |e| e.networks = Some(strings(&["front"]))),
    ];
    let mut seen = BTreeSet::from([base.clone()]);
    for (key, change) in changes {
        let mut e = ext();
        change(&mut e);
        assert!(
            seen.insert(hash(&build(&e, &plan()))),
            "changing {key} must change the hash"
        );
    }

    let mut p = plan();
    p.networks.insert("net-f-id".into());
    assert_ne!(
        hash(&build(&ext(), &p)),
        base,
        "a new network changes the hash"
    );
    let mut p = plan();
    p.secrets.insert("site.crt".into());
    assert_ne!(
        hash(&build(&ext(), &p)),
        base,
        "a new secret changes the hash"
    );
    let mut c = ctx();
    c.instance = "sluice-2".into();
    assert_ne!(
        hash(&proxy_service_spec(&ext(), &plan(), &rolling("r1"), &c).unwrap()),
        base
    );
}

#[test]
fn hash_ignores_input_order() {
    let mut a = ext();
    a.networks = Some(strings(&["front", "apps"]));
    let mut b = ext();
    b.networks = Some(strings(&["apps", "front"]));
    assert_eq!(hash(&build(&a, &plan())), hash(&build(&b, &plan())));

    let cfg = |path: &str| DeliveredConfig {
        id: format!("id{path}"),
        name: format!("n{path}"),
        path: path.into(),
    };
    let one = ProxyDelivery::ConfigObjects {
        revision: "r".into(),
        configs: vec![cfg("/a"), cfg("/b")],
    };
    let two = ProxyDelivery::ConfigObjects {
        revision: "r".into(),
        configs: vec![cfg("/b"), cfg("/a")],
    };
    let [x, y] =
        [one, two].map(|d| hash(&proxy_service_spec(&ext(), &plan(), &d, &ctx()).unwrap()));
    assert_eq!(x, y);
}

#[test]
fn agent_delivery_mounts_nothing_per_revision() {
    let agent = ProxyDelivery::Agent {
        command: Vec::new(),
        env: strings(&["SLUICE_AGENT_URL=http://sluice:8080"]),
        token: None,
    };
    let spec = proxy_service_spec(&ext(), &plan(), &agent, &ctx()).unwrap();
    assert_eq!(container(&spec).configs, None);
    assert_eq!(
        container(&spec).env,
        Some(strings(&["SLUICE_AGENT_URL=http://sluice:8080"]))
    );
    assert_eq!(
        label(&spec, owner::REVISION),
        None,
        "the revision is not part of a hitless spec"
    );
    assert_ne!(hash(&spec), hash(&build(&ext(), &plan())));
    assert_eq!(label(&spec, owner::METRICS_PORT), None);
    let mut with_metrics = ext();
    with_metrics.agent_metrics_port = Some(9102);
    let spec = proxy_service_spec(&with_metrics, &plan(), &agent, &ctx()).unwrap();
    assert_eq!(
        label(&spec, owner::METRICS_PORT),
        Some("9102"),
        "Prometheus finds the replicas by this label"
    );
    assert_eq!(
        container(&spec)
            .sysctls
            .as_ref()
            .and_then(|s| s.get("net.unix.max_dgram_qlen"))
            .map(String::as_str),
        Some("1024"),
        "the traffic socket's queue"
    );
    // Rolling delivery runs no agent: nothing to scrape, no label.
    let spec = proxy_service_spec(&with_metrics, &plan(), &rolling("r1"), &ctx()).unwrap();
    assert_eq!(label(&spec, owner::METRICS_PORT), None);
}

#[test]
fn agent_credentials_are_readable_by_root_only() {
    let agent = ProxyDelivery::Agent {
        command: Vec::new(),
        env: Vec::new(),
        token: Some(SecretMount {
            id: "c1".into(),
            name: "sluice-agent-east-01234567".into(),
            target: "sluice-agent".into(),
        }),
    };
    let spec = proxy_service_spec(&ext(), &plan(), &agent, &ctx()).unwrap();
    let secrets = container(&spec).secrets.clone().unwrap_or_default();
    let creds = secrets
        .iter()
        .find(|s| s.secret_id.as_deref() == Some("c1"))
        .expect("the credentials are mounted");
    let file = creds.file.as_ref().unwrap();
    assert_eq!(file.mode, Some(0o400));
    assert_eq!(file.uid.as_deref(), Some("0"));
    assert_eq!(file.name.as_deref(), Some("sluice-agent"));
}

#[test]
fn context_comes_from_the_snapshot() {
    let snapshot: Snapshot = serde_json::from_value(serde_json::json!({
        "networks": [{"Name": "apps", "Id": "n1"}, {"Name": "front", "Id": "n2"}],
        "secrets": [{"ID": "s1", "Spec": {"Name": "site.crt"}}]
    }))
    .unwrap();
    let c = SpecContext::from_snapshot(INSTANCE, &snapshot);
    assert_eq!(c.instance, INSTANCE);
    assert_eq!(
        c.networks,
        [("apps", "n1"), ("front", "n2")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .into()
    );
    assert_eq!(c.secrets, [("site.crt".to_owned(), "s1".to_owned())].into());
}
