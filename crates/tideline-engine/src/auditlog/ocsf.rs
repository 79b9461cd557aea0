//! ocsf: Tideline's own OCSF export read back into the events it was made from, so a timeline
//! handed on as OCSF JSON (`tideline-cli export --format ocsf-json`) imports into a session
//! with the same event ids and the provider's record byte for byte.
//!
//! An exported OCSF event carries Tideline's event without its raw record as
//! `unmapped.tideline_event` (its text, as a string) and the record, verbatim, as `raw_data`
//! ([`crate::export::ocsf`]); the contract event is those two put together again. OCSF events
//! from other products (Amazon Security Lake's own, a SIEM's) are not read: they carry no
//! Tideline event, and their files are skipped as no known log.

use serde::Deserialize;
use serde_json_lenient::value::RawValue;

use super::RecordError;
use crate::export::ocsf::{PRODUCT, TIDELINE_EVENT};
use crate::json::{self, Value};

/// An OCSF event Tideline exported: `class_uid`, `metadata.product.name` "Tideline" and an
/// `unmapped.tideline_event` text.
pub fn is_tideline_export(record: &Value) -> bool {
    record.get("class_uid").is_some()
        && record["metadata"]["product"]["name"].as_str() == Some(PRODUCT)
        && record["unmapped"][TIDELINE_EVENT].is_string()
}

#[derive(Deserialize)]
struct Exported<'a> {
    #[serde(borrow)]
    unmapped: Option<&'a RawValue>,
    raw_data: Option<String>,
}

#[derive(Deserialize)]
struct Unmapped {
    tideline_event: Option<String>,
}

/// The contract event (CloudEvents JSON) an exported OCSF event was made from, and whether it
/// is an asset change. `raw_data` goes back in as `data.raw` exactly as it was.
///
/// Errors: the text is not an OCSF event Tideline exported (no `unmapped.tideline_event` text
/// of an object), or its `raw_data` is not JSON.
pub fn contract_event(text: &str) -> Result<(String, bool), RecordError> {
    let refuse = |why: &str| RecordError(format!("not an OCSF event Tideline exported: {why}"));
    let exported: Exported<'_> =
        json::parse_outline(text).map_err(|error| refuse(&error.to_string()))?;
    let unmapped: Unmapped = exported
        .unmapped
        .ok_or_else(|| refuse("no `unmapped`"))
        .and_then(|unmapped| {
            json::parse_outline(unmapped.get()).map_err(|error| refuse(&error.to_string()))
        })?;
    let event_text = unmapped
        .tideline_event
        .ok_or_else(|| refuse("no `unmapped.tideline_event`"))?;
    let mut event = json::parse(&event_text).map_err(|error| refuse(&error.to_string()))?;
    let Some(envelope) = event.as_object_mut() else {
        return Err(refuse("`unmapped.tideline_event` is not an object"));
    };
    let is_change = envelope
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.starts_with("com.opshelm.asset."));
    let data = envelope.remove("data");
    let raw = match exported.raw_data {
        Some(raw) => {
            json::parse(&raw).map_err(|error| {
                RecordError(format!(
                    "`raw_data` is not the JSON record it should be: {error}"
                ))
            })?;
            Some(raw)
        }
        None => None,
    };
    // `{envelope…,"data":{data…,"raw":RAW}}`, with RAW spliced in as its exact text.
    let mut out = object_open(&Value::Object(envelope.clone()));
    if data.is_some() || raw.is_some() {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str("\"data\":");
        let data = data.unwrap_or_else(|| Value::Object(json::Map::new()));
        match (data.is_object(), raw) {
            (true, Some(raw)) => {
                let mut inner = object_open(&data);
                if inner.len() > 1 {
                    inner.push(',');
                }
                inner.push_str("\"raw\":");
                inner.push_str(&raw);
                inner.push('}');
                out.push_str(&inner);
            }
            (_, _) => out.push_str(&data.to_string()),
        }
    }
    out.push('}');
    Ok((out, is_change))
}

/// An object's JSON text without its closing brace.
fn object_open(object: &Value) -> String {
    let mut text = object.to_string();
    text.pop();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_record_goes_back_verbatim_into_the_event() {
        let raw = r#"{"eventName" : "X",  "n": 1.50}"#;
        let exported = serde_json::json!({
            "class_uid": 6003,
            "metadata": {"product": {"name": "Tideline"}},
            "raw_data": raw,
            "unmapped": {"tideline_event": r#"{"id": "e1", "type": "com.opshelm.asset.update",
                "data": {"asset": {"name": "a"}}}"#}
        })
        .to_string();
        assert!(is_tideline_export(&json::parse(&exported).unwrap()));
        let (event, is_change) = contract_event(&exported).unwrap();
        assert!(is_change);
        assert!(event.contains(&format!("\"raw\":{raw}}}")), "{event}");
        let tree = json::parse(&event).unwrap();
        assert_eq!(tree["id"], "e1");
        assert_eq!(tree["data"]["asset"]["name"], "a");
        assert_eq!(tree["data"]["raw"]["n"].to_string(), "1.50");
    }

    #[test]
    fn an_event_without_a_record_or_data_is_rebuilt_and_a_broken_record_is_refused() {
        let bare = r#"{"unmapped":{"tideline_event":"{\"id\":\"e2\",\"type\":\"x.y\"}"}}"#;
        let (event, is_change) = contract_event(bare).unwrap();
        assert_eq!(event, r#"{"id":"e2","type":"x.y"}"#);
        assert!(!is_change);
        let broken = r#"{"raw_data":"{not json","unmapped":{"tideline_event":"{\"id\":\"e3\",\"data\":{}}"}}"#;
        let error = contract_event(broken).unwrap_err();
        assert!(error.0.contains("raw_data"), "{error}");
        let foreign = r#"{"class_uid":6003,"unmapped":{"other":1}}"#;
        assert!(
            contract_event(foreign)
                .unwrap_err()
                .0
                .contains("tideline_event")
        );
    }
}
