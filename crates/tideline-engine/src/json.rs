//! json: THE parse of an event body. Every reader of an event's JSON (the wire mapping, the
//! diff, the detections, the exports, the timeline detail) reads it through [`parse`], so that
//! one event never means two different things to two parts of Tideline.
//!
//! The policy, where RFC 8259 leaves a choice (the stored body stays verbatim whatever it is):
//!
//! - **Duplicate names: the last one wins**, at every level. RFC 8259 §4 says names "SHOULD be
//!   unique" and that with duplicates "many implementations report the last name/value pair
//!   only"; that is the common reading, so it is ours everywhere (extraction and diff alike).
//! - **Unpaired surrogate escapes** (`"\ud800"`) read as U+FFFD. RFC 8259 §8.2 allows such
//!   strings but says their behaviour is unpredictable; rejecting them would let one hostile
//!   character hide a whole event's meaning (a config diff, who made the change). Each
//!   unpaired escape becomes one U+FFFD and nothing around it is lost.
//! - **Numbers keep their exact text**: `18446744073709551617` stays exact (a change in it is a
//!   change), and `1.0` and `1` are different texts. (An integer that fits 64 bits is kept as
//!   that integer, so `-0` reads as `0`.)
//! - Everything else is strict JSON: no comments, no trailing commas, no control characters
//!   in strings, nothing after the value. Nesting is capped at 128 levels (the parser's
//!   recursion limit), so no input can overflow the stack.
//!
//! The parser is `serde_json_lenient` (Google's serde_json fork) with `arbitrary_precision`;
//! being a separate crate, that feature does not change how serde_json behaves elsewhere.
//!
//! A reader that needs only a few fields of every event (the wire mapping, on the recorder's
//! hot path) can skip building the tree: `parse_with` runs the same parser with a seed of its
//! own, and `ObjectSeed`, `TextSeed` and `Skip` read what the tree would hold without
//! building it. They ask the parser for exactly what [`parse`] asks for (every value through
//! `deserialize_any`, every name as a `String` would be), so a text is refused at the same
//! place for the same reason, nesting counts the same, and every value means the same.
//! (serde's `IgnoredAny` would not: the parser skips with another scanner that has no depth
//! limit and accepts `\v` and `\x41` escapes, which this policy refuses.)

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json_lenient::de::Deserializer as JsonDeserializer;

pub use serde_json_lenient::{Map, Number, Value};

/// Why a text is not JSON (under the policy above).
#[derive(Debug)]
pub struct JsonError(serde_json_lenient::Error);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON text under Tideline's policy (see the module docs).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    parse_with(text, ValueSeed)
}

/// Parses one JSON text under Tideline's policy, handing its value to `seed` instead of
/// building a [`Value`]: for readers that keep only part of it (see the module docs).
pub(crate) fn parse_with<S, T>(text: &str, seed: S) -> Result<T, JsonError>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    match repair_unpaired_surrogates(text) {
        Some(repaired) => parse_repaired_with(&repaired, seed),
        None => parse_repaired_with(text, seed),
    }
}

/// [`parse_strict_with`] for a text with no unpaired surrogate escape (one that
/// `repair_unpaired_surrogates` has seen): the parser's reader of a `&str`, which does not check
/// the UTF-8 of every string again (the text is UTF-8 already; that check was ~7 % of a CSV
/// export's CPU). Its one difference from [`parse_strict_with`]'s reader, an unpaired surrogate
/// escape refused instead of read as U+FFFD, cannot arise here. The same strict settings.
fn parse_repaired_with<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, JsonError> {
    read_strictly(JsonDeserializer::from_str(text), seed)
}

/// Reads the outline of a JSON text into `T` under the same parser settings as [`parse`],
/// typically with `&RawValue` fields, so the parts stay the exact slices of `text` they were
/// (the audit-log reader splits a file into records this way, each kept verbatim). Strings
/// skipped inside a raw value are not decoded; each part is read under [`parse`] afterwards.
pub(crate) fn parse_outline<'de, T: serde::Deserialize<'de>>(
    text: &'de str,
) -> Result<T, JsonError> {
    parse_strict_with(text, std::marker::PhantomData::<T>)
}

/// A body that is unreadable (it never is for a stored event: wire parsed it) reads as `null`.
pub fn parse_or_null(text: &str) -> Value {
    parse(text).unwrap_or(Value::Null)
}

