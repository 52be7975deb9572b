//! `upstream` blocks (http and stream) and the sticky-cookie maps they use.

use std::fmt::{self, Write};
use std::net::IpAddr;

use sluice_plugin_kit::{HealthCheck, Server, Upstream};

use crate::quote::{quoted, regex_literal};
use crate::settings::Config;
use crate::writer::{Conf, Piece, text_of};

/// Field-by-field equality (the generated types derive no `PartialEq`).
pub fn same_upstream(a: &Upstream, b: &Upstream) -> bool {
    let same_server = |x: &Server, y: &Server| {
        x.address == y.address
            && x.port == y.port
            && x.weight == y.weight
            && x.max_fails == y.max_fails
            && x.fail_timeout_seconds == y.fail_timeout_seconds
            && x.service == y.service
    };
    a.name == b.name
        && a.sticky_cookie == b.sticky_cookie
        && a.ip_hash == b.ip_hash
        && a.tls == b.tls
        && a.tls_verify == b.tls_verify
        && a.servers.len() == b.servers.len()
        && a.servers
            .iter()
            .zip(&b.servers)
            .all(|(x, y)| same_server(x, y))
}

/// `addr:port`, IPv6 in brackets.
pub struct ServerAddress<'a>(pub &'a Server);

impl Piece for ServerAddress<'_> {
    fn put(&self, out: &mut String) {
        let s = self.0;
        // input::check made sure the address is an IP literal; only IPv6 has
        // a ':' and needs brackets (and its canonical form). IPv4 parses only
        // from its canonical text, so it is written as it came.
        let v6 = s.address.contains(':').then(|| s.address.parse::<IpAddr>());
        match v6 {
            Some(Ok(IpAddr::V6(v6))) => {
                write!(out, "[{v6}]").expect("writing to a String cannot fail")
            }
            // IPv4, or refused by input::check: kept literal rather than panicking.
            _ => out.push_str(&s.address),
        }
        out.push(':');
        s.port.put(out);
    }
}

impl fmt::Display for ServerAddress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text_of(self))
    }
}

/// A `server` line's arguments, written straight into the config.
struct ServerArgs<'a>(&'a Server);

impl Piece for ServerArgs<'_> {
    fn put(&self, out: &mut String) {
        let s = self.0;
        ServerAddress(s).put(out);
        out.push_str(" weight=");
        s.weight.put(out);
        if let Some(n) = s.max_fails {
            out.push_str(" max_fails=");
            n.put(out);
        }
        if let Some(t) = s.fail_timeout_seconds {
            out.push_str(" fail_timeout=");
            t.put(out);
            out.push('s');
        }
    }
}

/// How an upstream spreads requests. A sticky cookie wins over ip_hash: both
/// are load-balancing methods and nginx keeps only one.
#[derive(Debug, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    IpHash,
    Cookie(String),
}

pub fn balance(u: &Upstream, cfg: &Config) -> Balance {
    match &u.sticky_cookie {
        Some(c) => Balance::Cookie(c.clone()),
        None if u.ip_hash || cfg.ip_hash => Balance::IpHash,
        None => Balance::RoundRobin,
    }
}

/// `$cookie_NAME` works only for names nginx variables can spell; other
/// cookie names are pulled out of the Cookie header by a `map`.
fn cookie_variable(upstream: &str, cookie: &str) -> (String, bool) {
    if cookie
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        (format!("$cookie_{cookie}"), false)
    } else {
        (format!("$sluice_cookie_{upstream}"), true)
    }
}

/// The `map` an upstream's sticky cookie needs at http level, if any.
pub fn write_cookie_map(conf: &mut Conf, u: &Upstream) {
    let Some(cookie) = &u.sticky_cookie else {
        return;
    };
    let (var, needs_map) = cookie_variable(&u.name, cookie);
    if !needs_map {
        return;
    }
    conf.block(format_args!("map $http_cookie {var}"), |c| {
        let pattern = format!("~(?:^|;\\s*){}=([^;]*)", regex_literal(cookie));
        c.directive(&quoted(&pattern), ["$1"]);
    });
}

