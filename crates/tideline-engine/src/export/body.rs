//! body: what an export row (CSV, OCSF) reads from an event's verbatim JSON, in one pass,
//! building only that.

use serde::de::MapAccess;

use crate::json::{self, Fields, ObjectSeed, Scalar, TextSeed, Value, ValueSeed};
use crate::model::ChangeKind;
use crate::timeline::change_summary;

/// What an export reads from an event's body besides its columns: `time` (its own text),
/// `data.config` and `data.previous_config` (an update's summary), `data.asset.provider_id`
/// (the asset label's fallback), `data.attribution`'s user agent, source, ids, and the few
/// members of the provider's record `data.raw` that OCSF names ([`RAW_MEMBERS`]). One pass of the one parser and policy of
/// [`json::parse`] (duplicate names: last wins; a part of another type reads as absent, as
/// indexing the tree would), building these values and nothing else. A body that is not JSON
/// (a stored one always is) reads as all absent, like [`json::parse_or_null`].
#[derive(Default)]
pub(super) struct BodyView {
    pub(super) time: Option<String>,
    pub(super) data: DataView,
}

#[derive(Default)]
pub(super) struct DataView {
    pub(super) config: Option<Value>,
    pub(super) previous_config: Option<Value>,
    /// `data.changed_part` (audit-log imports: the part a call proves when the whole is unknown).
    pub(super) changed_part: Option<Value>,
    pub(super) asset: AssetView,
    pub(super) attribution: AttributionView,
    /// The wanted members of `data.raw`, if it is an object (`None` without one).
    pub(super) raw: Option<RawView>,
}

/// The members of a provider's record that OCSF fields are read from: the called service, the
/// request id, a refusal, the identity's type (CloudTrail; GCP `protoPayload`, `operation`;
/// Azure `resourceProviderName`, `operationName`, `correlationId`, `status`).
pub(super) const RAW_MEMBERS: [&str; 11] = [
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
pub(super) struct RawView {
    pub(super) members: json::Map<String, Value>,
}

#[derive(Default)]
pub(super) struct AssetView {
    pub(super) provider_id: Option<String>,
}

#[derive(Default)]
pub(super) struct AttributionView {
    pub(super) user_agent: Option<String>,
    pub(super) source_ip: Option<String>,
    pub(super) principal_id: Option<String>,
    pub(super) assumed_id: Option<String>,
}

impl BodyView {
    pub(super) fn read(body: &str) -> BodyView {
        json::parse_with(body, ObjectSeed::<BodyView>::new())
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}

/// What changed, on one line (`timeline::change_summary`): only an update's summary reads the
/// configurations, so only then are they put together.
pub(super) fn summary(
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

/// The configurations as the tree's `data` would hold them (for `timeline::change_summary`).
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
pub(super) enum DataField {
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
pub(super) enum AttributionField {
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
