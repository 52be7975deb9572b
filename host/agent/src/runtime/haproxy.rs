//! HAProxy's master CLI (`haproxy -W -S <socket>`): each command is sent to
//! the current worker (`@1`), several on one line separated by `;`. The
//! master keeps a connection open after answering, so the agent closes its
//! side once the line is sent and reads the answers to the end. Answers
//! carry no status: a successful `set server` says nothing or "IP changed
//! ...", a failed one one of the phrases in [`FAILURES`]. So every update is
//! read back (`show servers state`) before it counts as applied.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::Set;

/// Commands on one line (HAProxy takes ~15 KB per command; a line of
/// 1,000 worked): enough for a burst, short enough to keep answers small.
const PER_LINE: usize = 100;
/// The master socket goes away for ~50 ms while HAProxy reloads.
const CONNECT_FOR: Duration = Duration::from_secs(2);
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Answers kept for an error message.
const MAX_ANSWER: usize = 64 * 1024;

/// What HAProxy says when a command did not do what it asked (compared
/// without case).
const FAILURES: &[&str] = &[
    "no such",
    "invalid",
    "problem",
    "expects",
    "unknown command",
    "can't",
    "proxy is disabled",
    "only be between",
    "only supported",
    "require",
    "not found",
    "permission denied",
];

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("HAProxy's master socket {path}: {error}")]
    Socket { path: String, error: std::io::Error },
    #[error("HAProxy's master socket {path}: no answer within {ANSWER_WITHIN:?}")]
    Timeout { path: String },
    #[error("HAProxy refused `{command}`: {answer}")]
    Refused { command: String, answer: String },
    #[error("HAProxy's server {slot} is not as set: {found}")]
    Unverified { slot: String, found: String },
}

/// The master CLI at `socket`.
#[derive(Clone, Debug)]
pub struct Master {
    socket: PathBuf,
}

impl Master {
    pub fn new(socket: impl Into<PathBuf>) -> Master {
        Master {
            socket: socket.into(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// What HAProxy is started with to serve this socket: root only (it
    /// answers every command), in master-worker mode's CLI.
    pub fn proxy_args(&self) -> [String; 2] {
        [
            "-S".to_owned(),
            format!("{},mode,600", self.socket.display()),
        ]
    }

    /// Set every slot of `sets`, then read them back; the first refusal
    /// or difference stops it (the caller then reloads, which sets
    /// everything from the files).
    pub async fn apply(&self, sets: &[Set]) -> Result<(), MasterError> {
        let commands: Vec<String> = sets.iter().flat_map(commands).collect();
        for chunk in commands.chunks(PER_LINE) {
            let answer = self.send(chunk).await?;
            let lower = answer.to_ascii_lowercase();
            if let Some(failure) = FAILURES.iter().find(|f| lower.contains(*f)) {
                let line = answer
                    .lines()
                    .find(|l| l.to_ascii_lowercase().contains(failure))
                    .unwrap_or(&answer);
                return Err(MasterError::Refused {
                    command: chunk.join("; "),
                    answer: line.trim().to_owned(),
                });
            }
        }
        self.verify(sets).await
    }

    /// Each slot of `sets` as HAProxy has it now (`show servers state`).
    async fn verify(&self, sets: &[Set]) -> Result<(), MasterError> {
        let backends: std::collections::BTreeSet<&str> = sets.iter().map(Set::backend).collect();
        let shows: Vec<String> = backends
            .iter()
            .map(|b| format!("show servers state {b}"))
            .collect();
        let mut state = String::new();
        for chunk in shows.chunks(PER_LINE) {
            state.push_str(&self.send(chunk).await?);
        }
        let servers = servers_state(&state);
        for set in sets {
            let (backend, name) = (set.backend(), set.name());
            let slot = || format!("{backend}/{name}");
            let Some(found) = servers.get(&(backend, name)) else {
                return Err(MasterError::Unverified {
                    slot: slot(),
                    found: "not listed by `show servers state`".into(),
                });
            };
            if !found.is(set) {
                return Err(MasterError::Unverified {
                    slot: slot(),
                    found: format!("{found:?}"),
                });
            }
        }
        Ok(())
    }

    /// One line of `commands` to the current worker; the answers.
    pub async fn send(&self, commands: &[String]) -> Result<String, MasterError> {
        let path = || self.socket.display().to_string();
        let socket_error = |error| MasterError::Socket {
            path: path(),
            error,
        };
        let line: Vec<String> = commands.iter().map(|c| format!("@1 {c}")).collect();
        let line = format!("{}\n", line.join("; "));
        let exchange = async {
            let mut stream = connect(&self.socket).await.map_err(socket_error)?;
            stream
                .write_all(line.as_bytes())
                .await
                .map_err(socket_error)?;
            stream.shutdown().await.map_err(socket_error)?;
            let mut answer = Vec::new();
            (&mut stream)
                .take(MAX_ANSWER as u64)
                .read_to_end(&mut answer)
                .await
                .map_err(socket_error)?;
            Ok(String::from_utf8_lossy(&answer).into_owned())
        };
        tokio::time::timeout(ANSWER_WITHIN, exchange)
            .await
            .map_err(|_| MasterError::Timeout { path: path() })?
    }
}

/// One server as `show servers state` lists it.
#[derive(Debug, PartialEq, Eq)]
struct ServerState {
    address: Option<std::net::IpAddr>,
    port: Option<u16>,
    /// 2: running.
    operational: u32,
    /// Bit 1: put in maintenance by the runtime API.
    admin: u32,
    weight: u32,
}

impl ServerState {
    fn is(&self, set: &Set) -> bool {
        match set {
            Set::Server {
                address,
                port,
                weight,
                ..
            } => {
                self.address == Some(*address)
                    && self.port == Some(*port)
                    && self.weight == *weight
                    && self.admin & 1 == 0
                    && self.operational == 2
            }
            Set::Empty { .. } => self.admin & 1 == 1,
        }
    }
}

/// `show servers state` (format 1: `be_id be_name srv_id srv_name srv_addr
/// srv_op_state srv_admin_state srv_uweight ... srv_port ...`), by
/// (backend, server).
fn servers_state(text: &str) -> std::collections::HashMap<(&str, &str), ServerState> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 19 {
                return None;
            }
            let state = ServerState {
                address: f[4].parse().ok(),
                port: f[18].parse().ok(),
                operational: f[5].parse().ok()?,
                admin: f[6].parse().ok()?,
                weight: f[7].parse().ok()?,
            };
            Some(((f[1], f[3]), state))
        })
        .collect()
}