/// The text of a value read as a string field: a string as it is, a number as its exact text
/// (`123456789012` for an account id sent as a number); anything else is absent.
pub fn text(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.as_str()),
        _ => None,
    }
}

#[cfg(test)]
fn parse_strict(text: &str) -> Result<Value, JsonError> {
    parse_strict_with(text, ValueSeed)
}

fn parse_strict_with<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, JsonError> {
    // Arguments: replace invalid characters (lone surrogates) with U+FFFD; then no newlines,
    // no control characters, no `\v` and no `\x` escapes in strings.
    let deserializer = JsonDeserializer::from_slice_with_options(
        text.as_bytes(),
        true,
        false,
        false,
        false,
        false,
    );
    read_strictly(deserializer, seed)
}

/// Hands the one value of `deserializer`'s text to `seed`, with no trailing commas, no
/// comments, and nothing after the value: the settings both readers share.
fn read_strictly<'de, R, S>(
    mut deserializer: JsonDeserializer<R>,
    seed: S,
) -> Result<S::Value, JsonError>
where
    R: serde_json_lenient::de::Read<'de>,
    S: DeserializeSeed<'de>,
{
    deserializer.set_ignore_trailing_commas(false);
    deserializer.set_allow_comments(false);
    let value = seed.deserialize(&mut deserializer).map_err(JsonError)?;
    deserializer.end().map_err(JsonError)?;
    Ok(value)
}

/// The key under which the parser (with `arbitrary_precision`) hands a number's exact text to
/// a visitor, as a one-entry map. An event may contain an object with this very key: the
/// library's own `Value` would then fail the whole event ("invalid number") or read it as a
/// number, so one hostile key would hide the event. [`ValueSeed`] reads such an object as an
/// object unless it is exactly one entry whose value is a valid number's text (then it is
/// indistinguishable from a number, and reads as one; the stored body keeps it verbatim).
const NUMBER_TOKEN: &str = "$serde_json_lenient::private::Number";

/// Builds a [`Value`] like the library's own deserializer, except that an object is never
/// mistaken for a number's text (see [`NUMBER_TOKEN`]); duplicate names: last wins.
pub(crate) struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::Object(object));
        };
        let first_value = map.next_value_seed(ValueSeed)?;
        let mut next = map.next_key::<String>()?;
        if first == NUMBER_TOKEN
            && next.is_none()
            && let Value::String(text) = &first_value
            && let Ok(number) = text.parse::<Number>()
        {
            return Ok(Value::Number(number));
        }
        object.insert(first, first_value);
        while let Some(key) = next {
            let value = map.next_value_seed(ValueSeed)?;
            object.insert(key, value);
            next = map.next_key::<String>()?;
        }
        Ok(Value::Object(object))
    }
}

/// The value of a string field as [`text`] reads it from the tree: a string, or a number's
/// exact text. A required field may want to tell them apart (a number is not an id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar {
    String(String),
    Number(String),
}

impl Scalar {
    /// The text, whichever it was.
    pub(crate) fn into_text(self) -> String {
        match self {
            Scalar::String(text) | Scalar::Number(text) => text,
        }
    }

    fn number(number: &Number) -> Self {
        Scalar::Number(number.as_str().to_owned())
    }
}

/// Reads a value as [`text`] would read it from the tree (`None` where `text` gives `None`),
/// consuming all of it; builds nothing else.
pub(crate) struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Option<Scalar>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

// The visitors below implement the same `visit_*` methods as `ValueVisitor`, so that every
// input gets the same answer (and the same refusal) from the parser.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Scalar>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::number(&v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::number(&v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).as_ref().map(Scalar::number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Scalar::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Scalar::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match read_number_marker(&mut map, unwanted)? {
            Marker::Number(number) => Ok(Some(number)),
            Marker::Empty => Ok(None),
            Marker::Object(first) => {
                let mut next = first;
                while next.is_some() {
                    map.next_value_seed(Skip)?;
                    next = map.next_key_seed(NameSeed(unwanted))?;
                }
                Ok(None)
            }
        }
    }
}

/// Consumes a value and builds nothing, refusing exactly what [`parse`] refuses.
pub(crate) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(NameSeed(unwanted))?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// The entries a reader keeps of an object read by [`ObjectSeed`].
pub(crate) trait Fields: Default {
    /// Which wanted entry a name is.
    type Name: Copy;

    /// The wanted entry `name` (unescaped) is, or `None` to skip its value. Never wants
    /// [`NUMBER_TOKEN`].
    fn name(name: &str) -> Option<Self::Name>;

