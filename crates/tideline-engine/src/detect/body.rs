//! body: the few parts of an event body the rules read on every event — a fingerprint of
//! `data.config` and of `data.previous_config`, and `data.asset.provider_id` — read in one pass
//! of THE parser ([`crate::json::parse_with`]) without building the body's tree, which costs
//! several times more for a 2.6 KB event.
//!
//! A fingerprint is the first 128 bits of BLAKE3 (a cryptographic hash, so a configuration an
//! attacker writes cannot be made to match another; 7-9 times SHA-256's speed on a CPU without
//! SHA extensions) over an injective encoding of the value with object keys sorted and duplicate
//! names resolved last-wins, numbers as their exact text: two values have the same fingerprint
//! exactly when [`crate::diff::canonical_compact`] writes them the same (up to a collision of
//! 128-bit BLAKE3). The values themselves are read only when a finding describes them
//! ([`config_of`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::json::{self, Fields, Number, ObjectSeed, Scalar, TextSeed, Value};

/// A configuration's fingerprint (see the module docs).
pub(crate) type ConfigHash = u128;

/// What the rules read from a body.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct BodyFields {
    /// `data.config`, unless absent or `null`.
    pub config: Option<ConfigHash>,
    /// `data.previous_config`, unless absent or `null`.
    pub previous: Option<ConfigHash>,
    /// `data.asset.provider_id` as text.
    pub provider_id: Option<String>,
}

/// Reads `body` (an unreadable one, which a stored event never is, reads as empty).
pub(crate) fn read(body: &str) -> BodyFields {
    json::parse_with(body, ObjectSeed::<Envelope>::new())
        .ok()
        .flatten()
        .and_then(|envelope| envelope.data)
        .map(|data| BodyFields {
            config: data.config.flatten(),
            previous: data.previous.flatten(),
            provider_id: data.asset.and_then(|asset| asset.provider_id),
        })
        .unwrap_or_default()
}

/// Which configuration of an event a state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Which {
    Config,
    Previous,
}

/// The configuration `which` of the event whose body is `body`, as a tree (`null` if absent).
pub(crate) fn config_of(body: &str, which: Which) -> Value {
    let mut value = json::parse_or_null(body);
    let field = match which {
        Which::Config => "config",
        Which::Previous => "previous_config",
    };
    value
        .get_mut("data")
        .and_then(|data| data.get_mut(field))
        .map(std::mem::take)
        .unwrap_or(Value::Null)
}

#[derive(Default)]
struct Envelope {
    data: Option<Data>,
}

#[derive(Default)]
struct Data {
    /// `Some(None)` for a `null` value.
    config: Option<Option<ConfigHash>>,
    previous: Option<Option<ConfigHash>>,
    asset: Option<Asset>,
}

#[derive(Default)]
struct Asset {
    provider_id: Option<String>,
}

impl Fields for Envelope {
    type Name = ();

    fn name(name: &str) -> Option<()> {
        (name == "data").then_some(())
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, _: (), map: &mut A) -> Result<(), A::Error> {
        self.data = map.next_value_seed(ObjectSeed::<Data>::new())?;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum DataField {
    Config,
    Previous,
    Asset,
}

impl Fields for Data {
    type Name = DataField;

    fn name(name: &str) -> Option<DataField> {
        match name {
            "config" => Some(DataField::Config),
            "previous_config" => Some(DataField::Previous),
            "asset" => Some(DataField::Asset),
            _ => None,
        }
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: DataField,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match name {
            DataField::Config => self.config = Some(map.next_value_seed(Fingerprint)?),
            DataField::Previous => self.previous = Some(map.next_value_seed(Fingerprint)?),
            DataField::Asset => self.asset = map.next_value_seed(ObjectSeed::<Asset>::new())?,
        }
        Ok(())
    }
}

impl Fields for Asset {
    type Name = ();

    fn name(name: &str) -> Option<()> {
        (name == "provider_id").then_some(())
    }

    fn read<'de, A: MapAccess<'de>>(&mut self, _: (), map: &mut A) -> Result<(), A::Error> {
        self.provider_id = map.next_value_seed(TextSeed)?.map(Scalar::into_text);
        Ok(())
    }
}

/// Fingerprints the encoding in `encoded` (`None` for `null`).
fn fingerprint(encoded: &[u8]) -> Option<ConfigHash> {
    if encoded == b"n" {
        return None;
    }
    let digest = blake3::hash(encoded);
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_bytes()[..16]);
    Some(u128::from_be_bytes(first))
}

/// Reads a value and fingerprints it.
struct Fingerprint;

impl<'de> DeserializeSeed<'de> for Fingerprint {
    type Value = Option<ConfigHash>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let mut encoded = Vec::with_capacity(1024);
        Encode(&mut encoded).deserialize(deserializer)?;
        Ok(fingerprint(&encoded))
    }
}

/// The name under which the parser hands a number's exact text to a visitor (see
/// [`crate::json`]): an object of exactly that one entry holding a valid number is a number.
const NUMBER_TOKEN: &str = "$serde_json_lenient::private::Number";

/// Appends an injective encoding of a value to its buffer, object keys sorted and last-wins:
/// `n`, `t`, `f`, `#` len text, `s` len text, `[` count items, `{` count (len key value)….
/// Asks the parser for exactly what [`json::parse`] asks for (values through
/// `deserialize_any`, names as strings), so it accepts and refuses the same texts.
struct Encode<'b>(&'b mut Vec<u8>);

