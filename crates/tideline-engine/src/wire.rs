//! wire: the ONE mapping from EventStream wire JSON (a CloudEvents 1.0 object, see
//! `docs/eventstream.md`) to Tideline's [`model`](crate::model).
//!
//! Adapting to a differing real schema is a change to this file only. The event's JSON is
//! kept verbatim in [`EventRecord::body`], so nothing is lost if this mapping is wrong.
//! The frame is parsed once, by [`json::parse`] (Tideline's one JSON policy: duplicate names
//! last-wins, unpaired surrogates as U+FFFD, numbers exact). Only `id`, `source`, `type` and
//! `time` are required, as strings; every other field is read leniently: a string, or a number
//! as its exact text (an account id sent as a number); missing, null or of another JSON type
//! reads as absent. The source IP column holds the address in canonical form
//! ([`canonical_source_ip`]), so one address is one value; the body keeps its spelling.

use chrono::{DateTime, Utc};

use crate::attribution::canonical_source_ip;
use crate::json::{self, Value};
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

    // Indexing a missing key or a non-object yields `null`, which reads as absent: a part of
    // the event of an unexpected type costs the event nothing else.
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

/// `id`, `source`, `type` and `time` must be non-empty strings (a number is not an id).
fn required(envelope: &Value, field: &'static str) -> Result<String, QuarantineReason> {
    match &envelope[field] {
        Value::String(text) if !text.is_empty() => Ok(text.clone()),
        _ => Err(QuarantineReason::MissingField { field }),
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
        let json = fixture("update.json");
        let rounds = 100_000;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(decode_frame(std::hint::black_box(json.clone())));
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