    /// Reads the value of the entry `name` from `map`, exactly one value, over whatever an
    /// earlier entry of the same name left (duplicate names: the last one wins).
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: Self::Name,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Reads a value that matters only if it is an object (as the tree holds it: an object named
/// like a number is a number): `Some` with its wanted entries, or `None` for any other value.
pub(crate) struct ObjectSeed<F>(PhantomData<F>);

impl<F> ObjectSeed<F> {
    pub(crate) fn new() -> Self {
        ObjectSeed(PhantomData)
    }
}

impl<'de, F: Fields> DeserializeSeed<'de> for ObjectSeed<F> {
    type Value = Option<F>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<F>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: Fields> Visitor<'de> for ObjectSeed<F> {
    type Value = Option<F>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<F>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<F>, A::Error> {
        Skip.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<F>, A::Error> {
        let mut fields = F::default();
        let mut next = match read_number_marker(&mut map, F::name)? {
            Marker::Number(_) => return Ok(None),
            Marker::Empty => return Ok(Some(fields)),
            Marker::Object(first) => first,
        };
        while let Some(name) = next {
            match name.wanted {
                Some(wanted) => fields.read(wanted, &mut map)?,
                None => map.next_value_seed(Skip)?,
            }
            next = map.next_key_seed(NameSeed(F::name))?;
        }
        Ok(Some(fields))
    }
}

/// An object's entry name, as far as a reader cares.
struct Name<N> {
    is_number_token: bool,
    wanted: Option<N>,
}

/// Reads an entry name as `String` would (the same request to the parser), without keeping it.
struct NameSeed<W>(W);

impl<'de, N, W: FnOnce(&str) -> Option<N>> DeserializeSeed<'de> for NameSeed<W> {
    type Value = Name<N>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Name<N>, D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl<'de, N, W: FnOnce(&str) -> Option<N>> Visitor<'de> for NameSeed<W> {
    type Value = Name<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<N>, E> {
        Ok(Name {
            is_number_token: v == NUMBER_TOKEN,
            wanted: (self.0)(v),
        })
    }
}

/// For objects whose entries are all skipped.
fn unwanted(_: &str) -> Option<()> {
    None
}

/// How an object starts, read as `ValueVisitor` reads it.
enum Marker<N> {
    /// `{}`.
    Empty,
    /// One entry named [`NUMBER_TOKEN`] holding a valid number's text: a number.
    Number(Scalar),
    /// An object; `Some` is the entry whose value is next to read (the first one, or the
    /// second if the first, named [`NUMBER_TOKEN`], was read here), `None` if there is none.
    Object(Option<Name<N>>),
}

/// Reads the start of an object and tells a number's text (see [`NUMBER_TOKEN`]) from an
/// object, exactly as `ValueVisitor::visit_map` does; an object named like a number that is
/// not one is an object whose [`NUMBER_TOKEN`] entry no reader wants.
fn read_number_marker<'de, A, N, W>(map: &mut A, wanted: W) -> Result<Marker<N>, A::Error>
where
    A: MapAccess<'de>,
    W: Fn(&str) -> Option<N> + Copy,
{
    let Some(first) = map.next_key_seed(NameSeed(wanted))? else {
        return Ok(Marker::Empty);
    };
    if !first.is_number_token {
        return Ok(Marker::Object(Some(first)));
    }
    let first_value = map.next_value_seed(TextSeed)?;
    let next = map.next_key_seed(NameSeed(wanted))?;
    if next.is_none()
        && let Some(Scalar::String(text)) = &first_value
        && let Ok(number) = text.parse::<Number>()
    {
        return Ok(Marker::Number(Scalar::number(&number)));
    }
    Ok(Marker::Object(next))
}

/// Calls `visit` with every text of a JSON text, in document order: each string value, each
/// object name and each number's exact text, decoded under the policy above (escapes read, an
/// unpaired surrogate as U+FFFD). Every occurrence is visited, duplicate names included: a
/// search index wants every text the body holds, not only the one the tree keeps.
///
/// Errors: the text is not JSON under the policy (the same refusal as [`parse`]).
pub(crate) fn for_each_text(text: &str, visit: &mut dyn FnMut(&str)) -> Result<(), JsonError> {
    parse_with(text, TextsSeed(visit))
}

/// Hands every text of a value to its callback (see [`for_each_text`]).
struct TextsSeed<'a>(&'a mut dyn FnMut(&str));

impl<'de> DeserializeSeed<'de> for TextsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        (self.0)(&v.to_string());
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        (self.0)(&v.to_string());
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if let Some(number) = Number::from_f64(v) {
            (self.0)(number.as_str());
        }
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        (self.0)(v);
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        (self.0)(&v);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(TextsSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let visit = self.0;
        let Some(first) = map.next_key::<String>()? else {
            return Ok(());
        };
        let mut next = Some(first);
        if next.as_deref() == Some(NUMBER_TOKEN) {
            // A number's text, or an object that merely uses the marker as a name (read as
            // `ValueVisitor` reads it: a number only when it is the one entry and a number).
            let held = map.next_value_seed(FirstTextSeed(&mut *visit))?;
            next = map.next_key::<String>()?;
            match held {
                Some(text) if next.is_none() && text.parse::<Number>().is_ok() => {
                    visit(&text);
                    return Ok(());
                }
                held => {
                    visit(NUMBER_TOKEN);
                    if let Some(text) = held {
                        visit(&text);
                    }
                }
            }
        }
        while let Some(name) = next {
            visit(&name);
            map.next_value_seed(TextsSeed(&mut *visit))?;
            next = map.next_key::<String>()?;
        }
        Ok(())
    }
}

/// The first value of an object named [`NUMBER_TOKEN`]: a string is held back (it may be a
/// number's text), anything else has its texts visited at once.
struct FirstTextSeed<'a>(&'a mut dyn FnMut(&str));

impl<'de> DeserializeSeed<'de> for FirstTextSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstTextSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        TextsSeed(self.0).visit_bool(v).map(|()| None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        TextsSeed(self.0).visit_i64(v).map(|()| None)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        TextsSeed(self.0).visit_u64(v).map(|()| None)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        TextsSeed(self.0).visit_f64(v).map(|()| None)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        TextsSeed(self.0).visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        TextsSeed(self.0).visit_map(map).map(|()| None)
    }
}

