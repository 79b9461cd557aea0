//! wire: the ONE mapping from EventStream wire JSON (a CloudEvents 1.0 object, see
//! `shared/eventstream/README.md`) to Tideline's [`model`](crate::model).
//!
//! Adapting to a differing real schema is a change to this file only. The event's JSON is
//! kept verbatim in [`EventRecord::body`], so nothing is lost if this mapping is wrong.
//! Only `id`, `source`, `type` and `time` are required; every other field is read leniently
//! (missing, null or of an unexpected JSON type reads as absent).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::model::{
    AssetRef, Attribution, ChangeKind, EventRecord, Frame, QuarantineReason, QuarantinedFrame,
};

/// Frames larger than this are bad input (the contract's 1 MiB).
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// How much of a quarantined frame is kept: enough to see what it was.
pub const QUARANTINE_RAW_CAP: usize = 64 * 1024;

const ASSET_TYPE_PREFIX: &str = "com.opshelm.asset.";
const OPSHELM_TYPE_PREFIX: &str = "com.opshelm.";

/// Decodes one SSE event by its `event:` name: `data` (OpsHelm's) or `message` (SSE's default)
/// carry a change; `ping` is a keep-alive (`None`); any other name is kept in quarantine.
pub fn decode_sse_event(event_type: &str, data: String) -> Option<Frame> {
    match event_type {
        "ping" => None,
        "data" | "message" | "" => Some(decode_frame(data)),
        other => Some(quarantine(
            QuarantineReason::UnexpectedSseEvent {
                name: other.to_owned(),
            },
            data.as_bytes(),
        )),
    }
}

/// Decodes one change frame's `data`, taking ownership so the verbatim body moves into the record.
pub fn decode_frame(data: String) -> Frame {
    if data.len() > MAX_FRAME_BYTES {
        return quarantine(
            QuarantineReason::TooLarge {
                bytes: data.len(),
                limit: MAX_FRAME_BYTES,
            },
            data.as_bytes(),
        );
    }
    match decode_event(&data) {
        Ok(parts) => Frame::Event(parts.into_record(data)),
        Err(reason) => quarantine(reason, data.as_bytes()),
    }
}

/// Keeps a frame aside with its reason and the first [`QUARANTINE_RAW_CAP`] bytes.
pub fn quarantine(reason: QuarantineReason, raw: &[u8]) -> Frame {
    let kept = &raw[..raw.len().min(QUARANTINE_RAW_CAP)];
    Frame::Quarantined(QuarantinedFrame {
        reason,
        raw: kept.to_vec(),
        raw_len: raw.len(),
    })
}

/// The parts of an event extracted from its JSON, before the body is attached.
struct DecodedEvent {
    source: String,
    event_id: String,
    event_type: String,
    change: Option<ChangeKind>,
    time: DateTime<Utc>,
    asset: AssetRef,
    attribution: Attribution,
}

impl DecodedEvent {
    fn into_record(self, body: String) -> EventRecord {
        EventRecord {
            source: self.source,
            event_id: self.event_id,
            event_type: self.event_type,
            change: self.change,
            time: self.time,
            asset: self.asset,
            attribution: self.attribution,
            body,
        }
    }
}

fn decode_event(json: &str) -> Result<DecodedEvent, QuarantineReason> {
    let is_object = json.trim_start().starts_with('{');
    let envelope: WireEnvelope<'_> = match serde_json::from_str(json) {
        // serde would also read a struct from a JSON array.
        Ok(_) if !is_object => return Err(QuarantineReason::NotAnObject),
        Ok(envelope) => envelope,
        Err(error) if error.is_data() && !is_object => return Err(QuarantineReason::NotAnObject),
        Err(error) => {
            return Err(QuarantineReason::NotJson {
                detail: error.to_string(),
            });
        }
    };

    let event_id = required(envelope.id, "id")?;
    let source = required(envelope.source, "source")?;
    let event_type = required(envelope.event_type, "type")?;
    let time_text = required(envelope.time, "time")?;

    let change = match event_type.strip_prefix(ASSET_TYPE_PREFIX) {
        Some(suffix) => {
            Some(
                ChangeKind::parse(suffix).ok_or_else(|| QuarantineReason::UnknownType {
                    value: event_type.clone(),
                })?,
            )
        }
        None if event_type.starts_with(OPSHELM_TYPE_PREFIX) => None,
        None => return Err(QuarantineReason::UnknownType { value: event_type }),
    };
    let time = DateTime::parse_from_rfc3339(&time_text)
        .map_err(|_| QuarantineReason::BadTime {
            value: time_text.clone(),
        })?
        .with_timezone(&Utc);

    let data: WireData<'_> = envelope
        .data
        .map(|raw| lenient(raw.get()))
        .unwrap_or_default();
    let wire_asset: WireAsset<'_> = data.asset.map(|raw| lenient(raw.get())).unwrap_or_default();
    let wire_who: WireAttribution<'_> = data
        .attribution
        .map(|raw| lenient(raw.get()))
        .unwrap_or_default();
    let asset = AssetRef {
        name: wire_asset
            .name
            .into_owned()
            .or_else(|| envelope.subject.into_owned()),
        asset_type: wire_asset.asset_type.into_owned(),
        display_name: wire_asset.display_name.into_owned(),
        provider: wire_asset.provider.into_owned(),
        account: wire_asset.account.into_owned(),
        region: wire_asset.region.into_owned(),
    };
    let attribution = Attribution {
        principal: wire_who.principal.into_owned(),
        principal_id: wire_who.principal_id.into_owned(),
        assumed_role: wire_who.assumed_role.into_owned(),
        source_ip: wire_who.source_ip.into_owned(),
        method: wire_who.method.into_owned(),
        action: wire_who.action.into_owned(),
    };
    Ok(DecodedEvent {
        source,
        event_id,
        event_type,
        change,
        time,
        asset,
        attribution,
    })
}