/// Connect, waiting out a reload (the socket briefly gone or refusing).
async fn connect(path: &Path) -> std::io::Result<UnixStream> {
    let until = tokio::time::Instant::now() + CONNECT_FOR;
    loop {
        match UnixStream::connect(path).await {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) && tokio::time::Instant::now() < until =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

impl Set {
    fn backend(&self) -> &str {
        match self {
            Set::Server { backend, .. } | Set::Empty { backend, .. } => backend,
        }
    }

    fn name(&self) -> &str {
        match self {
            Set::Server { name, .. } | Set::Empty { name, .. } => name,
        }
    }
}

/// The commands for one slot (names were checked by [`super::changes`];
/// the address is the agent's own rendering of a parsed IP).
pub fn commands(set: &Set) -> Vec<String> {
    match set {
        Set::Server {
            backend,
            name,
            address,
            port,
            weight,
            enable,
        } => {
            let mut c = vec![
                format!("set server {backend}/{name} addr {address} port {port}"),
                format!("set server {backend}/{name} weight {weight}"),
            ];
            if *enable {
                c.push(format!("set server {backend}/{name} state ready"));
            }
            c
        }
        Set::Empty { backend, name } => vec![format!("set server {backend}/{name} state maint")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_per_change() {
        let set = Set::Server {
            backend: "up_a".into(),
            name: "slot2".into(),
            address: "fd00::2".parse().unwrap(),
            port: 8080,
            weight: 3,
            enable: true,
        };
        assert_eq!(
            commands(&set),
            [
                "set server up_a/slot2 addr fd00::2 port 8080",
                "set server up_a/slot2 weight 3",
                "set server up_a/slot2 state ready",
            ]
        );
        let empty = Set::Empty {
            backend: "up_a".into(),
            name: "slot2".into(),
        };
        assert_eq!(commands(&empty), ["set server up_a/slot2 state maint"]);
    }

    /// As HAProxy 2.6 printed it (two slots of `up_a`, one set, one empty).
    const STATE: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 up_a 1 slot1 10.0.0.5 2 4 3 1 12 1 0 0 0 0 0 0 - 8080 - 0 0 - - 0\n3 up_a 2 slot2 0.0.0.0 0 5 1 1 12 1 0 0 0 0 0 0 - 0 - 0 0 - - 0\n\n";

    #[test]
    fn state_is_read_back_per_slot() {
        let servers = servers_state(STATE);
        let set = |weight| Set::Server {
            backend: "up_a".into(),
            name: "slot1".into(),
            address: "10.0.0.5".parse().unwrap(),
            port: 8080,
            weight,
            enable: true,
        };
        let empty = |name: &str| Set::Empty {
            backend: "up_a".into(),
            name: name.into(),
        };
        assert!(servers[&("up_a", "slot1")].is(&set(3)));
        assert!(!servers[&("up_a", "slot1")].is(&set(4)), "another weight");
        assert!(!servers[&("up_a", "slot1")].is(&empty("slot1")));
        assert!(servers[&("up_a", "slot2")].is(&empty("slot2")));
        assert_eq!(servers.len(), 2, "headers and blank lines are not servers");
    }

    /// A master that answers every line with `answer`, at a socket of its own.
    async fn fake_master(answer: &'static str) -> (tempfile::TempDir, Master) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut line = Vec::new();
                let _ = s.read_to_end(&mut line).await;
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        (dir, Master::new(path))
    }

    #[tokio::test]
    async fn refusals_are_errors_naming_the_command() {
        let set = Set::Empty {
            backend: "up_a".into(),
            name: "slot1".into(),
        };
        let (_dir, ok) = fake_master(STATE).await;
        let slot2 = Set::Empty {
            backend: "up_a".into(),
            name: "slot2".into(),
        };
        ok.apply(std::slice::from_ref(&slot2)).await.unwrap();
        // Said nothing wrong, but the state read back is not what was set.
        let err = ok.apply(std::slice::from_ref(&set)).await.unwrap_err();
        assert!(
            err.to_string().contains("up_a/slot1 is not as set"),
            "{err}"
        );
        let (_dir, refusing) = fake_master("no such server.\n\n").await;
        let err = refusing.apply(&[set]).await.unwrap_err().to_string();
        assert!(
            err.contains("no such server") && err.contains("up_a/slot1"),
            "{err}"
        );
        let gone = Master::new("/nonexistent/sluice-test/master.sock");
        let err = gone.send(&["help".into()]).await.unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/sluice-test/master.sock"),
            "{err}"
        );
    }
}
