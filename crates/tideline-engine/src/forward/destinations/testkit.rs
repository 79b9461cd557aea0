//! testkit: real HTTP receivers on loopback for the destinations' tests (an axum server per
//! test that records every request and answers what the test queued), and sample items.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{EventFacts, Item};

/// Every network wait in a test is bounded by this.
pub const TEST_WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`TEST_WAIT`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_WAIT, future)
        .await
        .expect("a network wait took longer than the test allows")
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }
}

/// One queued answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<Reply>>,
}

/// An HTTP receiver on 127.0.0.1; stopped when dropped.
pub struct Receiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver answering `200` with an empty body unless told otherwise.
    pub async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            address,
            shared,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Queues the answer to the next request.
    pub fn reply(&self, reply: Reply) {
        self.shared.replies.lock().unwrap().push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|path| path.to_string())
            .unwrap_or_default(),
        headers,
        body: body.to_vec(),
    });
    let queued = shared.replies.lock().unwrap().pop_front();
    let reply = queued.unwrap_or(Reply::status(200));
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// 2024-05-05T10:00:00.123456Z.
pub const SAMPLE_TIME_US: i64 = 1_714_903_200_123_456;

pub fn event_item<'a>(id: &'a str, body: &'a str, facts: &'a EventFacts) -> Item<'a> {
    Item::Event {
        id,
        source: "opshelm/aws",
        time_us: SAMPLE_TIME_US,
        body,
        facts,
    }
}

/// An S3 bucket policy update by an IAM user.
pub fn facts() -> EventFacts {
    EventFacts {
        change: Some("update".into()),
        event_type: "com.opshelm.asset.changed".into(),
        asset_name: Some("prod-logs".into()),
        asset_type: Some("s3_bucket".into()),
        provider: Some("aws".into()),
        account: Some("123456789012".into()),
        region: Some("eu-west-1".into()),
        principal: Some("arn:aws:iam::123456789012:user/alice".into()),
        method: Some("PutBucketPolicy".into()),
        source_ip: Some("203.0.113.7".into()),
        user_agent: Some("aws-cli/2.15".into()),
        action: Some("s3:PutBucketPolicy".into()),
        summary: "policy.Statement[0].Principal: \"arn:…\" → \"*\"".into(),
        severity: None,
        rule: None,
    }
}

pub fn finding_json() -> serde_json::Value {
    serde_json::json!({
        "rule": "public-bucket",
        "severity": "high",
        "summary": "prod-logs made public",
        "time": "2024-05-05T10:00:00Z",
        "key": "public-bucket|prod-logs",
        "events": ["ev-1"],
    })
}
