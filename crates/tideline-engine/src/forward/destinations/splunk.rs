//! splunk: sends batches of items to Splunk's HTTP Event Collector. Follows Splunk's "HTTP
//! Event Collector REST API endpoints" (`POST /services/collector/event`), "Format events for
//! HTTP Event Collector" (the JSON envelope; `time` in epoch seconds with a fraction, `<sec>.<ms>`;
//! several envelopes concatenated in one request), "HTTP Event Collector examples"
//! (`Authorization: Splunk <token>`) and "Troubleshoot HTTP Event Collector" (the answer's
//! `{"text": …, "code": N}` and which HTTP status goes with each code).
//!
//! Request: `POST {url}/services/collector/event`, `Content-Type: application/json`, body the
//! envelopes back to back, one per item:
//! `{"time":1714903200.123,"host":"tideline","source":"tideline","sourcetype":"tideline:event",
//! "index":"…","event":{…the event object…}}` (`index` only when configured; `sourcetype`
//! the configured one, else `tideline:event` or `tideline:finding`).
//!
//! Answers: 200 (code 0) delivered. 401/403 (codes 1–4: token disabled, missing, malformed,
//! invalid) and 400 (codes 5–7, 10–16: no data, invalid data format, incorrect index, channel
//! and ack problems) refused — resending the same batch with the same token cannot succeed.
//! 500 (code 8, internal error), 503 (code 9, server busy; 18–20, queues full) and 429
//! retried, after `Retry-After` when sent. The HEC text and code are kept in the cause.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};

use super::http::{self, Answer};
use super::{Delivery, DestinationError, Document, Item, SecretSource, fetch_secret};

const DESTINATION: &str = "splunk_hec";
pub(super) const MAX_BATCH: usize = 100;
const PATH: &str = "services/collector/event";

pub struct HecSender {
    client: reqwest::Client,
    url: url::Url,
    /// `Splunk <token>`, marked sensitive; never printed.
    authorization: HeaderValue,
    sourcetype: Option<String>,
    index: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    time: serde_json_lenient::Number,
    host: &'static str,
    source: &'static str,
    sourcetype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
    event: Document,
}

/// HEC's answer body.
#[derive(Deserialize)]
struct HecAnswer {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<i64>,
}

impl HecSender {
    pub(super) fn open(
        url: &str,
        token_secret: &str,
        sourcetype: Option<&str>,
        index: Option<&str>,
        secrets: &dyn SecretSource,
    ) -> Result<HecSender, DestinationError> {
        let url = http::join_path(&http::parse_url(url, DESTINATION, "url")?, PATH);
        let token = fetch_secret(secrets, DESTINATION, "token_secret", token_secret)?;
        let mut authorization =
            HeaderValue::from_str(&format!("Splunk {token}")).map_err(|_| {
                DestinationError::InvalidSecret {
                    destination: DESTINATION,
                    field: "token_secret",
                    name: token_secret.to_owned(),
                    detail: "it has characters an HTTP header cannot carry".into(),
                }
            })?;
        authorization.set_sensitive(true);
        let non_blank = |field: &'static str, value: Option<&str>| match value {
            Some(value) if value.trim().is_empty() => Err(DestinationError::InvalidConfig {
                destination: DESTINATION,
                field,
                detail: "is blank; leave it out for the default".into(),
            }),
            other => Ok(other.map(str::to_owned)),
        };
        Ok(HecSender {
            client: http::client(DESTINATION)?,
            url,
            authorization,
            sourcetype: non_blank("sourcetype", sourcetype)?,
            index: non_blank("index", index)?,
        })
    }

    pub(super) fn name(&self) -> String {
        format!("splunk_hec {}", http::shown(&self.url))
    }

    pub(super) async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        let body = match self.body(batch) {
            Ok(body) => body,
            Err(cause) => return Delivery::Refused { cause },
        };
        let request = self
            .client
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        match http::send(request).await {
            Ok(answer) => answered(answer),
            Err(failed) => failed,
        }
    }

    fn body(&self, batch: &[Item<'_>]) -> Result<String, String> {
        let mut body = String::new();
        for item in batch {
            let default = if item.is_finding() {
                "tideline:finding"
            } else {
                "tideline:event"
            };
            let envelope = Envelope {
                time: epoch_seconds(item.time_us()),
                host: "tideline",
                source: "tideline",
                sourcetype: self.sourcetype.as_deref().unwrap_or(default),
                index: self.index.as_deref(),
                event: Document::of(item),
            };
            let text = serde_json_lenient::to_string(&envelope)
                .map_err(|error| format!("an event could not be written as JSON: {error}"))?;
            body.push_str(&text);
        }
        Ok(body)
    }
}

fn answered(mut answer: Answer) -> Delivery {
    if let Ok(hec) = serde_json::from_str::<HecAnswer>(&answer.body) {
        let mut detail = hec.text.unwrap_or_default();
        if let Some(code) = hec.code {
            detail.push_str(&format!(" (code {code})"));
        }
        if let Some(number) = hec.invalid_event_number {
            detail.push_str(&format!(", at event {number} of the batch"));
        }
        answer.body = detail;
    }
    http::by_status(&answer, "Splunk HEC")
}

