//! A change event as the server sends it (SSE id + verbatim JSON), and the in-memory
//! list that replays and the seed-incident scenario are served from.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// The pair that identifies an event on the EventStream contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct EventKey {
    pub source: String,
    pub id: String,
}

/// One change frame's content.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// What goes on the `id:` line; resuming after it continues after this event.
    pub sse_id: String,
    /// The event JSON, sent byte for byte (newlines become extra `data:` lines).
    pub json: String,
    /// `Some` when the JSON is a valid change event (an object with string `id`,
    /// `source`, `type` and `time`); a replayed invalid one counts as a bad frame.
    pub key: Option<EventKey>,
    /// The event's own `time`, for `--span` pacing.
    pub time: Option<DateTime<Utc>>,
}

impl Event {
    /// Wraps JSON text, reading its key and time. `sse_id` falls back to the JSON `id`.
    pub fn from_json(sse_id: Option<String>, json: String) -> Self {
        let (key, time) = inspect(&json);
        let sse_id = sse_id
            .or_else(|| key.as_ref().map(|k| k.id.clone()))
            .unwrap_or_default();
        Self {
            sse_id,
            json,
            key,
            time,
        }
    }
}

/// Reads `(source, id)` and `time` from event JSON; the key is `None` unless the text is
/// an object with all four required string fields.
fn inspect(json: &str) -> (Option<EventKey>, Option<DateTime<Utc>>) {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(json) else {
        return (None, None);
    };
    let text = |name: &str| map.get(name).and_then(Value::as_str);
    let time = text("time")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let key = match (text("source"), text("id"), text("type"), text("time")) {
        (Some(source), Some(id), Some(_), Some(_)) => Some(EventKey {
            source: source.to_owned(),
            id: id.to_owned(),
        }),
        _ => None,
    };
    (key, time)
}

/// The event JSON with its top-level `time` set to `time` (RFC 3339, UTC, microseconds);
/// anything but an object is returned as it is.
pub(crate) fn with_time(json: &str, time: DateTime<Utc>) -> Cow<'_, str> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(mut map)) => {
            let stamp = time.to_rfc3339_opts(SecondsFormat::Micros, true);
            map.insert("time".to_owned(), Value::String(stamp));
            Cow::Owned(Value::Object(map).to_string())
        }
        _ => Cow::Borrowed(json),
    }
}

/// Events held in memory, with the lookups the server needs.
#[derive(Debug)]
pub(crate) struct EventList {
    events: Vec<Event>,
    /// SSE id → index of its first occurrence (resuming after a repeated id repeats
    /// rather than skips).
    by_sse_id: HashMap<String, usize>,
    /// Index → index of the first event with the same key: the manifest's identity.
    canonical: Vec<Option<usize>>,
}

impl EventList {
    pub fn new(events: Vec<Event>) -> Self {
        let mut by_sse_id = HashMap::with_capacity(events.len());
        let mut first_by_key: HashMap<&EventKey, usize> = HashMap::new();
        let mut canonical = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            by_sse_id.entry(event.sse_id.clone()).or_insert(i);
            canonical.push(
                event
                    .key
                    .as_ref()
                    .map(|k| *first_by_key.entry(k).or_insert(i)),
            );
        }
        Self {
            events,
            by_sse_id,
            canonical,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn get(&self, i: usize) -> &Event {
        &self.events[i]
    }

    pub fn index_of(&self, sse_id: &str) -> Option<usize> {
        self.by_sse_id.get(sse_id).copied()
    }

    pub fn canonical(&self, i: usize) -> Option<usize> {
        self.canonical[i]
    }

    /// Keeps only the first `n` events.
    pub fn truncate(self, n: usize) -> Self {
        if n >= self.events.len() {
            return self;
        }
        let mut events = self.events;
        events.truncate(n);
        Self::new(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn only_objects_with_the_four_required_fields_have_a_key() {
        let ok = r#"{"id":"a","source":"s","type":"t","time":"2024-05-05T14:03:11.482Z"}"#;
        let event = Event::from_json(None, ok.into());
        assert_eq!(event.sse_id, "a");
        assert!(event.key.is_some() && event.time.is_some());
        for bad in ["[1]", "nope", r#"{"id":"a","source":"s","type":"t"}"#] {
            assert!(
                Event::from_json(Some("x".into()), bad.into()).key.is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn with_time_replaces_only_the_top_level_time() {
        let json = r#"{"id":"a","time":"2024-05-05T14:03:11.482Z","data":{"time":"x"}}"#;
        let at = Utc.timestamp_micros(1_767_225_600_123_456).unwrap();
        let stamped: Value = serde_json::from_str(&with_time(json, at)).unwrap();
        assert_eq!(stamped["time"], "2026-01-01T00:00:00.123456Z");
        assert_eq!(
            (&stamped["id"], &stamped["data"]["time"]),
            (&"a".into(), &"x".into())
        );
        assert_eq!(with_time("[1]", at), "[1]");
    }

    #[test]
    fn repeated_keys_share_one_canonical_index() {
        let json = |id: &str| format!(r#"{{"id":"{id}","source":"s","type":"t","time":"x"}}"#);
        let list = EventList::new(vec![
            Event::from_json(None, json("a")),
            Event::from_json(None, json("b")),
            Event::from_json(None, json("a")),
        ]);
        assert_eq!(list.canonical(2), Some(0));
        assert_eq!(list.index_of("a"), Some(0));
    }
}
