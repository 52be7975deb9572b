//! A plugin that loops, traps or allocates without bound fails that render
//! with an error naming plugin and cluster, and the host carries on.

use std::path::Path;
use std::time::{Duration, Instant};

use sluice::render::{Limits, PLUGIN_DIR, PluginError, PluginHost};
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
        .unwrap();
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