/// The shared memory zone the upstreams keep their state in (shared by the
/// workers: failures, round-robin position). Interlock gave each upstream its
/// own `zone <name>_backend 64k`; at 10,000 services those zones took nginx
/// 3.5 s and 220 MB to set up on every check and reload (measured by the
/// proxy_scale bench), so every upstream shares one, as nginx allows.
/// `UpstreamZoneSize` stays the room it guarantees, plus what each upstream
/// and server takes (nginx 1.22 needs ~1.7 KiB per two-server upstream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    pub kib: u64,
}

pub const ZONE_NAME: &str = "sluice_upstreams";
const ZONE_KIB_PER_UPSTREAM: u64 = 2;
const ZONE_KIB_PER_SERVER: u64 = 1;

impl Zone {
    /// The zone for `upstreams`, or none when none of them uses one
    /// (`ip_hash` upstreams never do, as in Interlock).
    pub fn for_upstreams(upstreams: &[&Upstream], cfg: &Config) -> Option<Zone> {
        let zoned = upstreams
            .iter()
            .filter(|u| balance(u, cfg) != Balance::IpHash);
        let (count, servers) = zoned.fold((0u64, 0u64), |(n, s), u| {
            (n + 1, s + u.servers.len() as u64)
        });
        (count > 0).then(|| Zone {
            kib: cfg.upstream_zone_size as u64
                + count * ZONE_KIB_PER_UPSTREAM
                + servers * ZONE_KIB_PER_SERVER,
        })
    }
}

/// An http `upstream` block. Callers skip upstreams without servers (nginx
/// refuses empty ones; their locations answer 503 instead). `zone` is
/// [`Zone::for_upstreams`] of every upstream written.
/// With a `health` check (`sluice.healthcheck.*`, which nginx open source
/// cannot probe), a server failing one request rests for its interval ×
/// fall (see `policy`).
pub fn write_http_upstream(
    conf: &mut Conf,
    u: &Upstream,
    cfg: &Config,
    zone: Option<Zone>,
    health: Option<&HealthCheck>,
) {
    conf.block(("upstream ", u.name.as_str()), |c| {
        let balance = balance(u, cfg);
        if let (Some(zone), false) = (zone, balance == Balance::IpHash) {
            // The same size on every line: nginx refuses differing ones.
            c.directive(
                "zone",
                [(ZONE_NAME, ""), (itoa::Buffer::new().format(zone.kib), "k")],
            );
        }
        match &balance {
            Balance::RoundRobin => {}
            Balance::IpHash => c.line("ip_hash;"),
            Balance::Cookie(cookie) => {
                c.directive(
                    "hash",
                    [cookie_variable(&u.name, cookie).0, "consistent".into()],
                );
            }
        }
        for s in &u.servers {
            match health {
                Some(h) => {
                    let rests = Server {
                        max_fails: Some(1),
                        fail_timeout_seconds: Some(crate::policy::rest_seconds(h)),
                        ..s.clone()
                    };
                    c.directive("server", [ServerArgs(&rests)]);
                }
                None => c.directive("server", [ServerArgs(s)]),
            }
        }
    });
}

