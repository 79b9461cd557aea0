//! body: what a CSV row reads from an event's verbatim JSON, in one pass, building only that.

use serde::de::MapAccess;

use crate::json::{self, Fields, ObjectSeed, Scalar, TextSeed, Value, ValueSeed};

/// What the CSV reads from an event's body besides its columns: `data.config` and
/// `data.previous_config` (an update's summary), `data.asset.provider_id` (the asset label's
/// fallback) and `data.attribution.user_agent`. One pass of the one parser and policy of
/// [`json::parse`] (duplicate names: last wins; a part of another type reads as absent, as
/// indexing the tree would), building these values and nothing else. A body that is not JSON
/// (a stored one always is) reads as all absent, like [`json::parse_or_null`].
#[derive(Default)]
pub(super) struct BodyView {
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
}

#[derive(Default)]
pub(super) struct AssetView {
    pub(super) provider_id: Option<String>,
}

#[derive(Default)]
pub(super) struct AttributionView {
    pub(super) user_agent: Option<String>,
}

impl BodyView {
    pub(super) fn read(body: &str) -> BodyView {
        json::parse_with(body, ObjectSeed::<BodyView>::new())
            .ok()
            .flatten()
            .unwrap_or_default()
    }
}

/// The configurations as the tree's `data` would hold them (for `timeline::change_summary`).
pub(super) fn configs(
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
    type Name = ();

    fn name(name: &str) -> Option<()> {
        (name == "data").then_some(())
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, (): (), map: &mut A) -> Result<(), A::Error> {
        self.data = object(map)?;
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

impl Fields for AttributionView {
    type Name = ();

    fn name(name: &str) -> Option<()> {
        (name == "user_agent").then_some(())
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, (): (), map: &mut A) -> Result<(), A::Error> {
        self.user_agent = text(map)?;
        Ok(())
    }
}
