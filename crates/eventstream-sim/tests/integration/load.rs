//! The load scenario: sizes, ids, and resuming deep into a 200,000-event stream.

use std::time::{Duration, Instant};

use eventstream_sim::{Scenario, StreamSource};
use serde_json::Value;

use crate::client;
use crate::{IDLE, KEY, config, serve};

#[tokio::test]
async fn load_frames_are_about_the_requested_size_with_sequential_ids() {
    let mut config = config(StreamSource::Scenario(Scenario::Load));
    config.count = Some(40);
    config.size = 3000;
    let sim = serve(config).await;
    let mut response = client::stream(&sim.url(), KEY, None).await;
    let frames = client::frames(&response.collect(IDLE).await);
    assert_eq!(frames.len(), 40);
    let mut types = std::collections::HashSet::new();
    for (n, frame) in frames.iter().enumerate() {
        assert!(
            frame.data.len().abs_diff(3000) <= 300,
            "frame {n}: {} bytes",
            frame.data.len()
        );
        let event: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(event["id"].as_str(), frame.id.as_deref());
        assert_eq!(
            frame.id.as_deref(),
            Some(format!("01J0{:022}", n + 1).as_str())
        );
        types.insert(event["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(types.len(), 3, "creates, updates and deletes");
}

#[tokio::test]
async fn load_of_200k_starts_at_once_and_resumes_near_the_end_without_a_scan() {
    let mut config = config(StreamSource::Scenario(Scenario::Load));
    config.count = Some(200_000);
    let started = Instant::now();
    let sim = serve(config).await;
    let mut response = client::stream(&sim.url(), KEY, Some("01J00000000000000000199990")).await;
    let frames = client::frames(&response.collect(Duration::from_millis(400)).await);
    let ids: Vec<String> = frames.into_iter().map(|f| f.id.unwrap()).collect();
    assert_eq!(ids.len(), 10);
    assert_eq!(ids[0], "01J00000000000000000199991");
    assert_eq!(ids[9], "01J00000000000000000200000");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_pregenerated_load_stream_is_the_same_stream_and_resumes_the_same() {
    let mut streams = Vec::new();
    for pregenerate in [false, true] {
        let mut config = config(StreamSource::Scenario(Scenario::Load));
        config.count = Some(60);
        config.pregenerate = pregenerate;
        let sim = serve(config).await;
        let whole = client::frames(
            &client::stream(&sim.url(), KEY, None)
                .await
                .collect(IDLE)
                .await,
        );
        let resumed = client::frames(
            &client::stream(&sim.url(), KEY, Some("01J00000000000000000000041"))
                .await
                .collect(IDLE)
                .await,
        );
        streams.push((whole, resumed));
    }
    assert_eq!(streams[0].0.len(), 60);
    assert_eq!(streams[0].1.len(), 19, "resumed after the 41st");
    assert_eq!(streams[0], streams[1]);
}

#[tokio::test]
async fn stamped_events_carry_the_moment_they_were_sent_as_their_time() {
    let mut config = config(StreamSource::Scenario(Scenario::Load));
    config.count = Some(5);
    config.rate = Some(20.0);
    config.pregenerate = true;
    config.stamp_time = true;
    let sim = serve(config).await;
    let before = chrono::Utc::now();
    let frames = client::frames(
        &client::stream(&sim.url(), KEY, None)
            .await
            .collect(IDLE)
            .await,
    );
    let after = chrono::Utc::now();
    assert_eq!(frames.len(), 5);
    let mut times = Vec::new();
    for (n, frame) in frames.iter().enumerate() {
        let event: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(event["id"].as_str(), frame.id.as_deref(), "frame {n}");
        let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).unwrap();
        assert!(before <= time && time <= after, "frame {n} stamped {time}");
        times.push(time);
    }
    // Paced at 20 per second: the stamps are the send times, 50 ms apart.
    let spread = times[4] - times[0];
    assert!(spread.num_milliseconds() >= 190, "{spread}");
}
