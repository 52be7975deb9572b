//! A small Docker-API-compatible server holding a recorded Swarm state, for
//! this benchmark only: a real Swarm cannot run 20,000 tasks on one machine,
//! and every behaviour test stays on the real Swarm.
//!
//! It answers what the daemon asks: `/version`, `/info` (a Swarm manager),
//! the lists (`/services`, `/tasks`, `/networks`, `/nodes`, `/secrets`,
//! `/configs`, with `label` filters; `id` for services, `service` and
//! `desired-state` for tasks, as the engine does, including its 404 for a
//! task filter naming a service it does not have), one service by ID or name, creating
//! and updating services and secrets, and `/events` as a stream. The bench
//! changes a service with [`FakeDocker::update_service`], which also sends
//! the event the engine would.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::broadcast;

type Body = BoxBody<Bytes, Infallible>;

#[derive(Default)]
struct Lists {
    /// Each list as stored, and its JSON (made when first asked for after a
    /// change, as an engine answers from its store).
    objects: HashMap<&'static str, Vec<Value>>,
    encoded: HashMap<&'static str, Bytes>,
    /// Positions by ID (services) and by service ID (tasks), as an engine
    /// looks up what a filter names without scanning everything; made
    /// again after a create or remove.
    index: Option<Index>,
    next_id: u64,
}

struct Index {
    services: HashMap<String, usize>,
    tasks: HashMap<String, Vec<usize>>,
}

const KINDS: [&str; 6] = [
    "services", "tasks", "networks", "nodes", "secrets", "configs",
];

impl Lists {
    /// `kind` changed: its JSON is made again when next asked for.
    fn encode(&mut self, kind: &'static str) {
        self.encoded.remove(kind);
    }

    fn encoded(&mut self, kind: &'static str) -> Bytes {
        let objects = &self.objects[kind];
        self.encoded
            .entry(kind)
            .or_insert_with(|| Bytes::from(serde_json::to_vec(objects).expect("JSON")))
            .clone()
    }

    fn index(&mut self) -> &Index {
        let objects = &self.objects;
        self.index.get_or_insert_with(|| {
            let id = |o: &Value, key: &str| o[key].as_str().unwrap_or_default().to_owned();
            let services = objects["services"]
                .iter()
                .enumerate()
                .map(|(i, s)| (id(s, "ID"), i))
                .collect();
            let mut tasks: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, t) in objects["tasks"].iter().enumerate() {
                tasks.entry(id(t, "ServiceID")).or_default().push(i);
            }
            Index { services, tasks }
        })
    }

    /// The objects an `id` (services) or `service` (tasks) filter names.
    fn named(
        &mut self,
        kind: &'static str,
        filters: &HashMap<String, Vec<String>>,
    ) -> Option<Vec<&Value>> {
        let (key, exact) = match kind {
            "services" => ("id", true),
            "tasks" => ("service", false),
            _ => return None,
        };
        let wanted = filters.get(key)?.clone();
        let index = self.index();
        let positions: Vec<usize> = wanted
            .iter()
            .flat_map(|v| {
                if exact {
                    index
                        .services
                        .get(v)
                        .copied()
                        .into_iter()
                        .collect::<Vec<_>>()
                } else {
                    index.tasks.get(v).cloned().unwrap_or_default()
                }
            })
            .collect();
        let objects = &self.objects[kind];
        Some(
            positions
                .into_iter()
                .map(|i| &objects[i])
                .filter(|o| matches(kind, o, filters))
                .collect(),
        )
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("fake{:021}", self.next_id)
    }
}

pub struct FakeDocker {
    lists: Mutex<Lists>,
    events: broadcast::Sender<Bytes>,
    pub addr: SocketAddr,
}

fn kind_of(path: &str) -> Option<&'static str> {
    KINDS.into_iter().find(|k| path == *k)
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body).boxed())
        .expect("response")
}

fn answer(status: StatusCode, value: Value) -> Response<Body> {
    json_response(status, Bytes::from(value.to_string()))
}

