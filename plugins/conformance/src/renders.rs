//! The corpus run: every case rendered twice, measured, and judged for
//! success, determinism, output limits, time and memory.

use std::time::Duration;

use super::corpus::Case;
use super::report::{CheckResult, RenderRecord, mib, ms};
use sluice_render::wit::latest::{OutputFile, RenderInput};
use sluice_render::{CallStats, CodePolicy, Limits, Plugin, PluginError};

/// A case's first render.
pub struct Rendered {
    pub case: Case,
    pub result: Result<Vec<OutputFile>, PluginError>,
    pub stats: CallStats,
}

impl Rendered {
    pub fn ok(&self) -> bool {
        self.result.is_ok()
    }
}

pub fn render_all(plugin: &Plugin, cases: Vec<Case>) -> Vec<Rendered> {
    cases
        .into_iter()
        .map(|case| {
            let (result, stats) =
                plugin.render_measured(&case.input, &[], &case.input.cluster.config_path);
            Rendered {
                case,
                result: result.map(|r| r.files),
                stats,
            }
        })
        .collect()
}

pub fn records(rendered: &[Rendered]) -> Vec<RenderRecord> {
    rendered
        .iter()
        .map(|r| {
            let (outcome, detail, files, bytes) = match &r.result {
                Ok(f) => (
                    "ok",
                    String::new(),
                    f.len(),
                    f.iter().map(|f| f.contents.len()).sum(),
                ),
                Err(PluginError::InvalidInput { diagnostics, .. }) => {
                    ("refused", super::injection::list(diagnostics), 0, 0)
                }
                Err(e) => ("failed", e.to_string(), 0, 0),
            };
            RenderRecord {
                case: r.case.name.clone(),
                outcome,
                detail,
                files,
                bytes,
                elapsed: r.stats.elapsed,
                peak_memory_bytes: r.stats.peak_memory_bytes,
            }
        })
        .collect()
}

/// Every case renders or is refused with a diagnostic; required cases render.
pub fn check_corpus(rendered: &[Rendered]) -> CheckResult {
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for r in rendered {
        match &r.result {
            Ok(_) => {}
            Err(PluginError::InvalidInput { diagnostics, .. }) => {
                if r.case.required {
                    failures.push(format!(
                        "{}: must render, was refused: {}",
                        r.case.name,
                        super::injection::list(diagnostics)
                    ));
                } else if diagnostics.is_empty() {
                    failures.push(format!("{}: refused without a diagnostic", r.case.name));
                } else {
                    refused.push(r.case.name.as_str());
                }
            }
            // Reported by the output, time and memory checks.
            Err(
                PluginError::BadOutput { .. }
                | PluginError::Timeout { .. }
                | PluginError::MemoryLimit { .. },
            ) => {}
            Err(e) => failures.push(format!("{}: {e}", r.case.name)),
        }
    }
    let ok = rendered.iter().filter(|r| r.ok()).count();
    let refused_note = if refused.is_empty() {
        String::new()
    } else {
        format!(" (refused: {})", refused.join(", "))
    };
    CheckResult::new(
        "corpus",
        format!(
            "{} route sets: {ok} rendered, {} refused with a diagnostic{refused_note}",
            rendered.len(),
            refused.len()
        ),
        failures,
    )
}

/// The same input rendered again gives the same bytes.
pub fn check_determinism(plugin: &Plugin, rendered: &[Rendered]) -> CheckResult {
    let mut failures = Vec::new();
    let mut compared = 0;
    for r in rendered {
        let Ok(first) = &r.result else { continue };
        compared += 1;
        match plugin.render(&r.case.input).map(|r| r.files) {
            Ok(second) if &second == first => {}
            Ok(second) => failures.push(format!(
                "{}: {}",
                r.case.name,
                first_difference(first, &second)
            )),
            Err(e) => failures.push(format!("{}: second render failed: {e}", r.case.name)),
        }
    }
    CheckResult::new(
        "determinism",
        format!(
            "{compared} route sets rendered twice, {} identical",
            compared - failures.len()
        ),
        failures,
    )
}

