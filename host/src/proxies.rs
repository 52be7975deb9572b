//! The proxies Sluice knows how to drive: where their main config lives,
//! how they run in the foreground, how a config is checked and how a running
//! proxy loads a new one. These are the host's, not a plugin's: a plugin's
//! `info()` names its proxy kind and so picks one of these, and for any
//! other kind the operator sets the commands in config.toml
//! (`ProxyValidateCommand`, `ProxyReload`, `ProxyConfigPath`).

/// One proxy kind. `{config}` in an argument stands for the main config's path.
#[derive(Debug, PartialEq, Eq)]
pub struct ProxyKind {
    pub name: &'static str,
    pub config_path: &'static str,
    /// Arguments after the binary to run in the foreground.
    pub run_args: &'static [&'static str],
    pub validate: &'static [&'static str],
    /// A signal name for the proxy's main process.
    pub reload_signal: &'static str,
    /// Where the proxy serves its runtime API to the agent (HAProxy's
    /// master CLI), when it has one the agent drives: revisions that change
    /// only server slots are then set through it, with no reload. The agent
    /// adds the proxy's own argument for it (`-S`) once it has made the
    /// socket's directory, so an agent that cannot (an older one, one not
    /// running as root) runs the proxy as before.
    pub master_socket: Option<&'static str>,
    /// Whether the proxy checks a config as it reloads and keeps its old
    /// workers when the config fails (nginx): the agent then skips the
    /// validate command before each reload (it parses the config as long as
    /// the reload does) and runs it only to say why a reload was not taken.
    pub checks_on_reload: bool,
}

pub const BUILTIN: [ProxyKind; 2] = [
    ProxyKind {
        name: "nginx",
        config_path: "/etc/nginx/nginx.conf",
        run_args: &["-g", "daemon off;", "-c", "{config}"],
        validate: &["nginx", "-t", "-q", "-c", "{config}"],
        reload_signal: "HUP",
        // nginx open source has no runtime API for upstreams.
        master_socket: None,
        checks_on_reload: true,
    },
    ProxyKind {
        name: "haproxy",
        config_path: "/usr/local/etc/haproxy/haproxy.cfg",
        // Master-worker mode: USR2 reloads without dropping connections.
        run_args: &["-W", "-db", "-f", "{config}"],
        validate: &["haproxy", "-c", "-q", "-f", "{config}"],
        reload_signal: "USR2",
        // Beside the agent's traffic socket, in a directory only it owns.
        master_socket: Some("/run/sluice-agent/haproxy-master.sock"),
        // A master-worker reload of a config that fails is not as simple.
        checks_on_reload: false,
    },
];

/// The built-in kind named `name`.
pub fn builtin(name: &str) -> Option<&'static ProxyKind> {
    BUILTIN.iter().find(|k| k.name == name)
}

/// Strings in `argv`.
pub fn owned(argv: &[&str]) -> Vec<String> {
    argv.iter().map(|a| (*a).to_owned()).collect()
}