fn not_found(what: &str) -> Response<Body> {
    answer(
        StatusCode::NOT_FOUND,
        json!({"message": format!("{what} not found")}),
    )
}

/// A list request's filters (`{"k":["v"]}` or `{"k":{"v":true}}`), as
/// key → values.
fn filters(query: &str) -> HashMap<String, Vec<String>> {
    let filters = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "filters");
    let Some((_, f)) = filters else {
        return HashMap::new();
    };
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(&f) else {
        return HashMap::new();
    };
    v.into_iter()
        .map(|(k, values)| {
            let values = match values {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect(),
                Value::Object(o) => o.keys().cloned().collect(),
                _ => Vec::new(),
            };
            (k, values)
        })
        .collect()
}

/// Whether `object` (of `kind`) passes every filter.
fn matches(kind: &str, object: &Value, filters: &HashMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(key, values)| {
        values.iter().any(|v| match key.as_str() {
            "label" => {
                let labels = &object["Spec"]["Labels"];
                match v.split_once('=') {
                    Some((k, want)) => labels[k].as_str() == Some(want),
                    None => labels[v.as_str()].is_string(),
                }
            }
            "id" => object["ID"]
                .as_str()
                .is_some_and(|id| id.starts_with(v.as_str())),
            "service" if kind == "tasks" => object["ServiceID"].as_str() == Some(v.as_str()),
            "desired-state" if kind == "tasks" => {
                object["DesiredState"].as_str() == Some(v.as_str())
            }
            _ => true,
        })
    })
}

