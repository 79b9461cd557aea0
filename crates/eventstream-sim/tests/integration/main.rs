//! Integration tests: a real server on loopback, read with a raw HTTP client.

mod binary;
mod client;
mod faults;
mod load;
mod replay;
mod seed_incident;

use std::path::PathBuf;
use std::time::Duration;

use eventstream_sim::{RunningSim, SimConfig, StreamSource, start};

pub const KEY: &str = "test-key";

/// Long enough that a live stream is idle, short enough to keep the suite quick.
pub const IDLE: Duration = Duration::from_millis(1000);

pub fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/seed-incident.sse"
    ))
}

pub fn config(source: StreamSource) -> SimConfig {
    SimConfig::new(KEY, source)
}

pub async fn serve(config: SimConfig) -> RunningSim {
    start(config, 0).await.expect("simulator starts")
}

/// The fixture's change events as `(id, json)`, read with the test client's own parser.
pub fn fixture_events() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut out = Vec::new();
    let (mut id, mut event, mut data) = (None, String::new(), Vec::<String>::new());
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            if !data.is_empty() && event == "data" {
                out.push((id.take().unwrap(), data.join("\n")));
            }
            (id, event, data) = (None, String::new(), Vec::new());
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
        }
    }
    out
}
