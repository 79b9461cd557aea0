//! The HTTP side: `GET /v1/consume/stream` behind a bearer key, everything else 404.
//! Each accepted request gets its own `Connection` over the shared state.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use crate::connection::Connection;
use crate::faults::Faults;
use crate::manifest::Tracker;
use crate::pacing::{RateLimiter, Span};
use crate::plan::Plan;
use crate::source::Source;

/// The path EventStream clients consume.
pub const STREAM_PATH: &str = "/v1/consume/stream";

/// State shared by all connections of one server.
pub(crate) struct Shared {
    pub key: String,
    pub source: Arc<Source>,
    pub plan: Plan,
    pub faults: Faults,
    pub tracker: Arc<Tracker>,
    pub limiter: Option<RateLimiter>,
    pub span: Option<Span>,
    pub retry_ms: u64,
    pub keepalive: Duration,
    /// Valid events carry their send time as `time` (`SimConfig::stamp_time`).
    pub stamp_time: bool,
    /// Turns true on shutdown; every open stream then ends.
    pub stop: watch::Receiver<bool>,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(STREAM_PATH, get(stream))
        .fallback(not_found)
        .with_state(shared)
}

async fn stream(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &shared.key) {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid API key",
        );
    }
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let position = shared.plan.resume_after(last_event_id, &shared.source);
    let connection = Connection::new(shared.clone(), position);
    let chunks = futures::stream::unfold(connection, |mut connection| async move {
        let chunk = connection.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), connection))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

fn json_error(status: StatusCode, error: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": error, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `Authorization: Bearer KEY`, the scheme in any case.
fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && same_bytes(token.trim().as_bytes(), key.as_bytes())
}

/// Compares without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::AUTHORIZATION, value.parse().unwrap());
        map
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_key_exact() {
        assert!(authorized(&headers("bearer k1"), "k1"));
        assert!(authorized(&headers("Bearer k1"), "k1"));
        assert!(authorized(&headers("BEARER  k1 "), "k1"));
        assert!(!authorized(&headers("Bearer k2"), "k1"));
        assert!(!authorized(&headers("Basic k1"), "k1"));
        assert!(!authorized(&headers("k1"), "k1"));
        assert!(!authorized(&HeaderMap::new(), "k1"));
    }
}
