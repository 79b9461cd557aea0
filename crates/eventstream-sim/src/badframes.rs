//! The content of injected bad frames: malformed data of four kinds, and oversize
//! events of 1.5 MiB. Each is a pure function of (seed, index).

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use crate::events::Event;
use crate::load::filler;
use crate::plan::mix;

/// Size of an oversize frame's data: over the contract's 1 MiB limit.
pub(crate) const OVERSIZE_BYTES: usize = 3 * 512 * 1024;

/// Data for the malformed frame after `valid`: not JSON, truncated JSON, JSON that is
/// not an object, or an object missing one of `id`/`source`/`type`/`time`.
pub(crate) fn malformed(seed: u64, index: usize, bad_id: &str, valid: &Event) -> String {
    let hash = mix(seed, index as u64, 0xbad);
    match hash % 4 {
        0 => format!("upstream error 502: stream relay restarted (frame {bad_id})"),
        1 => {
            let text = valid.json.replace('\n', " ");
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_owned()
        }
        2 => match (hash >> 8) % 3 {
            0 => json!(["not", "an", "object", bad_id]).to_string(),
            1 => json!(format!("just a string {bad_id}")).to_string(),
            _ => json!(index).to_string(),
        },
        _ => {
            let mut event = json!({
                "specversion": "1.0",
                "id": bad_id,
                "source": valid.key.as_ref().map_or("/cloudAccounts/sim", |k| k.source.as_str()),
                "type": "com.opshelm.asset.update",
                "time": "2024-05-06T12:00:00.000Z",
                "datacontenttype": "application/json",
                "data": { "note": "this event lacks a required field" },
            });
            let missing = ["id", "source", "type", "time"][((hash >> 8) % 4) as usize];
            event.as_object_mut().expect("object").remove(missing);
            event.to_string()
        }
    }
}

/// An otherwise-valid event over 1 MiB, with its own id, from `valid`'s source.
pub(crate) fn oversize(seed: u64, index: usize, bad_id: &str, valid: &Event) -> String {
    let mut rng = StdRng::seed_from_u64(mix(seed, index as u64, 0x0b16));
    let source = valid
        .key
        .as_ref()
        .map_or("/cloudAccounts/sim", |k| k.source.as_str());
    json!({
        "specversion": "1.0",
        "id": bad_id,
        "source": source,
        "type": "com.opshelm.asset.update",
        "time": "2024-05-06T12:00:00.000Z",
        "subject": format!("ohn:aws:123456789012:us-east-1:storage-bucket:oversize-{index}"),
        "datacontenttype": "application/json",
        "data": {
            "asset": { "name": format!("ohn:aws:123456789012:us-east-1:storage-bucket:oversize-{index}"), "type": "storage.bucket" },
            "config": { "Policy": filler(OVERSIZE_BYTES, &mut rng) },
        },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn valid() -> Event {
        let json = r#"{"specversion":"1.0","id":"a","source":"/cloudAccounts/x","type":"t","time":"2024-05-06T12:00:00.000Z"}"#;
        Event::from_json(None, json.to_owned())
    }

    #[test]
    fn every_malformed_frame_fails_validation() {
        let mut kinds = std::collections::HashSet::new();
        for i in 0..64 {
            let data = malformed(9, i, &format!("sim-malformed-{i}"), &valid());
            assert!(Event::from_json(None, data.clone()).key.is_none(), "{data}");
            kinds.insert(match serde_json::from_str::<Value>(&data) {
                Err(_) => "not json",
                Ok(Value::Object(_)) => "missing field",
                Ok(_) => "not object",
            });
        }
        assert_eq!(kinds.len(), 3);
    }

    #[test]
    fn oversize_frames_are_valid_json_over_one_mib() {
        let data = oversize(9, 4, "sim-oversize-4", &valid());
        assert!(data.len() > 1024 * 1024);
        let event = Event::from_json(None, data);
        assert_eq!(event.key.unwrap().id, "sim-oversize-4");
    }
}
