//! webhook: POSTs each item, as it is, to a URL the team runs, signed so the receiver can
//! tell it came from this Tideline. The signature follows the convention GitHub documents for
//! its webhooks ("Validating webhook deliveries": `X-Hub-Signature-256: sha256=<hex>`, an
//! HMAC-SHA256 of the raw body, RFC 2104), under Tideline's own header names.
//!
//! One request per item:
//! - body: the event's verbatim stored JSON (the EventStream contract's CloudEvents object),
//!   or the finding's JSON; `Content-Type: application/json`;
//! - `X-Tideline-Event-Id`: the event id (a finding: its key), percent-encoded (RFC 3986)
//!   when it has anything but visible ASCII; `X-Tideline-Kind`: `event` or `finding`;
//! - `X-Tideline-Signature: sha256=<lowercase hex of HMAC-SHA256(secret, body)>`, when the
//!   destination names a secret. Receivers should compare in constant time and may dedupe
//!   on the event id (delivery is at least once).

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use sha2::Sha256;

use super::http::{self, Answer};
use super::{Delivery, DestinationError, Item, SecretSource, fetch_secret, stopped_partway};

const DESTINATION: &str = "webhook";
/// What a header value cannot carry as it is (non-ASCII is always encoded).
const HEADER_UNSAFE: &AsciiSet = &CONTROLS.add(b'%').add(b' ');

pub struct WebhookSender {
    client: reqwest::Client,
    url: url::Url,
    /// The HMAC key; never printed.
    key: Option<Vec<u8>>,
}

impl WebhookSender {
    pub(super) fn open(
        url: &str,
        hmac_secret: Option<&str>,
        secrets: &dyn SecretSource,
    ) -> Result<WebhookSender, DestinationError> {
        let url = http::parse_url(url, DESTINATION, "url")?;
        let key = hmac_secret
            .map(|name| fetch_secret(secrets, DESTINATION, "hmac_secret", name))
            .transpose()?
            .map(String::into_bytes);
        Ok(WebhookSender {
            client: http::client(DESTINATION)?,
            url,
            key,
        })
    }

    pub(super) fn name(&self) -> String {
        let signed = if self.key.is_some() { " (signed)" } else { "" };
        format!("webhook {}{signed}", http::shown(&self.url))
    }

    pub(super) async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        let mut delivered = Vec::new();
        for (index, item) in batch.iter().enumerate() {
            match self.post(item).await {
                Delivery::Delivered => delivered.push(index),
                failed => return stopped_partway(delivered, batch.len(), failed),
            }
        }
        Delivery::Delivered
    }

    async fn post(&self, item: &Item<'_>) -> Delivery {
        let body = body(item);
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("X-Tideline-Event-Id", header_text(item.id()))
            .header(
                "X-Tideline-Kind",
                if item.is_finding() {
                    "finding"
                } else {
                    "event"
                },
            );
        if let Some(key) = &self.key {
            request = request.header("X-Tideline-Signature", signature(key, body.as_bytes()));
        }
        match http::send(request.body(body)).await {
            Ok(answer) => answered(&answer),
            Err(failed) => failed,
        }
    }
}

fn answered(answer: &Answer) -> Delivery {
    http::by_status(answer, "the webhook")
}

/// The bytes POSTed for an item: the stored body verbatim, or the finding's JSON.
fn body(item: &Item<'_>) -> String {
    match item {
        Item::Event { body, .. } => (*body).to_owned(),
        Item::Finding { json, .. } => json.to_string(),
    }
}

