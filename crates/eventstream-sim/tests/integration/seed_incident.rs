//! The seed-incident scenario over the wire.

use eventstream_sim::{Scenario, SimConfig, StreamSource};

use crate::client;
use crate::{IDLE, KEY, config, fixture_events, serve};

async fn read_all(config: SimConfig) -> Vec<(String, String)> {
    let sim = serve(config).await;
    let mut response = client::stream(&sim.url(), KEY, None).await;
    client::frames(&response.collect(IDLE).await)
        .into_iter()
        .map(|f| (f.id.unwrap(), f.data))
        .collect()
}

#[tokio::test]
async fn seed_incident_is_the_same_every_run_and_carries_the_11_attack_events_verbatim() {
    let scenario = || config(StreamSource::Scenario(Scenario::SeedIncident));
    let first = read_all(scenario()).await;
    let second = read_all(scenario()).await;
    assert_eq!(first, second);
    assert!((150..=400).contains(&first.len()), "{} events", first.len());
    let attack: Vec<(String, String)> = first
        .iter()
        .filter(|(id, _)| id.starts_with("01HX"))
        .cloned()
        .collect();
    assert_eq!(attack, fixture_events());
    let mut other_seed = scenario();
    other_seed.seed = 2;
    assert_ne!(read_all(other_seed).await, first);
}

#[tokio::test]
async fn count_limits_the_seed_incident_stream() {
    let mut config = config(StreamSource::Scenario(Scenario::SeedIncident));
    config.count = Some(25);
    assert_eq!(read_all(config).await.len(), 25);
}
