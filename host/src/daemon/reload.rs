//! Taking in a new config while running (SIGHUP): pure, so it is table-tested.
//!
//! Each Extension is judged on its own: a changed or new Extension whose
//! plugin fails to load or refuses its settings is not taken (a changed one
//! keeps running as before, so its proxy keeps its last good config); every
//! other change is. Keys that only take effect at start-up (DockerURL,
//! ListenAddr, the TLS files) keep their running values, with a warning.

use crate::config::{Config, Extension};

/// The config to run with after a reload, and what to tell the user.
#[derive(Debug, PartialEq)]
pub struct Reloaded {
    pub config: Config,
    /// Extensions whose definition changed (added, changed or removed).
    pub changed: Vec<String>,
    /// Warnings and errors, each naming the key or Extension.
    pub messages: Vec<String>,
}

/// Merge `new` into the running `old`. `check` loads an Extension's plugin and
/// validates its settings (the daemon passes the plugin host's check).
pub fn merge(
    old: &Config,
    new: Config,
    check: impl Fn(&Extension) -> Result<(), String>,
) -> Reloaded {
    let mut messages = Vec::new();
    let mut config = new.clone();
    // Start-up-only keys keep their running values.
    for (key, changed) in [
        ("DockerURL", old.docker_url != new.docker_url),
        ("ListenAddr", old.listen_addr != new.listen_addr),
        ("TLSCACert", old.tls_ca_cert != new.tls_ca_cert),
        ("TLSCert", old.tls_cert != new.tls_cert),
        ("TLSKey", old.tls_key != new.tls_key),
        ("AllowInsecure", old.allow_insecure != new.allow_insecure),
        // The API's certificate is issued for it at start.
        (
            "EndpointOverride",
            old.endpoint_override != new.endpoint_override,
        ),
        ("MetricsAddr", old.metrics_addr != new.metrics_addr),
        ("StatusPage", old.status_page != new.status_page),
        ("ACME", old.acme != new.acme),
    ] {
        if changed {
            messages.push(format!(
                "`{key}` changed: it takes effect when Sluice restarts"
            ));
        }
    }
    config.docker_url = old.docker_url.clone();
    config.listen_addr = old.listen_addr.clone();
    config.tls_ca_cert = old.tls_ca_cert.clone();
    config.tls_cert = old.tls_cert.clone();
    config.tls_key = old.tls_key.clone();
    config.allow_insecure = old.allow_insecure;
    config.endpoint_override = old.endpoint_override.clone();
    config.metrics_addr = old.metrics_addr.clone();
    config.status_page = old.status_page;
    config.acme = old.acme.clone();

    let mut changed = Vec::new();
    for (name, ext) in &new.extensions {
        if old.extensions.get(name) == Some(ext) {
            continue;
        }
        match check(ext) {
            Ok(()) => changed.push(name.clone()),
            Err(e) => match old.extensions.get(name) {
                Some(running) => {
                    messages.push(format!(
                        "Extensions.{name}: the new definition is refused ({e}); cluster {name} keeps running as before"
                    ));
                    config.extensions.insert(name.clone(), running.clone());
                }
                None => {
                    messages.push(format!("Extensions.{name}: not added ({e})"));
                    config.extensions.remove(name);
                }
            },
        }
    }
    for name in old.extensions.keys() {
        if !new.extensions.contains_key(name) {
            changed.push(name.clone());
        }
    }
    changed.sort();
    Reloaded {
        config,
        changed,
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PluginRef;

    fn config(exts: &[(&str, &str)]) -> Config {
        let mut c = Config::new();
        for (name, plugin) in exts {
            let mut e = Extension::new(name);
            e.plugin = PluginRef::Builtin(plugin.to_string());
            e.service_cluster = name.to_string();
            c.extensions.insert(name.to_string(), e);
        }
        c
    }

    /// Only "nginx" and "haproxy" load.
    fn check(e: &Extension) -> Result<(), String> {
        match &e.plugin {
            PluginRef::Builtin(n) if n == "nginx" || n == "haproxy" => Ok(()),
            other => Err(format!("cannot load {other:?}")),
        }
    }

    #[test]
    fn each_extension_judged_alone() {
        let old = config(&[("east", "nginx"), ("west", "nginx")]);
        struct Case {
            new: Vec<(&'static str, &'static str)>,
            want: Vec<(&'static str, &'static str)>,
            changed: Vec<&'static str>,
            messages: usize,
        }
        let cases = [
            // Nothing changed.
            Case {
                new: vec![("east", "nginx"), ("west", "nginx")],
                want: vec![("east", "nginx"), ("west", "nginx")],
                changed: vec![],
                messages: 0,
            },
            // Swap one cluster's plugin; the other untouched.
            Case {
                new: vec![("east", "haproxy"), ("west", "nginx")],
                want: vec![("east", "haproxy"), ("west", "nginx")],
                changed: vec!["east"],
                messages: 0,
            },
            // A plugin that fails to load: that cluster keeps its old definition.
            Case {
                new: vec![("east", "broken"), ("west", "haproxy")],
                want: vec![("east", "nginx"), ("west", "haproxy")],
                changed: vec!["west"],
                messages: 1,
            },
            // A new extension that fails is not added; a removed one goes.
            Case {
                new: vec![("east", "nginx"), ("north", "broken")],
                want: vec![("east", "nginx")],
                changed: vec!["west"],
                messages: 1,
            },
        ];
        for c in cases {
            let merged = merge(&old, config(&c.new), check);
            assert_eq!(merged.config, config(&c.want), "{:?}", c.new);
            assert_eq!(merged.changed, c.changed, "{:?}", c.new);
            assert_eq!(
                merged.messages.len(),
                c.messages,
                "{:?}: {:?}",
                c.new,
                merged.messages
            );
        }
    }

    #[test]
    fn startup_keys_keep_running_values() {
        let old = config(&[("east", "nginx")]);
        let mut new = old.clone();
        new.docker_url = "tcp://elsewhere:2375".into();
        new.poll_interval = std::time::Duration::from_secs(9);
        let merged = merge(&old, new, check);
        assert_eq!(merged.config.docker_url, old.docker_url);
        assert_eq!(
            merged.config.poll_interval,
            std::time::Duration::from_secs(9)
        );
        assert!(
            merged.messages[0].contains("DockerURL"),
            "{:?}",
            merged.messages
        );
        // Before, a new EndpointOverride was taken silently and never used.
        let mut new = old.clone();
        new.endpoint_override = Some("https://10.9.9.9:8080".into());
        let merged = merge(&old, new, check);
        assert_eq!(merged.config.endpoint_override, old.endpoint_override);
        assert!(
            merged
                .messages
                .iter()
                .any(|m| m.contains("`EndpointOverride` changed")),
            "{:?}",
            merged.messages
        );
    }
}
