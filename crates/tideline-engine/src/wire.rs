//! wire: the ONE mapping from EventStream wire JSON (a CloudEvents 1.0 object, see
//! `docs/eventstream.md`) to Tideline's [`model`](crate::model).
//!
//! Adapting to a differing real schema is a change to this file only. The event's JSON is
//! kept verbatim in [`EventRecord::body`], so nothing is lost if this mapping is wrong.
//! The frame is parsed once, under [`json::parse`]'s policy (duplicate names last-wins,
//! unpaired surrogates as U+FFFD, numbers exact), but without building its tree: one pass over
//! the whole text (so a frame that is not JSON anywhere is refused as [`json::parse`] refuses
//! it) keeps only the fields below and reads them as they read from the tree, a later
//! duplicate of `data`, `asset` or `attribution` replacing the earlier one whole. (Building
//! the tree cost ~2.5x as much, on the recorder's hot path; a test checks the two agree.)
//! Only `id`, `source`, `type` and `time` are required, as strings; every other field is read
//! leniently: a string, or a number as its exact text (an account id sent as a number);
//! missing, null or of another JSON type reads as absent. The source IP column holds the address in canonical form
//! ([`canonical_source_ip`]), so one address is one value; the body keeps its spelling.

use chrono::{DateTime, Utc};
use serde::de::MapAccess;

use crate::attribution::canonical_source_ip;
use crate::json::{self, Fields, ObjectSeed, Scalar, TextSeed};
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

