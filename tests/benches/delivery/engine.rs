//! The Docker Engine API over its unix socket, without the CLI: the
//! benchmark reads task timestamps (`Status.Timestamp`, the engine's own time
//! of a state change) and fires 100 service updates within a second, which a
//! process per call cannot do on a small machine.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// The harness's engine is Docker 20.10.
const API: &str = "/v1.41";
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct Engine {
    sock: String,
}

impl Engine {
    pub fn new(sock: &str) -> Engine {
        Engine {
            sock: sock.to_owned(),
        }
    }

    /// One request; HTTP/1.0, so the engine answers without chunking and
    /// closes the connection at the end of the body.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let what = format!("{method} {path} at {}", self.sock);
        let fail = |e: &dyn std::fmt::Display| format!("{what}: {e}");
        let mut s = UnixStream::connect(&self.sock).map_err(|e| fail(&e))?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| fail(&e))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {API}{path} HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(request.as_bytes()).map_err(|e| fail(&e))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(|e| fail(&e))?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| fail(&"no complete HTTP answer"))?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| fail(&format!("bad status line {head:?}")))?;
        if !(200..300).contains(&status) {
            return Err(fail(&format!("{status} {}", body.trim())));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(body).map_err(|e| fail(&e))
    }

    /// `docker service inspect NAME`.
    pub fn service(&self, name: &str) -> Result<Value, String> {
        self.request("GET", &format!("/services/{name}"), None)
    }

    /// Sets one label of the service (`docker service update --label-add`),
    /// from its inspected form (which carries the version to update).
    pub fn set_label(&self, service: &Value, key: &str, value: &str) -> Result<(), String> {
        let id = service["ID"].as_str().ok_or("service without ID")?;
        let version = service["Version"]["Index"]
            .as_u64()
            .ok_or("service without version")?;
        let mut spec = service["Spec"].clone();
        spec["Labels"][key] = Value::String(value.to_owned());
        self.request(
            "POST",
            &format!("/services/{id}/update?version={version}"),
            Some(&spec),
        )
        .map(drop)
    }

    /// When the service's first task reached `running`, by the engine's
    /// clock; None while no task runs.
    pub fn running_since(&self, service: &str) -> Result<Option<SystemTime>, String> {
        let filters = format!(r#"{{"service":{{"{service}":true}}}}"#);
        let tasks = self.request("GET", &format!("/tasks?filters={}", encode(&filters)), None)?;
        let stamps = tasks.as_array().into_iter().flatten().filter_map(|t| {
            let status = &t["Status"];
            (status["State"] == "running").then(|| status["Timestamp"].as_str())?
        });
        let mut first: Option<SystemTime> = None;
        for stamp in stamps {
            let at = chrono::DateTime::parse_from_rfc3339(stamp)
                .map_err(|e| format!("task of {service}: timestamp {stamp:?}: {e}"))?;
            let at = SystemTime::from(at);
            first = Some(first.map_or(at, |f| f.min(at)));
        }
        Ok(first)
    }
}

/// Percent-encoding for a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
