//! `record --forward` and `forward`: changes reach a real webhook receiver on loopback, every
//! routed one at least once, although the receiver is down when the recording starts; a
//! backfill sends a stored session's matching events; `forward status` says where each
//! destination is.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use eventstream_sim::{Scenario, StreamSource};
use tempfile::TempDir;

use crate::*;

/// What the receiver took: the `X-Tideline-Event-Id` of every request (duplicates kept).
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A webhook receiver on `addr`, until the returned handle is aborted.
async fn receiver(addr: SocketAddr, received: Received) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(serve_hooks(listener, received))
}

/// Serves the webhook on `listener`, recording each request's event id.
async fn serve_hooks(listener: tokio::net::TcpListener, received: Received) {
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, _body: String| {
            let received = received.clone();
            async move {
                let id = headers
                    .get("x-tideline-event-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
                    .to_owned();
                received.0.lock().unwrap().push(id);
                "ok"
            }
        }),
    );
    axum::serve(listener, app).await.unwrap();
}

fn rules_file(dir: &Path, port: u16, extra_match: &str) -> PathBuf {
    let path = dir.join("forwarding.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"routes": [{{"match": {{"change": ["create", "update", "delete"]{extra_match}}},
                  "to": [{{"kind": "webhook", "url": "http://127.0.0.1:{port}/hook"}}]}}]}}"#
        ),
    )
    .unwrap();
    path
}

/// The ids of the session's events that `wanted` (the event's facts) selects.
fn stored_ids(
    session: &Path,
    wanted: impl Fn(&tideline_engine::store::StoredEvent) -> bool,
) -> BTreeSet<String> {
    test_notes_dir();
    let session = tideline_engine::store::Session::open(session).unwrap();
    session
        .event_keys()
        .unwrap()
        .into_iter()
        .filter_map(|(source, id)| session.event(&source, &id).unwrap())
        .filter(|event| wanted(event))
        .map(|event| event.event_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_routed_change_reaches_a_webhook_that_was_down_when_recording_started() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(2_000);
        config.size = 1_024;
    })
    .await;
    // The receiver's port is chosen now but nothing listens on it for the first 3 seconds.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rules = rules_file(dir.path(), port, "");
    let received = Received::default();
    let late = {
        let received = received.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            serve_hooks(listener, received).await;
        })
    };
    let session = dir.path().join("forwarded.tideline");
    let output = record(
        &sim.url(),
        &session,
        "2",
        &["--forward", rules.to_str().unwrap()],
    )
    .await;
    assert_success(&output);
    sim.shutdown().await;
    let said = String::from_utf8_lossy(&output.stderr);

    // Whatever the drain at the end of the recording did not send yet, a backfill sends now:
    // the cursors kept the place.
    let backfill = cli()
        .args(["forward", "--session"])
        .arg(&session)
        .arg("--forward")
        .arg(&rules)
        .output()
        .unwrap();
    assert_success(&backfill);

    let expected = stored_ids(&session, |event| event.change.is_some());
    assert!(expected.len() > 1_000, "{}", expected.len());
    let got: BTreeSet<String> = received.ids().into_iter().collect();
    assert_eq!(got, expected, "recording said: {said}");

    let status = cli()
        .args(["forward", "status", "--json", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&status);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status[0]["destination"],
        format!("webhook http://127.0.0.1:{port}/hook")
    );
    assert!(
        status[0]["delivered"].as_u64().unwrap() >= expected.len() as u64,
        "{status}"
    );
    assert_eq!(status[0]["stopped"], serde_json::Value::Null);
    late.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_sends_only_what_the_route_matches_since_the_time_given() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("story.tideline");
    let imported = cli()
        .args(["import", "--session"])
        .arg(&session)
        .arg("--input")
        .arg(fixture("auditlog/cloudtrail/seed-story"))
        .output()
        .unwrap();
    assert_success(&imported);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let received = Received::default();
    let server = receiver(([127, 0, 0, 1], port).into(), received.clone()).await;
    let rules = rules_file(
        dir.path(),
        port,
        r#", "asset_type": ["network.firewall", "iam.user"]"#,
    );
    let backfill = cli()
        .args(["forward", "--since", "2024-05-05", "--session"])
        .arg(&session)
        .arg("--forward")
        .arg(&rules)
        .output()
        .unwrap();
    assert_success(&backfill);
    // Sunday's firewall and IAM-user changes: the authorize and revoke, and the user's create,
    // attach, detach and delete (not Friday's Terraform, not the access key).
    let expected = stored_ids(&session, |event| {
        event.change.is_some()
            && event.time.to_rfc3339().starts_with("2024-05-05")
            && matches!(
                event.asset_type.as_deref(),
                Some("network.firewall" | "iam.user")
            )
    });
    assert_eq!(expected.len(), 6);
    let got: BTreeSet<String> = received.ids().into_iter().collect();
    assert_eq!(got, expected);
    server.abort();
}

#[test]
fn a_forwarding_file_with_a_mistake_is_refused_naming_the_field() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("s.tideline");
    for (text, named) in [
        (
            r#"{"routes": [{"match": {"asset_typ": ["x"]}, "to": []}]}"#,
            "unknown field `asset_typ`",
        ),
        (
            r#"{"routes": [{"match": {"change": ["remove"]}, "to": [{"kind": "syslog", "transport": "tcp", "address": "127.0.0.1:1"}]}]}"#,
            "routes[0].match.change",
        ),
        (r#"{"routes": [{"to": []}]}"#, "routes[0].to"),
    ] {
        let rules = dir.path().join("rules.json");
        std::fs::write(&rules, text).unwrap();
        let output = cli()
            .args(["forward", "--session"])
            .arg(&session)
            .arg("--forward")
            .arg(&rules)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(named), "{said}");
    }
}