/// `sha256=<hex of HMAC-SHA256(key, body)>`.
pub(super) fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length (RFC 2104 §2), so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A header value for any text: itself when it is all visible ASCII, else percent-encoded
/// (UTF-8, RFC 3986 style), so it always arrives as one readable line.
fn header_text(text: &str) -> HeaderValue {
    if !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_graphic())
        && let Ok(value) = HeaderValue::from_str(text)
    {
        return value;
    }
    let encoded = utf8_percent_encode(text, HEADER_UNSAFE).to_string();
    HeaderValue::from_str(&encoded).unwrap_or(HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{Receiver, Reply, event_item, facts, finding_json, within};
    use super::super::{DestinationConfig, MapSecrets, connect};
    use super::*;

    fn config(receiver: &Receiver, secret: Option<&str>) -> DestinationConfig {
        DestinationConfig::Webhook {
            url: receiver.url("/hook"),
            hmac_secret: secret.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn posts_the_verbatim_body_signed_with_the_named_secret() {
        let receiver = Receiver::start().await;
        let secrets = MapSecrets::default().with("hook-key", "correct horse");
        let mut webhook = connect(&config(&receiver, Some("hook-key")), &secrets)
            .await
            .unwrap();
        assert_eq!(
            webhook.name(),
            format!("webhook {} (signed)", receiver.url("/hook"))
        );
        assert!(!webhook.name().contains("horse"));
        // Pretty-printed on purpose: the receiver gets these exact bytes, not a re-encoding.
        let body =
            "{\n  \"specversion\": \"1.0\", \"id\": \"ev-1\", \"n\": 18446744073709551617\n}";
        let facts = facts();
        let item = event_item("ev-1", body, &facts);
        assert_eq!(within(webhook.deliver(&[item])).await, Delivery::Delivered);

        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        assert_eq!(request.body, body.as_bytes());
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-tideline-event-id"), Some("ev-1"));
        assert_eq!(request.header("x-tideline-kind"), Some("event"));
        // The receiver's check: recompute the HMAC over the raw body with the shared secret.
        let sent = request.header("x-tideline-signature").unwrap();
        let hex_mac = sent.strip_prefix("sha256=").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"correct horse").unwrap();
        mac.update(&request.body);
        mac.verify_slice(&hex::decode(hex_mac).unwrap())
            .expect("the signature verifies with the shared secret");
    }

    #[tokio::test]
    async fn a_finding_is_posted_as_its_json_and_unsigned_without_a_secret() {
        let receiver = Receiver::start().await;
        let mut webhook = connect(&config(&receiver, None), &MapSecrets::default())
            .await
            .unwrap();
        let json = finding_json();
        let facts = facts();
        let item = Item::Finding {
            key: "public-bucket|prod-logs",
            time_us: 1_714_903_200_000_000,
            json: &json,
            facts: &facts,
        };
        assert_eq!(within(webhook.deliver(&[item])).await, Delivery::Delivered);
        let request = &receiver.requests()[0];
        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(sent, json);
        assert_eq!(request.header("x-tideline-kind"), Some("finding"));
        assert_eq!(
            request.header("x-tideline-event-id"),
            Some("public-bucket|prod-logs")
        );
        assert_eq!(request.header("x-tideline-signature"), None);
    }

    #[tokio::test]
    async fn statuses_decide_retry_or_refusal_and_a_stop_midway_is_partial() {
        let receiver = Receiver::start().await;
        let mut webhook = connect(&config(&receiver, None), &MapSecrets::default())
            .await
            .unwrap();
        let facts = facts();
        let first = event_item("ev-1", "{}", &facts);
        let second = event_item("ev-2", "{}", &facts);

        receiver.reply(Reply::status(503).header("Retry-After", "7"));
        assert!(matches!(
            within(webhook.deliver(&[first])).await,
            Delivery::Retry { after: Some(after), .. } if after == Duration::from_secs(7)
        ));
        receiver.reply(Reply::status(401).body("bad signature"));
        assert!(matches!(
            within(webhook.deliver(&[first])).await,
            Delivery::Refused { cause } if cause.contains("401") && cause.contains("bad signature")
        ));
        receiver.reply(Reply::status(200));
        receiver.reply(Reply::status(429));
        match within(webhook.deliver(&[first, second])).await {
            Delivery::Partial {
                delivered,
                retry,
                rejected,
                ..
            } => {
                assert_eq!((delivered, retry), (vec![0], vec![1]));
                assert!(rejected.is_empty());
            }
            other => panic!("expected a partial delivery, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_receiver_that_is_not_listening_is_retried() {
        let port = super::super::testkit::closed_port();
        let config = DestinationConfig::Webhook {
            url: format!("http://127.0.0.1:{port}/hook"),
            hmac_secret: None,
        };
        let mut webhook = connect(&config, &MapSecrets::default()).await.unwrap();
        let facts = facts();
        let delivery = within(webhook.deliver(&[event_item("ev-1", "{}", &facts)])).await;
        assert!(
            matches!(&delivery, Delivery::Retry { after: None, cause } if cause.contains("connect")),
            "{delivery:?}"
        );
    }

    #[test]
    fn ids_a_header_cannot_carry_are_percent_encoded() {
        assert_eq!(header_text("ev-1"), "ev-1");
        assert_eq!(header_text("a\r\nX-Evil: 1"), "a%0D%0AX-Evil:%201");
        assert_eq!(header_text("é"), "%C3%A9");
    }

    #[test]
    fn the_signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
