//! Rendering one cluster: check settings and input, plan each host's servers,
//! then write nginx.conf. A plain function over the kit types, so it runs (and
//! is tested) natively as well as inside the component.

use sluice_plugin_kit::settings::has_errors;
use sluice_plugin_kit::{Host, OutputFile, RenderError, RenderInput, RoutePolicy, Upstream};

use crate::hash_size;
use crate::http::{self, NameHash};
use crate::policy::{self, Policies};
use crate::quote::comment_safe;
use crate::routes::{self, Action, Body, Scheme};
use crate::server;
use crate::settings::{self, Config};
use crate::stream::{self, Hop, Route};
use crate::upstream;
use crate::writer::Conf;
use crate::{input, main_context, ports};

/// About what a host takes in nginx.conf (servers, locations, upstream), to
/// size the output buffer once.
const BYTES_PER_HOST: usize = 512;

pub struct Rendered {
    pub files: Vec<OutputFile>,
    /// Things the user should hear about that do not stop rendering.
    pub warnings: Vec<String>,
}

/// A host's servers, decided before anything is written.
struct HostPlan<'a> {
    host: &'a Host,
    http: Option<Body<'a>>,
    tls: Option<Body<'a>>,
}

fn plan_host<'a>(host: &'a Host, warnings: &mut Vec<String>) -> HostPlan<'a> {
    let mut body_for = |scheme| {
        let (body, w) = routes::body(host, scheme);
        warnings.extend(w);
        body
    };
    let http = routes::has_http_server(host).then(|| body_for(Scheme::Http));
    let tls = routes::has_tls_server(host).then(|| body_for(Scheme::Https));
    if host.passthrough && host.tls.is_some() {
        warnings.push(format!(
            "host {:?}: passthrough wins, its TLS certificate is not used",
            host.name
        ));
    }
    if host.passthrough && routes::redirect_for(host, Scheme::Https).is_some() {
        warnings.push(format!(
            "host {:?}: passthrough TLS cannot be redirected; https redirect ignored",
            host.name
        ));
    }
    if host.tls.is_none()
        && !host.passthrough
        && routes::redirect_for(host, Scheme::Https).is_some()
    {
        warnings.push(format!(
            "host {:?}: https redirect ignored, the host has no TLS certificate",
            host.name
        ));
    }
    HostPlan { host, http, tls }
}

/// The upstream a passthrough host relays to, if it has servers.
fn passthrough_upstream<'a>(host: &'a Host, warnings: &mut Vec<String>) -> Option<&'a Upstream> {
    if !host.passthrough {
        return None;
    }
    match &host.upstream {
        Some(u) if !u.servers.is_empty() => Some(u),
        _ => {
            warnings.push(format!(
                "host {:?}: passthrough host has no servers; TLS for it is refused",
                host.name
            ));
            None
        }
    }
}

fn proxied_upstreams<'a, 'b>(body: &'b Body<'a>) -> impl Iterator<Item = &'a Upstream> + 'b {
    let locs = match body {
        Body::Redirect(_) => &[][..],
        Body::Locations(locs) => &locs[..],
    };
    locs.iter().filter_map(|l| match &l.action {
        Action::Proxy { upstream, .. } => Some(*upstream),
        _ => None,
    })
}

