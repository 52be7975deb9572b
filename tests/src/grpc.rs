//! A real gRPC server and client (Python's `grpcio`, generic handlers, no
//! generated code) for the scenarios that route gRPC through the proxies.
//! `grpcio` comes from PyPI into a virtualenv under `target/` the first time
//! it is needed (a prebuilt wheel: no compiler).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::swarm::env::repo_root;

const GRPCIO: &str = "grpcio==1.85.4";

const SERVER: &str = r#"
import sys, signal, grpc
from concurrent import futures
port, sid = int(sys.argv[1]), sys.argv[2].encode()
def say(req, ctx):
    return b'echo:' + req + b' from ' + sid
h = grpc.method_handlers_generic_handler('test.Echo', {'Say': grpc.unary_unary_rpc_method_handler(say)})
s = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[('grpc.so_reuseport', 0)])
s.add_generic_rpc_handlers((h,))
bound = s.add_insecure_port(f'127.0.0.1:{port}')
s.start(); print(f'READY {bound}', flush=True)
signal.signal(signal.SIGTERM, lambda *a: s.stop(0)); s.wait_for_termination()
"#;

const CLIENT: &str = r#"
import sys, argparse, grpc
p = argparse.ArgumentParser()
p.add_argument('target'); p.add_argument('--authority', required=True)
p.add_argument('--ca'); p.add_argument('--msg', default='hi')
a = p.parse_args()
opts = [('grpc.default_authority', a.authority)]
if a.ca:
    creds = grpc.ssl_channel_credentials(root_certificates=open(a.ca, 'rb').read())
    ch = grpc.secure_channel(a.target, creds, options=opts + [('grpc.ssl_target_name_override', a.authority)])
else:
    ch = grpc.insecure_channel(a.target, options=opts)
try:
    print(ch.unary_unary('/test.Echo/Say')(a.msg.encode(), timeout=5).decode())
except grpc.RpcError as e:
    print(f'ERR {e.code().name} {e.details()}', file=sys.stderr); sys.exit(2)
"#;

/// The virtualenv's directory, with `grpcio` installed and the scripts
/// written (made once per test process).
fn venv() -> &'static PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = repo_root().join("target").join("grpc-venv");
        let python = dir.join("bin/python3");
        let has = |py: &PathBuf| {
            Command::new(py)
                .args(["-c", "import grpc"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has(&python) {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&dir)
                .status()
                .expect("python3 -m venv");
            assert!(made.success(), "python3 -m venv {}", dir.display());
            let pip = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    GRPCIO,
                ])
                .status()
                .expect("pip install grpcio");
            assert!(pip.success(), "pip install {GRPCIO} into {}", dir.display());
        }
        std::fs::write(dir.join("grpc_server.py"), SERVER).expect("server script");
        std::fs::write(dir.join("grpc_client.py"), CLIENT).expect("client script");
        dir
    })
}

/// A gRPC server (`test.Echo/Say`) on 127.0.0.1; stops when dropped.
pub struct GrpcServer {
    child: Child,
    pub port: u16,
}

impl GrpcServer {
    /// Answers `echo:<msg> from <id>`.
    pub fn start(id: &str) -> GrpcServer {
        let dir = venv();
        let mut child = Command::new(dir.join("bin/python3"))
            .arg(dir.join("grpc_server.py"))
            .args(["0", id])
            .env("GRPC_VERBOSITY", "ERROR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the gRPC server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the gRPC server's READY line");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("gRPC server said {line:?}"));
        GrpcServer { child, port }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `test.Echo/Say` call to `target` (host:port) as `authority`, over
/// TLS trusting `ca_file` when given: the reply, or the gRPC error.
pub fn call(
    target: &str,
    authority: &str,
    ca_file: Option<&str>,
    msg: &str,
) -> Result<String, String> {
    let dir = venv();
    let mut cmd = Command::new(dir.join("bin/python3"));
    cmd.arg(dir.join("grpc_client.py"))
        .arg(target)
        .args(["--authority", authority, "--msg", msg])
        .env("GRPC_VERBOSITY", "ERROR");
    if let Some(ca) = ca_file {
        cmd.args(["--ca", ca]);
    }
    let out = cmd.output().expect("run the gRPC client");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}
