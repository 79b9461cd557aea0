//! Plays the planned background and the captured attack in time order, carrying each
//! asset's configuration from change to change, and renders the background events.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::week::{Planned, Week};
use crate::cloud::{AssetKind, Change, uuid_like};
use crate::events::Event;

/// Background ids: `01HY` and a counter, 26 characters like the captured ULIDs.
pub(crate) fn background_id(n: usize) -> String {
    format!("01HY{n:022}")
}

/// Merges the week with the captured events (kept verbatim) into one time-ordered list.
pub(crate) fn render(seed: u64, week: Week, captured: Vec<Event>) -> Vec<Event> {
    let Week {
        inventory,
        mut planned,
    } = week;
    planned.sort_by_key(|p| p.time);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7469_6465_6c69_6e65);
    let mut state: HashMap<String, Option<Value>> = HashMap::new();
    let mut out = Vec::with_capacity(planned.len() + captured.len());
    let mut captured = captured.into_iter().peekable();
    let mut planned = planned.into_iter().peekable();
    loop {
        let take_captured = match (captured.peek(), planned.peek()) {
            (Some(c), Some(p)) => c.time.is_some_and(|t| t <= p.time),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_captured {
            let event = captured.next().expect("peeked");
            remember(&mut state, &event);
            out.push(event);
            continue;
        }
        let Planned {
            time,
            actor,
            asset,
            op,
        } = planned.next().expect("peeked");
        let entry = inventory.get(asset);
        let name = entry.asset.name();
        let previous = state.entry(name).or_insert_with(|| entry.initial.clone());
        let config = op.edit.apply(previous.as_ref());
        let id = background_id(out.len() + 1);
        let change = Change {
            id: &id,
            source: entry.account.source,
            change: op.edit.change_type(),
            time,
            asset: &entry.asset,
            actor: &actor,
            action: op.action,
            associations: entry.associations.clone(),
            request: op.request,
            response: op.response,
            config: config.clone(),
            previous: previous.clone(),
            request_id: uuid_like(rng.random()),
            event_id: uuid_like(rng.random()),
            minimal_raw: false,
        };
        let json = change.to_json();
        *previous = config.map(|c| settle(entry.asset.kind, c));
        out.push(Event::from_json(Some(id), json));
    }
    out
}

/// What the inventory shows once a new asset has settled: instances run, snapshots complete.
fn settle(kind: AssetKind, mut config: Value) -> Value {
    match kind {
        AssetKind::Instance if config["State"]["Name"] == "pending" => {
            config["State"] = json!({ "Name": "running" })
        }
        AssetKind::Snapshot if config["State"] == "pending" => config["State"] = json!("completed"),
        _ => {}
    }
    config
}

/// Records a captured event's resulting configuration for its asset.
fn remember(state: &mut HashMap<String, Option<Value>>, event: &Event) {
    let Ok(value) = serde_json::from_str::<Value>(&event.json) else {
        return;
    };
    if let Some(name) = value["data"]["asset"]["name"].as_str() {
        let config = Some(value["data"]["config"].clone()).filter(|c| !c.is_null());
        state.insert(name.to_owned(), config);
    }
}
