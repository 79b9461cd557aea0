//! `--scenario seed-incident`: the 11 captured attack events, verbatim, amid a week of
//! generated benign background (Terraform from CI, engineers on the CLI, jdoe's usual
//! changes, autoscaling) over two accounts and two regions. Deterministic for a seed.
//!
//! The background is built to stay benign for the detection rules tested against it:
//! weekdays 08:00-19:00 UTC only; one address per principal (jdoe's is 192.0.2.77, so
//! the attack's 198.51.100.23 is new); no create-then-delete within 24 h except the
//! provider's autoscaling instances; no configuration returning to an earlier state
//! within 24 h; no console change to a Terraform-managed asset; no create in a region
//! where the account had no earlier event. `tests.rs` checks each of these.

mod daily;
mod edits;
mod inventory;
mod people;
mod story;
#[cfg(test)]
mod tests;
mod timeline;
mod week;

use serde_json::Value;

use crate::events::{Event, EventList};
use crate::replay;

/// The captured attack, embedded so the scenario needs no files at run time.
const CAPTURE: &str = include_str!("../../../../tests/fixtures/seed-incident.sse");

/// The whole scenario, ordered by time.
pub(crate) fn seed_incident(seed: u64) -> EventList {
    EventList::new(events(seed))
}

fn events(seed: u64) -> Vec<Event> {
    let captured = replay::from_sse(CAPTURE);
    let before_capture = captured
        .iter()
        .find_map(|e| {
            let value: Value = serde_json::from_str(&e.json).ok()?;
            let data = &value["data"];
            (data["asset"]["display_name"] == "prod-db-sg").then(|| data["previous_config"].clone())
        })
        .expect("the capture changes prod-db-sg");
    let week = week::plan(seed, &before_capture);
    timeline::render(seed, week, captured)
}
