//! auditlog::event: one normalized event, written as the EventStream contract's CloudEvents 1.0
//! JSON object (`docs/eventstream.md` sections 3 and 4), so that [`crate::wire`] reads an
//! imported audit-log record exactly as it reads a streamed event and nothing downstream knows
//! the difference.
//!
//! The provider's record is spliced in as `data.raw` byte for byte (its exact text, not a
//! re-serialisation: key order, number spelling and duplicate names stay as the provider wrote
//! them).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::json::Value;
use crate::model::ChangeKind;

/// What a record was, in the contract's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `com.opshelm.asset.create|update|delete`: an asset changed.
    Change(ChangeKind),
    /// `com.opshelm.activity.*`: not an asset change, kept and shown apart.
    Activity(ActivityKind),
}

/// Audit-log records that change no asset. Kept as `com.opshelm.activity.<kind>` events (the
/// contract's "other `com.opshelm.*` types": stored, shown apart from changes, never dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A sign-in: CloudTrail `ConsoleLogin`, Azure sign-in, GCP login audit.
    SignIn,
    /// Credentials obtained for another identity: `AssumeRole*`, `GetFederationToken`,
    /// GCP `GenerateAccessToken`.
    RoleAssumption,
    /// A read: CloudTrail `readOnly`, Get/List/Describe, GCP `data_access`, Azure `read`.
    Read,
    /// A call the provider refused (an error code, a failed status): an attempt, not a change.
    Denied,
    /// A call that changes no asset Tideline tracks (running a command, invoking a model).
    Call,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::SignIn => "sign_in",
            ActivityKind::RoleAssumption => "role_assumption",
            ActivityKind::Read => "read",
            ActivityKind::Denied => "denied",
            ActivityKind::Call => "call",
        }
    }
}

impl EventKind {
    /// The contract's CloudEvents `type`.
    pub fn cloudevents_type(self) -> String {
        match self {
            EventKind::Change(change) => format!("com.opshelm.asset.{change}"),
            EventKind::Activity(kind) => format!("com.opshelm.activity.{}", kind.as_str()),
        }
    }
}

/// `data.asset` (contract section 3). `name` is `ohn:PROVIDER:ACCOUNT:REGION:TYPE:ID` with the
/// type's `.` written `-` (`ohn:aws:123456789012:global:iam-user:svc-backup-tmp`), the form the
/// EventStream uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AssetFields {
    pub name: String,
    pub provider: String,
    pub account: String,
    pub region: String,
    #[serde(rename = "type")]
    pub asset_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    pub provider_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl AssetFields {
    /// An asset with its stable name built from its parts.
    pub fn new(provider: &str, account: &str, region: &str, asset_type: &str, id: &str) -> Self {
        AssetFields {
            name: asset_name(provider, account, region, asset_type, id),
            provider: provider.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            asset_type: asset_type.to_owned(),
            provider_id: id.to_owned(),
            ..AssetFields::default()
        }
    }
}

/// The stable asset name, `ohn:PROVIDER:ACCOUNT:REGION:TYPE:ID` (type `iam.user` → `iam-user`).
pub fn asset_name(
    provider: &str,
    account: &str,
    region: &str,
    asset_type: &str,
    id: &str,
) -> String {
    format!(
        "ohn:{provider}:{account}:{region}:{}:{id}",
        asset_type.replace('.', "-")
    )
}

/// `data.attribution` (contract section 3). `method` is one of `console`, `cli`, `terraform`,
/// `sdk`, `provider`, `unknown` ([`super::method`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttributionFields {
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub assumed_id: Option<String>,
    pub assumed_role: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: &'static str,
    pub action: Option<String>,
}

/// One entry of `data.associations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Association {
    pub name: String,
    #[serde(rename = "type")]
    pub asset_type: String,
    pub relation: &'static str,
}

/// `data.changed_part`: the touched part of a configuration whose whole is unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedPart {
    pub before: Value,
    pub after: Value,
}

/// One normalized event before it is written: everything but the raw record.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedEvent {
    /// Unique per `source`: the provider's event id, `#N` appended for the Nth asset of a record
    /// that changed several.
    pub id: String,
    /// The account the log came from, `cloudtrail:ACCOUNT`, `gcp-audit:PROJECT`,
    /// `azure-activity:SUBSCRIPTION`: with `id`, what deduplicates a re-imported record.
    pub source: String,
    pub kind: EventKind,
    pub time: DateTime<Utc>,
    pub asset: Option<AssetFields>,
    pub attribution: AttributionFields,
    pub associations: Vec<Association>,
    /// The configuration after the change; `None` when it cannot be known (written `null`).
    pub config: Option<Value>,
    /// The configuration before it, from the session's inventory; `None` when unknown.
    pub previous_config: Option<Value>,
    /// What the call asked for (its request parameters), shown when the configuration is unknown.
    pub requested_change: Option<Value>,
    /// The part of the configuration the call changed, before and after, when the whole
    /// configuration is unknown but the call itself proves this much (a successful ingress
    /// authorize means the rule was absent before and present after).
    pub changed_part: Option<ChangedPart>,
    /// Why the event is what it is, in one sentence (e.g. "read-only call"), for activity.
    pub note: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: String,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    datacontenttype: &'static str,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    asset: Option<&'a AssetFields>,
    attribution: &'a AttributionFields,
    associations: &'a [Association],
    config: &'a Option<Value>,
    previous_config: &'a Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_change: &'a Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_part: &'a Option<ChangedPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: &'a Option<String>,
}

