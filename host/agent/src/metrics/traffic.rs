//! Per-host traffic from the proxy's access log lines (nginx, which has no
//! per-host counters of its own: its config logs one line per request to
//! the agent's socket, see [`super::socket`]).
//!
//! A line is whatever reached the socket, so it is parsed as hostile: six
//! tab-separated fields of bounded size and known shape, anything else is
//! counted as refused and dropped. Hosts and upstreams become labels only
//! when the installed revision names them ([`Routes::install`]), and at
//! most [`MAX_ROUTES`] pairs: any other traffic is counted under `_other`,
//! so no sender can take or grow the series.

use std::collections::HashSet;

/// The log format the nginx plugin renders (`log_format sluice_traffic`):
/// `$server_name $proxy_host $status $request_time $upstream_status
/// $connections_active`, tab-separated, json-escaped (so no value holds a
/// tab). Behind a syslog header ending in the tag.
pub const TAG: &str = "sluice: ";

/// Distinct (host, upstream) pairs kept as labels; a 10k-service cluster
/// with a context root per service stays under it.
pub const MAX_ROUTES: usize = 20_000;
/// Longer hosts are not DNS names (upstream names are shorter still).
const MAX_NAME: usize = 253;
/// The label for traffic beyond [`MAX_ROUTES`].
pub const OTHER: &str = "_other";

/// One request, as logged.
#[derive(Debug, PartialEq)]
pub struct Request<'l> {
    /// The server block's first name (`_` for the default server).
    pub host: &'l str,
    /// The upstream it was proxied to; empty for answers nginx gave itself
    /// (redirects, the 503 page).
    pub upstream: &'l str,
    /// `2xx` and so on.
    pub code: &'static str,
    pub seconds: f64,
    /// Tries that ended in a connection failure or timeout (nginx's own
    /// 502/504 in `$upstream_status`).
    pub upstream_errors: u32,
    pub connections_active: Option<i64>,
}

/// Why a line was dropped (counted in `sluice_proxy_traffic_lines_refused_total`).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a traffic line: no tag, wrong field count, bad values.
    Malformed,
}

pub fn parse(datagram: &[u8]) -> Result<Request<'_>, Refused> {
    let text = std::str::from_utf8(datagram).map_err(|_| Refused::Malformed)?;
    let line = match text.find(TAG) {
        Some(at) => &text[at + TAG.len()..],
        None => return Err(Refused::Malformed),
    };
    let line = line.strip_suffix('\n').unwrap_or(line);
    let mut fields = line.split('\t');
    let mut next = || fields.next().ok_or(Refused::Malformed);
    let (host, upstream, status, time, upstream_status, active) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    if fields.next().is_some() || !name(host) || host.is_empty() || !name(upstream) {
        return Err(Refused::Malformed);
    }
    let code = match status.parse::<u16>() {
        Ok(100..=199) => "1xx",
        Ok(200..=299) => "2xx",
        Ok(300..=399) => "3xx",
        Ok(400..=499) => "4xx",
        Ok(500..=599) => "5xx",
        _ => return Err(Refused::Malformed),
    };
    let seconds: f64 = time.parse().map_err(|_| Refused::Malformed)?;
    if !(0.0..1e7).contains(&seconds) {
        return Err(Refused::Malformed);
    }
    if upstream_status.len() > 1024 {
        return Err(Refused::Malformed);
    }
    // "502, 200" (tries) or "502 : 200" (internal redirects); "-" none.
    let upstream_errors = upstream_status
        .split([',', ':', ' '])
        .filter(|s| matches!(*s, "502" | "504"))
        .count() as u32;
    let connections_active = match active {
        "" | "-" => None,
        n => Some(n.parse::<i64>().map_err(|_| Refused::Malformed)?),
    };
    Ok(Request {
        host,
        upstream,
        code,
        seconds,
        upstream_errors,
        connections_active,
    })
}

/// A name from the proxy's config: bounded, printable, no quotes.
fn name(s: &str) -> bool {
    s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\'))
}