fn first_difference(a: &[OutputFile], b: &[OutputFile]) -> String {
    if a.len() != b.len() {
        return format!("{} files, then {}", a.len(), b.len());
    }
    for (x, y) in a.iter().zip(b) {
        if x.path != y.path {
            return format!("file `{}`, then `{}`", x.path, y.path);
        }
        if x.contents != y.contents {
            let line = x
                .contents
                .lines()
                .zip(y.contents.lines())
                .position(|(l, m)| l != m)
                .unwrap_or(0);
            let show = |s: &str| {
                s.lines()
                    .nth(line)
                    .unwrap_or("")
                    .chars()
                    .take(100)
                    .collect::<String>()
            };
            return format!(
                "{} differs at line {}: {:?} vs {:?}",
                x.path,
                line + 1,
                show(&x.contents),
                show(&y.contents)
            );
        }
    }
    "same".into()
}

/// Paths inside the config's directory, counts and sizes within the limits
/// (the host's own output check, applied to every render).
pub fn check_output_limits(rendered: &[Rendered], limits: &Limits) -> CheckResult {
    let mut failures = Vec::new();
    let (mut files, mut bytes, mut at) = (0, 0, "");
    for r in rendered {
        match &r.result {
            Err(e @ PluginError::BadOutput { .. }) => {
                failures.push(format!("{}: {e}", r.case.name))
            }
            Ok(f) => {
                let size: usize = f.iter().map(|f| f.contents.len()).sum();
                files = files.max(f.len());
                if size > bytes {
                    (bytes, at) = (size, r.case.name.as_str());
                }
            }
            Err(_) => {}
        }
    }
    CheckResult::new(
        "output limits",
        format!(
            "paths inside the config dir; at most {files} files (limit {}), largest output {} in `{at}` (limit {})",
            limits.output_files,
            mib(bytes),
            mib(limits.output_bytes)
        ),
        failures,
    )
}

/// Nothing that loads or runs code in the proxy (the host refuses such a
/// render in every cluster: [`CodePolicy`]).
pub fn check_code(rendered: &[Rendered], proxy: &str) -> CheckResult {
    let policy = CodePolicy::for_kind(proxy);
    let failures: Vec<String> = rendered
        .iter()
        .filter_map(|r| {
            let files = r.result.as_ref().ok()?;
            let err = policy.check(files).err()?;
            Some(format!("{}: {err}", r.case.name))
        })
        .collect();
    CheckResult::new(
        "proxy code",
        format!("no directive that loads or runs code in {proxy:?} configs"),
        failures,
    )
}

fn median(mut v: Vec<u128>) -> u128 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Wall time per render against the deadline.
pub fn check_time(rendered: &[Rendered], limits: &Limits) -> CheckResult {
    let failures = rendered
        .iter()
        .filter_map(|r| match &r.result {
            Err(e @ PluginError::Timeout { .. }) => Some(format!("{}: {e}", r.case.name)),
            _ => None,
        })
        .collect();
    let slowest = rendered.iter().max_by_key(|r| r.stats.elapsed);
    let med = median(
        rendered
            .iter()
            .map(|r| r.stats.elapsed.as_nanos())
            .collect(),
    );
    CheckResult::new(
        "time per render",
        format!(
            "median {}, max {} (`{}`), deadline {}",
            ms(Duration::from_nanos(med as u64)),
            slowest.map(|r| ms(r.stats.elapsed)).unwrap_or_default(),
            slowest.map(|r| r.case.name.as_str()).unwrap_or(""),
            ms(limits.deadline)
        ),
        failures,
    )
}

/// Peak linear memory per render against the cap.
pub fn check_memory(rendered: &[Rendered], limits: &Limits) -> CheckResult {
    let failures = rendered
        .iter()
        .filter_map(|r| match &r.result {
            Err(e @ PluginError::MemoryLimit { .. }) => Some(format!("{}: {e}", r.case.name)),
            _ => None,
        })
        .collect();
    let biggest = rendered.iter().max_by_key(|r| r.stats.peak_memory_bytes);
    let med = median(
        rendered
            .iter()
            .map(|r| r.stats.peak_memory_bytes as u128)
            .collect(),
    );
    CheckResult::new(
        "memory per render",
        format!(
            "median {}, max {} (`{}`), cap {}",
            mib(med as usize),
            biggest
                .map(|r| mib(r.stats.peak_memory_bytes))
                .unwrap_or_default(),
            biggest.map(|r| r.case.name.as_str()).unwrap_or(""),
            mib(limits.memory_bytes)
        ),
        failures,
    )
}

/// Inputs that rendered, for the proxy check.
pub fn rendered_inputs(rendered: &[Rendered]) -> Vec<(String, RenderInput)> {
    rendered
        .iter()
        .filter(|r| r.ok())
        .map(|r| (r.case.name.clone(), r.case.input.clone()))
        .collect()
}
