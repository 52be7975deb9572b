//! The status page: clusters with their plugin and revision, the proxy
//! replicas and the revision each runs, routes per host (services, servers,
//! weights), and every excluded service with the label at fault and why.
//!
//! Served with the metrics on `MetricsAddr` when `StatusPage = true`: plain
//! HTTP without credentials, so it is for an internal address (it shows
//! service and host names, as the logs do; never a secret). The page is one
//! static file in the binary; its script polls `status.json` every second
//! and writes every value with `textContent`, so a label value can never
//! become markup.

pub mod view;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde::Serialize;

use crate::serve::Store;
use sluice_wire::docs::StatusDoc;
use view::View;

const PAGE: &str = include_str!("page.html");

/// What the page reads: the last round's view, and the replicas' reports.
pub struct Dashboard {
    view: RwLock<View>,
    store: Arc<Store>,
}

#[derive(Serialize)]
struct Doc {
    #[serde(flatten)]
    view: View,
    replicas: StatusDoc,
}

impl Dashboard {
    pub fn new(store: Arc<Store>) -> Dashboard {
        Dashboard {
            view: RwLock::new(View::default()),
            store,
        }
    }

    pub fn update(&self, view: View) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = view;
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/status", get(page))
            .route("/status.json", get(doc))
            .with_state(self)
    }
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Nothing but this page's own script and fetches.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        PAGE,
    )
}

async fn doc(State(d): State<Arc<Dashboard>>) -> impl IntoResponse {
    let view = d.view.read().unwrap_or_else(|e| e.into_inner()).clone();
    let replicas = d.store.status(None);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(Doc { view, replicas }),
    )
}
