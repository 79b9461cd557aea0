//! `record --forward` and `forward`: changes reach a real webhook receiver on loopback, every
//! routed one at least once, although the receiver is down when the recording starts; a
//! backfill sends a stored session's matching events; `forward status` says where each
//! destination is.

use std::collections::BTreeSet;
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

/// A webhook receiver on a loopback port the system picks (bound here and kept, so no other
/// listener can take it meanwhile), until its task is aborted: the port and the task.
async fn receiver(received: Received) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, tokio::spawn(serve_hooks(listener, received)))
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

/// `name` from the environment, else `default` (the fault run's size can be raised by hand).
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_routed_change_reaches_a_webhook_that_was_down_for_30_seconds_during_the_recording() {
    let events = env_or("FORWARD_FAULT_EVENTS", 20_000);
    let outage = env_or("FORWARD_FAULT_OUTAGE_SECS", 30);
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(events as usize);
        config.size = 1_024;
        // Ten seconds of stream, so the receiver dies while the recording runs.
        config.rate = Some(events as f64 / 10.0);
    })
    .await;
    let received = Received::default();
    // Up for the first 2 seconds, killed for `outage` seconds, then up again.
    let (port, first) = receiver(received.clone()).await;
    let rules = rules_file(dir.path(), port, "");
    let outage_done = {
        let received = received.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            first.abort();
            let _ = first.await;
            // Down: each connection is closed unanswered, by a listener that keeps the port.
            // A port left free for 30 s may be handed to another test's listener in this
            // binary (which then took the forwarder's requests, or this one could not bind
            // its port back).
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let up_again = tokio::time::Instant::now() + std::time::Duration::from_secs(outage);
            while let Ok(accepted) = tokio::time::timeout_at(up_again, listener.accept()).await {
                drop(accepted);
            }
            serve_hooks(listener, received).await;
        })
    };
    let session = dir.path().join("forwarded.tideline");
    let recorded = std::time::Instant::now();
    let output = record(
        &sim.url(),
        &session,
        "2",
        &["--forward", rules.to_str().unwrap()],
    )
    .await;
    assert_success(&output);
    let recording_took = recorded.elapsed();
    sim.shutdown().await;
    let said = String::from_utf8_lossy(&output.stderr).into_owned();

    // The recording gave up waiting after its drain; the backfill goes on from the cursor,
    // retrying on its backoff until the receiver is back.
    let backfill = cli()
        .args(["forward", "--timeout", "180", "--session"])
        .arg(&session)
        .arg("--forward")
        .arg(&rules)
        .output()
        .unwrap();
    assert_success(&backfill);

    let expected = stored_ids(&session, |event| event.change.is_some());
    assert!(expected.len() as u64 > events / 2, "{}", expected.len());
    let ids = received.ids();
    let got: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(got, expected, "recording said: {said}");
    eprintln!(
        "fault run: {events} events recorded in {recording_took:?} with the webhook down for {outage} s; \
         {} routed changes delivered ({} requests, duplicates {})",
        expected.len(),
        ids.len(),
        ids.len() - got.len()
    );

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
    assert_eq!(status[0]["failing_since"], serde_json::Value::Null);
    outage_done.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_refuses_for_good_is_stopped_with_its_cause_and_keeps_what_is_pending() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("story.tideline");
    assert_success(
        &cli()
            .args(["import", "--session"])
            .arg(&session)
            .arg("--input")
            .arg(fixture("auditlog/cloudtrail/seed-story"))
            .output()
            .unwrap(),
    );
    // A receiver that answers 401 to everything: a bad token will not mend by retrying.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route(
        "/hook",
        post(|| async { (axum::http::StatusCode::UNAUTHORIZED, "bad token") }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let rules = rules_file(dir.path(), port, "");
    let output = cli()
        .args(["forward", "--session"])
        .arg(&session)
        .arg("--forward")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a stopped destination is a failure"
    );
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("STOPPED") && said.contains("401"), "{said}");
    let status = cli()
        .args(["forward", "status", "--json", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status[0]["delivered"], 0);
    assert_eq!(
        status[0]["behind"], 81,
        "nothing pending was dropped: {status}"
    );
    assert!(
        status[0]["stopped"].as_str().unwrap().contains("401"),
        "{status}"
    );
    server.abort();
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
    let received = Received::default();
    let (port, server) = receiver(received.clone()).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_route_by_a_search_query_sends_what_the_search_box_would_find() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("story.tideline");
    assert_success(
        &cli()
            .args(["import", "--session"])
            .arg(&session)
            .arg("--input")
            .arg(fixture("auditlog/cloudtrail/seed-story"))
            .output()
            .unwrap(),
    );
    let received = Received::default();
    let (port, server) = receiver(received.clone()).await;
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"{{"routes": [{{"match": {{"query": "203.0.113.66 NOT method:terraform"}},
                 "to": [{{"kind": "webhook", "url": "http://127.0.0.1:{port}/hook"}}]}}]}}"#
        ),
    )
    .unwrap();
    assert_success(
        &cli()
            .args(["forward", "--session"])
            .arg(&session)
            .arg("--forward")
            .arg(&rules)
            .output()
            .unwrap(),
    );
    // The changes that carry the attacker's address: jdoe's authorize and revoke.
    let expected = stored_ids(&session, |event| {
        event.change.is_some() && event.body.contains("203.0.113.66")
    });
    assert_eq!(expected.len(), 2);
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
        (
            r#"{"routes": [{"match": {"query": "principal:(jdoe"}, "to": [{"kind": "syslog", "transport": "udp", "address": "127.0.0.1:1"}]}]}"#,
            "routes[0].match.query",
        ),
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
