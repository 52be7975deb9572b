//! Table-driven tests of `parse_str`: every key, every error class, the seeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::wit::latest::{Setting, SettingValue};

const BASE: &str = "/etc/sluice";

fn parse(text: &str) -> Result<Loaded, ConfigError> {
    parse_str(text, Path::new(BASE))
}

/// `body` as the only extension, `east`.
fn one(body: &str) -> String {
    format!("[Extensions.east]\nServiceCluster = \"east\"\n{body}\n")
}

fn east(text: &str) -> Extension {
    let loaded = parse(text).unwrap_or_else(|e| panic!("{text}\n→ {e}"));
    loaded.config.extensions["east"].clone()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn core_keys() {
    type Check = fn(&Config) -> bool;
    let cases: &[(&str, Check)] = &[
        ("ListenAddr = \":9090\"", |c| c.listen_addr == ":9090"),
        ("DockerURL = \"tcp://10.0.0.1:2376\"", |c| {
            c.docker_url == "tcp://10.0.0.1:2376"
        }),
        ("TLSCACert = \"/certs/ca.pem\"", |c| {
            c.tls_ca_cert == Some(PathBuf::from("/certs/ca.pem"))
        }),
        ("TLSCert = \"/certs/cert.pem\"", |c| {
            c.tls_cert == Some(PathBuf::from("/certs/cert.pem"))
        }),
        ("TLSKey = \"/certs/key.pem\"", |c| {
            c.tls_key == Some(PathBuf::from("/certs/key.pem"))
        }),
        ("AllowInsecure = false", |c| !c.allow_insecure),
        ("PollInterval = \"1m30s\"", |c| {
            c.poll_interval == Duration::from_secs(90)
        }),
        ("EndpointOverride = \"10.0.0.5:8080\"", |c| {
            c.endpoint_override.as_deref() == Some("10.0.0.5:8080")
        }),
    ];
    for (line, check) in cases {
        let text = format!("{line}\n{}", one(""));
        let loaded = parse(&text).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(check(&loaded.config), "{line}: {:?}", loaded.config);
        assert!(loaded.warnings.is_empty(), "{line}: {:?}", loaded.warnings);
    }
    // Interlock could skip the engine's certificate check; Sluice never
    // does, and says so (`validate` and `run` print these warnings).
    let loaded = parse(&format!("AllowInsecure = true\n{}", one(""))).unwrap();
    assert!(loaded.config.allow_insecure);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].starts_with("`AllowInsecure` (line 1) has no effect"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn core_defaults() {
    let config = parse(&one("")).unwrap().config;
    let mut want = Config::new();
    want.extensions.insert("east".into(), {
        let mut ext = Extension::new("east");
        ext.service_cluster = "east".into();
        ext
    });
    assert_eq!(config, want);
    assert_eq!(want.listen_addr, ":8080");
    assert_eq!(want.docker_url, "unix:///var/run/docker.sock");
    assert_eq!(want.poll_interval, Duration::from_secs(3));
}

#[test]
fn extension_defaults() {
    let ext = Extension::new("west");
    assert_eq!(ext.proxy_replicas, 2);
    assert_eq!(ext.proxy_stop_signal, "SIGQUIT");
    assert_eq!(ext.proxy_stop_grace_period, Duration::from_secs(5));
    assert_eq!(
        (
            ext.published_port,
            ext.target_port,
            ext.published_ssl_port,
            ext.target_ssl_port
        ),
        (80, 80, 8443, 443)
    );
    assert_eq!(ext.publish_mode, PublishMode::Ingress);
    assert_eq!(ext.proxy_service_name, "sluice-proxy-west");
    assert_eq!(ext.plugin, PluginRef::Builtin("nginx".into()));
    assert_eq!(ext.delivery, Delivery::Hitless);
    assert_eq!(ext.proxy_image, super::defaults::PROXY_IMAGE);
    assert_eq!(ext.networks, None);
    assert_eq!(ext.service_cluster, "");
}

#[test]
fn extension_keys() {
    type Check = fn(&Extension) -> bool;
    let cases: &[(&str, Check)] = &[
        ("Image = \"docker/ucp-interlock-extension:3.2.3\"", |e| {
            e.image.as_deref() == Some("docker/ucp-interlock-extension:3.2.3")
        }),
        ("Args = [\"-D\"]", |e| e.args == strings(&["-D"])),
        ("ServiceName = \"ext\"", |e| {
            e.service_name.as_deref() == Some("ext")
        }),
        ("Labels = { a = \"1\" }", |e| {
            e.labels == labels(&[("a", "1")])
        }),
        ("ContainerLabels = { \"x.y\" = \"2\" }", |e| {
            e.container_labels == labels(&[("x.y", "2")])
        }),
        ("Constraints = [\"node.role==manager\"]", |e| {
            e.constraints == strings(&["node.role==manager"])
        }),
        ("PlacementPreferences = [\"spread=node.labels.az\"]", |e| {
            e.placement_preferences == strings(&["spread=node.labels.az"])
        }),
        ("Template = \"tmpl\"", |e| {
            e.template.as_deref() == Some("tmpl")
        }),
        ("HitlessServiceUpdate = true", |e| {
            e.hitless_service_update && e.delivery == Delivery::Hitless
        }),
        ("ConfigImage = \"docker/ucp-interlock-config:3.2.3\"", |e| {
            e.config_image.as_deref() == Some("docker/ucp-interlock-config:3.2.3")
        }),
        ("ConfigServiceName = \"cfg\"", |e| {
            e.config_service_name.as_deref() == Some("cfg")
        }),
        ("Networks = [\"eastnet\", \"shared\"]", |e| {
            e.networks == Some(strings(&["eastnet", "shared"]))
        }),
        ("Networks = []", |e| e.networks.is_none()),
        ("AgentMetricsPort = 9102", |e| {
            e.agent_metrics_port == Some(9102)
        }),
        ("ProxyImage = \"nginx:1.27\"", |e| {
            e.proxy_image == "nginx:1.27"
        }),
        ("ProxyArgs = [\"-g\", \"daemon off;\"]", |e| {
            e.proxy_args == strings(&["-g", "daemon off;"])
        }),
        ("ProxyServiceName = \"proxy-east\"", |e| {
            e.proxy_service_name == "proxy-east"
        }),
        ("ProxyConfigPath = \"/etc/nginx/nginx.conf\"", |e| {
            e.proxy_config_path.as_deref() == Some("/etc/nginx/nginx.conf")
        }),
        ("AllowedHosts = [\"*.a.example\", \"a.example\"]", |e| {
            e.allowed_hosts.as_ref().is_some_and(|p| {
                p.patterns() == strings(&["*.a.example", "a.example"]) && p.allows("x.a.example")
            })
        }),
        ("ProxyCommand = [\"envoy\", \"-c\", \"{config}\"]", |e| {
            e.proxy_command == Some(strings(&["envoy", "-c", "{config}"]))
        }),
        (
            "ProxyValidateCommand = [\"envoy\", \"--mode\", \"validate\"]",
            |e| e.proxy_validate_command == Some(strings(&["envoy", "--mode", "validate"])),
        ),
        ("ProxyReload = \"usr1\"", |e| {
            e.proxy_reload == Some(ProxyReload::Signal("usr1".into()))
        }),
        ("ProxyReload = [\"kill\", \"-HUP\", \"1\"]", |e| {
            e.proxy_reload == Some(ProxyReload::Command(strings(&["kill", "-HUP", "1"])))
        }),
        ("ProxyReplicas = 0", |e| e.proxy_replicas == 0),
        ("ProxyReplicas = 5", |e| e.proxy_replicas == 5),
        ("ProxyStopSignal = \"SIGTERM\"", |e| {
            e.proxy_stop_signal == "SIGTERM"
        }),
        ("ProxyStopGracePeriod = \"2.5s\"", |e| {
            e.proxy_stop_grace_period == Duration::from_millis(2500)
        }),
        ("ProxyConstraints = [\"node.labels.region==east\"]", |e| {
            e.proxy_constraints == strings(&["node.labels.region==east"])
        }),
        ("ProxyPlacementPreferences = [\"spread=node.id\"]", |e| {
            e.proxy_placement_preferences == strings(&["spread=node.id"])
        }),
        ("ProxyLabels = { proxy_region = \"east\" }", |e| {
            e.proxy_labels == labels(&[("proxy_region", "east")])
        }),
        ("ProxyContainerLabels = { a = \"b\" }", |e| {
            e.proxy_container_labels == labels(&[("a", "b")])
        }),
        ("ProxyUpdateDelay = \"500ms\"", |e| {
            e.proxy_update_delay == Some(Duration::from_millis(500))
        }),
        ("PublishMode = \"host\"", |e| {
            e.publish_mode == PublishMode::Host
        }),
        ("PublishMode = \"ingress\"", |e| {
            e.publish_mode == PublishMode::Ingress
        }),
        ("PublishedPort = 8080", |e| e.published_port == 8080),
        ("TargetPort = 8000", |e| e.target_port == 8000),
        ("PublishedSSLPort = 65535", |e| {
            e.published_ssl_port == 65535
        }),
        ("TargetSSLPort = 1", |e| e.target_ssl_port == 1),
        ("Plugin = \"haproxy\"", |e| {
            e.plugin == PluginRef::Builtin("haproxy".into())
                && e.proxy_image == super::defaults::HAPROXY_PROXY_IMAGE
        }),
        ("Plugin = \"nginx\"", |e| {
            e.plugin == PluginRef::Builtin("nginx".into())
        }),
        ("Plugin = \"plugins/envoy.wasm\"", |e| {
            e.plugin == PluginRef::Path(PathBuf::from("/etc/sluice/plugins/envoy.wasm"))
        }),
        (
            "PluginSha256 = \"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"",
            |e| {
                e.plugin_sha256.as_deref()
                    == Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            },
        ),
        ("Delivery = \"rolling\"", |e| {
            e.delivery == Delivery::Rolling
        }),
        ("Delivery = \"hitless\"", |e| {
            e.delivery == Delivery::Hitless
        }),
        ("ProxyImage = \"haproxy:2.6\"", |e| {
            e.plugin == PluginRef::Builtin("haproxy".into()) && e.proxy_image == "haproxy:2.6"
        }),
        (
            "Image = \"interlockpreview/interlock-extension-haproxy:2.0.0-preview\"",
            |e| {
                e.plugin == PluginRef::Builtin("haproxy".into())
                    && e.proxy_image == super::defaults::HAPROXY_PROXY_IMAGE
            },
        ),
        ("ProxyImage = \"docker/ucp-interlock-proxy:3.2.3\"", |e| {
            e.plugin == PluginRef::Builtin("nginx".into())
        }),
    ];
    for (line, check) in cases {
        let ext = east(&one(line));
        assert!(check(&ext), "{line}: {ext:?}");
    }
}

#[test]
fn config_table_becomes_sorted_settings() {
    let text = one("[Extensions.east.Config]\n\
         User = \"nginx\"\n\
         MaxConnections = 1024\n\
         Ratio = 0.5\n\
         IPHash = false\n\
         GlobalOptions = [\"a\", \"b\"]\n\
         HTTPOptions = []\n\
         RlimitNoFile = 0x10");
    let setting = |key: &str, value| Setting {
        key: key.into(),
        value,
    };
    assert_eq!(
        east(&text).config,
        vec![
            setting(
                "GlobalOptions",
                SettingValue::TextList(strings(&["a", "b"]))
            ),
            setting("HTTPOptions", SettingValue::TextList(vec![])),
            setting("IPHash", SettingValue::Boolean(false)),
            setting("MaxConnections", SettingValue::Integer(1024)),
            setting("Ratio", SettingValue::Float(0.5)),
            setting("RlimitNoFile", SettingValue::Integer(16)),
            setting("User", SettingValue::Text("nginx".into())),
        ]
    );
}

/// Each error must name the full key path and the line of the value.
#[test]
fn bad_values_name_key_and_line() {
    let cases = [
        // (extension body, key path, message part); the body starts on line 3.
        (
            "ProxyReplicas = -1",
            "Extensions.east.ProxyReplicas",
            "negative",
        ),
        (
            "ProxyReload = \"RELOAD\"",
            "Extensions.east.ProxyReload",
            "not a signal name",
        ),
        (
            "ProxyReload = 1",
            "Extensions.east.ProxyReload",
            "a signal name or a command",
        ),
        (
            "AllowedHosts = []",
            "Extensions.east.AllowedHosts",
            "allow no host",
        ),
        (
            "AllowedHosts = [\"ok.example\", \"bad host\"]",
            "Extensions.east.AllowedHosts",
            "pattern 1",
        ),
        (
            "ProxyCommand = []",
            "Extensions.east.ProxyCommand",
            "the command is empty",
        ),
        (
            "ProxyValidateCommand = [\"\", \"-t\"]",
            "Extensions.east.ProxyValidateCommand",
            "the command is empty",
        ),
        (
            "ProxyReplicas = \"2\"",
            "Extensions.east.ProxyReplicas",
            "expected an integer, found string",
        ),
        (
            "ProxyConfigPath = \"/etc/ha proxy/haproxy.cfg\"",
            "Extensions.east.ProxyConfigPath",
            "may only contain letters",
        ),
        (
            "ProxyConfigPath = \"haproxy.cfg\"",
            "Extensions.east.ProxyConfigPath",
            "must be absolute",
        ),
        (
            "ProxyReplicas = 1.5",
            "Extensions.east.ProxyReplicas",
            "found float",
        ),
        (
            "PublishedPort = 0",
            "Extensions.east.PublishedPort",
            "out of range 1-65535",
        ),
        (
            "TargetPort = 65536",
            "Extensions.east.TargetPort",
            "out of range",
        ),
        (
            "PublishedSSLPort = -443",
            "Extensions.east.PublishedSSLPort",
            "out of range",
        ),
        (
            "TargetSSLPort = \"443\"",
            "Extensions.east.TargetSSLPort",
            "expected an integer",
        ),
        (
            "PublishMode = \"Host\"",
            "Extensions.east.PublishMode",
            "expected \"ingress\" or \"host\"",
        ),
        (
            "PublishMode = \"dnsrr\"",
            "Extensions.east.PublishMode",
            "\"dnsrr\"",
        ),
        (
            "ProxyStopGracePeriod = \"5\"",
            "Extensions.east.ProxyStopGracePeriod",
            "missing unit",
        ),
        (
            "ProxyStopGracePeriod = 5",
            "Extensions.east.ProxyStopGracePeriod",
            "Go duration string",
        ),
        (
            "ProxyUpdateDelay = \"1d\"",
            "Extensions.east.ProxyUpdateDelay",
            "unknown unit \"d\"",
        ),
        (
            "Networks = \"eastnet\"",
            "Extensions.east.Networks",
            "expected an array of strings, found string",
        ),
        (
            "Networks = [\"a\", 1]",
            "Extensions.east.Networks[1]",
            "expected a string, found integer",
        ),
        (
            "ProxyLabels = { a = 1 }",
            "Extensions.east.ProxyLabels.a",
            "expected a string",
        ),
        (
            "Labels = { \"com.x\" = true }",
            "Extensions.east.Labels.\"com.x\"",
            "expected a string",
        ),
        (
            "Labels = [\"a=b\"]",
            "Extensions.east.Labels",
            "expected a table",
        ),
        (
            "HitlessServiceUpdate = \"yes\"",
            "Extensions.east.HitlessServiceUpdate",
            "true or false",
        ),
        (
            "ProxyImage = 3",
            "Extensions.east.ProxyImage",
            "expected a string",
        ),
        (
            "Plugin = \"envoy\"",
            "Extensions.east.Plugin",
            "unknown plugin \"envoy\"",
        ),
        (
            "PluginSha256 = \"abc\"",
            "Extensions.east.PluginSha256",
            "64 hex digits",
        ),
        (
            "Delivery = \"blue-green\"",
            "Extensions.east.Delivery",
            "expected \"hitless\" or \"rolling\"",
        ),
        ("Config = 1", "Extensions.east.Config", "expected a table"),
        (
            "Config = { Nested = { a = 1 } }",
            "Extensions.east.Config.Nested",
            "table cannot be passed",
        ),
        (
            "Config = { Ports = [1, 2] }",
            "Extensions.east.Config.Ports",
            "only strings",
        ),
        (
            "Config = { When = 1979-05-27 }",
            "Extensions.east.Config.When",
            "cannot be passed",
        ),
        (
            "ProxyServiceName = \"bad name!\"",
            "Extensions.east.ProxyServiceName",
            "not a valid Swarm service name",
        ),
        (
            "ProxyServiceName = \"\"",
            "Extensions.east.ProxyServiceName",
            "not a valid Swarm service name",
        ),
        (
            "PublishedSSLPort = 80",
            "Extensions.east.PublishedSSLPort",
            "HTTP and HTTPS need different ports",
        ),
        (
            "TargetSSLPort = 80",
            "Extensions.east.TargetSSLPort",
            "different ports",
        ),
        (
            "AgentMetricsPort = 443",
            "Extensions.east.AgentMetricsPort",
            "AgentMetricsPort equals TargetSSLPort (443)",
        ),
        (
            "AgentMetricsPort = 0",
            "Extensions.east.AgentMetricsPort",
            "out of range",
        ),
        (
            "AgentMetricsPort = 10443",
            "Extensions.east.AgentMetricsPort",
            "choose a port below 10443",
        ),
        (
            "AgentMetricsPort = 9101\n[Extensions.east.Config]\nMetricsPort = 9101",
            "Extensions.east.AgentMetricsPort",
            "equals the plugin's MetricsPort",
        ),
    ];
    for (body, key, part) in cases {
        let err = parse(&one(body)).expect_err(body).to_string();
        let want_prefix = format!("`{key}` at line 3, column ");
        assert!(err.starts_with(&want_prefix), "{body}: {err}");
        assert!(err.contains(part), "{body}: {err}");
    }
}

#[test]
fn bad_core_values_name_key_and_line() {
    let cases = [
        (
            "PollInterval = \"3\"",
            "`PollInterval` at line 2, column 16",
            "missing unit",
        ),
        (
            "PollInterval = \"-3s\"",
            "`PollInterval` at line 2",
            "negative",
        ),
        (
            "PollInterval = 3",
            "`PollInterval` at line 2",
            "Go duration",
        ),
        (
            "AllowInsecure = \"false\"",
            "`AllowInsecure` at line 2",
            "true or false",
        ),
        (
            "ListenAddr = 8080",
            "`ListenAddr` at line 2",
            "expected a string, found integer",
        ),
        (
            "TLSCert = []",
            "`TLSCert` at line 2",
            "expected a string, found array",
        ),
        (
            "Extensions = 1",
            "`Extensions` at line 2",
            "expected a table",
        ),
        (
            "Extensions = { east = 1 }",
            "`Extensions.east` at line 2",
            "expected a table",
        ),
    ];
    for (line, want, part) in cases {
        let text = format!("# comment\n{line}\n");
        let err = parse(&text).expect_err(line).to_string();
        assert!(err.starts_with(want), "{line}: {err}");
        assert!(err.contains(part), "{line}: {err}");
    }
}

#[test]
fn structural_errors() {
    let cases = [
        ("ListenAddr = \":8080\"\n", "no `[Extensions.<name>]`"),
        ("[Extensions]\n", "no `[Extensions.<name>]`"),
        (
            "[[Extensions]]\nName = \"nginx\"\n",
            "`Extensions` at line 1",
        ),
        (
            "[Extensions.east]\nProxyReplicas = \n",
            "invalid TOML at line 2",
        ),
        (
            "[Extensions.east]\nA = 1\nA = 2\n",
            "invalid TOML at line 3",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text).expect_err(text).to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn conflicts_name_both_extensions() {
    let cases = [
        (
            "[Extensions.a]\nServiceCluster = \"x\"\n[Extensions.b]\nServiceCluster = \"x\"\nPublishedPort = 81\nPublishedSSLPort = 8444\n",
            "`Extensions.b.ServiceCluster` at line 4",
            "both use ServiceCluster \"x\"",
        ),
        (
            // Neither sets ServiceCluster: both would claim unlabelled services.
            "[Extensions.a]\n[Extensions.b]\nPublishedPort = 81\nPublishedSSLPort = 8444\n",
            "`Extensions.b.ServiceCluster` at line 2",
            "both use ServiceCluster \"\"",
        ),
        (
            "[Extensions.a]\nServiceCluster = \"a\"\nProxyServiceName = \"p\"\n[Extensions.b]\nServiceCluster = \"b\"\nProxyServiceName = \"p\"\nPublishMode = \"host\"\n",
            "`Extensions.b.ProxyServiceName` at line 6",
            "both use ProxyServiceName \"p\"",
        ),
        (
            "[Extensions.a]\nServiceCluster = \"a\"\nProxyServiceName = \"sluice-proxy-b\"\n[Extensions.b]\nServiceCluster = \"b\"\nPublishMode = \"host\"\n",
            "`Extensions.b.ProxyServiceName` at line 4",
            "both use ProxyServiceName",
        ),
        (
            "[Extensions.a]\nServiceCluster = \"a\"\n[Extensions.b]\nServiceCluster = \"b\"\nPublishedSSLPort = 9443\n",
            "`Extensions.b.PublishedPort` at line 3",
            "both publish port 80",
        ),
        (
            "[Extensions.a]\nServiceCluster = \"a\"\nPublishedPort = 8443\nPublishedSSLPort = 443\n[Extensions.b]\nServiceCluster = \"b\"\nPublishedPort = 81\n",
            "`Extensions.b.PublishedSSLPort` at line 5",
            "both publish port 8443",
        ),
        (
            // One ingress proxy holds the port on every node, host-mode ones included.
            "[Extensions.a]\nServiceCluster = \"a\"\n[Extensions.b]\nServiceCluster = \"b\"\nPublishMode = \"host\"\n",
            "`Extensions.b.PublishedPort` at line 3",
            "extensions `a` and `b` both publish port 80",
        ),
    ];
    for (text, want, part) in cases {
        let err = parse(text).expect_err(text).to_string();
        assert!(err.starts_with(want), "{text}: {err}");
        assert!(err.contains("extensions `a` and `b`"), "{text}: {err}");
        assert!(err.contains(part), "{text}: {err}");
    }
}

#[test]
fn host_mode_extensions_may_share_ports() {
    let text = "[Extensions.a]\nServiceCluster = \"a\"\nPublishMode = \"host\"\n\
                [Extensions.b]\nServiceCluster = \"b\"\nPublishMode = \"host\"\n";
    assert_eq!(parse(text).unwrap().config.extensions.len(), 2);
    let text = "[Extensions.a]\nServiceCluster = \"a\"\n\
                [Extensions.b]\nServiceCluster = \"b\"\nPublishedPort = 81\nPublishedSSLPort = 8444\n";
    assert_eq!(parse(text).unwrap().config.extensions.len(), 2);
}

#[test]
fn unknown_keys_warn_with_path_and_line() {
    let text = "EnableMetrics = true\n\
                [Extensions.east]\n\
                ServiceCluster = \"east\"\n\
                ProxyReplicaz = 3\n\
                proxyreplicas = 3\n\
                [Extensions.east.ProxyLabels]\n\
                a = \"b\"\n";
    let loaded = parse(text).unwrap();
    assert_eq!(
        loaded.warnings,
        vec![
            "unknown key `EnableMetrics` (line 1), ignored",
            "unknown key `Extensions.east.ProxyReplicaz` (line 4), ignored",
            "unknown key `Extensions.east.proxyreplicas` (line 5), ignored (did you mean `ProxyReplicas`? keys are case-sensitive)",
        ]
    );
    assert_eq!(loaded.config.extensions["east"].proxy_replicas, 2);
}

#[test]
fn plugin_contradicting_proxy_image_warns() {
    let loaded = parse(&one("Plugin = \"haproxy\"\nProxyImage = \"nginx:alpine\"")).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("`Extensions.east.Plugin` is \"haproxy\""));
    let loaded = parse(&one("Plugin = \"haproxy\"\nProxyImage = \"haproxy:2.6\"")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // An image ID (how images built locally are referenced) names no proxy.
    let id = "sha256:7b5a64e3d88141fd2763dcc403ac67f90e54d9f7a63b02264182553f69786c45";
    for plugin in ["haproxy", "nginx"] {
        let loaded = parse(&one(&format!(
            "Plugin = \"{plugin}\"\nProxyImage = \"{id}\""
        )))
        .unwrap();
        assert!(
            loaded.warnings.is_empty(),
            "{plugin}: {:?}",
            loaded.warnings
        );
    }
}

#[test]
fn ignored_interlock_keys_give_one_note_per_key() {
    let text = "[Extensions.a]\nServiceCluster = \"a\"\nImage = \"i\"\nTemplate = \"t\"\nPublishMode = \"host\"\n\
                [Extensions.b]\nServiceCluster = \"b\"\nImage = \"i\"\nPublishMode = \"host\"\n";
    let loaded = parse(text).unwrap();
    assert_eq!(loaded.notes.len(), 2, "{:?}", loaded.notes);
    assert!(loaded.notes[0].starts_with("`Image` (in Extensions a, b) has no effect in Sluice: "));
    assert!(loaded.notes[1].starts_with("`Template` (in Extensions a) has no effect in Sluice: "));
    assert!(loaded.warnings.is_empty());
}

#[test]
fn service_clusters_seed() {
    let loaded = parse(include_str!("testdata/service-clusters.toml")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let config = &loaded.config;
    assert_eq!(config.poll_interval, Duration::from_secs(3));
    assert!(!config.allow_insecure);
    assert_eq!(
        config.extensions.keys().collect::<Vec<_>>(),
        ["east", "west"]
    );
    for name in ["east", "west"] {
        let ext = &config.extensions[name];
        assert_eq!(ext.service_cluster, name);
        assert_eq!(
            ext.proxy_service_name,
            format!("ucp-interlock-proxy-{name}")
        );
        assert_eq!(ext.networks, Some(vec![format!("{name}net")]));
        assert_eq!(ext.publish_mode, PublishMode::Host);
        assert_eq!((ext.published_port, ext.published_ssl_port), (80, 8443));
        assert_eq!(ext.proxy_replicas, 1);
        assert_eq!(ext.plugin, PluginRef::Builtin("nginx".into()));
        assert_eq!(ext.proxy_image, "docker/ucp-interlock-proxy:3.2.3");
        assert_eq!(ext.proxy_constraints.len(), 3);
        assert_eq!(ext.proxy_labels["proxy_region"], name);
        assert_eq!(
            ext.labels["com.docker.ucp.InstanceID"],
            "vl5umu06ryluu66uzjcv5h1bo"
        );
        assert_eq!(ext.config.len(), 36);
        let keys: Vec<&str> = ext.config.iter().map(|s| s.key.as_str()).collect();
        assert!(keys.is_sorted(), "{keys:?}");
        let get = |k: &str| &ext.config.iter().find(|s| s.key == k).unwrap().value;
        assert_eq!(get("MaxConnections"), &SettingValue::Integer(1024));
        assert_eq!(get("KeepaliveTimeout"), &SettingValue::Text("75s".into()));
        assert_eq!(get("GlobalOptions"), &SettingValue::TextList(vec![]));
        match get("MainLogFormat") {
            SettingValue::Text(format) => assert!(format.contains("\n\t\t    '$status")),
            other => panic!("{other:?}"),
        }
    }
    // The seed's proxy image is Interlock's (no Sluice agent): delivered
    // Interlock's way, and said so once per extension.
    for ext in loaded.config.extensions.values() {
        assert_eq!(ext.delivery, Delivery::Rolling, "{}", ext.name);
    }
    assert_eq!(
        loaded
            .notes
            .iter()
            .filter(|n| n.contains("not a Sluice proxy image"))
            .count(),
        2
    );
    let noted: Vec<&str> = loaded
        .notes
        .iter()
        .filter(|n| n.contains("has no effect"))
        .map(|n| n.split('`').nth(1).unwrap())
        .collect();
    assert_eq!(
        noted,
        [
            "Args",
            "ConfigImage",
            "ConfigServiceName",
            "Constraints",
            "ContainerLabels",
            "Image",
            "Labels",
            "ServiceName"
        ]
    );
}

#[test]
fn host_mode_seed() {
    let loaded = parse(include_str!("testdata/host-mode-networking.toml")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ext = &loaded.config.extensions["default"];
    assert_eq!(ext.publish_mode, PublishMode::Host);
    assert_eq!(ext.proxy_service_name, "interlock-proxy");
    assert_eq!(ext.proxy_replicas, 1);
    assert_eq!((ext.published_ssl_port, ext.target_ssl_port), (443, 443));
    assert_eq!(ext.networks, None);
    assert_eq!(ext.config.len(), 5);
    assert_eq!(
        ext.config[2],
        Setting {
            key: "RlimitNoFile".into(),
            value: SettingValue::Integer(65535)
        }
    );
}

#[test]
fn load_names_the_file() {
    let missing = Path::new("/nonexistent/sluice/config.toml");
    let err = load(missing).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/sluice/config.toml"), "{err}");

    let dir = std::env::temp_dir().join(format!("sluice-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, one("ProxyReplicas = -2\n")).unwrap();
    let err = load(&path).unwrap_err().to_string();
    std::fs::write(&path, one("Plugin = \"p.wasm\"\n")).unwrap();
    let loaded = load(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        err.starts_with(&format!(
            "{}: `Extensions.east.ProxyReplicas` at line 3",
            path.display()
        )),
        "{err}"
    );
    assert_eq!(
        loaded.unwrap().config.extensions["east"].plugin,
        PluginRef::Path(dir.join("p.wasm"))
    );
}

#[test]
fn delivery_follows_the_image_unless_set() {
    let cases: &[(&str, Delivery)] = &[
        ("", Delivery::Hitless),
        ("ProxyImage = \"sluice/nginx:0.1.0\"", Delivery::Hitless),
        (
            "ProxyImage = \"registry.local:5000/ops/sluice-haproxy:2\"",
            Delivery::Hitless,
        ),
        (
            "ProxyImage = \"docker/ucp-interlock-proxy:3.2.3\"",
            Delivery::Rolling,
        ),
        ("ProxyImage = \"nginx:alpine\"", Delivery::Rolling),
        ("ProxyImage = \"sha256:0123\"", Delivery::Rolling),
        (
            "ProxyImage = \"nginx:alpine\"\nDelivery = \"hitless\"",
            Delivery::Hitless,
        ),
        ("Delivery = \"rolling\"", Delivery::Rolling),
    ];
    for (keys, want) in cases {
        let loaded = parse(&one(keys)).unwrap();
        let ext = loaded.config.extensions.values().next().unwrap();
        assert_eq!(ext.delivery, *want, "{keys}");
        let noted = loaded
            .notes
            .iter()
            .any(|n| n.contains("not a Sluice proxy image"));
        assert_eq!(
            noted,
            *want == Delivery::Rolling && !keys.contains("Delivery"),
            "{keys}: {:?}",
            loaded.notes
        );
    }
}

#[test]
fn agent_metrics_port_without_an_agent_is_a_warning() {
    let warned = |keys: &str| {
        parse(&one(keys))
            .unwrap()
            .warnings
            .iter()
            .any(|w| w.contains("`Extensions.east.AgentMetricsPort` has no effect"))
    };
    assert!(warned("AgentMetricsPort = 9102\nDelivery = \"rolling\""));
    assert!(!warned("AgentMetricsPort = 9102"));
    let traffic_warned = |keys: &str| {
        parse(&one(keys))
            .unwrap()
            .warnings
            .iter()
            .any(|w| w.contains("`Extensions.east.Config.TrafficMetrics` needs the agent"))
    };
    let traffic = "[Extensions.east.Config]\nTrafficMetrics = true";
    assert!(traffic_warned(traffic));
    assert!(traffic_warned(&format!(
        "AgentMetricsPort = 9102\nDelivery = \"rolling\"\n{traffic}"
    )));
    assert!(!traffic_warned(&format!(
        "AgentMetricsPort = 9102\n{traffic}"
    )));
}

#[test]
fn acme_section_is_read_and_bad_values_name_their_key() {
    let text = |acme: &str| format!("[ACME]\n{acme}\n{}", one(""));
    let loaded = parse(&text(
        "Directory = \"letsencrypt-staging\"\nEmail = \"ops@example.org\"\n\
         ChallengeEndpoint = \"10.0.0.5:8402\"\nRenewBefore = \"240h\"\nStateDir = \"/srv/acme\"",
    ))
    .unwrap();
    let acme = loaded.config.acme.unwrap();
    assert_eq!(acme.directory, super::acme::LETSENCRYPT_STAGING);
    assert_eq!(acme.email.as_deref(), Some("ops@example.org"));
    assert_eq!(acme.challenge_endpoint.as_deref(), Some("10.0.0.5:8402"));
    assert_eq!(acme.renew_before, Duration::from_secs(240 * 3600));
    assert_eq!(acme.state_dir, Path::new("/srv/acme"));
    assert_eq!(parse(&one("")).unwrap().config.acme, None);

    for (line, key) in [
        ("Directory = \"http://acme.example/dir\"", "ACME.Directory"),
        ("Directory = \"https://a b\"", "ACME.Directory"),
        ("Email = \"a@b.org, c@d.org\"", "ACME.Email"),
        ("Email = \"nobody\"", "ACME.Email"),
        (
            "ChallengeEndpoint = \"proxy-node:8402\"",
            "ACME.ChallengeEndpoint",
        ),
        ("RenewBefore = \"soon\"", "ACME.RenewBefore"),
    ] {
        let err = parse(&text(line)).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("line 2"), "{line}: {err}");
    }
    let warned = parse(&text("Directroy = \"letsencrypt\""))
        .unwrap()
        .warnings;
    assert!(
        warned.iter().any(|w| w.contains("ACME.Directroy")),
        "{warned:?}"
    );
}