/// The (host, upstream) pairs given labels, and the names of the installed
/// revision that may become labels.
#[derive(Default)]
pub struct Routes {
    names: HashSet<String>,
    known: HashSet<(String, String)>,
}

impl Routes {
    /// A new revision is installed: only the names in its `files` get
    /// labels from now on. The pairs that lost theirs are returned (their
    /// series go).
    pub fn install<'f>(
        &mut self,
        files: impl IntoIterator<Item = &'f str>,
    ) -> Vec<(String, String)> {
        self.install_names(names_in(files))
    }

    /// [`Routes::install`] with the names already collected ([`names_in`]).
    pub fn install_names(&mut self, names: HashSet<String>) -> Vec<(String, String)> {
        self.names = names;
        let (keep, gone): (HashSet<_>, HashSet<_>) = std::mem::take(&mut self.known)
            .into_iter()
            .partition(|(host, upstream)| self.named(host, upstream));
        self.known = keep;
        gone.into_iter().collect()
    }

    /// The hosts of the labelled pairs.
    pub fn hosts(&self) -> HashSet<&str> {
        self.known.iter().map(|(h, _)| h.as_str()).collect()
    }

    fn named(&self, host: &str, upstream: &str) -> bool {
        self.names.contains(host) && (upstream.is_empty() || self.names.contains(upstream))
    }

    /// The labels for `request`'s host and upstream: their own when the
    /// installed config names them and there is room, else [`OTHER`].
    pub fn labels(&mut self, request: &Request<'_>) -> (String, String) {
        let other = || (OTHER.to_owned(), OTHER.to_owned());
        if !self.named(request.host, request.upstream) {
            return other();
        }
        let key = (request.host.to_owned(), request.upstream.to_owned());
        if self.known.contains(&key) {
            return key;
        }
        if self.known.len() < MAX_ROUTES {
            self.known.insert(key.clone());
            return key;
        }
        other()
    }
}

