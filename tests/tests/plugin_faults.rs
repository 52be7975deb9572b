//! A plugin that loops, traps or allocates without bound fails that render
//! with an error naming plugin and cluster, and the host carries on.

use std::path::Path;
use std::time::{Duration, Instant};

use sluice::render::{CodePolicy, Limits, PLUGIN_DIR, PluginError, PluginHost};
use sluice_tests::inputs;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(PLUGIN_DIR).join(format!("sluice_fixture_{name}.wasm"))
}

fn host() -> PluginHost {
    PluginHost::with_limits(Limits {
        deadline: Duration::from_millis(500),
        memory_bytes: 128 << 20,
        ..Limits::default()
    })
    .unwrap()
}

/// After a faulty plugin failed, a good one renders in the same host.
fn host_still_renders(host: &PluginHost) {
    let nginx = host
        .load_file(
            &Path::new(PLUGIN_DIR).join("sluice_plugin_nginx.wasm"),
            None,
        )
        .unwrap();
    let files = nginx
        .render(&inputs::one_host("/tmp/sluice-faults/nginx.conf"))
        .unwrap()
        .files;
    assert!(
        files[0].contents.contains("demo.local"),
        "{}",
        files[0].contents
    );
}

#[test]
fn endless_loop_hits_the_deadline() {
    let host = host();
    let plugin = host.load_file(&fixture("spin"), None).unwrap();
    let started = Instant::now();
    let err = plugin
        .render(&inputs::one_host("/etc/fixture/fixture.conf"))
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("sluice_fixture_spin.wasm") && msg.contains("cluster east"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(3), "stopped after {took:?}");
    host_still_renders(&host);
}

#[test]
fn trap_is_reported() {
    let host = host();
    let plugin = host.load_file(&fixture("trap"), None).unwrap();
    let err = plugin
        .render(&inputs::one_host("/etc/fixture/fixture.conf"))
        .unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("sluice_fixture_trap.wasm") && msg.contains("cluster east"),
        "{msg}"
    );
    host_still_renders(&host);
}

