//! The main context (reference §4.1 item 1): process settings, raw
//! `GlobalOptions`, and `events {}`.

use crate::quote::{arg, quoted};
use crate::settings::Config;
use crate::writer::Conf;

/// `listeners`: the listening sockets the config opens. nginx counts each
/// as one of a worker's `worker_connections` and refuses a config with more
/// listeners than that ("worker_connections are not enough for N listening
/// sockets"), which a cluster reaches at ~1,000 TLS hosts (one loopback
/// listener each). So `MaxConnections` stays what it says, the client
/// connections a worker takes, and the listeners come on top.
pub fn write(c: &mut Conf, cfg: &Config, listeners: usize) {
    c.directive("user", cfg.user.split(' ').map(arg));
    c.directive("worker_processes", [arg(&cfg.worker_processes)]);
    c.directive("worker_rlimit_nofile", [cfg.rlimit_nofile.to_string()]);
    c.directive("error_log", [quoted(&cfg.error_log_path), "warn".into()]);
    c.directive("pid", [quoted(&cfg.pid_path)]);
    // Before events{}: `load_module` is refused once any block is read.
    if !cfg.modules_include.is_empty() {
        c.directive("include", [quoted(&cfg.modules_include)]);
    }
    for line in &cfg.global_options {
        c.line(line);
    }
    c.block("events", |c| {
        let connections = cfg.max_connections.saturating_add(listeners as i64);
        c.directive("worker_connections", [connections.to_string()])
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_kit::{Setting, SettingValue};

    #[test]
    fn defaults_and_options() {
        let cfg = Config::from_settings(&[Setting {
            key: "GlobalOptions".into(),
            value: SettingValue::TextList(vec!["worker_shutdown_timeout 10s;".into()]),
        }]);
        let mut c = Conf::new();
        write(&mut c, &cfg, 0);
        assert_eq!(
            c.finish(),
            "user nginx;\nworker_processes 1;\nworker_rlimit_nofile 65535;\nerror_log \"/dev/stdout\" warn;\n\
pid \"/var/run/proxy.pid\";\ninclude \"/etc/nginx/modules-enabled/*.conf\";\nworker_shutdown_timeout 10s;\nevents {\n    worker_connections 1024;\n}\n"
        );
    }

    #[test]
    fn user_with_group() {
        let cfg = Config::from_settings(&[Setting {
            key: "User".into(),
            value: SettingValue::Text("www-data www-data".into()),
        }]);
        let mut c = Conf::new();
        write(&mut c, &cfg, 0);
        assert!(c.finish().starts_with("user www-data www-data;\n"));
    }
}
