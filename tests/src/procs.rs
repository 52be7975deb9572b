//! What processes cost, read from `/proc`, for the benchmarks: the processes
//! of a process group (a proxy leads its own), their resident and
//! proportional memory, a process's CPU time, and a command's wall time and
//! peak RSS.

use std::process::Command;
use std::time::{Duration, Instant};

/// One process of the proxy's group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub parent: i32,
    /// Resident set, KiB (`VmRSS`): counts pages shared with the master.
    pub rss_kib: u64,
    /// Proportional set, KiB (`Pss`): shared pages split among sharers, so
    /// the group's PSS adds up to what it really holds.
    pub pss_kib: u64,
}

/// The fields of `/proc/PID/stat` after the command name, from the state
/// (field 3) on.
fn stat(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split(' ').map(String::from).collect())
}

/// (parent, process group) of `pid`.
fn stat_fields(pid: i32) -> Option<(i32, i32)> {
    let f = stat(pid)?;
    Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
}

/// CPU time (user + system) `pid` has used, seconds.
pub fn cpu_seconds(pid: i32) -> f64 {
    let f = stat(pid).unwrap_or_default();
    // utime and stime: fields 14 and 15, 12 and 13 from the state on.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// A `kB` value of `/proc/PID/status` (`VmRSS:`, `VmHWM:`, ...), KiB; 0
/// when the process is gone.
pub fn status_kib(pid: i32, key: &str) -> u64 {
    kib(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default(),
        key,
    )
}

fn kib(file: &str, key: &str) -> u64 {
    file.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Every live process whose process group is `group`.
pub fn group(group: i32) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let (parent, g) = stat_fields(pid)?;
            if g != group {
                return None;
            }
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            if status.contains("State:\tZ") {
                return None;
            }
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            Some(Proc {
                pid,
                parent,
                rss_kib: kib(&status, "VmRSS:"),
                pss_kib: kib(&rollup, "Pss:"),
            })
        })
        .collect()
}

/// The master's children (nginx's and HAProxy's workers).
pub fn workers(master: i32) -> Vec<i32> {
    group(master)
        .into_iter()
        .filter(|p| p.parent == master)
        .map(|p| p.pid)
        .collect()
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A finished command: its wall time, peak RSS and whether it succeeded.
pub struct Ran {
    pub wall: Duration,
    pub max_rss_kib: u64,
    pub ok: bool,
}

/// Runs `cmd` to its end; the peak RSS is the kernel's (`wait4`).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
pub fn run(cmd: &mut Command) -> Ran {
    let t = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as i32;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 {cmd:?}");
    Ran {
        wall: t.elapsed(),
        max_rss_kib: usage.ru_maxrss as u64,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}