#[test]
fn one_gib_allocation_hits_the_memory_cap() {
    let host = host();
    let plugin = host.load_file(&fixture("hog"), None).unwrap();
    let err = plugin
        .render(&inputs::one_host("/etc/fixture/fixture.conf"))
        .unwrap_err();
    assert!(matches!(err, PluginError::MemoryLimit { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("sluice_fixture_hog.wasm")
            && msg.contains("cluster east")
            && msg.contains("128 MiB"),
        "{msg}"
    );
    host_still_renders(&host);
}

#[test]
fn sha256_pin_mismatch_is_refused() {
    let host = host();
    let path = Path::new(PLUGIN_DIR).join("sluice_plugin_nginx.wasm");
    let err = host.load_file(&path, Some(&"0".repeat(64))).unwrap_err();
    assert!(matches!(err, PluginError::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("PluginSha256"), "{err}");
}

#[test]
fn a_core_module_is_not_a_renderer() {
    let host = host();
    // The smallest valid core wasm module: magic + version.
    let err = host
        .load_bytes("empty.wasm", b"\0asm\x01\0\0\0", None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::Compile { .. } | PluginError::NotARenderer { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("empty.wasm"), "{err}");
}

/// Input the host passed but the plugin refuses stays with its host: the
/// host is left out, named with its service and the plugin's words, and the
/// rest of the cluster renders (before, the whole cluster failed).
#[test]
fn a_host_the_plugin_refuses_is_left_out_and_the_rest_renders() {
    let host = host();
    let nginx = host
        .load_file(
            &Path::new(PLUGIN_DIR).join("sluice_plugin_nginx.wasm"),
            None,
        )
        .unwrap();
    let mut input = inputs::one_host("/tmp/sluice-faults/nginx.conf");
    // Hosts the host's own checks would have refused, made by hand: a
    // redirect target with `$` (nginx would expand it).
    let mut bad = inputs::host(
        "bad.local",
        inputs::weighted_upstream("bad_up", &[("10.0.0.9", 80, 1, "bad-svc")]),
    );
    bad.redirects = vec![inputs::redirect(None, "https://x$host")];
    let mut also_bad = inputs::host(
        "worse.local",
        inputs::weighted_upstream("worse_up", &[("10.0.0.8", 80, 1, "worse-svc")]),
    );
    also_bad.redirects = vec![inputs::redirect(None, "https://y$uri")];
    let many: Vec<_> = (0..40)
        .map(|i| {
            inputs::host(
                &format!("ok{i}.local"),
                inputs::weighted_upstream(&format!("ok{i}_up"), &[("10.0.1.1", 80, 1, "ok-svc")]),
            )
        })
        .collect();
    input.hosts.extend(many);
    input.hosts.insert(7, bad);
    input.hosts.push(also_bad);
    assert!(
        matches!(nginx.render(&input), Err(PluginError::InvalidInput { .. })),
        "the plugin refuses the whole input"
    );

    let plan = sluice::plan::ClusterPlan {
        extension: "east".into(),
        input: input.clone(),
        networks: Default::default(),
        secrets: Default::default(),
        policies: Vec::new(),
        acme_hosts: Default::default(),
    };
    let rev = sluice::render::render_with(&nginx, &plan, vec![], &CodePolicy::for_kind("nginx"))
        .expect("the rest renders");
    let refused: Vec<(&str, &[String])> = rev
        .refused
        .iter()
        .map(|r| (r.host.as_str(), r.services.as_slice()))
        .collect();
    assert_eq!(
        refused,
        [
            ("bad.local", &["bad-svc".to_string()][..]),
            ("worse.local", &["worse-svc".to_string()][..])
        ]
    );
    assert!(
        rev.refused.iter().all(|r| r.reason.contains("redirect")),
        "{:?}",
        rev.refused
    );
    let conf = &rev.files[0].contents;
    assert!(
        conf.contains("demo.local") && conf.contains("ok39.local"),
        "the rest is rendered"
    );
    assert!(!conf.contains("bad.local") && !conf.contains("worse.local"));

    // A refusal no single host explains (here the default backend's) is
    // not hidden: the cluster keeps its last good config, as before.
    let mut cluster_fault = input.clone();
    cluster_fault.default_backend = Some(inputs::weighted_upstream(
        "fallback",
        &[("bad;addr", 80, 1, "fallback-svc")],
    ));
    assert!(matches!(
        nginx.render(&cluster_fault),
        Err(PluginError::InvalidInput { .. })
    ));
    let plan = sluice::plan::ClusterPlan {
        input: cluster_fault,
        ..plan
    };
    assert!(matches!(
        sluice::render::render_with(&nginx, &plan, vec![], &CodePolicy::for_kind("nginx")),
        Err(PluginError::InvalidInput { .. })
    ));
}

/// A plugin that renders a directive loading code (here nginx's
/// `load_module` of a file it wrote itself, spelled in quotes) fails the
/// render, naming plugin, cluster, file, line and directive, whatever kind
/// it claims: the rules follow the proxy the agents run.
#[test]
fn a_plugin_rendering_code_for_the_proxy_is_refused() {
    let host = host();
    let plugin = host.load_file(&fixture("codeload"), None).unwrap();
    let input = inputs::one_host("/etc/nginx/nginx.conf");
    let files = plugin
        .render(&input)
        .expect("the sandbox itself renders it")
        .files;
    assert!(files[0].contents.contains("load_module"));
    let plan = sluice::plan::ClusterPlan {
        extension: "east".into(),
        input,
        networks: Default::default(),
        secrets: Default::default(),
        policies: Vec::new(),
        acme_hosts: Default::default(),
    };
    let ext = &sluice::config::Extension::new("east");
    let err = sluice::render::render_with(
        &plugin,
        &plan,
        vec![],
        &sluice::render::code_policy(ext, plugin.info()),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PluginError::BadOutput { .. }), "{err:?}");
    assert!(
        msg.contains("sluice_fixture_codeload.wasm")
            && msg.contains("cluster east")
            && msg.contains("`/etc/nginx/nginx.conf` line 1: `load_module` loads a shared object"),
        "{msg}"
    );
    host_still_renders(&host);
}
