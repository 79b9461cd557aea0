//! `--replay FILE`: turns an `.sse` capture or an NDJSON file into the list of change
//! events to serve, keeping every event's JSON text exactly as recorded.

use std::path::Path;

use tideline_engine::auditlog::read::LogRecords;
use tideline_engine::auditlog::{self, Inventory, LogFormat};

use crate::error::SimError;
use crate::events::{Event, EventList};
use crate::sse;

/// Reads a capture. NDJSON is chosen by extension (`.ndjson`, `.jsonl`) or, for any
/// other extension but `.sse`, when the first non-blank character is `{`.
pub(crate) fn load(path: &Path) -> Result<EventList, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadReplay {
        path: path.to_owned(),
        source,
    })?;
    let events = if is_ndjson(path, &text) {
        from_ndjson(&text)
    } else {
        from_sse(&text)
    };
    if events.is_empty() {
        return Err(SimError::EmptyReplay {
            path: path.to_owned(),
        });
    }
    Ok(EventList::new(events))
}

/// Reads raw audit logs (a file or a folder) and normalizes them with Tideline's engine, as
/// an import would: the events of every record, in event-time order, each with the record
/// verbatim as `data.raw`. A record the engine cannot read is left out and counted on stderr
/// (an import would quarantine it).
pub(crate) fn load_audit_log(path: &Path, format: LogFormat) -> Result<EventList, SimError> {
    let read_error = |source| SimError::ReadReplay {
        path: path.to_owned(),
        source,
    };
    let records = LogRecords::open(path, Some(format), &mut || true).map_err(read_error)?;
    let mut inventory = Inventory::empty();
    let mut events = Vec::new();
    let mut unreadable = 0_u64;
    for record in records {
        match auditlog::normalize_text(record.format, &record.text, &mut inventory) {
            Ok(normalized) => events.extend(normalized.into_iter().map(|event| {
                Event::from_json(Some(event.id.clone()), event.to_contract_json(&record.text))
            })),
            Err(_) => unreadable += 1,
        }
    }
    if unreadable > 0 {
        eprintln!(
            "eventstream-sim: {unreadable} {} records could not be read and are not served",
            format.title()
        );
    }
    if events.is_empty() {
        return Err(SimError::EmptyReplay {
            path: path.to_owned(),
        });
    }
    Ok(EventList::new(events))
}

fn is_ndjson(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ndjson" | "jsonl") => true,
        Some("sse") => false,
        _ => text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{'),
    }
}

/// Change events are frames of type `data` or the default `message`; pings and other
/// types are keep-alives, not events.
pub(crate) fn from_sse(text: &str) -> Vec<Event> {
    sse::parse(text)
        .into_iter()
        .filter(|e| e.event == "data" || e.event == "message")
        .enumerate()
        .map(|(n, e)| with_fallback_id(Event::from_json(e.id, e.data), n))
        .collect()
}

fn from_ndjson(text: &str) -> Vec<Event> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(n, line)| with_fallback_id(Event::from_json(None, line.to_owned()), n))
        .collect()
}

/// A frame with neither an `id:` line nor a JSON id still needs an id to resume after.
fn with_fallback_id(mut event: Event, n: usize) -> Event {
    if event.sse_id.is_empty() {
        event.sse_id = format!("replay-{n}");
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/seed-incident.sse");

    #[test]
    fn fixture_yields_eleven_events_with_their_ids() {
        let events = from_sse(FIXTURE);
        assert_eq!(events.len(), 11);
        for (n, event) in events.iter().enumerate() {
            assert_eq!(
                event.sse_id,
                format!("01HX00000000000000000000{:02}", n + 1)
            );
            assert!(event.key.is_some(), "{}", event.sse_id);
        }
        assert!(
            events[8].json.contains('\n'),
            "event 9 spans many data lines"
        );
    }

    #[test]
    fn ndjson_lines_become_events() {
        let text = "{\"id\":\"a\",\"source\":\"s\",\"type\":\"t\",\"time\":\"x\"}\r\n\nnot json\n";
        let events = from_ndjson(text);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].sse_id, "a");
        assert_eq!(events[1].sse_id, "replay-1");
        assert!(events[1].key.is_none());
    }
}
