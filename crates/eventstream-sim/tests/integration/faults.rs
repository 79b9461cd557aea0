//! Fault injection as a client sees it, and the manifest that accounts for it.

use std::collections::HashSet;
use std::time::Duration;

use eventstream_sim::{Manifest, Scenario, StreamSource, parse_faults};
use serde_json::Value;

use crate::client::{self, Item};
use crate::{IDLE, KEY, config, fixture, serve};

#[tokio::test]
async fn drop_every_ends_the_response_after_n_frames_and_resuming_loses_nothing() {
    let mut config = config(StreamSource::Scenario(Scenario::Load));
    config.count = Some(10);
    config.faults = parse_faults("drop-every=3").unwrap();
    let sim = serve(config).await;
    let mut last: Option<String> = None;
    let mut ids = Vec::new();
    let mut connections = 0;
    while ids.len() < 10 {
        connections += 1;
        let mut response = client::stream(&sim.url(), KEY, last.as_deref()).await;
        let items = response.collect(IDLE).await;
        let frames = client::frames(&items);
        if ids.len() + frames.len() < 10 {
            assert_eq!(frames.len(), 3, "connection {connections} sends exactly 3");
            assert_eq!(items.last(), Some(&Item::End), "then the response ends");
        }
        ids.extend(frames.into_iter().map(|f| f.id.unwrap()));
        last = ids.last().cloned();
    }
    assert_eq!(connections, 4);
    let expected: Vec<String> = (1..=10).map(|i| format!("01J0{i:022}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn stall_after_goes_silent_without_keepalives_while_the_connection_stays_open() {
    let mut config = config(StreamSource::Replay(fixture()));
    config.keepalive = Duration::from_millis(100);
    config.faults = parse_faults("stall-after=4").unwrap();
    let sim = serve(config).await;
    let mut response = client::stream(&sim.url(), KEY, None).await;
    let mut frames = 0;
    while frames < 4 {
        if let Some(Item::Frame(f)) = response.next(IDLE).await
            && f.event == "data"
        {
            frames += 1;
        }
    }
    assert_eq!(
        response.next(Duration::from_millis(800)).await,
        None,
        "nothing at all, not even keep-alives"
    );
    // A new connection resumes after the last frame seen and stalls again 4 later.
    let mut response = client::stream(&sim.url(), KEY, Some("01HX0000000000000000000004")).await;
    let items = response.collect(Duration::from_millis(500)).await;
    let ids: Vec<String> = client::frames(&items)
        .into_iter()
        .map(|f| f.id.unwrap())
        .collect();
    assert_eq!(
        ids,
        ["05", "06", "07", "08"].map(|n| format!("01HX00000000000000000000{n}"))
    );
    assert!(!items.contains(&Item::Comment("keep-alive".into())));
}

/// What a careful client concluded from the frames it read.
#[derive(Default)]
struct Tally {
    valid: Vec<(String, String)>,
    seen: HashSet<(String, String)>,
    bad: u64,
    duplicates: u64,
    kinds: HashSet<&'static str>,
}

impl Tally {
    fn read(&mut self, data: &str) {
        if data.len() > 1024 * 1024 {
            self.bad += 1;
            self.kinds.insert("oversize");
            return;
        }
        let key = match serde_json::from_str::<Value>(data) {
            Ok(Value::Object(map)) => {
                let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                match (text("source"), text("id"), text("type"), text("time")) {
                    (Some(source), Some(id), Some(_), Some(_)) => Some((source, id)),
                    _ => {
                        self.kinds.insert("missing field");
                        None
                    }
                }
            }
            Ok(_) => {
                self.kinds.insert("not an object");
                None
            }
            Err(_) => {
                self.kinds.insert("not json");
                None
            }
        };
        match key {
            Some(key) if self.seen.contains(&key) => self.duplicates += 1,
            Some(key) => {
                self.seen.insert(key.clone());
                self.valid.push(key);
            }
            None => self.bad += 1,
        }
    }
}

#[tokio::test]
async fn manifest_counts_exactly_what_the_client_read_with_faults_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    let mut config = config(StreamSource::Scenario(Scenario::Load));
    config.count = Some(500);
    config.size = 1500;
    config.seed = 42;
    config.faults = parse_faults("drop-every=97,dup=0.05,malformed=0.05,oversize=0.01").unwrap();
    config.manifest = Some(path.clone());
    let sim = serve(config).await;

    let mut tally = Tally::default();
    let mut last: Option<String> = None;
    let mut ids = HashSet::new();
    for _ in 0..100 {
        let mut response = client::stream(&sim.url(), KEY, last.as_deref()).await;
        let items = response.collect(IDLE).await;
        for frame in client::frames(&items) {
            ids.insert(frame.id.clone().unwrap());
            tally.read(&frame.data);
            last = frame.id;
        }
        if items.last() != Some(&Item::End) {
            break; // the stream went idle: everything has been sent
        }
    }
    assert_eq!(tally.valid.len(), 500);
    assert!(
        tally.bad > 10 && tally.duplicates > 10,
        "bad {} dup {}",
        tally.bad,
        tally.duplicates
    );
    assert_eq!(
        tally.kinds.len(),
        4,
        "all kinds of bad frame: {:?}",
        tally.kinds
    );
    assert!(ids.len() > 500 + 10, "bad frames carry their own ids");

    let expected = Manifest {
        valid: tally.valid.clone(),
        bad: tally.bad,
        duplicates: tally.duplicates,
    };
    assert_eq!(sim.manifest(), expected);
    // The file follows the counts (debounced: 100 ms, stretched on a slow disk). How soon is
    // a matter of load, so the test waits for it with a generous deadline rather than a fixed
    // sleep; a file that never catches up fails here.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut written = read_manifest(&path);
    while written.as_ref() != Some(&expected) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        written = read_manifest(&path);
    }
    assert_eq!(
        written,
        Some(expected.clone()),
        "the file follows the counts"
    );
    sim.shutdown().await;
    assert_eq!(
        read_manifest(&path),
        Some(expected),
        "the last write at shutdown holds the same counts"
    );
}

/// The manifest file as written so far; `None` while it is absent or unreadable.
fn read_manifest(path: &std::path::Path) -> Option<Manifest> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}