fn decode_event(text: &str) -> Result<DecodedEvent, QuarantineReason> {
    let envelope = json::parse_with(text, ObjectSeed::<Envelope>::new())
        .map_err(|error| QuarantineReason::NotJson {
            detail: error.to_string(),
        })?
        .ok_or(QuarantineReason::NotAnObject)?;

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

    let Data {
        mut asset,
        mut attribution,
    } = envelope.data;
    if asset.name.is_none() {
        asset.name = envelope.subject.map(Scalar::into_text);
    }
    attribution.source_ip = attribution.source_ip.as_deref().map(canonical_source_ip);
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

/// `id`, `source`, `type` and `time` must be non-empty strings (a number is not an id).
fn required(value: Option<Scalar>, field: &'static str) -> Result<String, QuarantineReason> {
    match value {
        Some(Scalar::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(QuarantineReason::MissingField { field }),
    }
}

/// The wire fields of an event, as extracted (see the module docs).
#[derive(Default)]
struct Envelope {
    id: Option<Scalar>,
    source: Option<Scalar>,
    event_type: Option<Scalar>,
    time: Option<Scalar>,
    subject: Option<Scalar>,
    data: Data,
}

/// `data`: a part of an unexpected type (not an object) reads as all absent, costing the event
/// nothing else.
#[derive(Default)]
struct Data {
    asset: AssetRef,
    /// `source_ip` as sent, until [`decode_event`] puts it in canonical form.
    attribution: Attribution,
}

#[derive(Clone, Copy)]
enum EnvelopeField {
    Id,
    Source,
    Type,
    Time,
    Subject,
    Data,
}

impl Fields for Envelope {
    type Name = EnvelopeField;

    fn name(name: &str) -> Option<EnvelopeField> {
        Some(match name {
            "id" => EnvelopeField::Id,
            "source" => EnvelopeField::Source,
            "type" => EnvelopeField::Type,
            "time" => EnvelopeField::Time,
            "subject" => EnvelopeField::Subject,
            "data" => EnvelopeField::Data,
            _ => return None,
        })
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: EnvelopeField,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match name {
            EnvelopeField::Id => self.id = map.next_value_seed(TextSeed)?,
            EnvelopeField::Source => self.source = map.next_value_seed(TextSeed)?,
            EnvelopeField::Type => self.event_type = map.next_value_seed(TextSeed)?,
            EnvelopeField::Time => self.time = map.next_value_seed(TextSeed)?,
            EnvelopeField::Subject => self.subject = map.next_value_seed(TextSeed)?,
            EnvelopeField::Data => self.data = object(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum DataField {
    Asset,
    Attribution,
}

impl Fields for Data {
    type Name = DataField;

    fn name(name: &str) -> Option<DataField> {
        match name {
            "asset" => Some(DataField::Asset),
            "attribution" => Some(DataField::Attribution),
            _ => None,
        }
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: DataField,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match name {
            DataField::Asset => self.asset = object(map)?,
            DataField::Attribution => self.attribution = object(map)?,
        }
        Ok(())
    }
}

/// `Fields` for a struct of lenient string fields, each read by its wire name.
macro_rules! text_fields {
    ($(#[$doc:meta])* $ty:ty { $($wire:literal => $field:ident),* $(,)? }) => {
        $(#[$doc])*
        impl Fields for $ty {
            type Name = fn(&mut $ty) -> &mut Option<String>;

            fn name(name: &str) -> Option<Self::Name> {
                Some(match name {
                    $($wire => |it| &mut it.$field,)*
                    _ => return None,
                })
            }

            fn read<'de, A: MapAccess<'de>>(
                &mut self,
                field: Self::Name,
                map: &mut A,
            ) -> Result<(), A::Error> {
                *field(self) = text(map)?;
                Ok(())
            }
        }
    };
}

text_fields!(
    /// The asset's fields (`name` before the `subject` stands in for it).
    AssetRef {
        "name" => name,
        "type" => asset_type,
        "display_name" => display_name,
        "provider" => provider,
        "account" => account,
        "region" => region,
    }
);

text_fields!(
    /// Who made the change (`source_ip` as sent).
    Attribution {
        "principal" => principal,
        "principal_id" => principal_id,
        "assumed_role" => assumed_role,
        "source_ip" => source_ip,
        "method" => method,
        "action" => action,
    }
);

/// The next value as a lenient string field: a string, or a number as its exact text.
fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(map.next_value_seed(TextSeed)?.map(Scalar::into_text))
}

/// The next value's wanted fields if it is an object, all absent otherwise.
fn object<'de, A: MapAccess<'de>, F: Fields>(map: &mut A) -> Result<F, A::Error> {
    Ok(map
        .next_value_seed(ObjectSeed::<F>::new())?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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
        // The column holds the canonical address (the body keeps `075.050.255.67`).
        assert_eq!(
            record.attribution.source_ip.as_deref(),
            Some("75.50.255.67")
        );
        assert_eq!(record.time.to_rfc3339(), "2024-05-05T12:01:03+00:00");
    }

    /// A timing probe, not a check: `cargo test --release -p tideline-engine -- --ignored
    /// decode_timing --nocapture`.
    #[test]
    #[ignore = "timing probe; run in release mode"]
    fn decode_timing_of_the_update_example() {
        time_decode_frame(&fixture("update.json"));
    }

    /// The same probe for a compact ~2 KB body, the size of the benches' load events (or the
    /// body in the file named by `DECODE_TIMING_BODY`, e.g. one event of `--scenario load`).
    #[test]
    #[ignore = "timing probe; run in release mode"]
    fn decode_timing_of_a_2_kb_body() {
        let json = match std::env::var_os("DECODE_TIMING_BODY") {
            Some(path) => std::fs::read_to_string(path).expect("DECODE_TIMING_BODY"),
            None => json::parse(&fixture("delete.json")).unwrap().to_string(),
        };
        time_decode_frame(json.trim_end());
    }

    fn time_decode_frame(json: &str) {
        let rounds = 100_000;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(decode_frame(std::hint::black_box(json.to_owned())));
        }
        let elapsed = started.elapsed();
        println!(
            "decode_frame: {} bytes x {rounds}: {:?} total, {:.2} us/frame, {:.0} frames/s",
            json.len(),
            elapsed,
            elapsed.as_secs_f64() * 1e6 / f64::from(rounds),
            f64::from(rounds) / elapsed.as_secs_f64()
        );
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

    fn case(name: &str) -> Vec<String> {
        fixture(&format!("cases/{name}"))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn frame_with_attribution(attribution: &str) -> String {
        format!(
            r#"{{"id":"1","source":"/s","type":"com.opshelm.asset.update","time":"2024-05-05T14:01:03Z","data":{{"asset":{{"name":"n","account":123456789012}},"attribution":{attribution}}}}}"#
        )
    }

    #[test]
    fn a_numeric_account_id_is_extracted_as_its_digits() {
        let record = event(decode_frame(frame_with_attribution(
            r#"{"principal_id":18446744073709551617}"#,
        )));
        assert_eq!(record.asset.account.as_deref(), Some("123456789012"));
        assert_eq!(
            record.attribution.principal_id.as_deref(),
            Some("18446744073709551617")
        );
    }

    #[test]
    fn duplicate_keys_last_wins_in_extraction_and_nothing_is_blanked() {
        let lines = case("10-duplicate-keys.ndjson");
        let first = event(decode_frame(lines[0].clone()));
        assert_eq!(
            first.attribution.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/other")
        );
        assert_eq!(first.asset.name.as_deref(), Some("n1"));
        assert_eq!(first.asset.asset_type.as_deref(), Some("network.firewall"));
        assert_eq!(first.body, lines[0], "the body stays verbatim");

        let second = event(decode_frame(lines[1].clone()));
        assert_eq!(second.event_id, "01HXTEST000000000000000099");

        // Nothing blanked beside a duplicate: every other attribution field is still read.
        let record = event(decode_frame(frame_with_attribution(
            r#"{"principal":"a","principal":"b","method":"cli","source_ip":"198.51.100.7","action":"Act"}"#,
        )));
        assert_eq!(record.attribution.principal.as_deref(), Some("b"));
        assert_eq!(record.attribution.method.as_deref(), Some("cli"));
        assert_eq!(
            record.attribution.source_ip.as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(record.attribution.action.as_deref(), Some("Act"));
    }

    #[test]
    fn a_required_field_duplicated_is_read_last_wins_too() {
        let json = r#"{"id":"a","id":7,"source":"/s","type":"com.opshelm.asset.create","time":"2024-05-05T14:01:03Z"}"#;
        assert_eq!(
            reason(decode_frame(json.to_owned())),
            QuarantineReason::MissingField { field: "id" }
        );
    }

    #[test]
    fn a_lone_surrogate_in_the_user_agent_costs_the_event_nothing() {
        let line = case("09b-surrogate-in-ua-hides-diff.ndjson").remove(0);
        let record = event(decode_frame(line.clone()));
        assert_eq!(
            record.attribution.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/jdoe")
        );
        assert_eq!(record.attribution.method.as_deref(), Some("console"));
        assert_eq!(
            record.attribution.source_ip.as_deref(),
            Some("198.51.100.23")
        );
        assert_eq!(record.body, line, "the body keeps the escape verbatim");
        assert!(record.body.contains(r"Mozilla/5.0 \ud800"));
    }

    #[test]
    fn source_ips_are_stored_in_canonical_form_and_other_values_as_they_are() {
        let ips: Vec<Option<String>> = case("14-source-ip-forms.ndjson")
            .into_iter()
            .map(|line| event(decode_frame(line)).attribution.source_ip)
            .collect();
        let expected = [
            "198.51.100.7",
            "2001:db8::1",
            "198.51.100.7",
            "2001:db8::1",
            "AWS Internal",
            "ec2.amazonaws.com",
            "198.51.100.7",
        ];
        assert_eq!(ips, expected.map(|ip| Some(ip.to_owned())));
    }

    /// The extraction as it was before the single pass: fields read from [`json::parse`]'s
    /// tree. Kept as the reference the single pass must agree with, frame for frame.
    mod tree {
        use super::super::*;
        use crate::json::Value;

        pub(super) fn decode_frame(data: String) -> Frame {
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

        fn decode_event(text: &str) -> Result<DecodedEvent, QuarantineReason> {
            let envelope = json::parse(text).map_err(|error| QuarantineReason::NotJson {
                detail: error.to_string(),
            })?;
            if !envelope.is_object() {
                return Err(QuarantineReason::NotAnObject);
            }

            let event_id = required(&envelope, "id")?;
            let source = required(&envelope, "source")?;
            let event_type = required(&envelope, "type")?;
            let time_text = required(&envelope, "time")?;

            let change = match event_type.strip_prefix(ASSET_TYPE_PREFIX) {
                Some(suffix) => Some(ChangeKind::parse(suffix).ok_or_else(|| {
                    QuarantineReason::UnknownType {
                        value: event_type.clone(),
                    }
                })?),
                None if event_type.starts_with(OPSHELM_TYPE_PREFIX) => None,
                None => return Err(QuarantineReason::UnknownType { value: event_type }),
            };
            let time = DateTime::parse_from_rfc3339(&time_text)
                .map_err(|_| QuarantineReason::BadTime {
                    value: time_text.clone(),
                })?
                .with_timezone(&Utc);

            let data = &envelope["data"];
            let wire_asset = &data["asset"];
            let who = &data["attribution"];
            let field = |value: &Value| json::text(value).map(str::to_owned);
            let asset = AssetRef {
                name: field(&wire_asset["name"]).or_else(|| field(&envelope["subject"])),
                asset_type: field(&wire_asset["type"]),
                display_name: field(&wire_asset["display_name"]),
                provider: field(&wire_asset["provider"]),
                account: field(&wire_asset["account"]),
                region: field(&wire_asset["region"]),
            };
            let attribution = Attribution {
                principal: field(&who["principal"]),
                principal_id: field(&who["principal_id"]),
                assumed_role: field(&who["assumed_role"]),
                source_ip: json::text(&who["source_ip"]).map(canonical_source_ip),
                method: field(&who["method"]),
                action: field(&who["action"]),
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

        fn required(envelope: &Value, field: &'static str) -> Result<String, QuarantineReason> {
            match &envelope[field] {
                Value::String(text) if !text.is_empty() => Ok(text.clone()),
                _ => Err(QuarantineReason::MissingField { field }),
            }
        }
    }

    /// `decode_frame` and the tree's reading give the very same frame (a quarantine's reason
    /// and detail included).
    fn assert_same_as_the_tree(text: &str) {
        assert_eq!(
            decode_frame(text.to_owned()),
            tree::decode_frame(text.to_owned()),
            "{text}"
        );
    }

    /// `text` with the bytes `at..at + cut` (moved to char boundaries) replaced by `splice`.
    fn spliced(text: &str, at: usize, cut: usize, splice: &str) -> String {
        let at = (0..=at.min(text.len()))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let end = (at + cut).min(text.len());
        let end = (end..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        format!("{}{splice}{}", &text[..at], &text[end..])
    }

    const NUMBER_TOKEN: &str = "$serde_json_lenient::private::Number";

    /// Names as they appear in JSON (escapes and all): every wanted one, spellings of them
    /// and of the number marker, and others.
    const NAMES: &[&str] = &[
        "id",
        "source",
        "type",
        "time",
        "subject",
        "data",
        "asset",
        "attribution",
        "name",
        "display_name",
        "provider",
        "account",
        "region",
        "principal",
        "principal_id",
        "assumed_role",
        "source_ip",
        "method",
        "action",
        "config",
        "tags",
        "",
        r"\\u0069d",
        r"\u0069d",
        r"d\u0061ta",
        r"attributio\u006e",
        r"na\u006de",
        r"k\udfff",
        r"\ud800",
        "$serde_json_lenient::private::Number",
        r"\u0024serde_json_lenient::private::Number",
        "$serde_json_lenient::private::RawValue",
    ];

    /// String contents as they appear in JSON.
    const STRINGS: &[&str] = &[
        "",
        "x",
        "1",
        "/s",
        "com.opshelm.asset.update",
        "com.opshelm.asset.create",
        "com.opshelm.asset.delete",
        "com.opshelm.asset.nope",
        "com.opshelm.cost.update",
        "com.opshelm.asset.",
        "org.example.thing",
        "2024-05-05T14:01:03Z",
        "2024-05-05T14:01:03.712+02:00",
        "2024-02-30T14:01:03Z",
        "yesterday",
        "198.51.100.7",
        "075.050.255.67",
        "::ffff:198.51.100.7",
        "2001:DB8::1",
        "AWS Internal",
        "5",
        "1e400",
        "-0",
        "18446744073709551617",
        r"Mozilla/5.0 \ud800",
        r"\ud800",
        r"a\ud800\u0041",
        r"\udc00\ud800",
        r"\ud83d\ude00",
        r"\u0063om.opshelm.asset.update",
        r"\\ud800",
        r#"=HYPERLINK(\"x\")\n"#,
        r#"\"quoted\""#,
        "$serde_json_lenient::private::Number",
    ];

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "5",
        "-7",
        "123456789012",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.0",
        "1e2",
        "1E+2",
        "-1.5e-3",
        "1e400",
        "-1e400",
        "0.1000000000000000000000001",
    ];

    fn object_text(entries: &[(String, String)]) -> String {
        let entries: Vec<String> = entries
            .iter()
            .map(|(name, value)| format!("\"{name}\":{value}"))
            .collect();
        format!("{{{}}}", entries.join(","))
    }

    fn name() -> impl Strategy<Value = String> {
        proptest::sample::select(NAMES).prop_map(str::to_owned)
    }

    /// Scalars, and objects that are (or look like) the parser's number marker.
    fn scalar() -> impl Strategy<Value = String> {
        let marker = (
            proptest::sample::select(&["$", r"\u0024"][..]),
            proptest::sample::select(
                &[
                    "\"5\"",
                    "\"1e400\"",
                    "\"-0\"",
                    "\"x\"",
                    "\"\"",
                    "5",
                    "null",
                    "{}",
                ][..],
            ),
            proptest::option::of(Just(",\"a\":1")),
        )
            .prop_map(|(dollar, value, more)| {
                let token = NUMBER_TOKEN.replacen('$', dollar, 1);
                format!("{{\"{token}\":{value}{}}}", more.unwrap_or(""))
            });
        prop_oneof![
            1 => Just("null".to_owned()),
            1 => Just("true".to_owned()),
            1 => Just("false".to_owned()),
            2 => proptest::sample::select(NUMBERS).prop_map(str::to_owned),
            4 => proptest::sample::select(STRINGS).prop_map(|text| format!("\"{text}\"")),
            2 => marker,
        ]
    }

    /// Any JSON value, with duplicate names at every level.
    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                1 => proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                2 => proptest::collection::vec((name(), inner), 0..6)
                    .prop_map(|entries| object_text(&entries)),
            ]
        })
    }

    /// `data`-shaped values: `asset` and `attribution` objects with their field names.
    fn data() -> impl Strategy<Value = String> {
        let field = prop_oneof![
            8 => proptest::sample::select(&NAMES[8..19]).prop_map(str::to_owned),
            1 => name(),
        ];
        let part =
            proptest::collection::vec((field, prop_oneof![6 => scalar(), 1 => value()]), 0..10)
                .prop_map(|entries| object_text(&entries));
        let entry = prop_oneof![
            4 => (proptest::sample::select(&["asset", "attribution"][..]), part)
                .prop_map(|(name, part)| (name.to_owned(), part)),
            1 => (name(), value()),
        ];
        prop_oneof![
            4 => proptest::collection::vec(entry, 1..4).prop_map(|entries| object_text(&entries)),
            1 => value(),
        ]
    }

    /// Events: mostly valid required fields, then anything, in any order, duplicates included.
    fn event_text() -> impl Strategy<Value = String> {
        let required = proptest::collection::vec(
            prop_oneof![
                4 => Just(vec![
                    ("id".to_owned(), "\"1\"".to_owned()),
                    ("source".to_owned(), "\"/s\"".to_owned()),
                    ("type".to_owned(), "\"com.opshelm.asset.update\"".to_owned()),
                    ("time".to_owned(), "\"2024-05-05T14:01:03Z\"".to_owned()),
                ]),
                1 => proptest::collection::vec((name(), scalar()), 0..4),
            ],
            1..3,
        )
        .prop_map(|groups| groups.concat());
        let others = proptest::collection::vec(
            prop_oneof![
                4 => data().prop_map(|data| ("data".to_owned(), data)),
                2 => (name(), value()),
            ],
            0..4,
        );
        prop_oneof![
            8 => (required, others)
                .prop_map(|(required, others)| [required, others].concat())
                .prop_shuffle()
                .prop_map(|entries| object_text(&entries)),
            1 => value(),
        ]
    }

    #[test]
    fn the_single_pass_agrees_with_the_tree_on_the_tests_own_frames() {
        let mut frames: Vec<String> = ["update.json", "create.json", "delete.json"]
            .into_iter()
            .map(fixture)
            .collect();
        for name in [
            "09b-surrogate-in-ua-hides-diff.ndjson",
            "10-duplicate-keys.ndjson",
            "14-source-ip-forms.ndjson",
        ] {
            frames.extend(case(name));
        }
        let token = NUMBER_TOKEN;
        frames.extend([
            format!(r#"{{"{token}":"5"}}"#),
            format!(r#"{{"{token}":"x"}}"#),
            frame_with_attribution(&format!(r#"{{"principal":{{"{token}":"5"}}}}"#)),
            frame_with_attribution(&format!(r#"{{"principal":{{"{token}":"5","a":1}}}}"#)),
            frame_with_attribution(&format!(r#"{{"{token}":"5"}}"#)),
            frame_with_attribution(r#"{"principal":"a"},"attribution":"x""#),
            frame_with_attribution(r#"{"principal":"a"},"attribution":{"method":"cli"}"#),
            frame_with_attribution(r#"{"principal":"a"}},"data":5,"x":{"#),
            frame_with_attribution(r#"{"principal":"A"}"#),
            frame_with_attribution(r#"{"principal":""}"#),
            frame_with_attribution(r#"{"principal":1e400,"method":-0,"action":1.0}"#),
        ]);
        for frame in frames {
            assert_same_as_the_tree(&frame);
        }
    }

    #[test]
    fn the_single_pass_agrees_with_the_tree_at_the_nesting_limit() {
        for depth in 120..=132 {
            for (open, close) in [("[", "]"), (r#"{"a":"#, "}"), (r#"{"name":"#, "}")] {
                let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                assert_same_as_the_tree(&frame_with_attribution(&format!(
                    r#"{{"principal":{nested}}}"#
                )));
                assert_same_as_the_tree(&format!(
                    r#"{{"id":"1","source":"/s","type":"com.opshelm.asset.update","time":"2024-05-05T14:01:03Z","data":{{"asset":{nested}}}}}"#
                ));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn the_single_pass_agrees_with_the_tree_on_generated_events(text in event_text()) {
            assert_same_as_the_tree(&text);
        }

        #[test]
        fn the_single_pass_agrees_with_the_tree_on_generated_events_with_a_splice(
            text in event_text(),
            at in 0usize..400,
            cut in 0usize..8,
            splice in r#"[{}\[\]",:0-9a-f\\u .eE+\-]{0,6}|\\ud[89a-f][0-9a-f]{2}|\\[xv]41"#,
        ) {
            assert_same_as_the_tree(&spliced(&text, at, cut, &splice));
        }

        #[test]
        fn the_single_pass_agrees_with_the_tree_on_a_real_frame_with_a_splice(
            at in 0usize..6_000,
            cut in 0usize..64,
            splice in r#"[{}\[\]",:0-9a-f\\u .eE+\-]{0,24}|\\ud[89a-f][0-9a-f]{2}|-?[0-9]{1,40}(\.[0-9]{1,30})?"#,
        ) {
            assert_same_as_the_tree(&spliced(&fixture("update.json"), at, cut, &splice));
        }

        #[test]
        fn the_single_pass_agrees_with_the_tree_on_json_ish_strings(
            text in r#"[{}\[\]",:0-9a-zA-Z\\ .eE+\-]{0,300}"#,
        ) {
            assert_same_as_the_tree(&text);
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_frame_never_panics_on_arbitrary_strings(text in ".{0,400}") {
            decode_frame(text);
        }

        #[test]
        fn decode_frame_never_panics_on_json_ish_strings(
            text in r#"[{}\[\]",:0-9a-zA-Z\\ .eE+\-]{0,300}"#,
        ) {
            decode_frame(text);
        }

        #[test]
        fn decode_frame_never_panics_on_a_real_frame_with_a_splice(
            at in 0usize..6_000,
            cut in 0usize..64,
            splice in r#"[{}\[\]",:0-9a-f\\u .eE+\-]{0,24}|\\ud[89a-f][0-9a-f]{2}|-?[0-9]{1,40}(\.[0-9]{1,30})?"#,
        ) {
            let json = fixture("update.json");
            let at = (0..=at.min(json.len())).rev().find(|&i| json.is_char_boundary(i)).unwrap_or(0);
            let end = (at + cut).min(json.len());
            let end = (end..=json.len()).find(|&i| json.is_char_boundary(i)).unwrap_or(json.len());
            let spliced = format!("{}{splice}{}", &json[..at], &json[end..]);
            decode_frame(spliced);
        }
    }
}
