//! What processes cost, read from `/proc`, for the benchmarks: the processes
//! of a process group (a proxy leads its own), their resident and
//! proportional memory, a process's CPU time, and a command's wall time and
//! peak RSS.

use std::ffi::{OsStr, OsString};
use std::process::{Command, Stdio};
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
        .filter(|pid| stat_fields(*pid).is_some_and(|(_, g)| g == group))
        .filter_map(read)
        .collect()
}

/// Every live process in `pid`'s cgroup (a container's processes, whatever
/// their groups: its agent, the proxy's master and workers).
pub fn cgroup(pid: i32) -> Vec<Proc> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    // cgroup v1 (this machine): the memory hierarchy; v2: the unified one.
    let dir = cgroups.lines().find_map(|l| {
        let (_, rest) = l.split_once(':')?;
        match rest.split_once(':')? {
            ("memory", path) => Some(format!("/sys/fs/cgroup/memory{path}")),
            ("", path) if path != "/" => Some(format!("/sys/fs/cgroup{path}")),
            _ => None,
        }
    });
    let Some(dir) = dir else { return Vec::new() };
    std::fs::read_to_string(format!("{dir}/cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter_map(read)
        .collect()
}

/// `pid`'s parent and memory; None when it is gone or a zombie.
fn read(pid: i32) -> Option<Proc> {
    let (parent, _) = stat_fields(pid)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if status.contains("State:\tZ") {
        return None;
    }
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Some(Proc {
        pid,
        parent,
        rss_kib: kib(&status, "VmRSS:"),
        pss_kib: kib(&rollup, "Pss:"),
    })
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
    /// The kernel counts the spawning process's own peak into a child's
    /// `ru_maxrss` (exec keeps the high-water mark of the memory it
    /// replaces, which a vfork child shares with us). When the figure is not
    /// above our own peak, it only says the child stayed below it.
    pub rss_masked: bool,
    pub ok: bool,
}

/// Runs `cmd` to its end; the peak RSS is the kernel's (`wait4`).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
pub fn run(cmd: &mut Command) -> Ran {
    let own_peak = status_kib(std::process::id() as i32, "VmHWM:");
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
        rss_masked: usage.ru_maxrss as u64 <= own_peak,
        ok: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

const ALONE: &str = "--sluice-run-alone";

/// Runs `program args` (output discarded) from a fresh copy of this
/// executable, so the peak RSS measured is the program's own and not masked
/// by this process's (see [`Ran::rss_masked`]). The binary's `main` must call
/// [`serve_run_alone`] first.
pub fn run_alone(program: &OsStr, args: &[OsString]) -> Ran {
    let exe = std::env::current_exe().expect("this executable");
    let out = Command::new(exe)
        .arg(ALONE)
        .arg(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {program:?} alone: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    assert!(
        out.status.success() && f.len() == 4,
        "run-alone helper said {text:?}"
    );
    Ran {
        wall: Duration::from_nanos(f[0].parse().expect("wall")),
        max_rss_kib: f[1].parse().expect("rss"),
        rss_masked: f[2] == "true",
        ok: f[3] == "true",
    }
}

/// The helper side of [`run_alone`]: when this process was started as one,
/// runs the command, prints what it cost and exits.
pub fn serve_run_alone() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(ALONE)) {
        return;
    }
    let program = args.next().expect("run-alone: a program");
    let ran = run(Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null()));
    println!(
        "{} {} {} {}",
        ran.wall.as_nanos(),
        ran.max_rss_kib,
        ran.rss_masked,
        ran.ok
    );
    std::process::exit(0);
}
