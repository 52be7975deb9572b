//! Reloads the proxy checks by itself: nginx parses a new config when it
//! gets HUP and, when the parse fails, keeps serving with its old workers;
//! when it succeeds it starts new ones. So the agent need not parse every
//! revision first (`nginx -t`, ~40% of a route change at 10,000 hosts): it
//! installs the files, signals, and takes new workers as the proxy's yes.
//! A reload slower than expected makes it ask the validate command: a
//! refusal is the proxy's no (the agent puts the last good files back, so a
//! restart serves them, and reports what the command said); a config that
//! passes gets until the deadline.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::proxy::{Proxy, ProxyError};
/// How long a reload may go unconfirmed before the agent asks the validate
/// command (at least 1 s, else twice the slowest reload confirmed so far):
/// a refused config is then said within about that, not at the deadline.
pub fn grace(slowest: Duration) -> Duration {
    (slowest * 2).max(Duration::from_secs(1))
}

/// The longest a reload of a config that passes the validate command may
/// take (at least 10 s, else three times the slowest so far).
pub fn wait_for(slowest: Duration) -> Duration {
    (slowest * 3).max(Duration::from_secs(10))
}

const POLL: Duration = Duration::from_millis(5);

/// A reload signalled, and what ran before it.
pub struct Reloading {
    pid: i32,
    before: BTreeSet<i32>,
    started: Instant,
}

impl Reloading {
    /// Send `signal` to the proxy, noting its processes first.
    pub fn signal(proxy: &Proxy, signal: Signal) -> Result<Reloading, ProxyError> {
        let before = children(proxy.pid());
        let started = Instant::now();
        proxy.signal(signal)?;
        Ok(Reloading {
            pid: proxy.pid(),
            before,
            started,
        })
    }

    /// Whether the proxy runs a process it did not run before (its new
    /// workers) within `wait` of the signal.
    pub async fn taken_within(&self, wait: Duration) -> bool {
        loop {
            if children(self.pid).iter().any(|p| !self.before.contains(p)) {
                return true;
            }
            if self.started.elapsed() >= wait {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The processes whose parent is `pid`.
pub fn children(pid: i32) -> BTreeSet<i32> {
    let listed = std::fs::read_dir(format!("/proc/{pid}/task")).map(|tasks| {
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
            .flat_map(|c| {
                c.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect::<BTreeSet<i32>>()
    });
    match listed {
        Ok(found) if !found.is_empty() || has_children_files(pid) => found,
        // Kernels without /proc/PID/task/TID/children: every process's parent.
        _ => by_parent(pid),
    }
}

fn has_children_files(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}/task/{pid}/children")).exists()
}

fn by_parent(pid: i32) -> BTreeSet<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    // After the command's closing parenthesis: state, then ppid.
                    let rest = s.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_with_the_slowest_reload() {
        let ms = Duration::from_millis;
        assert_eq!(grace(ms(20)), ms(1000));
        assert_eq!(grace(ms(5000)), ms(10_000));
        assert_eq!(wait_for(ms(20)), ms(10_000));
        assert_eq!(wait_for(ms(6000)), ms(18_000));
    }

    #[test]
    fn children_are_found_either_way() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let pid = child.id() as i32;
        assert!(children(me).contains(&pid));
        assert!(by_parent(me).contains(&pid));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A "proxy" that starts a new child on HUP, and one that does not.
    #[tokio::test]
    async fn a_reload_counts_once_new_workers_run() {
        let forks = [
            "sh".to_owned(),
            "-c".to_owned(),
            "sleep 30 & trap 'sleep 31 &' HUP; while :; do wait; done".to_owned(),
        ];
        let mut proxy = Proxy::start(&forks).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = Reloading::signal(&proxy, Signal::SIGHUP).unwrap();
        assert!(r.taken_within(Duration::from_secs(5)).await);
        assert!(r.elapsed() < Duration::from_secs(5));
        let _ = proxy.signal(Signal::SIGKILL);
        let _ = proxy.wait().await;

        let ignores = [
            "sh".to_owned(),
            "-c".to_owned(),
            "trap '' HUP; exec sleep 30".to_owned(),
        ];
        let mut proxy = Proxy::start(&ignores).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = Reloading::signal(&proxy, Signal::SIGHUP).unwrap();
        assert!(!r.taken_within(Duration::from_millis(300)).await);
        let _ = proxy.signal(Signal::SIGKILL);
        let _ = proxy.wait().await;
    }
}
