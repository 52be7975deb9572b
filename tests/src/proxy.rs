//! The real nginx or HAProxy, configured by the real plugin: render a
//! cluster through `sluice::render`, write the files into a temp dir, start
//! the proxy in the foreground on free ports, wait until it listens, and
//! kill it (with every worker) when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sluice::config::PluginRef;
use sluice::render::PluginHost;
use sluice::wit::latest::{RenderInput, Setting, SettingValue, Upstream, VirtualHost};
use tempfile::TempDir;

use crate::inputs;
use crate::ports::{self, LoopbackLock};

/// Which proxy (and bundled plugin) a scenario runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Haproxy,
}

impl Kind {
    /// The builtin plugin's name, also the proxy's binary.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
        }
    }

    fn config_file(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx.conf",
            Kind::Haproxy => "haproxy.cfg",
        }
    }
}

const INSTALL_HINT: &str = "the behaviour tests run the real proxies; install them with \
`apt-get install -y nginx libnginx-mod-stream haproxy` (CI does)";

/// Fails the test unless the proxy's binary runs.
fn require_binary(kind: Kind) {
    let ok = Command::new(kind.name())
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "`{}` is not on PATH: {INSTALL_HINT}", kind.name());
}

fn plugin_host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new().expect("plugin host"))
}

/// A scratch directory for one proxy run; certificates go in before start.
pub struct Workdir(TempDir);

impl Workdir {
    pub fn new(kind: Kind, scenario: &str) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("sluice-behaviour-{}-{scenario}-", kind.name()))
            .tempdir()
            .expect("temp dir");
        Workdir(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `contents` to `name` in the dir; returns the absolute path.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path.to_str().expect("utf-8 temp path").to_string()
    }

    fn file(&self, name: &str) -> String {
        self.path()
            .join(name)
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }
}

/// What a scenario routes.
pub struct Routes {
    pub hosts: Vec<VirtualHost>,
    pub default_backend: Option<Upstream>,
    /// The upstreams' policies (`sluice.*` labels), by upstream name.
    pub policies: Vec<sluice::wit::latest::RoutePolicy>,
}

impl Routes {
    pub fn hosts(hosts: Vec<VirtualHost>) -> Routes {
        Routes {
            hosts,
            default_backend: None,
            policies: Vec::new(),
        }
    }
}

/// A running proxy. Dropping it kills the proxy's whole process group.
pub struct Proxy {
    pub kind: Kind,
    pub http_port: u16,
    pub https_port: u16,
    child: Child,
    config: String,
    // Dropped after the process is gone (fields drop after `Drop::drop`).
    _loopback: Option<LoopbackLock>,
    dir: Workdir,
}

fn text(key: &str, value: &str) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::Text(value.into()),
    }
}

/// Settings that keep the proxy's files in `dir` and let it run unprivileged.
fn settings(kind: Kind, dir: &Workdir) -> Vec<Setting> {
    match kind {
        Kind::Nginx => {
            let mut s = vec![
                text("PidPath", &dir.file("nginx.pid")),
                text("ErrorLogPath", &dir.file("error.log")),
                text("AccessLogPath", &dir.file("access.log")),
                Setting {
                    key: "HTTPOptions".into(),
                    value: SettingValue::TextList(
                        ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
                            .iter()
                            .map(|t| format!("{t}_temp_path {};", dir.file(t)))
                            .collect(),
                    ),
                },
            ];
            // `user` only matters (and must name a real user) when run as root.
            if unsafe { libc::geteuid() } == 0 {
                s.push(text("User", "root"));
            }
            s
        }
        Kind::Haproxy => vec![text("PidPath", &dir.file("haproxy.pid"))],
    }
}

fn command(kind: Kind, dir: &Workdir, config: &str) -> Command {
    let mut cmd = Command::new(kind.name());
    match kind {
        Kind::Nginx => {
            // No `-p`: Debian's modules-enabled loads `modules/...so`
            // relative to the default prefix. Every file path is absolute.
            cmd.args(["-e", &dir.file("startup-error.log")]).args([
                "-c",
                config,
                "-g",
                "daemon off;",
            ]);
        }
        Kind::Haproxy => {
            cmd.args(["-db", "-f", config]);
        }
    }
    cmd
}