/// A stream `upstream` block for a passthrough host: raw TLS to its servers.
/// Cookies are invisible here, so stickiness can only follow the client address.
pub fn write_stream_upstream(conf: &mut Conf, name: &str, u: &Upstream, cfg: &Config) {
    conf.block(("upstream ", name), |c| {
        if u.ip_hash || cfg.ip_hash || u.sticky_cookie.is_some() {
            c.directive("hash", ["$remote_addr", "consistent"]);
        }
        for s in &u.servers {
            c.directive("server", [ServerArgs(s)]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::fixtures::{server, upstream};

    #[test]
    fn addresses() {
        for (addr, want) in [
            ("10.0.0.1", "10.0.0.1:8080"),
            ("fd00::1", "[fd00::1]:8080"),
            ("2001:db8:0:0:0:0:0:1", "[2001:db8::1]:8080"),
        ] {
            assert_eq!(ServerAddress(&server(addr, 8080)).to_string(), want);
        }
    }

    #[test]
    fn upstream_blocks() {
        let cfg = Config::from_settings(&[]);
        let mut plain = upstream("web", &[("10.0.0.1", 80)]);
        plain.servers[0].max_fails = Some(3);
        plain.servers[0].fail_timeout_seconds = Some(10);
        let mut ip = upstream("ip", &[("10.0.0.2", 80)]);
        ip.ip_hash = true;
        let mut sticky = upstream("st", &[("fd00::2", 80)]);
        sticky.sticky_cookie = Some("session".into());
        let mut dotted = upstream("dot", &[("10.0.0.3", 80)]);
        dotted.sticky_cookie = Some("connect.sid".into());
        dotted.ip_hash = true;
        let cases = [
            (
                plain,
                "upstream web {\n    zone sluice_upstreams 67k;\n    server 10.0.0.1:80 weight=1 max_fails=3 fail_timeout=10s;\n}\n",
            ),
            (
                ip,
                "upstream ip {\n    ip_hash;\n    server 10.0.0.2:80 weight=1;\n}\n",
            ),
            (
                sticky,
                "upstream st {\n    zone sluice_upstreams 67k;\n    hash $cookie_session consistent;\n    server [fd00::2]:80 weight=1;\n}\n",
            ),
            (
                dotted,
                "upstream dot {\n    zone sluice_upstreams 67k;\n    hash $sluice_cookie_dot consistent;\n    server 10.0.0.3:80 weight=1;\n}\n",
            ),
        ];
        for (u, want) in cases {
            let mut c = Conf::new();
            write_http_upstream(&mut c, &u, &cfg, Zone::for_upstreams(&[&u], &cfg), None);
            assert_eq!(c.finish(), want, "upstream {}", u.name);
        }
    }

    #[test]
    fn one_zone_sized_for_every_upstream_and_server() {
        let two = upstream("two", &[("10.0.0.1", 80), ("10.0.0.2", 80)]);
        let three = upstream(
            "three",
            &[("10.0.0.3", 80), ("10.0.0.4", 80), ("10.0.0.5", 80)],
        );
        let mut ip = upstream("ip", &[("10.0.0.6", 80)]);
        ip.ip_hash = true;
        let small = Config::from_settings(&[sluice_plugin_kit::Setting {
            key: "UpstreamZoneSize".into(),
            value: sluice_plugin_kit::SettingValue::Integer(32),
        }]);
        let default = Config::from_settings(&[]);
        let cases: &[(&[&Upstream], &Config, Option<u64>)] = &[
            (&[], &default, None),
            (&[&ip], &default, None),
            (&[&two], &default, Some(64 + 2 + 2)),
            (&[&two, &three, &ip], &default, Some(64 + 2 * 2 + 5)),
            (&[&two, &three], &small, Some(32 + 2 * 2 + 5)),
        ];
        for (ups, cfg, want) in cases {
            let names: Vec<&str> = ups.iter().map(|u| u.name.as_str()).collect();
            assert_eq!(
                Zone::for_upstreams(ups, cfg).map(|z| z.kib),
                *want,
                "{names:?}"
            );
        }
    }

    #[test]
    fn cookie_map_only_for_unspellable_names() {
        let mut u = upstream("dot", &[("10.0.0.3", 80)]);
        u.sticky_cookie = Some("session".into());
        let mut c = Conf::new();
        write_cookie_map(&mut c, &u);
        assert_eq!(c.finish(), "");

        u.sticky_cookie = Some("connect.sid".into());
        let mut c = Conf::new();
        write_cookie_map(&mut c, &u);
        assert_eq!(
            c.finish(),
            "map $http_cookie $sluice_cookie_dot {\n    \"~(?:^|;\\\\s*)connect\\\\.sid=([^;]*)\" $1;\n}\n"
        );
    }

    #[test]
    fn global_ip_hash_applies() {
        let cfg = Config::from_settings(&[sluice_plugin_kit::Setting {
            key: "IPHash".into(),
            value: sluice_plugin_kit::SettingValue::Boolean(true),
        }]);
        assert_eq!(balance(&upstream("a", &[]), &cfg), Balance::IpHash);
    }
}
