//! The main context (reference §4.1 item 1): process settings, raw
//! `GlobalOptions`, and `events {}`.

use crate::quote::{arg, quoted};
use crate::settings::Config;
use crate::writer::Conf;

pub fn write(c: &mut Conf, cfg: &Config) {
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
        c.directive("worker_connections", [cfg.max_connections.to_string()])
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
        write(&mut c, &cfg);
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
        write(&mut c, &cfg);
        assert!(c.finish().starts_with("user www-data www-data;\n"));
    }
}
