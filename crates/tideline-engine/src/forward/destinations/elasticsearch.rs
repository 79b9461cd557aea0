//! elasticsearch: indexes batches of items through the `_bulk` API of Elasticsearch or
//! OpenSearch, one index per UTC day. Follows Elasticsearch's "Bulk API" reference
//! (`POST /_bulk`, NDJSON `Content-Type: application/x-ndjson`, an action line then a source
//! line, the body ending in a newline; the answer's `errors` flag and per-item `status` and
//! `error`, in request order), its "Multi-target syntax / index name" rules (lowercase, no
//! `\ / * ? " < > | , #` or space, not starting with `-`, `_`, `+`), and "API key
//! authentication" (`Authorization: ApiKey <base64 id:key>`); OpenSearch's `_bulk` is the same.
//!
//! Per item, two lines:
//! `{"index":{"_index":"<prefix>YYYY.MM.DD","_id":"<source>|<event id>"}}` (a finding: its
//! key; an id over 512 bytes, Elasticsearch's limit, becomes `sha256:<hex>` of itself), then
//! the document: the event object (or finding) plus `@timestamp` (RFC 3339, microseconds, UTC).
//! Both lines are written by a JSON serializer, which escapes every newline inside a string,
//! so no value can end a line early and smuggle in an action of its own. Indexing by `_id`
//! makes a resent item overwrite itself, never duplicate.
//!
//! Answers: a non-2xx request status maps as every HTTP destination's (401/403/404/400/413
//! refused; 429/5xx retried). A 2xx with `errors: false` is delivered; with `errors: true`
//! each item is judged by its own status — 2xx delivered, 429 and 5xx (a full queue, a shard
//! not ready) to send again, any other (a mapping conflict, a document the index rejects)
//! rejected for good — reported as [`Delivery::Partial`]. A 2xx that is not a `_bulk` answer
//! is retried (the `_id`s make that safe).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::http::{self, Answer};
use super::{Delivery, DestinationError, Document, Item, SecretSource, fetch_secret};

const DESTINATION: &str = "elasticsearch";
pub(super) const MAX_BATCH: usize = 500;
/// Elasticsearch refuses longer `_id`s.
const MAX_ID_BYTES: usize = 512;

pub struct BulkSender {
    client: reqwest::Client,
    url: url::Url,
    index_prefix: String,
    /// Basic or ApiKey, marked sensitive; never printed.
    authorization: Option<HeaderValue>,
}

#[derive(Serialize)]
struct Action<'a> {
    index: Target<'a>,
}

#[derive(Serialize)]
struct Target<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

#[derive(Deserialize)]
struct BulkAnswer {
    errors: bool,
    #[serde(default)]
    items: Vec<BTreeMap<String, ItemAnswer>>,
}

#[derive(Deserialize)]
struct ItemAnswer {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl BulkSender {
    pub(super) fn open(
        url: &str,
        index_prefix: &str,
        auth_secret: Option<&str>,
        secrets: &dyn SecretSource,
    ) -> Result<BulkSender, DestinationError> {
        let url = http::join_path(&http::parse_url(url, DESTINATION, "url")?, "_bulk");
        check_index_prefix(index_prefix)?;
        let authorization = auth_secret
            .map(|name| {
                let secret = fetch_secret(secrets, DESTINATION, "auth_secret", name)?;
                authorization(&secret).ok_or_else(|| DestinationError::InvalidSecret {
                    destination: DESTINATION,
                    field: "auth_secret",
                    name: name.to_owned(),
                    detail: "it has characters an HTTP header cannot carry".into(),
                })
            })
            .transpose()?;
        Ok(BulkSender {
            client: http::client(DESTINATION)?,
            url,
            index_prefix: index_prefix.to_owned(),
            authorization,
        })
    }

    pub(super) fn name(&self) -> String {
        format!(
            "elasticsearch {} ({}YYYY.MM.DD)",
            http::shown(&self.url),
            self.index_prefix
        )
    }

    pub(super) async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        let body = match bulk_body(&self.index_prefix, batch) {
            Ok(body) => body,
            Err(cause) => return Delivery::Refused { cause },
        };
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        match http::send(request).await {
            Ok(answer) => answered(&answer, batch.len()),
            Err(failed) => failed,
        }
    }
}

