//! digest: what an export row (CSV, Timesketch, OCSF) reads from an event's verbatim JSON, in
//! one pass, building only that ([`BodyView`]); and an event's [`EventDigest`], the three cells
//! of a CSV row that come from the body, which the store keeps for every event
//! (store/digests.rs) so that a CSV export reads no body.

use serde::de::MapAccess;

use crate::diff::change_summary;
use crate::json::{self, Fields, ObjectSeed, Scalar, TextSeed, Value, ValueSeed};
use crate::model::ChangeKind;

/// What an export reads from an event's body besides its columns: `time` (its own text),
/// `data.config` and `data.previous_config` (an update's summary), `data.asset.provider_id`
/// (the asset label's fallback), `data.attribution`'s user agent, source, ids, and the few
/// members of the provider's record `data.raw` that OCSF names ([`RAW_MEMBERS`]). One pass of the one parser and policy of
/// [`json::parse`] (duplicate names: last wins; a part of another type reads as absent, as
/// indexing the tree would), building these values and nothing else. A body that is not JSON
/// (a stored one always is) reads as all absent, like [`json::parse_or_null`].
#[derive(Default)]
pub(crate) struct BodyView {
    pub(crate) time: Option<String>,
    pub(crate) data: DataView,
}

#[derive(Default)]
pub(crate) struct DataView {
    pub(crate) config: Option<Value>,
    pub(crate) previous_config: Option<Value>,
    /// `data.changed_part` (audit-log imports: the part a call proves when the whole is unknown).
    pub(crate) changed_part: Option<Value>,
    pub(crate) asset: AssetView,
    pub(crate) attribution: AttributionView,
    /// The wanted members of `data.raw`, if it is an object (`None` without one).
    pub(crate) raw: Option<RawView>,
}

/// The members of a provider's record that OCSF fields are read from: the called service, the
/// request id, a refusal, the identity's type (CloudTrail; GCP `protoPayload`, `operation`;
/// Azure `resourceProviderName`, `operationName`, `correlationId`, `status`).
pub(crate) const RAW_MEMBERS: [&str; 11] = [
    "eventSource",
    "requestID",
    "errorCode",
    "errorMessage",
    "userIdentity",
    "protoPayload",
    "operation",
    "resourceProviderName",
    "operationName",
    "correlationId",
    "status",
];

/// [`RAW_MEMBERS`] of the provider's record, as an object holding just those.
#[derive(Default)]
pub(crate) struct RawView {
    pub(crate) members: json::Map<String, Value>,
}

#[derive(Default)]
pub(crate) struct AssetView {
    pub(crate) provider_id: Option<String>,
}

#[derive(Default)]
pub(crate) struct AttributionView {
    pub(crate) user_agent: Option<String>,
    pub(crate) source_ip: Option<String>,
    pub(crate) principal_id: Option<String>,
    pub(crate) assumed_id: Option<String>,
}

impl BodyView {
    pub(crate) fn read(body: &str) -> BodyView {
        json::parse_with(body, ObjectSeed::<BodyView>::new())
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}

/// The cells of an event's CSV row that come from its body: the change summary
/// ([`diff::change_summary`](crate::diff::change_summary)), `data.attribution.user_agent`, and
/// `data.asset.provider_id` (the asset label's fallback). Made by [`digest`]; kept by the store
/// for every event it has digested, so a CSV export need not read the bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventDigest {
    pub summary: String,
    pub user_agent: Option<String>,
    pub provider_id: Option<String>,
}

/// The version of [`digest`]'s output. Digests stored under another are not read and are made
/// again: raise it whenever a change here, in [`BodyView`], in the summary
/// (`diff::change_summary` and what it calls) or in the JSON policy would make a digest differ.
/// `a_change_in_what_a_digest_holds_raises_the_digest_version` pins the output of the fixtures
/// under this version and fails until both are changed together.
pub const DIGEST_VERSION: i64 = 1;

