//! The task behind [`Acme`]: it orders the certificate of every wanted host
//! that has none or whose renewal is due, one host at a time, and after a
//! failure waits for that host's backoff (1 min, doubling, at most 6 h), so
//! a directory that refuses or rate-limits gets no storm. Meanwhile a host
//! keeps what it had: HTTP, or its last certificate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::challenge::Tokens;
use super::order;
use super::store::{Issued, Store};
use crate::config::AcmeConfig;
use crate::metrics::Metrics;

const FIRST_BACKOFF: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// How often hosts waiting for the proxies are looked at again.
const PROXIES_POLL: Duration = Duration::from_secs(1);
/// Looked at again at least this often (the clock may jump).
const WAKE: Duration = Duration::from_secs(3600);

/// Where a wanted host's certificate stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostStatus {
    /// Not every proxy replica serves the host's challenge route yet: an
    /// order now would fail validation (and count against the directory's
    /// rate limit), so it waits.
    WaitingForProxies,
    Ordering,
    Issued {
        not_after: SystemTime,
    },
    Failed {
        error: String,
        retry_at: SystemTime,
    },
}

impl HostStatus {
    /// Every [`HostStatus::state`], for the metrics to count each.
    pub const STATES: [&'static str; 4] = ["waiting", "ordering", "issued", "failed"];

    /// As `sluice status` and the metrics' `state` label say it.
    pub fn state(&self) -> &'static str {
        match self {
            HostStatus::WaitingForProxies => "waiting",
            HostStatus::Ordering => "ordering",
            HostStatus::Issued { .. } => "issued",
            HostStatus::Failed { .. } => "failed",
        }
    }
}

/// Handle on the ACME task, which runs as long as the runtime does.
#[derive(Clone)]
pub struct Acme {
    endpoint: SocketAddr,
    certs: Arc<RwLock<Arc<BTreeMap<String, Issued>>>>,
    wanted: Arc<watch::Sender<BTreeSet<String>>>,
    issued: Arc<Notify>,
    status: Arc<Mutex<BTreeMap<String, HostStatus>>>,
    /// Per cluster: its newest revision's hash and the hosts whose
    /// challenge route it carries.
    routes: Arc<Mutex<BTreeMap<String, Routed>>>,
    serving: Serving,
    metrics: Arc<Metrics>,
    /// The clusters whose earliest expiry the metrics show.
    expiry_reported: Arc<Mutex<BTreeSet<String>>>,
}

/// A cluster's newest revision (its hash) and the ACME hosts it routes.
type Routed = (String, BTreeSet<String>);

