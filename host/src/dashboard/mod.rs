//! The status page: clusters with their plugin and revision, the proxy
//! replicas and the revision each runs, routes per host (services, servers,
//! weights), and every excluded service with the label at fault and why.
//!
//! Served with the metrics on `MetricsAddr` when `StatusPage = true`: plain
//! HTTP without credentials, so it is for an internal address (it shows
//! service and host names, as the logs do; never a secret). The page is one
//! static page and script in the binary; the script polls `status.json`
//! (made once per round) every second
//! and writes every value with `textContent`, so a label value can never
//! become markup.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::plan::view::View;
use crate::serve::Store;
use sluice_wire::docs::StatusDoc;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// Longest message the page carries (a replica's failure can be 64 KiB).
const MAX_MESSAGE: usize = 1000;

/// What the page reads, made once per round: a request costs a copy of a
/// reference, whatever the cluster's size.
pub struct Dashboard {
    doc: RwLock<Bytes>,
    store: Arc<Store>,
}

#[derive(Serialize)]
struct Doc<'a> {
    /// The daemon's clock, for the page's "seen 3 s ago".
    now_ms: u64,
    #[serde(flatten)]
    view: &'a View,
    replicas: StatusDoc,
}

impl Dashboard {
    pub fn new(store: Arc<Store>) -> Dashboard {
        Dashboard {
            doc: RwLock::new(Bytes::from_static(b"{}")),
            store,
        }
    }

    /// This round's view, with the replicas' latest reports.
    pub fn update(&self, mut view: View) {
        for m in view
            .excluded
            .iter_mut()
            .map(|e| &mut e.message)
            .chain(view.clusters.iter_mut().filter_map(|c| c.failing.as_mut()))
        {
            cap(m);
        }
        let mut replicas = self.store.status(None);
        for f in replicas
            .clusters
            .values_mut()
            .flat_map(|c| c.replicas.values_mut())
            .filter_map(|r| r.failed.as_mut())
        {
            cap(&mut f.message);
        }
        let doc = Doc {
            now_ms: view.updated_ms,
            view: &view,
            replicas,
        };
        let bytes = Bytes::from(serde_json::to_vec(&doc).expect("the view serialises"));
        *self.doc.write().unwrap_or_else(|e| e.into_inner()) = bytes;
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/status", get(page))
            .route("/status.js", get(script))
            .route("/status.json", get(doc))
            .with_state(self)
    }
}

fn cap(message: &mut String) {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
}

/// Only this page's own script, styles and fetches; never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}

async fn doc(State(d): State<Arc<Dashboard>>) -> impl IntoResponse {
    let bytes = d.doc.read().unwrap_or_else(|e| e.into_inner()).clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character() {
        let mut m = "é".repeat(800);
        cap(&mut m);
        assert!(m.len() <= MAX_MESSAGE + '…'.len_utf8(), "{}", m.len());
        assert!(m.ends_with('…'));
        let mut short = "fine".to_string();
        cap(&mut short);
        assert_eq!(short, "fine");
    }
}
