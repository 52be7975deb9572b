//! What a plugin refuses stays with the hosts it concerns. When a render is
//! refused as invalid input, the hosts at fault are found by rendering
//! halves of the host list (a bisection: a few renders for a few bad hosts
//! among thousands), left out, and the rest of the cluster renders, so one
//! service whose labels the host accepted but the plugin does not cannot
//! stop every route change of its cluster. Each host left out is named with
//! its services and the plugin's own words.
//!
//! Only a refusal that comes from single hosts is isolated: when the cluster
//! without any host is refused too (its settings or default backend), or the
//! hosts that pass alone are refused together, the original error stands.

use super::PluginError;
use crate::wit::latest::{Host, RenderInput};

/// Renders allowed for one isolation, beyond the first (≈ 2 per bad host
/// per halving: enough for a handful of bad hosts among 10k).
const MAX_RENDERS: usize = 96;

/// A host the plugin refused; the rest of its cluster rendered without it.
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedHost {
    pub host: String,
    /// The services whose servers it routes to.
    pub services: Vec<String>,
    /// The plugin's refusal of this host alone.
    pub reason: String,
}

/// `render` refused `input` with `refusal` (an invalid-input error): the
/// files without the hosts at fault, and those hosts; or `refusal` when the
/// fault is not in single hosts.
pub fn isolate<T>(
    render: impl Fn(&RenderInput) -> Result<T, PluginError>,
    input: &RenderInput,
    refusal: PluginError,
) -> Result<(T, Vec<RefusedHost>), PluginError> {
    if !matches!(refusal, PluginError::InvalidInput { .. }) {
        return Err(refusal);
    }
    let with = |hosts: &[usize]| RenderInput {
        hosts: hosts.iter().map(|&i| input.hosts[i].clone()).collect(),
        ..input.clone()
    };
    let mut search = Search {
        output: std::marker::PhantomData,
        render: &render,
        with: &with,
        renders: 0,
        bad: Vec::new(),
    };
    if render(&with(&[])).is_err() {
        return Err(refusal);
    }
    let all: Vec<usize> = (0..input.hosts.len()).collect();
    if !search.split(&all) || search.bad.is_empty() {
        return Err(refusal);
    }
    let bad: Vec<usize> = search.bad.iter().map(|(i, _)| *i).collect();
    let keep: Vec<usize> = all.into_iter().filter(|i| !bad.contains(i)).collect();
    let Ok(files) = render(&with(&keep)) else {
        return Err(refusal);
    };
    let refused = search
        .bad
        .into_iter()
        .map(|(i, reason)| refused_host(&input.hosts[i], reason))
        .collect();
    Ok((files, refused))
}

struct Search<'a, R, W, T> {
    /// What a render gives (the files, or a test's stand-in).
    output: std::marker::PhantomData<T>,
    render: &'a R,
    with: &'a W,
    renders: usize,
    /// Hosts refused alone, with the plugin's words.
    bad: Vec<(usize, String)>,
}

impl<R, W, T> Search<'_, R, W, T>
where
    R: Fn(&RenderInput) -> Result<T, PluginError>,
    W: Fn(&[usize]) -> RenderInput,
{
    /// Find the refused single hosts among `hosts` (known or suspected to
    /// fail together); false when the render budget ran out.
    fn split(&mut self, hosts: &[usize]) -> bool {
        if hosts.len() == 1 {
            return self.try_one(hosts[0]);
        }
        let (a, b) = hosts.split_at(hosts.len() / 2);
        for half in [a, b] {
            if half.is_empty() {
                continue;
            }
            if self.renders >= MAX_RENDERS {
                return false;
            }
            self.renders += 1;
            if (self.render)(&(self.with)(half)).is_err() && !self.split(half) {
                return false;
            }
        }
        true
    }

    fn try_one(&mut self, host: usize) -> bool {
        if self.renders >= MAX_RENDERS {
            return false;
        }
        self.renders += 1;
        if let Err(e) = (self.render)(&(self.with)(&[host])) {
            self.bad.push((host, reason(&e)));
        }
        true
    }
}

impl std::fmt::Display for RefusedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {} (services {}) refused by the plugin: {}; left out, the rest of the cluster renders",
            self.host,
            self.services.join(", "),
            self.reason
        )
    }
}

fn reason(e: &PluginError) -> String {
    match e {
        PluginError::InvalidInput { diagnostics, .. } => diagnostics
            .iter()
            .map(|d| match &d.key {
                Some(k) => format!("{k}: {}", d.message),
                None => d.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn refused_host(host: &Host, reason: String) -> RefusedHost {
    let upstreams = host
        .upstream
        .iter()
        .chain(host.context_roots.iter().map(|c| &c.upstream));
    let mut services: Vec<String> = upstreams
        .flat_map(|u| u.servers.iter().map(|s| s.service.clone()))
        .collect();
    services.sort();
    services.dedup();
    RefusedHost {
        host: host.name.clone(),
        services,
        reason,
    }
}
