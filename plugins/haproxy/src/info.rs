//! What the host needs to know to run HAProxy with this plugin's output.

use sluice_plugin_kit::{PluginInfo, Reload};

pub fn plugin_info() -> PluginInfo {
    PluginInfo {
        name: "haproxy".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        proxy: "haproxy".into(),
        default_config_path: "/usr/local/etc/haproxy/haproxy.cfg".into(),
        validate_command: ["haproxy", "-c", "-q", "-f", "{config}"]
            .map(String::from)
            .to_vec(),
        // The proxy runs `haproxy -W -db -f <config>`: USR2 makes the master
        // start new workers on the new config and hand them the listeners.
        reload: Reload::Signal("USR2".into()),
    }
}