/// Whether every proxy replica of a cluster (first argument) serves a
/// revision (second, its hash).
pub type Serving = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Acme {
    /// Start ordering (needs a Tokio runtime). `endpoint`: where proxy
    /// tasks reach the challenge listener that answers from `tokens`;
    /// `serving`: whether a cluster's replicas run a revision.
    pub fn start(
        config: AcmeConfig,
        store: Store,
        endpoint: SocketAddr,
        tokens: Tokens,
        serving: Serving,
        metrics: Arc<Metrics>,
    ) -> Acme {
        let held = store.certificates();
        for (host, issued) in &held {
            tracing::info!(host, not_after = %humantime(issued.not_after), "ACME certificate from StateDir");
        }
        let (wanted, wanted_rx) = watch::channel(BTreeSet::new());
        let acme = Acme {
            endpoint,
            certs: Arc::new(RwLock::new(Arc::new(held))),
            wanted: Arc::new(wanted),
            issued: Arc::new(Notify::new()),
            status: Arc::default(),
            routes: Arc::default(),
            serving,
            metrics,
            expiry_reported: Arc::default(),
        };
        tokio::spawn(manage(config, store, tokens, acme.clone(), wanted_rx));
        acme
    }

    pub fn endpoint(&self) -> SocketAddr {
        self.endpoint
    }

    /// The hosts whose certificates are wanted now (every ACME host of
    /// every cluster); others are no longer renewed.
    pub fn want(&self, hosts: BTreeSet<String>) {
        self.wanted.send_if_modified(|w| {
            let changed = *w != hosts;
            *w = hosts;
            changed
        });
    }

    /// The certificates issued so far, by host.
    pub fn certificates(&self) -> Arc<BTreeMap<String, Issued>> {
        self.certs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Where each wanted host stands.
    pub fn status(&self) -> BTreeMap<String, HostStatus> {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Completes once a certificate was issued since the last call.
    pub async fn issued(&self) {
        self.issued.notified().await
    }

    /// `cluster`'s newest revision (`hash`) routes the challenges of `hosts`.
    pub fn routed(&self, cluster: &str, hash: &str, hosts: &BTreeSet<String>) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.is_empty() {
            routes.remove(cluster);
        } else if routes
            .get(cluster)
            .is_none_or(|(h, s)| h != hash || s != hosts)
        {
            routes.insert(cluster.to_owned(), (hash.to_owned(), hosts.clone()));
        }
    }

    /// True once every replica of a cluster routing `host`'s challenges
    /// serves the revision that does.
    fn challenge_served(&self, host: &str) -> bool {
        // `serving` asks the API's store, which never calls back in here.
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(cluster, (hash, hosts))| hosts.contains(host) && (self.serving)(cluster, hash))
    }

    /// The metrics: hosts by state, and per cluster the earliest end of
    /// its certificates (what an expiry alert watches).
    fn record(&self) {
        let status = self.status();
        for state in HostStatus::STATES {
            let n = status.values().filter(|s| s.state() == state).count();
            self.metrics
                .acme_hosts
                .get_or_create(&crate::metrics::AcmeStateLabel {
                    state: state.to_owned(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let certs = self.certificates();
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut reported = self
            .expiry_reported
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut now_reported = BTreeSet::new();
        for (cluster, (_, hosts)) in routes.iter() {
            let earliest = hosts
                .iter()
                .filter_map(|h| certs.get(h))
                .map(|i| i.not_after)
                .min();
            if let Some(at) = earliest {
                let secs = at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                self.metrics
                    .acme_certificate_expiry
                    .get_or_create(&Metrics::cluster(cluster))
                    .set(i64::try_from(secs).unwrap_or(i64::MAX));
                now_reported.insert(cluster.clone());
            }
        }
        // A cluster that no longer serves ACME certificates must not keep
        // its last expiry: an alert on it would fire for nothing.
        for gone in reported.difference(&now_reported) {
            self.metrics
                .acme_certificate_expiry
                .remove(&Metrics::cluster(gone));
        }
        *reported = now_reported;
    }

    fn ordered(&self, result: &str) {
        self.metrics
            .acme_orders
            .get_or_create(&crate::metrics::AcmeResultLabel {
                result: result.to_owned(),
            })
            .inc();
    }

    fn set_status(&self, host: &str, status: HostStatus) {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_owned(), status);
    }
}

fn due(issued: Option<&Issued>, renew_before: Duration, now: SystemTime) -> bool {
    issued.is_none_or(|i| {
        i.not_after
            .checked_sub(renew_before)
            .is_none_or(|at| at <= now)
    })
}

async fn manage(
    config: AcmeConfig,
    store: Store,
    tokens: Tokens,
    acme: Acme,
    mut wanted: watch::Receiver<BTreeSet<String>>,
) {
    let mut account = None;
    // Per host: (not before, the delay that led there).
    let mut backoff: HashMap<String, (Instant, Duration)> = HashMap::new();
    loop {
        let hosts = wanted.borrow_and_update().clone();
        backoff.retain(|h, _| hosts.contains(h));
        acme.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|h, _| hosts.contains(h));
        let certs = acme.certificates();
        let now = Instant::now();
        let due_now: Vec<&String> = hosts
            .iter()
            .filter(|h| due(certs.get(*h), config.renew_before, SystemTime::now()))
            .filter(|h| backoff.get(*h).is_none_or(|(at, _)| *at <= now))
            .collect();
        // An order validates at once: the proxies must answer first.
        let (todo, waiting): (Vec<&String>, Vec<&String>) =
            due_now.into_iter().partition(|h| acme.challenge_served(h));
        for host in &waiting {
            if !certs.contains_key(host.as_str()) {
                acme.set_status(host, HostStatus::WaitingForProxies);
            }
        }
        for host in &todo {
            if let Some(issued) = certs.get(*host) {
                acme.set_status(
                    host,
                    HostStatus::Issued {
                        not_after: issued.not_after,
                    },
                );
            }
        }
        for host in todo {
            let failed = |backoff: &mut HashMap<String, (Instant, Duration)>, error: String| {
                let delay = backoff
                    .get(host)
                    .map_or(FIRST_BACKOFF, |(_, d)| (*d * 2).min(MAX_BACKOFF));
                backoff.insert(host.clone(), (Instant::now() + delay, delay));
                tracing::warn!(host = %host, retry_in = ?delay, "ACME: no certificate: {error}");
                acme.set_status(
                    host,
                    HostStatus::Failed {
                        error,
                        retry_at: SystemTime::now() + delay,
                    },
                );
            };
            if account.is_none() {
                match order::account(&config, &store).await {
                    Ok(a) => account = Some(a),
                    Err(e) => {
                        failed(&mut backoff, format!("{e:#}"));
                        continue;
                    }
                }
            }
            let Some(account) = &account else { continue };
            if !certs.contains_key(host.as_str()) {
                acme.set_status(host, HostStatus::Ordering);
            }
            tracing::info!(host = %host, renewal = certs.contains_key(host.as_str()), "ACME: ordering a certificate");
            match order::issue(account, host, &tokens).await {
                Ok(issued) => {
                    if let Err(e) = store.save(host, &issued) {
                        tracing::warn!(host = %host, "ACME certificate not kept in StateDir (it is used until a restart): {e:#}");
                    }
                    tracing::info!(host = %host, not_after = %humantime(issued.not_after), "ACME certificate issued");
                    acme.set_status(
                        host,
                        HostStatus::Issued {
                            not_after: issued.not_after,
                        },
                    );
                    backoff.remove(host.as_str());
                    let mut next = (*acme.certificates()).clone();
                    next.insert(host.clone(), issued);
                    *acme.certs.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
                    acme.issued.notify_one();
                    acme.ordered("issued");
                }
                Err(e) => {
                    acme.ordered("failed");
                    failed(&mut backoff, format!("{e:#}"));
                }
            }
        }
        // Next: a backoff ending, a renewal coming due, or new hosts.
        let certs = acme.certificates();
        let now_sys = SystemTime::now();
        let renewals = hosts.iter().filter_map(|h| {
            let at = certs.get(h)?.not_after.checked_sub(config.renew_before)?;
            Some(at.duration_since(now_sys).unwrap_or_default())
        });
        let retries = backoff
            .values()
            .map(|(at, _)| at.saturating_duration_since(Instant::now()));
        acme.record();
        let mut sleep = renewals.chain(retries).fold(WAKE, Duration::min);
        if !waiting.is_empty() {
            // Replicas converge within seconds; look again soon.
            sleep = sleep.min(PROXIES_POLL);
        }
        tokio::select! {
            changed = wanted.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(100))) => {}
        }
    }
}