/// The digest of the event whose change kind is `change` and whose verbatim body is `body` (a
/// body that is not JSON, which a stored one never is, reads as all absent).
pub fn digest(change: Option<ChangeKind>, body: &str) -> EventDigest {
    let DataView {
        config,
        previous_config,
        changed_part,
        asset,
        attribution,
        ..
    } = BodyView::read(body).data;
    EventDigest {
        summary: summary(change, config, previous_config, changed_part),
        user_agent: attribution.user_agent,
        provider_id: asset.provider_id,
    }
}

/// What changed, on one line (`diff::change_summary`): only an update's summary reads the
/// configurations, so only then are they put together.
pub(crate) fn summary(
    change: Option<ChangeKind>,
    config: Option<Value>,
    previous_config: Option<Value>,
    changed_part: Option<Value>,
) -> String {
    match change {
        Some(ChangeKind::Update) => {
            change_summary(change, &configs(config, previous_config, changed_part))
        }
        change => change_summary(change, &Value::Null),
    }
}

/// The configurations as the tree's `data` would hold them (for `diff::change_summary`).
fn configs(
    config: Option<Value>,
    previous_config: Option<Value>,
    changed_part: Option<Value>,
) -> Value {
    let mut data = json::Map::new();
    for (name, value) in [
        ("config", config),
        ("previous_config", previous_config),
        ("changed_part", changed_part),
    ] {
        if let Some(value) = value {
            data.insert(name.to_owned(), value);
        }
    }
    Value::Object(data)
}

/// The next value's wanted entries if it is an object, all absent otherwise.
fn object<'de, A: MapAccess<'de>, F: Fields>(map: &mut A) -> Result<F, A::Error> {
    Ok(map
        .next_value_seed(ObjectSeed::<F>::new())?
        .unwrap_or_default())
}

/// The next value as `json::text` reads it: a string, or a number as its exact text.
fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(map.next_value_seed(TextSeed)?.map(Scalar::into_text))
}

impl Fields for BodyView {
    /// `true` for `data`, `false` for `time`.
    type Name = bool;