/// `text` with every unpaired surrogate escape rewritten as `\ufffd`, or `None` if it has none.
///
/// serde_json_lenient's own replacement swallows the escape that follows a lone leading
/// surrogate (`"\ud800\u0041"` would read as `"\u{fffd}"`, losing the `A`), so unpaired
/// escapes are replaced here first, one for one. Escapes occur only in strings (elsewhere a
/// backslash is a syntax error either way), so a scan from escape to escape is exact.
fn repair_unpaired_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    // Nearly every body has no surrogate escape at all (`\uD800`–`\uDFFF`): one vectorized
    // search for their first three characters settles it without the scan (~5 % of an
    // export's CPU went to the scan).
    if !has_surrogate_escape_prefix(bytes) {
        return None;
    }
    let mut unpaired: Vec<usize> = Vec::new();
    let mut at = 0;
    // `at` may pass the end (a trailing backslash); `get` then ends the scan.
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let escape = at + offset;
        let Some(unit) = unicode_escape(bytes, escape) else {
            // `\"`, `\\`, `\n` …: skip the escaped byte too, so `\\` is never read as a start.
            at = escape + 2;
            continue;
        };
        at = escape + 6;
        match unit {
            0xD800..=0xDBFF => match unicode_escape(bytes, at) {
                Some(0xDC00..=0xDFFF) => at += 6,
                _ => unpaired.push(escape),
            },
            0xDC00..=0xDFFF => unpaired.push(escape),
            _ => {}
        }
    }
    if unpaired.is_empty() {
        return None;
    }
    let mut repaired = String::with_capacity(text.len());
    let mut copied = 0;
    for escape in unpaired {
        repaired.push_str(&text[copied..escape]);
        repaired.push_str("\\ufffd");
        copied = escape + 6;
    }
    repaired.push_str(&text[copied..]);
    Some(repaired)
}

/// Whether `bytes` holds `\ud` or `\uD` anywhere: a surrogate escape cannot occur without.
fn has_surrogate_escape_prefix(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"\\u")
        .any(|at| matches!(bytes.get(at + 2), Some(b'd' | b'D')))
}