/// What the bundled plugin for `kind` says to `routes` it refuses (panics
/// if it renders them).
pub fn refusal(kind: Kind, dir: &Workdir, routes: Routes) -> sluice::render::PluginError {
    let config = dir.file(kind.config_file());
    let input = RenderInput {
        cluster: inputs::cluster(&config, settings(kind, dir)),
        hosts: routes.hosts,
        default_backend: routes.default_backend,
    };
    let plugin = plugin_host()
        .load(&PluginRef::Builtin(kind.name().into()), None)
        .unwrap_or_else(|e| panic!("load plugin {}: {e}", kind.name()));
    match plugin.render_policies(&input, &routes.policies) {
        Ok(_) => panic!("plugin {} rendered what it should refuse", kind.name()),
        Err(e) => e,
    }
}

impl Proxy {
    /// Renders `routes` with the bundled plugin and starts the proxy on them.
    pub fn start(kind: Kind, dir: Workdir, routes: Routes) -> Proxy {
        Proxy::start_with(kind, dir, routes, Vec::new())
    }

    /// [`Proxy::start`] with `extra` plugin settings.
    pub fn start_with(kind: Kind, dir: Workdir, routes: Routes, extra: Vec<Setting>) -> Proxy {
        require_binary(kind);
        let (http_port, https_port) = (ports::free_port(), ports::free_port());
        let config = dir.file(kind.config_file());
        let mut settings = settings(kind, &dir);
        settings.extend(extra);
        let mut cluster = inputs::cluster(&config, settings);
        cluster.http_port = http_port;
        cluster.https_port = https_port;
        let uses_tls = routes
            .hosts
            .iter()
            .any(|h| h.tls.is_some() || h.passthrough);
        let input = RenderInput {
            cluster,
            hosts: routes.hosts,
            default_backend: routes.default_backend,
        };
        let plugin = plugin_host()
            .load(&PluginRef::Builtin(kind.name().into()), None)
            .unwrap_or_else(|e| panic!("load plugin {}: {e}", kind.name()));
        let mut policies = routes.policies;
        policies.sort_by(|a, b| a.upstream.cmp(&b.upstream));
        let files = plugin
            .render_policies(&input, &policies)
            .unwrap_or_else(|e| panic!("plugin {} refused the input: {e}", kind.name()))
            .files;
        for f in &files {
            assert!(
                Path::new(&f.path).starts_with(dir.path()),
                "plugin {} wrote {} outside {}",
                kind.name(),
                f.path,
                dir.path().display()
            );
            std::fs::write(&f.path, &f.contents)
                .unwrap_or_else(|e| panic!("write {}: {e}", f.path));
        }
        let config_text = files[0].contents.clone();

        let loopback = uses_tls.then(LoopbackLock::acquire);
        let out =
            |name: &str| std::fs::File::create(dir.path().join(name)).expect("proxy output file");
        let child = {
            use std::os::unix::process::CommandExt;
            command(kind, &dir, &config)
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(out("stdout.log"))
                .stderr(out("stderr.log"))
                .spawn()
                .unwrap_or_else(|e| panic!("start `{}`: {e}; {INSTALL_HINT}", kind.name()))
        };
        let mut proxy = Proxy {
            kind,
            http_port,
            https_port,
            child,
            config: config_text,
            _loopback: loopback,
            dir,
        };
        let mut listen = vec![proxy.http_addr()];
        if uses_tls {
            listen.push(proxy.https_addr());
        }
        let child = &mut proxy.child;
        let ready = ports::wait_listening(&listen, Duration::from_secs(10), || {
            matches!(child.try_wait(), Ok(None))
        });
        if !ready {
            let logs = proxy.logs();
            let config = proxy.config.clone();
            drop(proxy);
            panic!(
                "{} did not listen on {listen:?}\n--- logs ---\n{logs}\n--- config ---\n{config}",
                kind.name()
            );
        }
        proxy
    }

    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.http_port))
    }

    pub fn https_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.https_port))
    }

    /// The rendered main config, for failure messages.
    pub fn config(&self) -> &str {
        &self.config
    }

    /// Everything the proxy logged so far.
    pub fn logs(&self) -> String {
        ["startup-error.log", "error.log", "stdout.log", "stderr.log"]
            .iter()
            .filter_map(|f| {
                let path: PathBuf = self.dir.path().join(f);
                let text = std::fs::read_to_string(path).ok()?;
                (!text.trim().is_empty()).then(|| format!("[{f}]\n{text}"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn signal_group(&self, signal: libc::c_int) {
        // The proxy leads its own group (process_group(0)): this reaches
        // nginx's and HAProxy's workers too.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (a stuck master, orphaned workers).
        self.signal_group(libc::SIGKILL);
        let _ = self.child.wait();
    }
}