fn required(value: Text<'_>, field: &'static str) -> Result<String, QuarantineReason> {
    match value.into_owned() {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(QuarantineReason::MissingField { field }),
    }
}

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(borrow, default)]
    source: Text<'a>,
    #[serde(borrow, default, rename = "type")]
    event_type: Text<'a>,
    #[serde(borrow, default)]
    time: Text<'a>,
    #[serde(borrow, default)]
    subject: Text<'a>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A part of the event (`data`, `asset`, `attribution`) of an unexpected JSON type reads as
/// empty, without costing the event its other parts.
fn lenient<'a, T: Deserialize<'a> + Default>(json: &'a str) -> T {
    if json.starts_with('{') {
        serde_json::from_str(json).unwrap_or_default()
    } else {
        T::default()
    }
}

#[derive(Deserialize, Default)]
struct WireData<'a> {
    #[serde(borrow, default)]
    asset: Option<&'a RawValue>,
    #[serde(borrow, default)]
    attribution: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct WireAsset<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default, rename = "type")]
    asset_type: Text<'a>,
    #[serde(borrow, default)]
    display_name: Text<'a>,
    #[serde(borrow, default)]
    provider: Text<'a>,
    #[serde(borrow, default)]
    account: Text<'a>,
    #[serde(borrow, default)]
    region: Text<'a>,
}

#[derive(Deserialize, Default)]
struct WireAttribution<'a> {
    #[serde(borrow, default)]
    principal: Text<'a>,
    #[serde(borrow, default)]
    principal_id: Text<'a>,
    #[serde(borrow, default)]
    assumed_role: Text<'a>,
    #[serde(borrow, default)]
    source_ip: Text<'a>,
    #[serde(borrow, default)]
    method: Text<'a>,
    #[serde(borrow, default)]
    action: Text<'a>,
}

