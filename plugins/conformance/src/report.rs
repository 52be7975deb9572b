//! The kit's findings: one line per named check, with numbers, and what each
//! render cost.

use std::time::Duration;

use sluice_render::wit::latest::PluginInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not run (e.g. the proxy binary is missing); never a failure.
    Skip,
}

/// The outcome of one named check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: Status,
    /// One line with the numbers.
    pub summary: String,
    /// What went wrong, one item per finding (capped when printed).
    pub failures: Vec<String>,
}

impl CheckResult {
    pub fn new(name: &'static str, summary: String, failures: Vec<String>) -> CheckResult {
        let status = if failures.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        CheckResult {
            name,
            status,
            summary,
            failures,
        }
    }

    pub fn skipped(name: &'static str, why: String) -> CheckResult {
        CheckResult {
            name,
            status: Status::Skip,
            summary: why,
            failures: vec![],
        }
    }
}

/// What one render of a corpus case did.
#[derive(Clone, Debug)]
pub struct RenderRecord {
    pub case: String,
    /// "ok", "refused" or "failed".
    pub outcome: &'static str,
    pub detail: String,
    pub files: usize,
    pub bytes: usize,
    pub elapsed: Duration,
    pub peak_memory_bytes: usize,
}

/// Everything the kit found about one plugin.
#[derive(Clone, Debug)]
pub struct Report {
    /// What was checked (the file path).
    pub source: String,
    /// Interface version the component exports, when it could be read.
    pub interface: Option<String>,
    pub info: Option<PluginInfo>,
    pub checks: Vec<CheckResult>,
    pub renders: Vec<RenderRecord>,
}

/// Findings printed per check; the rest are counted.
const SHOWN_FAILURES: usize = 8;

impl Report {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Names of the failed checks.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.name)
            .collect()
    }
}

pub fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "plugin {}", self.source)?;
        if let Some(v) = &self.interface {
            writeln!(f, "  interface  sluice:renderer@{v}")?;
        }
        if let Some(i) = &self.info {
            writeln!(
                f,
                "  name       {} {} (proxy: {})",
                i.name, i.version, i.proxy
            )?;
            writeln!(f, "  config     {}", i.default_config_path)?;
            writeln!(f, "  validate   {}", i.validate_command.join(" "))?;
            let reload = match &i.reload {
                sluice_render::wit::latest::Reload::Signal(s) => format!("signal {s}"),
                sluice_render::wit::latest::Reload::Command(c) => {
                    format!("command {}", c.join(" "))
                }
            };
            writeln!(f, "  reload     {reload}")?;
        }
        if !self.renders.is_empty() {
            writeln!(f, "\nrenders:")?;
            for r in &self.renders {
                writeln!(
                    f,
                    "  {:<22} {:<8} {:>3} files {:>10} B {:>10} {:>10}  {}",
                    r.case,
                    r.outcome,
                    r.files,
                    r.bytes,
                    ms(r.elapsed),
                    mib(r.peak_memory_bytes),
                    r.detail
                )?;
            }
        }
        writeln!(f, "\nchecks:")?;
        for c in &self.checks {
            let mark = match c.status {
                Status::Pass => "✓",
                Status::Fail => "✗",
                Status::Skip => "-",
            };
            writeln!(f, "  {mark} {:<24} {}", c.name, c.summary)?;
            for x in c.failures.iter().take(SHOWN_FAILURES) {
                writeln!(f, "      {}", x.replace('\n', "\n        "))?;
            }
            if c.failures.len() > SHOWN_FAILURES {
                writeln!(
                    f,
                    "      ... and {} more",
                    c.failures.len() - SHOWN_FAILURES
                )?;
            }
        }
        let failed = self.failed();
        if failed.is_empty() {
            writeln!(f, "\nresult: PASS ({} checks)", self.checks.len())
        } else {
            writeln!(
                f,
                "\nresult: FAIL ({} of {} checks failed: {})",
                failed.len(),
                self.checks.len(),
                failed.join(", ")
            )
        }
    }
}
