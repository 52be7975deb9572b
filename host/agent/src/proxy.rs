//! The proxy process the agent runs and signals.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::str::FromStr;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy command is empty (SLUICE_PROXY_CMD)")]
    Empty,
    #[error("starting the proxy {argv:?}: {error}")]
    Start {
        argv: Vec<String>,
        error: std::io::Error,
    },
    #[error("unknown signal {0:?} (expected e.g. \"HUP\" or \"SIGUSR2\")")]
    UnknownSignal(String),
    #[error("sending {signal} to the proxy (pid {pid}): {error}")]
    Signal {
        signal: Signal,
        pid: i32,
        error: nix::Error,
    },
}

pub struct Proxy {
    child: tokio::process::Child,
    pid: i32,
}

impl Proxy {
    /// Start `argv` with the agent's stdout/stderr (the task's logs).
    pub fn start(argv: &[String]) -> Result<Proxy, ProxyError> {
        let (program, args) = argv.split_first().ok_or(ProxyError::Empty)?;
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|error| ProxyError::Start {
                argv: argv.to_vec(),
                error,
            })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        Ok(Proxy { child, pid })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn signal(&self, signal: Signal) -> Result<(), ProxyError> {
        kill(Pid::from_raw(self.pid), signal).map_err(|error| ProxyError::Signal {
            signal,
            pid: self.pid,
            error,
        })
    }

    /// Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }
}

/// "HUP", "hup" or "SIGHUP".
pub fn parse_signal(name: &str) -> Result<Signal, ProxyError> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).map_err(|_| ProxyError::UnknownSignal(name.to_owned()))
}

/// The shell's convention: the code, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        let table = [
            ("HUP", Some(Signal::SIGHUP)),
            ("usr2", Some(Signal::SIGUSR2)),
            ("SIGQUIT", Some(Signal::SIGQUIT)),
            (" TERM ", Some(Signal::SIGTERM)),
            ("RELOAD", None),
            ("", None),
        ];
        for (name, want) in table {
            assert_eq!(parse_signal(name).ok(), want, "{name:?}");
        }
    }
}
