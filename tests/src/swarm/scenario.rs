//! One end-to-end scenario's scratch space on the shared Swarm: every object
//! it makes is named `PREFIX-*` (or, made by Sluice, labelled with instance
//! PREFIX), and all of it goes at the start (leftovers of an interrupted run)
//! and at the end, failure included. Scenarios run one at a time ([`serial`]).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::cli::{Docker, ServiceState};
use super::daemon::Daemon;
use super::env::SwarmEnv;
use super::http::{self, Reply};
use super::logs::{self, Mark};
use super::poll::{timing, until, within};

/// The Swarm is shared (fixed node ports, one CPU-bound engine): one
/// scenario at a time per process.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which node to send a request to: the manager is labelled region=east,
/// the worker region=west.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    East,
    West,
}

/// Sluice's label on everything it creates.
const INSTANCE_LABEL: &str = "com.docker.sluice.instance";

pub struct Scenario {
    pub env: &'static SwarmEnv,
    /// Prefix of every object name, and the Sluice instance name.
    pub prefix: String,
    pub manager: Docker,
    pub worker: Docker,
    daemon: Option<Daemon>,
    started: Instant,
    log_mark: Mark,
}

impl Scenario {
    pub fn new(env: &'static SwarmEnv, prefix: &str) -> Scenario {
        logs::capture();
        let s = Scenario {
            env,
            prefix: prefix.to_owned(),
            manager: Docker::new(&env.manager_sock),
            worker: Docker::new(&env.worker_sock),
            daemon: None,
            started: Instant::now(),
            log_mark: logs::mark(),
        };
        let t = Instant::now();
        s.clean();
        s.timing("clean leftovers", t.elapsed());
        s
    }

    pub fn timing(&self, step: &str, took: Duration) {
        timing(&self.prefix, step, took);
    }

    /// Runs `f` and prints how long it took.
    pub fn step<T>(&self, step: &str, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let value = f();
        self.timing(step, t.elapsed());
        value
    }

    /// A fresh overlay network `PREFIX-short`.
    pub fn network(&self, short: &str) -> String {
        let name = format!("{}-{short}", self.prefix);
        self.manager.run(&[
            "network",
            "create",
            "--driver",
            "overlay",
            "--label",
            "sluice.test=1",
            &name,
        ]);
        name
    }

    /// A whoami service `PREFIX-short` (by image ID, DNS round robin: no
    /// registry and no IPVS here) pinned to `region`, answering with its
    /// service name, with `com.docker.lb.*` labels from `labels`.
    pub fn whoami(
        &self,
        short: &str,
        network: &str,
        region: &str,
        replicas: u32,
        labels: &[(&str, &str)],
    ) -> String {
        self.whoami_labelled(short, network, region, replicas, labels, &[])
    }

    /// One whoami replica on `network` routed as `host` (port 8000) by the
    /// cluster whose ServiceCluster is `service_cluster`.
    pub fn routed_whoami(
        &self,
        short: &str,
        network: &str,
        region: &str,
        host: &str,
        service_cluster: &str,
    ) -> String {
        self.whoami(
            short,
            network,
            region,
            1,
            &[
                ("hosts", host),
                ("port", "8000"),
                ("service_cluster", service_cluster),
            ],
        )
    }