/// `user:password` → Basic; anything else is an API key → `ApiKey <value>`.
fn authorization(secret: &str) -> Option<HeaderValue> {
    let text = match secret.split_once(':') {
        Some((user, password)) => {
            use base64_basic::encode;
            format!("Basic {}", encode(format!("{user}:{password}").as_bytes()))
        }
        None => format!("ApiKey {secret}"),
    };
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The NDJSON body: an action line and a document line per item, ending in a newline.
pub(super) fn bulk_body(prefix: &str, batch: &[Item<'_>]) -> Result<String, String> {
    let mut body = String::new();
    for item in batch {
        let time = DateTime::from_timestamp_micros(item.time_us()).unwrap_or_default();
        let index = format!("{prefix}{}", time.format("%Y.%m.%d"));
        let id = document_id(item);
        let action = Action {
            index: Target {
                index: &index,
                id: &id,
            },
        };
        let document = Document::of(item).with_member(
            "@timestamp",
            time.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        let unwritable = |error: serde_json_lenient::Error| {
            format!("the item {id:?} could not be written as JSON: {error}")
        };
        body.push_str(&serde_json_lenient::to_string(&action).map_err(unwritable)?);
        body.push('\n');
        body.push_str(&serde_json_lenient::to_string(&document).map_err(unwritable)?);
        body.push('\n');
    }
    Ok(body)
}

/// `<source>|<id>` for an event, the key for a finding; hashed when too long for `_id`.
fn document_id(item: &Item<'_>) -> String {
    let id = match item {
        Item::Event { id, source, .. } => format!("{source}|{id}"),
        Item::Finding { key, .. } => (*key).to_owned(),
    };
    if id.len() <= MAX_ID_BYTES {
        id
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

fn answered(answer: &Answer, sent: usize) -> Delivery {
    if !answer.status.is_success() {
        return http::by_status(answer, "Elasticsearch");
    }
    let bulk: BulkAnswer = match serde_json::from_str(&answer.body) {
        Ok(bulk) => bulk,
        Err(error) => {
            return Delivery::Retry {
                after: answer.retry_after,
                cause: format!(
                    "Elasticsearch answered {} with something that is not a _bulk answer ({error})",
                    answer.status
                ),
            };
        }
    };
    if !bulk.errors {
        return Delivery::Delivered;
    }
    if bulk.items.len() != sent {
        return Delivery::Retry {
            after: answer.retry_after,
            cause: format!(
                "Elasticsearch answered for {} items of the {sent} sent",
                bulk.items.len()
            ),
        };
    }
    let mut delivered = Vec::new();
    let mut retry = Vec::new();
    let mut rejected = Vec::new();
    let mut first_failure = None;
    for (index, outcome) in bulk.items.iter().enumerate() {
        let Some(outcome) = outcome.values().next() else {
            retry.push(index);
            continue;
        };
        let status = reqwest::StatusCode::from_u16(outcome.status)
            .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_success() {
            delivered.push(index);
            continue;
        }
        let why = format!("{status}{}", error_text(outcome.error.as_ref()));
        first_failure.get_or_insert_with(|| why.clone());
        if http::retryable(status) {
            retry.push(index);
        } else {
            rejected.push((index, why));
        }
    }
    let failed = retry.len() + rejected.len();
    Delivery::Partial {
        delivered,
        retry,
        rejected,
        after: answer.retry_after,
        cause: format!(
            "Elasticsearch refused {failed} of {sent} items, first: {}",
            first_failure.unwrap_or_default()
        ),
    }
}

/// `: <type>: <reason>` of an item's error.
fn error_text(error: Option<&serde_json::Value>) -> String {
    let Some(error) = error else {
        return String::new();
    };
    let kind = error["type"].as_str().unwrap_or("error");
    let reason = error["reason"].as_str().unwrap_or("");
    http::excerpt(&format!("{kind}: {reason}"))
}

fn check_index_prefix(prefix: &str) -> Result<(), DestinationError> {
    let invalid = |detail: &str| DestinationError::InvalidConfig {
        destination: DESTINATION,
        field: "index_prefix",
        detail: detail.to_owned(),
    };
    if prefix.chars().any(|c| c.is_uppercase()) {
        return Err(invalid("must be lowercase"));
    }
    if prefix
        .chars()
        .any(|c| "\\/*?\"<>|,# :".contains(c) || c.is_control())
    {
        return Err(invalid(
            "must not contain \\ / * ? \" < > | , # : or spaces",
        ));
    }
    if prefix.starts_with(['-', '_', '+']) {
        return Err(invalid("must not start with -, _ or +"));
    }
    if prefix.len() > 200 {
        return Err(invalid("is longer than 200 bytes"));
    }
    Ok(())
}

/// Base64 (RFC 4648 §4, padded) for the one Basic credential; not worth a dependency.
mod base64_basic {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (position, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                if position <= chunk.len() {
                    out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Receiver, Reply, event_item, facts, finding_json, within};
    use super::super::{DestinationConfig, MapSecrets, connect};
    use super::*;

    fn config(receiver: &Receiver, auth: Option<&str>) -> DestinationConfig {
        DestinationConfig::Elasticsearch {
            url: receiver.url("/"),
            index_prefix: "tideline-".into(),
            auth_secret: auth.map(str::to_owned),
        }
    }

    fn lines(body: &[u8]) -> Vec<serde_json::Value> {
        let text = std::str::from_utf8(body).unwrap();
        assert!(text.ends_with('\n'), "the body ends with a newline");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn indexes_pairs_of_action_and_document_by_day() {
        let receiver = Receiver::start().await;
        receiver.reply(Reply::status(200).body(r#"{"took":3,"errors":false,"items":[]}"#));
        let secrets = MapSecrets::default().with("es", "elastic:pa:ss");
        let mut es = connect(&config(&receiver, Some("es")), &secrets)
            .await
            .unwrap();
        assert_eq!(
            es.name(),
            format!(
                "elasticsearch {} (tideline-YYYY.MM.DD)",
                receiver.url("/_bulk")
            )
        );
        let facts = facts();
        let json = finding_json();
        let body =
            "{\n \"specversion\": \"1.0\",\n \"id\": \"ev-1\",\n \"n\": 18446744073709551617\n}";
        let batch = [
            event_item("ev-1", body, &facts),
            Item::Finding {
                key: "public-bucket|prod-logs",
                time_us: 1_714_953_600_000_000, // 2024-05-06T00:00:00Z
                json: &json,
                facts: &facts,
            },
        ];
        assert_eq!(within(es.deliver(&batch)).await, Delivery::Delivered);

        let request = &receiver.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/_bulk");
        assert_eq!(request.header("content-type"), Some("application/x-ndjson"));
        // Basic of "elastic:pa:ss": the password keeps its colon.
        assert_eq!(
            request.header("authorization"),
            Some("Basic ZWxhc3RpYzpwYTpzcw==")
        );
        let text = request.text();
        assert!(text.contains(r#""n":18446744073709551617"#), "{text}");
        let lines = lines(&request.body);
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            serde_json::json!({"index": {"_index": "tideline-2024.05.05", "_id": "opshelm/aws|ev-1"}})
        );
        assert_eq!(lines[1]["id"], "ev-1");
        assert_eq!(lines[1]["@timestamp"], "2024-05-05T10:00:00.123456Z");
        assert_eq!(
            lines[2],
            serde_json::json!({"index": {"_index": "tideline-2024.05.06", "_id": "public-bucket|prod-logs"}})
        );
        assert_eq!(lines[3]["rule"], "public-bucket");
        assert_eq!(lines[3]["@timestamp"], "2024-05-06T00:00:00.000000Z");
    }

    #[tokio::test]
    async fn each_item_is_judged_by_its_own_status() {
        let receiver = Receiver::start().await;
        receiver.reply(Reply::status(200).body(
            r#"{"took":5,"errors":true,"items":[
              {"index":{"_index":"tideline-2024.05.05","_id":"a","status":201,"result":"created"}},
              {"index":{"_index":"tideline-2024.05.05","_id":"b","status":429,
                "error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
              {"index":{"_index":"tideline-2024.05.05","_id":"c","status":400,
                "error":{"type":"document_parsing_exception","reason":"failed to parse field [data.size]"}}}
            ]}"#,
        ));
        let secrets = MapSecrets::default().with(
            "es",
            "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
        );
        let mut es = connect(&config(&receiver, Some("es")), &secrets)
            .await
            .unwrap();
        let facts = facts();
        let batch = [
            event_item("a", "{}", &facts),
            event_item("b", "{}", &facts),
            event_item("c", "{}", &facts),
        ];
        match within(es.deliver(&batch)).await {
            Delivery::Partial {
                delivered,
                retry,
                rejected,
                cause,
                ..
            } => {
                assert_eq!(delivered, [0]);
                assert_eq!(retry, [1]);
                assert_eq!(rejected.len(), 1);
                assert_eq!(rejected[0].0, 2);
                assert!(
                    rejected[0]
                        .1
                        .contains("400 Bad Request: document_parsing_exception")
                );
                assert!(cause.contains("2 of 3"), "{cause}");
            }
            other => panic!("expected a partial delivery, got {other:?}"),
        }
        assert_eq!(
            receiver.requests()[0].header("authorization"),
            Some("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==")
        );
    }

    #[tokio::test]
    async fn a_hostile_value_stays_inside_its_one_document() {
        let receiver = Receiver::start().await;
        receiver.reply(Reply::status(200).body(r#"{"errors":false,"items":[]}"#));
        let mut es = connect(&config(&receiver, None), &MapSecrets::default())
            .await
            .unwrap();
        let hostile =
            "x\"}\n{\"delete\":{\"_index\":\"tideline-2024.05.05\",\"_id\":\"victim\"}}\n";
        let body = serde_json::json!({"id": "ev-1", "data": {"name": hostile}}).to_string();
        let facts = facts();
        let id = "ev-1\n{\"delete\":{\"_id\":\"victim\"}}";
        let batch = [event_item(id, &body, &facts)];
        assert_eq!(within(es.deliver(&batch)).await, Delivery::Delivered);

        let request = &receiver.requests()[0];
        assert_eq!(request.header("authorization"), None);
        let lines = lines(&request.body);
        assert_eq!(lines.len(), 2, "one action and one document");
        let action = lines[0].as_object().unwrap();
        assert_eq!(action.keys().collect::<Vec<_>>(), ["index"]);
        assert_eq!(lines[1]["data"]["name"], hostile);
    }

    #[tokio::test]
    async fn request_level_failures_map_like_every_http_destination() {
        let receiver = Receiver::start().await;
        let mut es = connect(&config(&receiver, None), &MapSecrets::default())
            .await
            .unwrap();
        let facts = facts();
        let batch = [event_item("a", "{}", &facts)];
        receiver.reply(Reply::status(401).body(r#"{"error":{"type":"security_exception"}}"#));
        assert!(matches!(
            within(es.deliver(&batch)).await,
            Delivery::Refused { .. }
        ));
        receiver.reply(Reply::status(429).header("Retry-After", "3"));
        assert!(matches!(
            within(es.deliver(&batch)).await,
            Delivery::Retry { after: Some(after), .. } if after.as_secs() == 3
        ));
        receiver.reply(Reply::status(200).body("<html>proxy</html>"));
        assert!(matches!(
            within(es.deliver(&batch)).await,
            Delivery::Retry { .. }
        ));
    }

    #[tokio::test]
    async fn index_prefixes_follow_the_index_name_rules() {
        for bad in ["Tideline-", "tide line-", "_tideline-", "a/b-", "a#b"] {
            let config = DestinationConfig::Elasticsearch {
                url: "https://es.example.com:9200".into(),
                index_prefix: bad.into(),
                auth_secret: None,
            };
            let error = connect(&config, &MapSecrets::default()).await.unwrap_err();
            assert!(error.to_string().contains("index_prefix"), "{bad}: {error}");
        }
    }

    #[test]
    fn long_ids_are_hashed_to_fit() {
        let facts = facts();
        let long = "x".repeat(600);
        let id = document_id(&event_item(&long, "{}", &facts));
        assert!(id.starts_with("sha256:") && id.len() == 7 + 64, "{id}");
        assert_eq!(base64_basic::encode(b"ab"), "YWI=");
        assert_eq!(base64_basic::encode(b"abc"), "YWJj");
        assert_eq!(base64_basic::encode(b"a"), "YQ==");
    }
}
