//! The agent's settings: flags, or (as the proxy service sets them) env.
//! Everything the agent runs and every place it writes comes from here,
//! i.e. from the proxy service spec the daemon set (from its built-in
//! proxy kinds or the operator's config.toml), never from a revision.

use std::path::PathBuf;

use nix::sys::signal::Signal;

use super::proxy::parse_signal;

/// `sluice agent`: run inside the proxy container as its entrypoint.
#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// The daemon's API, https://HOST:PORT (plain http is refused).
    #[arg(long, env = "SLUICE_ENDPOINT")]
    pub endpoint: String,
    /// The service cluster (Extension name) this proxy serves.
    #[arg(long, env = "SLUICE_CLUSTER")]
    pub cluster: String,
    /// The cluster's credentials (CA, client certificate, token, revision
    /// keys), as the daemon's Docker secret holds them.
    #[arg(
        long,
        env = "SLUICE_CREDENTIALS_FILE",
        default_value = "/run/secrets/sluice-agent"
    )]
    pub credentials_file: PathBuf,
    /// This replica's name in `sluice status` (default: the hostname).
    #[arg(long, env = "SLUICE_REPLICA")]
    pub replica: Option<String>,
    /// The proxy's argv as a JSON array; "{config}" stands for the main
    /// config's path, e.g. ["nginx","-g","daemon off;","-c","{config}"].
    #[arg(long, env = "SLUICE_PROXY_CMD", value_parser = parse_argv)]
    pub proxy_cmd: Argv,
    /// The command that checks an installed revision, JSON argv with
    /// "{config}", e.g. ["nginx","-t","-q","-c","{config}"].
    #[arg(long, env = "SLUICE_VALIDATE_CMD", value_parser = parse_argv)]
    pub validate_cmd: Argv,
    /// How the proxy loads a valid revision: a signal name ("HUP",
    /// "SIGUSR2") sent to it, or a JSON argv run beside it.
    #[arg(long, env = "SLUICE_RELOAD", value_parser = parse_reload)]
    pub reload: Reload,
    /// The only directory revisions may write under (absolute).
    #[arg(long, env = "SLUICE_CONFIG_ROOT", value_parser = parse_root)]
    pub config_root: PathBuf,
    /// Serve this replica's Prometheus metrics (`GET /metrics`, plain HTTP)
    /// on this address, e.g. 0.0.0.0:9102. Off when unset.
    #[arg(long, env = "SLUICE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The proxy checks a config itself when it reloads, keeping its old
    /// workers when the config fails (nginx): the agent then signals without
    /// running the validate command first, takes new workers as the yes, and
    /// runs the validate command only to say why a reload was not taken.
    #[arg(long, env = "SLUICE_RELOAD_CHECKS", default_value_t = false)]
    pub reload_checks: bool,
    /// HAProxy's master CLI socket (the proxy runs with `-S` on it): a
    /// revision that only changes server slots is applied through it, with
    /// no reload. Unset: every revision is reloaded.
    #[arg(long, env = "SLUICE_HAPROXY_MASTER_SOCKET")]
    pub haproxy_master_socket: Option<PathBuf>,
    /// Where the proxy logs its requests for per-host traffic metrics (with
    /// metrics on): a Unix datagram socket the agent binds.
    #[arg(
        long,
        env = "SLUICE_TRAFFIC_SOCKET",
        default_value = "/run/sluice-agent/traffic.sock"
    )]
    pub traffic_socket: PathBuf,
}

/// A parsed argv (a newtype so clap takes it as one value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reload {
    Signal(Signal),
    Command(Vec<String>),
}

fn parse_argv(text: &str) -> Result<Argv, String> {
    let argv: Vec<String> = serde_json::from_str(text).map_err(|e| {
        format!("expected a JSON array of strings, e.g. [\"nginx\",\"-g\",\"daemon off;\"]: {e}")
    })?;
    if argv.is_empty() || argv[0].is_empty() {
        return Err("the command is empty".into());
    }
    Ok(Argv(argv))
}

fn parse_reload(text: &str) -> Result<Reload, String> {
    if text.trim_start().starts_with('[') {
        return parse_argv(text).map(|a| Reload::Command(a.0));
    }
    parse_signal(text)
        .map(Reload::Signal)
        .map_err(|e| format!("{e}, or a JSON argv"))
}

fn parse_root(text: &str) -> Result<PathBuf, String> {
    match sluice_wire::paths::config_root_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(PathBuf::from(text.trim_end_matches('/'))),
    }
}

impl Settings {
    pub fn replica_name(&self) -> String {
        self.replica
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| format!("pid-{}", std::process::id()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_command_is_a_json_argv() {
        let table = [
            (
                r#"["nginx","-g","daemon off;"]"#,
                Some(vec!["nginx", "-g", "daemon off;"]),
            ),
            (r#"["haproxy"]"#, Some(vec!["haproxy"])),
            ("[]", None),
            (r#"[""]"#, None),
            ("nginx -g 'daemon off;'", None),
            (r#"[1]"#, None),
        ];
        for (text, want) in table {
            let got = parse_argv(text).ok().map(|a| a.0);
            let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn reload_is_a_signal_or_an_argv() {
        let table = [
            ("HUP", Some(Reload::Signal(Signal::SIGHUP))),
            ("SIGUSR2", Some(Reload::Signal(Signal::SIGUSR2))),
            (
                r#"["caddy","reload"]"#,
                Some(Reload::Command(vec!["caddy".into(), "reload".into()])),
            ),
            ("RELOAD", None),
            ("[]", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_reload(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn config_root_is_a_plain_absolute_directory() {
        for (text, ok) in [
            ("/etc/nginx", true),
            ("/usr/local/etc/haproxy", true),
            ("/", false),
            ("etc/nginx", false),
            ("/etc/../root", false),
            ("/etc/./nginx", false),
            ("/etc", false),
            ("/usr/local/etc", false),
        ] {
            assert_eq!(parse_root(text).is_ok(), ok, "{text}");
        }
    }
}