impl FakeDocker {
    /// Serves `state` (the `sluice render --snapshot` format) on a loopback port.
    pub async fn start(state: Value) -> Arc<FakeDocker> {
        let mut lists = Lists::default();
        for kind in KINDS {
            let objects = state[kind].as_array().cloned().unwrap_or_default();
            lists.objects.insert(kind, objects);
            lists.encode(kind);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Docker API");
        let (events, _) = broadcast::channel(1024);
        let fake = Arc::new(FakeDocker {
            lists: Mutex::new(lists),
            events,
            addr: listener.local_addr().expect("address"),
        });
        let server = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    /// Replaces service `id`'s labels (bumping its version, as the engine
    /// does) and sends the `service update` event.
    pub fn update_service(&self, id: &str, labels: Value) {
        let name = {
            let mut lists = self.lists.lock().expect("lists");
            let services = lists.objects.get_mut("services").expect("services");
            let s = services
                .iter_mut()
                .find(|s| s["ID"] == id)
                .unwrap_or_else(|| panic!("no service {id}"));
            let index = s["Version"]["Index"].as_u64().unwrap_or(0) + 1;
            s["Version"]["Index"] = json!(index);
            s["Spec"]["Labels"] = labels;
            let name = s["Spec"]["Name"].clone();
            lists.encode("services");
            name
        };
        self.event("service", "update", id, name);
    }

    fn event(&self, kind: &str, action: &str, id: &str, name: Value) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock");
        let line = json!({
            "Type": kind, "Action": action,
            "Actor": {"ID": id, "Attributes": {"name": name}},
            "scope": "swarm", "time": now.as_secs(), "timeNano": now.as_nanos() as u64,
        });
        let _ = self.events.send(Bytes::from(format!("{line}\n")));
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        // `/v1.41/services` and `/services` alike.
        let path = match path.strip_prefix("/v1.") {
            Some(rest) => rest.split_once('/').map_or("", |(_, p)| p).to_owned(),
            None => path.trim_start_matches('/').to_owned(),
        };
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let parts: Vec<&str> = path.split('/').collect();
        match (&method, parts.as_slice()) {
            (&Method::GET | &Method::HEAD, ["_ping"]) => {
                json_response(StatusCode::OK, Bytes::from_static(b"OK"))
            }
            (&Method::GET, ["version"]) => answer(
                StatusCode::OK,
                json!({"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Version": "20.10.24",
                       "Os": "linux", "Arch": "amd64"}),
            ),
            (&Method::GET, ["info"]) => answer(
                StatusCode::OK,
                json!({"ID": "fake", "Name": "fake-manager", "Swarm": {
                    "NodeID": "node000000000000000000000", "NodeAddr": "127.0.0.1",
                    "LocalNodeState": "active", "ControlAvailable": true}}),
            ),
            (&Method::GET, ["events"]) => self.event_stream(),
            (&Method::GET, [list]) if kind_of(list).is_some() => {
                let kind = kind_of(list).expect("checked");
                let filters = filters(&query);
                let mut lists = self.lists.lock().expect("lists");
                if filters.is_empty()
                    || (kind == "tasks" && filters.keys().all(|k| k == "desired-state"))
                {
                    // Every task of the bench is meant to run.
                    return json_response(StatusCode::OK, lists.encoded(kind));
                }
                if kind == "tasks" {
                    let index = lists.index();
                    for id in filters.get("service").into_iter().flatten() {
                        if !index.services.contains_key(id) {
                            return not_found(&format!("service {id}"));
                        }
                    }
                }
                if let Some(found) = lists.named(kind, &filters) {
                    return answer(StatusCode::OK, json!(found));
                }
                let found: Vec<&Value> = lists.objects[kind]
                    .iter()
                    .filter(|o| matches(kind, o, &filters))
                    .collect();
                answer(StatusCode::OK, json!(found))
            }
            (&Method::POST, [list, "create"]) if kind_of(list).is_some() => {
                let kind = kind_of(list).expect("checked");
                let spec: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut lists = self.lists.lock().expect("lists");
                let id = lists.id();
                let object = json!({"ID": id, "Version": {"Index": 1}, "Spec": spec});
                lists.objects.get_mut(kind).expect("kind").push(object);
                lists.encode(kind);
                lists.index = None;
                answer(StatusCode::CREATED, json!({"ID": id}))
            }
            (&Method::GET, [list, key]) if kind_of(list).is_some() => {
                let kind = kind_of(list).expect("checked");
                let lists = self.lists.lock().expect("lists");
                match lists.objects[kind]
                    .iter()
                    .find(|o| o["ID"] == *key || o["Spec"]["Name"] == *key)
                {
                    Some(o) => answer(StatusCode::OK, o.clone()),
                    None => not_found(&format!("{kind} {key}")),
                }
            }
            (&Method::POST, [list, key, "update"]) if kind_of(list).is_some() => {
                let kind = kind_of(list).expect("checked");
                let spec: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut lists = self.lists.lock().expect("lists");
                let objects = lists.objects.get_mut(kind).expect("kind");
                let Some(o) = objects
                    .iter_mut()
                    .find(|o| o["ID"] == *key || o["Spec"]["Name"] == *key)
                else {
                    return not_found(&format!("{kind} {key}"));
                };
                let index = o["Version"]["Index"].as_u64().unwrap_or(0) + 1;
                o["Version"]["Index"] = json!(index);
                o["Spec"] = spec;
                lists.encode(kind);
                answer(StatusCode::OK, json!({"Warnings": []}))
            }
            (&Method::DELETE, [list, key]) if kind_of(list).is_some() => {
                let kind = kind_of(list).expect("checked");
                let mut lists = self.lists.lock().expect("lists");
                let objects = lists.objects.get_mut(kind).expect("kind");
                objects.retain(|o| o["ID"] != *key && o["Spec"]["Name"] != *key);
                lists.encode(kind);
                lists.index = None;
                json_response(StatusCode::NO_CONTENT, Bytes::new())
            }
            _ => answer(
                StatusCode::NOT_IMPLEMENTED,
                json!({"message": format!("the fake Docker API has no {method} /{path}")}),
            ),
        }
    }

    fn event_stream(&self) -> Response<Body> {
        let rx = self.events.subscribe();
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(line) => return Some((Ok::<_, Infallible>(Frame::data(line)), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(BodyExt::boxed(StreamBody::new(stream)))
            .expect("response")
    }
}