pub fn render(input: &RenderInput, policies: &[RoutePolicy]) -> Result<Rendered, RenderError> {
    let policy_list = policies;
    let diags = settings::validate(&input.cluster.settings);
    if has_errors(&diags) {
        return Err(RenderError::InvalidSettings(diags));
    }
    let mut warnings: Vec<String> = diags.into_iter().map(|d| d.message).collect();
    let policies = Policies::new(policies);
    let mut problems = input::check(input);
    problems.extend(policy::check(input, &policies));
    if !problems.is_empty() {
        return Err(RenderError::InvalidInput(problems));
    }
    let cfg = Config::from_settings(&input.cluster.settings);
    let cluster = &input.cluster;
    warnings.extend(policy::warnings(policy_list));

    let plans: Vec<HostPlan> = input
        .hosts
        .iter()
        .map(|h| plan_host(h, &mut warnings))
        .collect();
    let relays: Vec<Option<&Upstream>> = input
        .hosts
        .iter()
        .map(|h| passthrough_upstream(h, &mut warnings))
        .collect();
    // TLS names no host has get the first terminated host's certificate
    // (HAProxy's default: its first crt-list line) and the default server.
    let default_cert = plans
        .iter()
        .find(|p| p.tls.is_some())
        .and_then(|p| p.host.tls.as_ref());
    let loopback = ports::assign(&[cluster.http_port, cluster.https_port]);
    let tls_routes: Vec<Route> = plans
        .iter()
        .zip(&relays)
        .filter_map(|(plan, relay)| {
            let hop = match relay {
                Some(u) => Hop::Passthrough(u),
                None if plan.tls.is_some() => Hop::Terminated,
                None => return None,
            };
            Some(Route {
                host: &plan.host.name,
                hop,
            })
        })
        .collect();

    // Each upstream once, by name (input::check refused differing twins);
    // empty ones get no block, their locations answer 503.
    let bodies = plans.iter().flat_map(|p| p.http.iter().chain(p.tls.iter()));
    let mut upstreams: Vec<&Upstream> = input
        .default_backend
        .iter()
        .chain(bodies.flat_map(proxied_upstreams))
        .filter(|u| !u.servers.is_empty())
        .collect();
    // Twins are identical (input::check refuses differing ones), so which
    // one stays does not matter: the unstable sort will do.
    upstreams.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    upstreams.dedup_by(|later, first| later.name == first.name);
    let zone = upstream::Zone::for_upstreams(&upstreams, &cfg);

    let passthrough_names: Vec<&str> = tls_routes
        .iter()
        .filter(|r| matches!(r.hop, Hop::Passthrough(_)))
        .map(|r| r.host)
        .collect();
    let served: Vec<&str> = plans
        .iter()
        .filter(|p| p.http.is_some() || p.tls.is_some())
        .map(|p| p.host.name.as_str())
        .chain(passthrough_names.iter().copied())
        .chain(["_"])
        .collect();
    let names = NameHash {
        bucket_size: hash_size::bucket_size(
            served.iter().copied(),
            cfg.server_names_hash_bucket_size,
        ),
        max_size: hash_size::max_size(served.len(), 512),
    };

    let mut c = Conf::with_capacity(4096 + BYTES_PER_HOST * input.hosts.len());
    c.comment(&format!(
        "Rendered by sluice-plugin-nginx {} for service cluster {}. Do not edit.",
        env!("CARGO_PKG_VERSION"),
        comment_safe(&cluster.name)
    ));
    // The HTTP port, the SNI router and its two loopback hops.
    let listeners = 1 + 3 * usize::from(!tls_routes.is_empty());
    main_context::write(&mut c, &cfg, listeners);
    let site = server::Site {
        cfg: &cfg,
        policies: &policies,
        server_info: &cluster.server_info,
    };
    c.block("http", |c| {
        http::write_settings(c, &cfg, &cluster.server_info, &names);
        for u in &upstreams {
            upstream::write_cookie_map(c, u);
        }
        policy::write_http(c, policy_list);
        for line in &cfg.http_options {
            c.line(line);
        }
        for u in &upstreams {
            c.blank();
            let health = policies.get(&u.name).and_then(|p| p.health_check.as_ref());
            upstream::write_http_upstream(c, u, &cfg, zone, health);
        }
        c.blank();
        server::write_default_server(c, cluster.http_port, input.default_backend.as_ref(), site);
        if let Some(tls) = default_cert {
            c.blank();
            server::write_default_tls_server(
                c,
                loopback.terminated,
                tls,
                input.default_backend.as_ref(),
                site,
            );
            if !passthrough_names.is_empty() {
                c.blank();
                server::write_misdirected_server(
                    c,
                    loopback.terminated,
                    tls,
                    &passthrough_names,
                    &cfg,
                );
            }
        }
        for plan in &plans {
            if let Some(body) = &plan.http {
                c.blank();
                server::write_http_server(c, plan.host, body, cluster.http_port, site);
            }
            if let Some(body) = &plan.tls {
                c.blank();
                server::write_tls_server(c, plan.host, body, loopback.terminated, site);
            }
        }
    });
    stream::write(
        &mut c,
        &tls_routes,
        default_cert.is_some(),
        loopback,
        cluster.https_port,
        &cfg,
    );

    Ok(Rendered {
        files: vec![OutputFile {
            path: cluster.config_path.clone(),
            contents: c.finish(),
        }],
        warnings,
    })
}