fn push_text(out: &mut Vec<u8>, tag: u8, text: &str) {
    out.push(tag);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Reads an object's entry name into the buffer (as `len key`).
struct Name<'b>(&'b mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.extend_from_slice(&(v.len() as u64).to_le_bytes());
        self.0.extend_from_slice(v.as_bytes());
        Ok(())
    }
}

/// The key of an entry encoded at `start` (`len key …`).
fn key_at(buffer: &[u8], start: usize) -> &[u8] {
    let mut len = [0u8; 8];
    len.copy_from_slice(&buffer[start..start + 8]);
    let len = u64::from_le_bytes(len) as usize;
    &buffer[start + 8..start + 8 + len]
}

impl<'de> DeserializeSeed<'de> for Encode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Encode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.push(if v { b't' } else { b'f' });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        push_text(self.0, b'#', Number::from(v).as_str());
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        push_text(self.0, b'#', Number::from(v).as_str());
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match Number::from_f64(v) {
            Some(number) => push_text(self.0, b'#', number.as_str()),
            None => self.0.push(b'n'),
        }
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        push_text(self.0, b's', v);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push(b'n');
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.push(b'n');
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push(b'[');
        let count_at = out.len();
        out.extend_from_slice(&0u64.to_le_bytes());
        let mut count: u64 = 0;
        while seq.next_element_seed(Encode(out))?.is_some() {
            count += 1;
        }
        out[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let start = out.len();
        // Each entry as `len key value`, then put in key order (last wins) below.
        let mut entries: Vec<(usize, usize)> = Vec::new();
        loop {
            let at = out.len();
            if map.next_key_seed(Name(out))?.is_none() {
                break;
            }
            map.next_value_seed(Encode(out))?;
            entries.push((at, out.len()));
        }
        // One entry named like the parser's number marker, holding a number's text: a number.
        if let [(at, end)] = entries[..]
            && key_at(out, at) == NUMBER_TOKEN.as_bytes()
        {
            let value = &out[at + 8 + NUMBER_TOKEN.len()..end];
            let text = (value.first() == Some(&b's'))
                .then(|| value.get(9..))
                .flatten()
                .and_then(|text| std::str::from_utf8(text).ok())
                .and_then(|text| text.parse::<Number>().ok());
            if let Some(number) = text {
                out.truncate(start);
                push_text(out, b'#', number.as_str());
                return Ok(());
            }
        }
        let sorted = entries
            .windows(2)
            .all(|pair| key_at(out, pair[0].0) < key_at(out, pair[1].0));
        let body = if sorted {
            None
        } else {
            // Stable: of equal names, the last stays last, and is the one kept.
            let mut order = entries.clone();
            order.sort_by(|a, b| key_at(out, a.0).cmp(key_at(out, b.0)));
            let mut kept: Vec<(usize, usize)> = Vec::with_capacity(order.len());
            for entry in order {
                match kept.last_mut() {
                    Some(last) if key_at(out, last.0) == key_at(out, entry.0) => *last = entry,
                    _ => kept.push(entry),
                }
            }
            let mut body = Vec::with_capacity(out.len() - start);
            for (at, end) in &kept {
                body.extend_from_slice(&out[*at..*end]);
            }
            entries = kept;
            Some(body)
        };
        let mut head = [0u8; 9];
        head[0] = b'{';
        head[1..].copy_from_slice(&(entries.len() as u64).to_le_bytes());
        match body {
            Some(body) => {
                out.truncate(start);
                out.extend_from_slice(&head);
                out.extend_from_slice(&body);
            }
            None => {
                out.splice(start..start, head);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::canonical_compact;

    fn body(config: &str, previous: &str) -> String {
        format!(
            r#"{{"id":"1","data":{{"asset":{{"provider_id":"sg-1"}},"config":{config},"previous_config":{previous},"raw":{{"x":[1,2,{{"y":null}}]}}}}}}"#
        )
    }

    #[test]
    fn fingerprints_are_equal_exactly_when_the_canonical_texts_are() {
        let texts = [
            r#"{"a":1,"b":[1,2]}"#,
            r#"{"b":[1,2],"a":1}"#,
            r#"{"a":1.0,"b":[1,2]}"#,
            r#"{"a":1,"b":[2,1]}"#,
            r#"{"a":1,"a":2,"b":[1,2]}"#,
            r#"{"a":2,"b":[1,2]}"#,
            r#"{"a":"1","b":[1,2]}"#,
            r#"{"a":18446744073709551617}"#,
            r#"{"a":18446744073709551618}"#,
            r#"{"$serde_json_lenient::private::Number":"12"}"#,
            r#"{"$serde_json_lenient::private::Number":"x"}"#,
            r#"{"s":"\ud800"}"#,
            r#"{}"#,
            r#"[]"#,
        ];
        for a in texts {
            for b in texts {
                let same_text = canonical_compact(&json::parse(a).unwrap())
                    == canonical_compact(&json::parse(b).unwrap());
                let same_hash = read(&body(a, "null")).config == read(&body(b, "null")).config;
                assert_eq!(same_text, same_hash, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn null_and_absent_configurations_are_none_and_the_provider_id_is_text() {
        let fields = read(&body("null", r#"{"a":1}"#));
        assert_eq!(fields.config, None);
        assert!(fields.previous.is_some());
        assert_eq!(fields.provider_id.as_deref(), Some("sg-1"));
        assert_eq!(read(r#"{"data":{}}"#), BodyFields::default());
        assert_eq!(read("not json"), BodyFields::default());
        assert_eq!(
            config_of(&body(r#"{"a":1}"#, "null"), Which::Config),
            json::parse(r#"{"a":1}"#).unwrap()
        );
    }
}