/// The words of a config that could be a server or upstream name.
pub fn names_in<'f>(files: impl IntoIterator<Item = &'f str>) -> HashSet<String> {
    files
        .into_iter()
        .flat_map(|text| {
            text.split(|c: char| c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"' | '\''))
        })
        .filter(|w| !w.is_empty() && w.len() <= MAX_NAME && *w != OTHER && name(w))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<190>Dec  3 16:28:11 sluice: ";

    #[test]
    fn nginx_lines_parse() {
        let line = |rest: &str| format!("{HEAD}{rest}");
        /// host, upstream, code, seconds, upstream errors, connections.
        type Parsed<'a> = (&'a str, &'a str, &'a str, f64, u32, Option<i64>);
        let table: &[(&str, Option<Parsed>)] = &[
            (
                "a.test\tup_a\t200\t0.004\t200\t3",
                Some(("a.test", "up_a", "2xx", 0.004, 0, Some(3))),
            ),
            // A redirect nginx answered itself.
            (
                "a.test\t\t301\t0.000\t\t1",
                Some(("a.test", "", "3xx", 0.0, 0, Some(1))),
            ),
            // Two tries: a connect failure, then an answer.
            (
                "b.test\tup_b\t200\t0.120\t502, 200\t1",
                Some(("b.test", "up_b", "2xx", 0.12, 1, Some(1))),
            ),
            (
                "b.test\tup_b\t504\t60.001\t504 : 504\t-",
                Some(("b.test", "up_b", "5xx", 60.001, 2, None)),
            ),
            (
                "_\t\t503\t0.000\t\t1",
                Some(("_", "", "5xx", 0.0, 0, Some(1))),
            ),
        ];
        for (rest, want) in table {
            let text = line(rest);
            let got = parse(text.as_bytes()).ok().map(|r| {
                (
                    r.host,
                    r.upstream,
                    r.code,
                    r.seconds,
                    r.upstream_errors,
                    r.connections_active,
                )
            });
            assert_eq!(got, *want, "{rest:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let long = "a".repeat(MAX_NAME + 1);
        let bad = [
            String::new(),
            "no tag at all".into(),
            format!("{HEAD}a.test\tup\t200\t0.1\t200"),
            format!("{HEAD}a.test\tup\t200\t0.1\t200\t1\textra"),
            format!("{HEAD}\tup\t200\t0.1\t200\t1"),
            format!("{HEAD}a.test\tup\t600\t0.1\t200\t1"),
            format!("{HEAD}a.test\tup\tabc\t0.1\t200\t1"),
            format!("{HEAD}a.test\tup\t200\t-1\t200\t1"),
            format!("{HEAD}a.test\tup\t200\tNaN\t200\t1"),
            format!("{HEAD}a.test\tup\t200\tinf\t200\t1"),
            format!("{HEAD}a.test\tup\t200\t0.1\t200\tmany"),
            format!("{HEAD}a test\tup\t200\t0.1\t200\t1"),
            format!("{HEAD}a\"}}\tup\t200\t0.1\t200\t1"),
            format!("{HEAD}{long}\tup\t200\t0.1\t200\t1"),
            format!("{HEAD}a.test\t{long}\t200\t0.1\t200\t1"),
        ];
        for b in &bad {
            assert_eq!(parse(b.as_bytes()), Err(Refused::Malformed), "{b:?}");
        }
        assert_eq!(parse(&[0xff, 0xfe]), Err(Refused::Malformed));
    }

    #[test]
    fn only_names_of_the_installed_config_become_labels() {
        let mut routes = Routes::default();
        let request = |host: &'static str, upstream: &'static str| Request {
            host,
            upstream,
            code: "2xx",
            seconds: 0.0,
            upstream_errors: 0,
            connections_active: None,
        };
        let config = "upstream a_test {\n server 10.0.0.1:80;\n}\nserver {\n server_name a.test;\n location / { proxy_pass http://a_test; }\n}\nserver { server_name _; }";
        assert!(routes.install([config]).is_empty());
        let own = |h: &str, u: &str| (h.to_owned(), u.to_owned());
        assert_eq!(
            routes.labels(&request("a.test", "a_test")),
            own("a.test", "a_test")
        );
        assert_eq!(routes.labels(&request("a.test", "")), own("a.test", ""));
        assert_eq!(routes.labels(&request("_", "")), own("_", ""));
        // A sender's made-up names take no label.
        assert_eq!(
            routes.labels(&request("evil.test", "a_test")),
            own(OTHER, OTHER)
        );
        assert_eq!(routes.labels(&request("a.test", "evil")), own(OTHER, OTHER));
        // The next revision drops a.test: its pairs are returned, to remove.
        let mut gone = routes.install(["server { server_name b.test; }"]);
        gone.sort();
        assert_eq!(
            gone,
            [own("_", ""), own("a.test", ""), own("a.test", "a_test")]
        );
        assert_eq!(routes.labels(&request("a.test", "")), own(OTHER, OTHER));
    }

    #[test]
    fn routes_beyond_the_cap_share_one_label() {
        let mut routes = Routes::default();
        let hosts: Vec<String> = (0..MAX_ROUTES + 5).map(|i| format!("h{i}")).collect();
        let config: String = hosts
            .iter()
            .map(|h| format!("server_name {h}; "))
            .collect::<String>()
            + "u";
        routes.install([config.as_str()]);
        fn request(host: &str) -> Request<'_> {
            Request {
                host,
                upstream: "u",
                code: "2xx",
                seconds: 0.0,
                upstream_errors: 0,
                connections_active: None,
            }
        }
        for h in &hosts[..MAX_ROUTES] {
            assert_eq!(routes.labels(&request(h)).0, *h);
        }
        for h in &hosts[MAX_ROUTES..] {
            assert_eq!(routes.labels(&request(h)).0, OTHER);
        }
        // Known ones keep their own label.
        assert_eq!(routes.labels(&request("h0")).0, "h0");
    }
}