impl NormalizedEvent {
    /// An event with nothing but its identity, time and caller: an activity `call` until the
    /// provider's module says what it was (every other field empty).
    pub fn bare(
        id: String,
        source: String,
        time: DateTime<Utc>,
        attribution: AttributionFields,
    ) -> NormalizedEvent {
        NormalizedEvent {
            id,
            source,
            kind: EventKind::Activity(ActivityKind::Call),
            time,
            asset: None,
            attribution,
            associations: Vec::new(),
            config: None,
            previous_config: None,
            requested_change: None,
            changed_part: None,
            note: None,
        }
    }

    /// The event as the contract's JSON text, with `raw` (the provider's record, valid JSON) as
    /// `data.raw` verbatim.
    pub fn to_contract_json(&self, raw: &str) -> String {
        let envelope = Envelope {
            specversion: "1.0",
            id: &self.id,
            source: &self.source,
            event_type: self.kind.cloudevents_type(),
            time: self.time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            subject: self.asset.as_ref().map(|asset| asset.name.as_str()),
            datacontenttype: "application/json",
            data: Data {
                asset: self.asset.as_ref(),
                attribution: &self.attribution,
                associations: &self.associations,
                config: &self.config,
                previous_config: &self.previous_config,
                requested_change: &self.requested_change,
                changed_part: &self.changed_part,
                note: &self.note,
            },
        };
        // Serialising these types cannot fail (string keys, no maps with non-string keys). The
        // parser's own serializer: it writes an exact number as its text, where serde_json would
        // write the private struct that carries it.
        let mut text = serde_json_lenient::to_string(&envelope).unwrap_or_default();
        // `...,"data":{...}}`: splice `,"raw":RAW` before the two closing braces.
        text.truncate(text.len() - 2);
        text.reserve(raw.len() + 10);
        text.push_str(",\"raw\":");
        text.push_str(raw.trim());
        text.push_str("}}");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Frame;

    #[test]
    fn configuration_numbers_are_written_as_numbers_with_their_exact_text() {
        let config =
            crate::json::parse(r#"{"FromPort":22,"Big":18446744073709551617,"F":1.0}"#).unwrap();
        let event = NormalizedEvent {
            config: Some(config),
            ..sample()
        };
        let body = event.to_contract_json("{}");
        assert!(
            body.contains(r#""config":{"Big":18446744073709551617,"F":1.0,"FromPort":22}"#),
            "{body}"
        );
    }

    fn sample() -> NormalizedEvent {
        NormalizedEvent {
            id: "e-1".into(),
            source: "cloudtrail:123456789012".into(),
            kind: EventKind::Change(ChangeKind::Update),
            time: "2024-05-05T14:01:03Z".parse().unwrap(),
            asset: None,
            attribution: AttributionFields::default(),
            associations: vec![],
            config: None,
            previous_config: None,
            requested_change: None,
            changed_part: None,
            note: None,
        }
    }

    #[test]
    fn a_normalized_event_reads_back_through_the_wire_mapping_with_its_raw_record_verbatim() {
        let raw = r#"{"eventID":"e-1", "z":1.0,"a":18446744073709551617,"a":2}"#;
        let event = NormalizedEvent {
            id: "e-1".into(),
            source: "cloudtrail:123456789012".into(),
            kind: EventKind::Change(ChangeKind::Update),
            time: "2024-05-05T14:01:03Z".parse().unwrap(),
            asset: Some(AssetFields::new(
                "aws",
                "123456789012",
                "us-east-1",
                "network.firewall",
                "sg-1",
            )),
            attribution: AttributionFields {
                principal: Some("arn:aws:iam::123456789012:user/jdoe".into()),
                method: "console",
                action: Some("AuthorizeSecurityGroupIngress".into()),
                ..AttributionFields::default()
            },
            associations: vec![],
            config: None,
            previous_config: None,
            requested_change: None,
            changed_part: None,
            note: None,
        };
        let body = event.to_contract_json(raw);
        assert!(body.ends_with(&format!(",\"raw\":{raw}}}}}")), "{body}");
        let Frame::Event(record) = crate::wire::decode_frame(body) else {
            panic!("not an event")
        };
        assert_eq!(record.change, Some(ChangeKind::Update));
        assert_eq!(
            record.asset.name.as_deref(),
            Some("ohn:aws:123456789012:us-east-1:network-firewall:sg-1")
        );
        assert_eq!(record.attribution.method.as_deref(), Some("console"));
        assert_eq!(record.source, "cloudtrail:123456789012");
    }
}
