//! Replaying captures: the wire format, auth, resume, keep-alives, concurrency.

use std::time::{Duration, Instant};

use eventstream_sim::StreamSource;

use crate::client::{self, Item};
use crate::{IDLE, KEY, config, fixture, fixture_events, serve};

#[tokio::test]
async fn wrong_or_missing_key_gets_401_with_a_json_error_and_other_paths_404() {
    let sim = serve(config(StreamSource::Replay(fixture()))).await;
    for key in [Some("nope"), None] {
        let response = client::get(&sim.url(), "/v1/consume/stream", key, &[]).await;
        assert_eq!(response.status, 401);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&response.text().await).unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    let response = client::get(&sim.url(), "/v1/other", Some(KEY), &[]).await;
    assert_eq!(response.status, 404);
}

#[tokio::test]
async fn replay_of_the_capture_sends_its_11_events_with_byte_identical_json() {
    let sim = serve(config(StreamSource::Replay(fixture()))).await;
    let mut response = client::stream(&sim.url(), KEY, None).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    let items = response.collect(IDLE).await;
    assert_eq!(items[0], Item::Comment("connected".into()));
    assert_eq!(items[1], Item::Retry(3000));
    let sent: Vec<(String, String)> = client::frames(&items)
        .into_iter()
        .map(|f| (f.id.unwrap(), f.data))
        .collect();
    let expected = fixture_events();
    assert_eq!(expected.len(), 11);
    assert_eq!(sent, expected);
    assert_eq!(sent[0].0, "01HX0000000000000000000001");
    assert_eq!(sent[10].0, "01HX0000000000000000000011");
}

#[tokio::test]
async fn last_event_id_resumes_after_that_event_and_an_unknown_id_restarts() {
    let sim = serve(config(StreamSource::Replay(fixture()))).await;
    let ids = |items: &[Item]| {
        client::frames(items)
            .into_iter()
            .map(|f| f.id.unwrap())
            .collect::<Vec<_>>()
    };
    let mut response = client::stream(&sim.url(), KEY, Some("01HX0000000000000000000004")).await;
    let resumed = ids(&response.collect(IDLE).await);
    assert_eq!(resumed.len(), 7);
    assert_eq!(resumed[0], "01HX0000000000000000000005");
    let mut response = client::stream(&sim.url(), KEY, Some("never-sent")).await;
    assert_eq!(ids(&response.collect(IDLE).await).len(), 11);
}

#[tokio::test]
async fn ndjson_files_replay_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let lines: Vec<String> = fixture_events()
        .into_iter()
        .map(|(_, json)| json.replace('\n', ""))
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let sim = serve(config(StreamSource::Replay(path))).await;
    let mut response = client::stream(&sim.url(), KEY, None).await;
    let frames = client::frames(&response.collect(IDLE).await);
    let data: Vec<String> = frames.into_iter().map(|f| f.data).collect();
    assert_eq!(data, lines);
}

#[tokio::test]
async fn a_live_stream_keeps_sending_alternating_keepalives_after_the_last_event() {
    let mut config = config(StreamSource::Replay(fixture()));
    config.keepalive = Duration::from_millis(100);
    config.retry_ms = 1234;
    let sim = serve(config).await;
    let mut response = client::stream(&sim.url(), KEY, Some("01HX0000000000000000000011")).await;
    let mut seen = Vec::new();
    while seen.len() < 6 {
        match response
            .next(IDLE)
            .await
            .expect("a keep-alive within the idle time")
        {
            Item::Frame(f) if f.event == "ping" && f.data == "{}" => seen.push("ping"),
            Item::Comment(c) if c == "keep-alive" => seen.push("comment"),
            Item::Retry(ms) => assert_eq!(ms, 1234),
            other => assert_eq!(other, Item::Comment("connected".into())),
        }
    }
    assert_eq!(
        seen,
        ["ping", "comment", "ping", "comment", "ping", "comment"]
    );
}

#[tokio::test]
async fn concurrent_connections_each_keep_their_own_position() {
    let mut config = config(StreamSource::Replay(fixture()));
    config.rate = Some(40.0);
    let sim = serve(config).await;
    let url = sim.url();
    let read = |last: Option<&'static str>| {
        let url = url.clone();
        async move {
            let mut response = client::stream(&url, KEY, last).await;
            client::frames(&response.collect(IDLE).await)
                .into_iter()
                .map(|f| f.id.unwrap())
                .collect::<Vec<_>>()
        }
    };
    let started = Instant::now();
    let (all, tail) = tokio::join!(read(None), read(Some("01HX0000000000000000000008")));
    assert_eq!(all.len(), 11);
    assert_eq!(
        tail,
        [
            "01HX0000000000000000000009",
            "01HX0000000000000000000010",
            "01HX0000000000000000000011"
        ]
    );
    // 14 frames at 40/s overall take at least 13 intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(325),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn span_spreads_the_replay_over_about_the_requested_time() {
    let mut config = config(StreamSource::Replay(fixture()));
    config.span = Some(Duration::from_millis(1500));
    let sim = serve(config).await;
    let started = Instant::now();
    let mut response = client::stream(&sim.url(), KEY, None).await;
    let mut count = 0;
    while count < 11 {
        if let Some(Item::Frame(f)) = response.next(Duration::from_secs(5)).await
            && f.event == "data"
        {
            count += 1;
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1300) && took < Duration::from_secs(6),
        "{took:?}"
    );
}
