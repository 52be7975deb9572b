//! HTTP-01 answers: `GET /.well-known/acme-challenge/<token>` on
//! `ChallengeAddr`, plain HTTP (the directory asks over port 80 and the
//! proxies pass it on). Only tokens of orders in progress are answered;
//! everything else is 404. A token and its answer are public by design.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;

pub const PATH: &str = "/.well-known/acme-challenge/";

/// Tokens of the orders in progress → key authorisations.
#[derive(Clone, Debug, Default)]
pub struct Tokens(Arc<Mutex<HashMap<String, String>>>);

impl Tokens {
    pub fn insert(&self, token: &str, answer: &str) {
        self.lock().insert(token.to_owned(), answer.to_owned());
    }

    pub fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    fn get(&self, token: &str) -> Option<String> {
        self.lock().get(token).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn router(tokens: Tokens) -> axum::Router {
    axum::Router::new()
        .route("/.well-known/acme-challenge/{token}", get(answer))
        .with_state(tokens)
}

async fn answer(
    State(tokens): State<Tokens>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> (StatusCode, String) {
    match tokens.get(&token) {
        Some(answer) => {
            // Which host the directory validated (through the proxies);
            // the header is the caller's, so it is logged escaped and short.
            let host = headers
                .get(axum::http::header::HOST)
                .map(|h| String::from_utf8_lossy(&h.as_bytes()[..h.len().min(255)]).into_owned());
            tracing::info!(host = ?host, "ACME challenge answered");
            (StatusCode::OK, answer)
        }
        None => (StatusCode::NOT_FOUND, "no such challenge\n".to_owned()),
    }
}

/// Serve until `shutdown`, with the scrape listeners' limits (a few
/// connections, one request each, bounded in time): anybody can reach it.
pub async fn run(
    listener: tokio::net::TcpListener,
    tokens: Tokens,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use tower::ServiceExt;
    let router = router(tokens);
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        router.clone().oneshot(req)
    });
    sluice_scrape::serve(listener, "ACME challenges", 32, service, shutdown).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get(tokens: &Tokens, path: &str) -> (StatusCode, String) {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router(tokens.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn only_tokens_in_progress_are_answered() {
        let tokens = Tokens::default();
        tokens.insert("tok", "tok.thumb");
        assert_eq!(
            get(&tokens, "/.well-known/acme-challenge/tok").await,
            (StatusCode::OK, "tok.thumb".to_owned())
        );
        for path in [
            "/.well-known/acme-challenge/other",
            "/.well-known/acme-challenge/",
            "/.well-known/acme-challenge/tok/../tok",
            "/",
        ] {
            assert_eq!(get(&tokens, path).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        tokens.remove("tok");
        assert_eq!(
            get(&tokens, "/.well-known/acme-challenge/tok").await.0,
            StatusCode::NOT_FOUND
        );
    }
}
