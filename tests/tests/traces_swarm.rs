//! `sluice run --otlp-endpoint`: each reconcile round reaches an OTLP/HTTP
//! collector as a trace (round → observe, plan, and per cluster render and
//! apply), from the real binary on the real Swarm. The collector here is a
//! few lines of HTTP that decode what arrives with the OpenTelemetry
//! protocol's own types.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use sluice_tests::sluice_bin::sluice_bin;
use sluice_tests::swarm::config;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

/// A span as the test looks at it: name, its attributes as text, and
/// whether it has a parent.
#[derive(Debug)]
struct Span {
    name: String,
    attributes: Vec<(String, String)>,
    trace: Vec<u8>,
    parent: Vec<u8>,
    id: Vec<u8>,
}

/// Accepts OTLP/HTTP protobuf posts on 127.0.0.1 and keeps their spans.
/// What the collector received, shared with its thread.
type Received<T> = Arc<Mutex<Vec<T>>>;

fn collector() -> (u16, Received<Span>, Received<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let spans = Arc::new(Mutex::new(Vec::new()));
    let services = Arc::new(Mutex::new(Vec::new()));
    let (kept, names) = (spans.clone(), services.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut length, mut path) = (String::new(), 0usize, String::new());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            path.push_str(line.split(' ').nth(1).unwrap_or(""));
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length.min(16 << 20)];
            if reader.read_exact(&mut body).is_err() || path != "/v1/traces" {
                continue;
            }
            let request =
                ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
            for resource in request.resource_spans {
                for a in resource.resource.iter().flat_map(|r| &r.attributes) {
                    if a.key == "service.name" {
                        names.lock().unwrap().push(text(a.value.as_ref()));
                    }
                }
                for scope in resource.scope_spans {
                    for s in scope.spans {
                        kept.lock().unwrap().push(Span {
                            name: s.name,
                            attributes: s
                                .attributes
                                .iter()
                                .map(|a| (a.key.clone(), text(a.value.as_ref())))
                                .collect(),
                            trace: s.trace_id,
                            parent: s.parent_span_id,
                            id: s.span_id,
                        });
                    }
                }
            }
            let mut out = stream;
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, spans, services)
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[test]
fn reconcile_rounds_reach_an_otlp_collector_as_traces() {
    let _serial = serial();
    let Some(env) = swarm("traces") else {
        return;
    };
    let s = Scenario::new(env, "e2e-traces");
    let p = s.prefix.clone();
    let net = s.network("net");
    let cluster = config::Cluster::nginx_east(env, "east", &net, 18101, 18501);
    let web = s.whoami(
        "web",
        &net,
        "east",
        1,
        &[
            ("hosts", "traced.test"),
            ("port", "8000"),
            ("service_cluster", &cluster.service_cluster(&p)),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("config.toml");
    std::fs::write(
        &config_file,
        config::build(env, &p, std::slice::from_ref(&cluster)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("agent.key"),
        "a key for this test, long enough\n",
    )
    .unwrap();
    let (port, spans, services) = collector();
    let mut daemon = Command::new(sluice_bin())
        .args(["run", "-c"])
        .arg(&config_file)
        .args(["--instance", &p, "--agent-key-file"])
        .arg(dir.path().join("agent.key"))
        .args(["--otlp-endpoint", &format!("http://127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
        .spawn()
        .expect("start sluice run");
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.wait_served(
            Node::East,
            18101,
            "traced.test",
            &web,
            Duration::from_secs(120),
        )
    }));
    // SIGTERM: the daemon stops and sends the spans still batched.
    unsafe {
        libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM);
    }
    let stopping = std::time::Instant::now();
    let status = daemon.wait().unwrap();
    s.timing("SIGTERM -> sluice run ended", stopping.elapsed());
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    let took =
        served.unwrap_or_else(|_| panic!("traced.test not served; the daemon's log:\n{log}"));
    s.timing("sluice run -> traced.test 200", took);
    assert!(status.success(), "sluice run ended with {status}");

    let (names, waited) = until(
        "spans of a round with a cluster",
        Duration::from_secs(10),
        || {
            let spans = spans.lock().unwrap();
            let names: BTreeSet<&str> = spans.iter().map(|s| s.name.as_str()).collect();
            let want = ["round", "observe", "plan", "cluster", "render", "apply"];
            if want.iter().all(|w| names.contains(w)) {
                Ok(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            } else {
                Err(format!("{names:?}"))
            }
        },
    );
    s.timing("stopped -> every stage's span at the collector", waited);
    let spans = spans.lock().unwrap();
    // A render hangs under its cluster, which hangs under a round, in one trace.
    let by_id = |id: &[u8]| spans.iter().find(|s| s.id == id);
    let render = spans.iter().find(|s| s.name == "render").unwrap();
    let cluster_span = by_id(&render.parent).expect("render's parent was sent");
    assert_eq!(cluster_span.name, "cluster");
    assert!(
        cluster_span
            .attributes
            .iter()
            .any(|(k, v)| k == "cluster" && v == "east"),
        "{cluster_span:?}"
    );
    let round = by_id(&cluster_span.parent).expect("the cluster's round was sent");
    assert_eq!(round.name, "round");
    assert!(round.parent.is_empty(), "a round is a trace's root");
    assert_eq!(round.trace, render.trace, "one trace per round");
    assert!(services.lock().unwrap().iter().all(|n| n == "sluice"));
    println!("[traces] {} spans received; names {names:?}", spans.len());
}