/// A JSON string, borrowed where it has no escapes; any other JSON value reads as absent.
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl Text<'_> {
    fn into_owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("fixture")
    }

    fn event(frame: Frame) -> EventRecord {
        match frame {
            Frame::Event(record) => record,
            Frame::Quarantined(q) => panic!("quarantined: {}", q.reason),
        }
    }

    fn reason(frame: Frame) -> QuarantineReason {
        match frame {
            Frame::Quarantined(q) => q.reason,
            Frame::Event(e) => panic!("stored {}", e.event_id),
        }
    }

    #[test]
    fn maps_the_contract_update_example_and_keeps_the_body_verbatim() {
        let json = fixture("update.json");
        let record = event(decode_frame(json.clone()));
        assert_eq!(record.event_id, "01HX0000000000000000000007");
        assert_eq!(record.source, "/cloudAccounts/01HQ7M2W4K9D8E5R3T1Y6U0P2A");
        assert_eq!(record.change, Some(ChangeKind::Update));
        assert_eq!(record.time.to_rfc3339(), "2024-05-05T14:01:03.712+00:00");
        assert_eq!(record.asset.display_name.as_deref(), Some("prod-db-sg"));
        assert_eq!(record.asset.asset_type.as_deref(), Some("network.firewall"));
        assert_eq!(record.asset.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            record.attribution.source_ip.as_deref(),
            Some("198.51.100.23")
        );
        assert_eq!(record.attribution.method.as_deref(), Some("console"));
        assert_eq!(
            record.attribution.action.as_deref(),
            Some("AuthorizeSecurityGroupIngress")
        );
        assert_eq!(record.attribution.assumed_role, None);
        assert_eq!(record.body, json);
    }

    #[test]
    fn maps_create_and_delete_examples() {
        assert_eq!(
            event(decode_frame(fixture("create.json"))).change,
            Some(ChangeKind::Create)
        );
        assert_eq!(
            event(decode_frame(fixture("delete.json"))).change,
            Some(ChangeKind::Delete)
        );
    }

    #[test]
    fn other_opshelm_types_are_events_without_a_change() {
        let json = r#"{"id":"c1","source":"/s","type":"com.opshelm.cost.update","time":"2024-05-05T14:01:03Z","data":{"amount":3}}"#;
        let record = event(decode_frame(json.to_owned()));
        assert_eq!(record.change, None);
        assert_eq!(record.asset, AssetRef::default());
    }

    #[test]
    fn quarantines_each_kind_of_bad_frame_with_its_reason() {
        type Expectation = fn(&QuarantineReason) -> bool;
        let cases: [(&str, Expectation); 8] = [
            ("not json at all", |r| {
                matches!(r, QuarantineReason::NotJson { .. })
            }),
            (r#"{"id":"1","source":"/s""#, |r| {
                matches!(r, QuarantineReason::NotJson { .. })
            }),
            ("[1,2,3]", |r| *r == QuarantineReason::NotAnObject),
            (
                r#"{"source":"/s","type":"com.opshelm.asset.create","time":"2024-05-05T14:01:03Z"}"#,
                |r| *r == QuarantineReason::MissingField { field: "id" },
            ),
            (
                r#"{"id":7,"source":"/s","type":"com.opshelm.asset.create","time":"2024-05-05T14:01:03Z"}"#,
                |r| *r == QuarantineReason::MissingField { field: "id" },
            ),
            (
                r#"{"id":"1","source":"/s","type":"com.opshelm.asset.create"}"#,
                |r| *r == QuarantineReason::MissingField { field: "time" },
            ),
            (
                r#"{"id":"1","source":"/s","type":"com.opshelm.asset.create","time":"yesterday"}"#,
                |r| matches!(r, QuarantineReason::BadTime { .. }),
            ),
            (
                r#"{"id":"1","source":"/s","type":"org.example.thing","time":"2024-05-05T14:01:03Z"}"#,
                |r| matches!(r, QuarantineReason::UnknownType { .. }),
            ),
        ];
        for (json, expected) in cases {
            let got = reason(decode_frame(json.to_owned()));
            assert!(expected(&got), "{json}: got {got}");
        }
    }

    #[test]
    fn oversized_frames_are_quarantined_with_their_size_and_a_capped_copy() {
        let json = format!(
            r#"{{"id":"1","source":"/s","type":"com.opshelm.asset.create","time":"2024-05-05T14:01:03Z","pad":"{}"}}"#,
            "x".repeat(2 * 1024 * 1024)
        );
        match decode_frame(json.clone()) {
            Frame::Quarantined(q) => {
                assert_eq!(q.raw_len, json.len());
                assert_eq!(q.raw.len(), QUARANTINE_RAW_CAP);
                assert!(q.reason.to_string().contains("over the 1048576-byte limit"));
            }
            Frame::Event(_) => panic!("a 2 MiB frame was stored"),
        }
    }

    #[test]
    fn fields_of_unexpected_types_read_as_absent_not_as_errors() {
        let json = r#"{"id":"1","source":"/s","type":"com.opshelm.asset.update","time":"2024-05-05T14:01:03+02:00","subject":"ohn:x","data":{"asset":"oops","attribution":{"principal":{"nested":true},"source_ip":"075.050.255.67","method":"cli"}}}"#;
        let record = event(decode_frame(json.to_owned()));
        assert_eq!(
            record.asset.name.as_deref(),
            Some("ohn:x"),
            "subject stands in for asset.name"
        );
        assert_eq!(record.attribution.principal, None);
        assert_eq!(
            record.attribution.source_ip.as_deref(),
            Some("075.050.255.67")
        );
        assert_eq!(record.time.to_rfc3339(), "2024-05-05T12:01:03+00:00");
    }

    #[test]
    fn escaped_strings_are_unescaped_in_columns() {
        let json = r#"{"id":"1","source":"/s","type":"com.opshelm.asset.update","time":"2024-05-05T14:01:03Z","data":{"attribution":{"principal":"=HYPERLINK(\"http://x\")\n"}}}"#;
        let record = event(decode_frame(json.to_owned()));
        assert_eq!(
            record.attribution.principal.as_deref(),
            Some("=HYPERLINK(\"http://x\")\n")
        );
    }
}