    /// [`Scenario::whoami`] with `other` labels (full keys) as well, such as
    /// MKE's collection label.
    pub fn whoami_labelled(
        &self,
        short: &str,
        network: &str,
        region: &str,
        replicas: u32,
        labels: &[(&str, &str)],
        other: &[(&str, &str)],
    ) -> String {
        let name = format!("{}-{short}", self.prefix);
        let replicas = replicas.to_string();
        let constraint = format!("node.labels.region=={region}");
        let mut args = vec![
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--endpoint-mode",
            "dnsrr",
            "--label",
            "sluice.test=1",
            "--env",
            "WHOAMI_NAME={{.Service.Name}}",
            "--name",
            &name,
            "--network",
            network,
            "--constraint",
            &constraint,
            "--replicas",
            &replicas,
        ];
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("com.docker.lb.{k}={v}"))
            .chain(other.iter().map(|(k, v)| format!("{k}={v}")))
            .collect();
        for l in &labels {
            args.extend(["--label", l]);
        }
        args.push(&self.env.whoami_image);
        self.manager.run(&args);
        name
    }

    /// The seed scenario's services under this prefix: demoeast (demo.A) on
    /// PREFIX-eastnet in cluster PREFIX-east, demowest (demo.B) likewise west.
    pub fn seed_services(&self) -> (String, String) {
        self.step("networks", || {
            (self.network("eastnet"), self.network("westnet"))
        });
        self.step("whoami services", || {
            (
                self.seed_service("demoeast", "east", "demo.A"),
                self.seed_service("demowest", "west", "demo.B"),
            )
        })
    }

    /// A whoami service `PREFIX-short` routed as `host` by the seed's
    /// `region` cluster, on its network (after [`Scenario::seed_services`]).
    pub fn seed_service(&self, short: &str, region: &str, host: &str) -> String {
        let cluster = format!("{}-{region}", self.prefix);
        self.routed_whoami(
            short,
            &format!("{}-{region}net", self.prefix),
            region,
            host,
            &cluster,
        )
    }

    pub fn start_daemon(&mut self, config: &str) {
        assert!(self.daemon.is_none(), "one daemon per scenario at a time");
        self.daemon = Some(Daemon::start(config, &self.prefix));
    }

    /// Give the running daemon a new config (SIGHUP in `sluice run`).
    pub fn reload_daemon(&self, config: &str) {
        self.daemon
            .as_ref()
            .expect("a running daemon")
            .reload(config);
    }

    pub fn stop_daemon(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop().unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Err when the daemon has stopped on its own.
    pub fn daemon_alive(&self) -> Result<(), String> {
        match &self.daemon {
            Some(d) => d.alive(),
            None => Ok(()),
        }
    }

    /// Polls until the daemon's last `n` rounds since `from` wrote nothing
    /// (so every change so far is applied); how long that took.
    pub fn wait_quiet_rounds(&self, from: Mark, n: usize, timeout: Duration) -> Duration {
        until(&format!("{n} quiet rounds"), timeout, || {
            self.daemon_alive()?;
            let log = logs::since(from);
            let rounds = logs::rounds(&log);
            let tail = rounds.iter().rev().take(n);
            if rounds.len() >= n && tail.clone().all(|r| logs::quiet(r)) {
                Ok(())
            } else {
                Err(format!(
                    "{} rounds, last: {:?}",
                    rounds.len(),
                    rounds.last()
                ))
            }
        })
        .1
    }

    /// What the daemon logged since the scenario started.
    pub fn log(&self) -> String {
        logs::since(self.log_mark)
    }

    pub fn get(&self, node: Node, port: u16, host: &str) -> Result<Reply, String> {
        let addr = match node {
            Node::East => &self.env.manager_addr,
            Node::West => &self.env.worker_addr,
        };
        http::get(addr, port, host, "/")
    }

    /// Polls until `host` at `node` answers 200 from whoami service
    /// `service`; how long that took.
    pub fn wait_served(
        &self,
        node: Node,
        port: u16,
        host: &str,
        service: &str,
        timeout: Duration,
    ) -> Duration {
        let what = format!("{host} at {node:?}:{port} to reach {service}");
        until(&what, timeout, || {
            self.daemon_alive()?;
            let r = self.get(node, port, host)?;
            if r.status == 200 && r.whoami_name() == Some(service) {
                Ok(())
            } else {
                Err(format!("{} {:?}", r.status, r.whoami_name()))
            }
        })
        .1
    }

    /// Polls until `host` at `node` answers `status` (e.g. 503: not routed).
    pub fn wait_status(
        &self,
        node: Node,
        port: u16,
        host: &str,
        status: u16,
        timeout: Duration,
    ) -> Duration {
        let what = format!("{host} at {node:?}:{port} to answer {status}");
        until(&what, timeout, || {
            self.daemon_alive()?;
            let r = self.get(node, port, host)?;
            if r.status == status {
                Ok(())
            } else {
                Err(format!("{} {:?}", r.status, r.body.lines().next()))
            }
        })
        .1
    }

    /// The service's version and update state, once no rolling update is in
    /// flight (so the version moves only on a new write).
    pub fn settled_state(&self, service: &str, timeout: Duration) -> ServiceState {
        until(&format!("{service} to settle"), timeout, || {
            let s = self
                .manager
                .service(service)
                .ok_or_else(|| format!("no service {service}"))?;
            let state = ServiceState::of(&s);
            if state.settled() {
                Ok(state)
            } else {
                Err(format!("update state {:?}", state.update_state))
            }
        })
        .0
    }

    /// How many `update` events Swarm recorded for `service` since `since`
    /// (seconds since the epoch).
    pub fn update_events(&self, service: &str, since: f64) -> usize {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        let filter = format!("service={service}");
        self.manager
            .lines(&[
                "events",
                "--since",
                &format!("{since:.3}"),
                "--until",
                &format!("{now:.3}"),
                "--filter",
                "type=service",
                "--filter",
                &filter,
                "--format",
                "{{.Action}}",
            ])
            .iter()
            .filter(|a| a.as_str() == "update")
            .count()
    }

    fn names(&self, kind: &str, label: bool) -> Vec<String> {
        let prefix = format!("{}-", self.prefix);
        let mut names: Vec<String> = self
            .manager
            .lines(&[kind, "ls", "--format", "{{.Name}}"])
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect();
        if label {
            let filter = format!("label={INSTANCE_LABEL}={}", self.prefix);
            names.extend(self.manager.lines(&[
                kind,
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ]));
        }
        names.sort();
        names.dedup();
        names
    }

    /// Remove the scenario's services (the daemon's proxies included),
    /// configs, secrets and networks. Networks go only once the services' task
    /// containers are gone, ~6 s after `service rm` here.
    fn clean(&self) {
        let services = self.names("service", true);
        if !services.is_empty() {
            let mut args = vec!["service", "rm"];
            args.extend(services.iter().map(String::as_str));
            let _ = self.manager.try_run(&args);
            let left = within(Duration::from_secs(60), || {
                let mut left = self.manager.containers_of(&services);
                left.extend(self.worker.containers_of(&services));
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{left:?}"))
                }
            });
            if let Err(left) = left {
                eprintln!(
                    "{}: task containers still there after 60 s: {left}",
                    self.prefix
                );
            }
        }
        for kind in ["config", "secret"] {
            let names = self.names(kind, true);
            if !names.is_empty() {
                let mut args = vec![kind, "rm"];
                args.extend(names.iter().map(String::as_str));
                if let Err(e) = self.manager.try_run(&args) {
                    eprintln!("{}: {e}", self.prefix);
                }
            }
        }
        for net in self.names("network", false) {
            if let Err(e) = self.manager.try_run(&["network", "rm", &net]) {
                eprintln!("{}: {e}", self.prefix);
            }
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Some(d) = self.daemon.take()
            && let Err(e) = d.stop()
        {
            eprintln!("{e}");
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} failed; the daemon's log since it started:\n{}----",
                self.prefix,
                self.log()
            );
        }
        let t = Instant::now();
        self.clean();
        self.timing("clean up", t.elapsed());
        self.timing("scenario total", self.started.elapsed());
    }
}