fn humantime(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_missing_or_within_the_renewal_window() {
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let cert = |left: Duration| Issued {
            chain_pem: String::new(),
            key_pem: String::new(),
            not_after: now + left,
        };
        assert!(due(None, 30 * day, now));
        assert!(due(Some(&cert(29 * day)), 30 * day, now));
        assert!(!due(Some(&cert(31 * day)), 30 * day, now));
        let expired = Issued {
            not_after: now - day,
            ..cert(day)
        };
        assert!(due(Some(&expired), 30 * day, now));
    }

    /// An `Acme` with no task behind it, holding `certs`.
    fn idle(certs: BTreeMap<String, Issued>) -> Acme {
        Acme {
            endpoint: "127.0.0.1:1".parse().unwrap(),
            certs: Arc::new(RwLock::new(Arc::new(certs))),
            wanted: Arc::new(watch::channel(BTreeSet::new()).0),
            issued: Arc::new(Notify::new()),
            status: Arc::default(),
            routes: Arc::default(),
            serving: Arc::new(|_: &str, _: &str| true),
            metrics: Arc::new(Metrics::new()),
            expiry_reported: Arc::default(),
        }
    }

    #[test]
    fn a_cluster_without_acme_hosts_drops_its_expiry_metric() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let cert = |not_after| Issued {
            chain_pem: String::new(),
            key_pem: String::new(),
            not_after,
        };
        let acme = idle(BTreeMap::from([
            ("a.test".to_owned(), cert(at + Duration::from_secs(5))),
            ("b.test".to_owned(), cert(at)),
        ]));
        let hosts = |h: &[&str]| h.iter().map(|h| h.to_string()).collect::<BTreeSet<_>>();
        acme.routed("east", "h1", &hosts(&["a.test", "b.test"]));
        acme.routed("west", "h2", &hosts(&["a.test"]));
        acme.record();
        let text = acme.metrics.encode();
        let line = |cluster: &str, secs: u64| {
            format!(
                "sluice_acme_certificate_expiry_earliest_seconds{{cluster=\"{cluster}\"}} {secs}"
            )
        };
        assert!(text.contains(&line("east", 1_900_000_000)), "{text}");
        assert!(text.contains(&line("west", 1_900_000_005)), "{text}");

        // west routes no ACME host any more; east loses the earlier one.
        acme.routed("west", "h3", &BTreeSet::new());
        acme.routed("east", "h4", &hosts(&["a.test"]));
        acme.record();
        let text = acme.metrics.encode();
        assert!(text.contains(&line("east", 1_900_000_005)), "{text}");
        assert!(!text.contains("cluster=\"west\""), "{text}");
    }
}