    fn name(name: &str) -> Option<bool> {
        match name {
            "data" => Some(true),
            "time" => Some(false),
            _ => None,
        }
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, data: bool, map: &mut A) -> Result<(), A::Error> {
        if data {
            self.data = object(map)?;
        } else {
            self.time = text(map)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub(crate) enum DataField {
    Config,
    PreviousConfig,
    ChangedPart,
    Asset,
    Attribution,
    Raw,
}

impl Fields for DataView {
    type Name = DataField;

    fn name(name: &str) -> Option<DataField> {
        Some(match name {
            "config" => DataField::Config,
            "previous_config" => DataField::PreviousConfig,
            "changed_part" => DataField::ChangedPart,
            "asset" => DataField::Asset,
            "attribution" => DataField::Attribution,
            "raw" => DataField::Raw,
            _ => return None,
        })
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: DataField,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match name {
            DataField::Config => self.config = Some(map.next_value_seed(ValueSeed)?),
            DataField::PreviousConfig => {
                self.previous_config = Some(map.next_value_seed(ValueSeed)?)
            }
            DataField::ChangedPart => self.changed_part = Some(map.next_value_seed(ValueSeed)?),
            DataField::Asset => self.asset = object(map)?,
            DataField::Attribution => self.attribution = object(map)?,
            DataField::Raw => self.raw = map.next_value_seed(ObjectSeed::<RawView>::new())?,
        }
        Ok(())
    }
}

impl Fields for AssetView {
    type Name = ();

    fn name(name: &str) -> Option<()> {
        (name == "provider_id").then_some(())
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, (): (), map: &mut A) -> Result<(), A::Error> {
        self.provider_id = text(map)?;
        Ok(())
    }
}

#[derive(Clone, Copy)]
pub(crate) enum AttributionField {
    UserAgent,
    SourceIp,
    PrincipalId,
    AssumedId,
}

impl Fields for AttributionView {
    type Name = AttributionField;

    fn name(name: &str) -> Option<AttributionField> {
        Some(match name {
            "user_agent" => AttributionField::UserAgent,
            "source_ip" => AttributionField::SourceIp,
            "principal_id" => AttributionField::PrincipalId,
            "assumed_id" => AttributionField::AssumedId,
            _ => return None,
        })
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: AttributionField,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value = text(map)?;
        match name {
            AttributionField::UserAgent => self.user_agent = value,
            AttributionField::SourceIp => self.source_ip = value,
            AttributionField::PrincipalId => self.principal_id = value,
            AttributionField::AssumedId => self.assumed_id = value,
        }
        Ok(())
    }
}

impl Fields for RawView {
    type Name = &'static str;

    fn name(name: &str) -> Option<&'static str> {
        RAW_MEMBERS.iter().copied().find(|member| *member == name)
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: &'static str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value = map.next_value_seed(ValueSeed)?;
        self.members.insert(name.to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_view_reads_what_the_parsed_tree_holds() {
        let update = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/update.json"
        ))
        .unwrap();
        let bodies = [
            update.as_str(),
            r#"{"data":{"config":{"a":1}},"data":{"previous_config":{"a":2}}}"#,
            r#"{"data":{"config":{"a":1},"config":{"a":3},"previous_config":null}}"#,
            r#"{"data":[{"config":{"a":1}}]}"#,
            r#"{"data":{"asset":{"provider_id":123456789012345678901234567890}}}"#,
            r#"{"data":{"asset":{"provider_id":{"id":"x"}},"asset":{"provider_id":"sg-1"}}}"#,
            r#"{"data":{"asset":"sg-1","attribution":{"user_agent":"Mozilla/5.0 \ud800"}}}"#,
            r#"{"data":{"config":{"$serde_json_lenient::private::Number":"1"}}}"#,
            r#"{"data":{"config":{"$serde_json_lenient::private::Number":"x","b":2}}}"#,
            r#"{"data":{"attribution":{"user_agent":1.50}}}"#,
            r#"{"data":{"config":{"a":1}}"#,
            r#"[{"data":{"config":{"a":1}}}]"#,
            "",
        ];
        for body in bodies {
            let tree = json::parse_or_null(body);
            let data = &tree["data"];
            let view = BodyView::read(body).data;
            assert_eq!(view.config.unwrap_or(Value::Null), data["config"], "{body}");
            assert_eq!(
                view.previous_config.unwrap_or(Value::Null),
                data["previous_config"],
                "{body}"
            );
            assert_eq!(
                view.asset.provider_id.as_deref(),
                json::text(&data["asset"]["provider_id"]),
                "{body}"
            );
            assert_eq!(
                view.attribution.user_agent.as_deref(),
                json::text(&data["attribution"]["user_agent"]),
                "{body}"
            );
        }
    }

    /// Every event of the fixtures that this test reads, with the digest it gets.
    fn fixture_digests() -> String {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");
        let mut out = String::new();
        for name in [
            "create.json",
            "update.json",
            "delete.json",
            "cases/09b-surrogate-in-ua-hides-diff.ndjson",
            "cases/10-duplicate-keys.ndjson",
            "cases/14-source-ip-forms.ndjson",
        ] {
            let text = std::fs::read_to_string(format!("{root}{name}")).unwrap();
            let bodies: Vec<&str> = if name.ends_with(".json") {
                vec![text.as_str()]
            } else {
                text.lines()
                    .filter(|line| !line.trim().is_empty())
                    .collect()
            };
            for body in bodies {
                if let crate::model::Frame::Event(event) = crate::wire::decode_frame(body.into()) {
                    out.push_str(&format!("{name} {:?}\n", digest(event.change, body)));
                }
            }
        }
        out
    }

    #[test]
    fn a_change_in_what_a_digest_holds_raises_the_digest_version() {
        use sha2::{Digest as _, Sha256};
        let digests = fixture_digests();
        assert!(digests.lines().count() >= 10, "{digests}");
        let hash: String = Sha256::digest(digests.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        // If this fails, the digests of the fixtures changed: stored digests would no longer
        // say what a body says. Raise DIGEST_VERSION and pin the new hash with it.
        assert_eq!(
            (DIGEST_VERSION, hash.as_str()),
            (
                1,
                "3b8f20f64b0640a0807b81de8c93fd53151bdb8e4e20c7591d973a2c14a867e0"
            ),
            "digests under this version:\n{digests}"
        );
    }
}