/// Epoch seconds with milliseconds, as HEC reads `time` (`<sec>.<ms>`), written exactly.
pub(super) fn epoch_seconds(time_us: i64) -> serde_json_lenient::Number {
    let millis = time_us.div_euclid(1000);
    let sign = if millis < 0 { "-" } else { "" };
    let magnitude = millis.unsigned_abs();
    let text = format!("{sign}{}.{:03}", magnitude / 1000, magnitude % 1000);
    text.parse()
        .unwrap_or_else(|_| serde_json_lenient::Number::from(millis.div_euclid(1000)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{Receiver, Reply, event_item, facts, finding_json, within};
    use super::super::{DestinationConfig, MapSecrets, connect};
    use super::*;

    fn config(receiver: &Receiver, sourcetype: Option<&str>) -> DestinationConfig {
        DestinationConfig::SplunkHec {
            url: receiver.url("/"),
            token_secret: "hec".into(),
            sourcetype: sourcetype.map(str::to_owned),
            index: Some("security".into()),
        }
    }

    fn secrets() -> MapSecrets {
        MapSecrets::default().with("hec", "11111111-2222-3333-4444-555555555555")
    }

    /// Splits HEC's concatenated envelopes.
    fn envelopes(body: &[u8]) -> Vec<serde_json::Value> {
        serde_json::Deserializer::from_slice(body)
            .into_iter::<serde_json::Value>()
            .map(Result::unwrap)
            .collect()
    }

    #[tokio::test]
    async fn sends_one_envelope_per_item_with_the_splunk_token() {
        let receiver = Receiver::start().await;
        receiver.reply(Reply::status(200).body(r#"{"text":"Success","code":0}"#));
        let mut hec = connect(&config(&receiver, None), &secrets()).await.unwrap();
        assert_eq!(
            hec.name(),
            format!("splunk_hec {}", receiver.url("/services/collector/event"))
        );
        let facts = facts();
        let body = r#"{"specversion":"1.0","id":"ev-1","data":{"size":18446744073709551617}}"#;
        let json = finding_json();
        let batch = [
            event_item("ev-1", body, &facts),
            Item::Finding {
                key: "public-bucket|prod-logs",
                time_us: 1_714_903_201_000_000,
                json: &json,
                facts: &facts,
            },
        ];
        assert_eq!(within(hec.deliver(&batch)).await, Delivery::Delivered);

        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/services/collector/event");
        assert_eq!(
            request.header("authorization"),
            Some("Splunk 11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let text = request.text();
        // The time is exact epoch seconds with milliseconds; the event keeps its exact number.
        assert!(text.starts_with(r#"{"time":1714903200.123,"host":"tideline","source":"tideline","sourcetype":"tideline:event","index":"security","event":{"#), "{text}");
        assert!(text.contains(r#""size":18446744073709551617"#), "{text}");
        let sent = envelopes(&request.body);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0]["event"]["id"], "ev-1");
        assert_eq!(sent[0]["event"]["specversion"], "1.0");
        assert_eq!(sent[1]["time"].as_f64(), Some(1_714_903_201.0));
        assert_eq!(sent[1]["sourcetype"], "tideline:finding");
        assert_eq!(sent[1]["event"], json);
    }

    #[tokio::test]
    async fn a_configured_sourcetype_is_used_for_everything() {
        let receiver = Receiver::start().await;
        let mut hec = connect(&config(&receiver, Some("aws:changes")), &secrets())
            .await
            .unwrap();
        let facts = facts();
        let json = finding_json();
        let batch = [
            event_item("ev-1", "{}", &facts),
            Item::Finding {
                key: "k",
                time_us: 0,
                json: &json,
                facts: &facts,
            },
        ];
        assert_eq!(within(hec.deliver(&batch)).await, Delivery::Delivered);
        let sent = envelopes(&receiver.requests()[0].body);
        assert!(
            sent.iter()
                .all(|envelope| envelope["sourcetype"] == "aws:changes")
        );
    }

    #[tokio::test]
    async fn bad_tokens_are_refused_and_a_busy_server_retried_after_its_delay() {
        let receiver = Receiver::start().await;
        let mut hec = connect(&config(&receiver, None), &secrets()).await.unwrap();
        let facts = facts();
        let batch = [event_item("ev-1", "{}", &facts)];

        receiver.reply(Reply::status(401).body(r#"{"text":"Token is required","code":2}"#));
        assert!(matches!(
            within(hec.deliver(&batch)).await,
            Delivery::Refused { cause } if cause.contains("401") && cause.contains("Token is required (code 2)")
        ));
        receiver.reply(Reply::status(403).body(r#"{"text":"Invalid token","code":4}"#));
        assert!(matches!(
            within(hec.deliver(&batch)).await,
            Delivery::Refused { cause } if cause.contains("Invalid token (code 4)")
        ));
        receiver.reply(
            Reply::status(400)
                .body(r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#),
        );
        assert!(matches!(
            within(hec.deliver(&batch)).await,
            Delivery::Refused { cause } if cause.contains("Incorrect index (code 7), at event 0")
        ));
        receiver.reply(
            Reply::status(503)
                .header("Retry-After", "7")
                .body(r#"{"text":"Server is busy","code":9}"#),
        );
        assert_eq!(
            within(hec.deliver(&batch)).await,
            Delivery::Retry {
                after: Some(Duration::from_secs(7)),
                cause: "Splunk HEC answered 503 Service Unavailable: Server is busy (code 9)"
                    .into(),
            }
        );
    }

    #[test]
    fn epoch_seconds_keep_milliseconds_exactly() {
        assert_eq!(
            epoch_seconds(1_714_903_200_123_456).to_string(),
            "1714903200.123"
        );
        assert_eq!(epoch_seconds(0).to_string(), "0.000");
        assert_eq!(epoch_seconds(-1_500).to_string(), "-0.002");
    }
}