/// The code unit of a `\uXXXX` escape starting at `at`, if there is one.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    escape[2..].iter().try_fold(0_u32, |unit, &digit| {
        Some(unit * 16 + char::from(digit).to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(json: &str) -> String {
        match parse(json) {
            Ok(Value::String(text)) => text,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn an_object_named_like_the_parsers_number_marker_is_read_not_refused() {
        // The library's own Value refuses the first and would read the others wrongly.
        let key = NUMBER_TOKEN;
        let value = parse(&format!(r#"{{"tags":{{"{key}":"not a number"}}}}"#)).unwrap();
        assert_eq!(value["tags"][key], Value::String("not a number".into()));
        let value = parse(&format!(r#"{{"tags":{{"{key}":"5","Name":"x"}}}}"#)).unwrap();
        assert_eq!(value["tags"]["Name"], Value::String("x".into()));
        let value = parse(&format!(r#"{{"tags":{{"{key}":{{"a":1}}}}}}"#)).unwrap();
        assert!(value["tags"][key].is_object());
        // Exactly one entry whose value is a number's text cannot be told from a number.
        let value = parse(&format!(r#"{{"n":{{"{key}":"5"}}}}"#)).unwrap();
        assert_eq!(text(&value["n"]), Some("5"));
        // Escaped spellings of the key are the same key after unescaping.
        let escaped = key.replace('$', "\\u0024");
        let value = parse(&format!(r#"{{"t":{{"{escaped}":"x"}}}}"#)).unwrap();
        assert_eq!(value["t"][key], Value::String("x".into()));
        let event = format!(
            r#"{{"id":"1","source":"/s","type":"com.opshelm.asset.update","time":"2024-05-05T14:01:03Z","data":{{"config":{{"Tags":{{"{key}":"hide me"}}}}}}}}"#
        );
        assert!(
            matches!(
                crate::wire::decode_frame(event),
                crate::model::Frame::Event(_)
            ),
            "an attacker-named tag must not quarantine the event"
        );
    }

    #[test]
    fn duplicate_names_last_wins_at_every_level() {
        let value = parse(r#"{"a":1,"b":{"c":"x","c":"y"},"a":2}"#).unwrap();
        assert_eq!(text(&value["a"]), Some("2"));
        assert_eq!(value["b"]["c"], Value::String("y".into()));
        assert_eq!(value.as_object().unwrap().len(), 2);
    }

    #[test]
    fn unpaired_surrogates_read_as_replacement_characters_and_lose_nothing_else() {
        assert_eq!(string(r#""Mozilla/5.0 \ud800""#), "Mozilla/5.0 \u{fffd}");
        assert_eq!(string(r#""\udc00x""#), "\u{fffd}x");
        assert_eq!(string(r#""\ud800\u0041""#), "\u{fffd}A");
        assert_eq!(string(r#""\ud800\ud800\udc00""#), "\u{fffd}\u{10000}");
        assert_eq!(string(r#""\uD800\n""#), "\u{fffd}\n");
        assert_eq!(
            string(r#""\\ud800""#),
            "\\ud800",
            "an escaped backslash is no escape"
        );
        for broken in ["\"\\", "\"\\u", "\"\\ud800\\", "\"\\ud800\\u", "\\"] {
            assert!(parse(broken).is_err(), "{broken:?}");
        }
        assert_eq!(
            string(r#""\ud83d\ude00""#),
            "\u{1f600}",
            "a pair is a character"
        );
        assert_eq!(
            parse(r#"{"k\udfff":1}"#)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap(),
            "k\u{fffd}",
            "in names too"
        );
    }

    #[test]
    fn the_parser_alone_would_swallow_the_escape_after_a_lone_surrogate() {
        // Why `repair_unpaired_surrogates` exists; if this starts failing, the parser was
        // fixed and the repair may go.
        let swallowed = parse_strict(r#""\ud800\u0041""#).unwrap();
        assert_eq!(swallowed, Value::String("\u{fffd}".into()));
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        for number in [
            "18446744073709551617",
            "-18446744073709551617",
            "1.0",
            "1",
            "1e2",
            "1E+2",
            "0.1000000000000000000000001",
            "123456789012",
        ] {
            let value = parse(number).unwrap();
            assert_eq!(text(&value), Some(number));
            assert_eq!(value.to_string(), number);
        }
        assert_ne!(parse("1.0").unwrap(), parse("1").unwrap());
        assert_ne!(
            parse("18446744073709551617").unwrap(),
            parse("18446744073709551616").unwrap()
        );
    }

    #[test]
    fn everything_else_is_strict_json() {
        for bad in [
            "{\"a\":1,}",
            "[1,2,]",
            "{\"a\":1} // note",
            "/* c */ {\"a\":1}",
            "{\"a\":\"line\nbreak\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"\\x41\"}",
            "{\"a\":\"\\v\"}",
            "{\"a\":1} {\"b\":2}",
            "{\"a\":01}",
            "{\"a\":\"\\uZZZZ\"}",
            "{'a':1}",
            "NaN",
            "",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(parse(" {\"a\":[1,2,{\"b\":null}]} \n").is_ok());
    }

    #[test]
    fn skipping_refuses_exactly_what_parse_refuses_with_the_same_words() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut texts: Vec<String> = [
            "{\"a\":1,}",
            "{\"a\":\"\\x41\"}",
            "{\"a\":\"\\v\"}",
            "{\"a\":01}",
            "{\"a\":\"\\uZZZZ\"}",
            "{\"a\":1e}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":[1,{\"b\":null}]}",
            "[1,2,]",
            "\"\\ud800\\",
            "",
        ]
        .map(str::to_owned)
        .into();
        texts.extend((125..=130).map(deep));
        for text in texts {
            let skipped = parse_with(&text, Skip).map_err(|error| error.to_string());
            let parsed = parse(&text).map(drop).map_err(|error| error.to_string());
            assert_eq!(skipped, parsed, "{text}");
        }
    }

    /// Both readers of the parser on a text `parse_with` would hand them (repaired first).
    fn both_readers(text: &str) -> [Result<Value, String>; 2] {
        let repaired = repair_unpaired_surrogates(text).unwrap_or_else(|| text.to_owned());
        [
            parse_repaired_with(&repaired, ValueSeed).map_err(|error| error.to_string()),
            parse_strict_with(&repaired, ValueSeed).map_err(|error| error.to_string()),
        ]
    }

    #[test]
    fn the_str_reader_reads_a_repaired_text_as_the_byte_reader_does() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut texts: Vec<String> = [
            r#"{"a":"\ud800\u0041","b":"\udc00","c":"\ud83d\ude00","d":"\ud83d"}"#,
            r#"{"\ud800k":"\ud800\ud800\udc00"}"#,
            "{\"a\":\"é😀\\u00e9\\n\\t\\u0000\\\"\\/\"}",
            "{\"a\":\"line\nbreak\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"\u{7f}\u{85}\u{2028}\"}",
            r#"{"a":"\x41"}"#,
            r#"{"a":"\v"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} // c"#,
            r#"{"a":01}"#,
            r#"{"a":1e}"#,
            r#"{"a":18446744073709551617,"b":-0,"c":1.0E+2}"#,
            r#""\ud800\"#,
            r#""\"#,
            "",
        ]
        .map(str::to_owned)
        .into();
        texts.extend((126..=130).map(deep));
        for text in texts {
            let [str_reader, byte_reader] = both_readers(&text);
            assert_eq!(str_reader, byte_reader, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_two_readers_agree_on_any_text(
            text in r#"[\[\]{}",:\\ud0-9a-fDxv \n\t\u{7f}é😀\u{2028}]{0,48}"#
        ) {
            for text in [text.clone(), format!("\"{text}\""), format!("{{\"k\":\"{text}\"}}")] {
                let [str_reader, byte_reader] = both_readers(&text);
                proptest::prop_assert_eq!(str_reader, byte_reader, "{}", text);
            }
        }
    }

    #[test]
    fn ignored_any_would_accept_what_the_policy_refuses() {
        // Why `Skip` exists: serde's `IgnoredAny` makes the parser skip with a scanner of its
        // own, without the depth limit and with `\v` and `\x` escapes allowed. If this starts
        // failing, that scanner follows the options and `IgnoredAny` may do.
        let ignore = |text: &str| parse_with(text, PhantomData::<de::IgnoredAny>).is_ok();
        for text in [
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
            r#"{"a":"\x41"}"#.to_owned(),
            r#"{"a":"\v"}"#.to_owned(),
        ] {
            assert!(ignore(&text), "{text}");
            assert!(parse(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn nesting_is_capped_without_overflowing_the_stack() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn string_fields_read_numbers_as_their_digits_and_nothing_else() {
        let value = parse(r#"{"s":"x","n":123456789012,"b":true,"o":{},"z":null}"#).unwrap();
        assert_eq!(text(&value["s"]), Some("x"));
        assert_eq!(text(&value["n"]), Some("123456789012"));
        for absent in ["b", "o", "z", "missing"] {
            assert_eq!(text(&value[absent]), None, "{absent}");
        }
    }
}
