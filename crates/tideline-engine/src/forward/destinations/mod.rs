//! destinations: delivers stored changes and findings to the tools a team already runs — a
//! signed webhook, a Slack channel, Splunk's HTTP Event Collector, an Elasticsearch/OpenSearch
//! index, a syslog server (issue 13). Each sender follows its receiver's own documentation,
//! cited at the top of its file; this file holds what they share: the items, the configs, the
//! secrets, and what a delivery attempt came to ([`Delivery`]).
//!
//! A destination is opened once with [`connect`] (config checked, secrets fetched, address
//! resolved) and then handed batches of at most [`Destination::max_batch`] items. It never
//! retries by itself and keeps nothing: the durable delivery loop above decides when to send
//! again, from the [`Delivery`] it gets back. Secrets are never printed: not in
//! [`Destination::name`], not in errors, not in `Debug`.

mod elasticsearch;
mod http;
mod slack;
mod splunk;
mod syslog;
mod webhook;

#[cfg(test)]
mod testkit;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use elasticsearch::BulkSender;
pub use slack::SlackSender;
pub use splunk::HecSender;
pub use syslog::SyslogSender;
pub use webhook::WebhookSender;

/// One thing to deliver.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// A stored event: its verbatim JSON body (the EventStream contract's CloudEvents object),
    /// with facts already extracted.
    Event {
        id: &'a str,
        source: &'a str,
        time_us: i64,
        body: &'a str,
        facts: &'a EventFacts,
    },
    /// A detection finding as JSON (an object with rule, severity, summary, time, key, events…).
    Finding {
        key: &'a str,
        time_us: i64,
        json: &'a serde_json::Value,
        facts: &'a EventFacts,
    },
}

impl<'a> Item<'a> {
    pub fn time_us(&self) -> i64 {
        match self {
            Item::Event { time_us, .. } | Item::Finding { time_us, .. } => *time_us,
        }
    }

    pub fn facts(&self) -> &'a EventFacts {
        match self {
            Item::Event { facts, .. } | Item::Finding { facts, .. } => facts,
        }
    }

    /// The event's id, or the finding's key: what a receiver sees as this item's identity.
    pub fn id(&self) -> &'a str {
        match self {
            Item::Event { id, .. } => id,
            Item::Finding { key, .. } => key,
        }
    }

    fn is_finding(&self) -> bool {
        matches!(self, Item::Finding { .. })
    }
}

/// What the forwarding rules and the human-readable formats need to know about an item,
/// extracted once by the caller (the one wire→model mapping stays in `wire`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFacts {
    /// `create`, `update` or `delete`; `None` for other events (and findings).
    pub change: Option<String>,
    pub event_type: String,
    pub asset_name: Option<String>,
    pub asset_type: Option<String>,
    pub provider: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub principal: Option<String>,
    pub method: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: Option<String>,
    /// The changed fields on one line (for a finding: its summary).
    pub summary: String,
    /// Findings only: `low`, `medium`, `high` or `critical`.
    pub severity: Option<String>,
    /// Findings only: the rule that raised it.
    pub rule: Option<String>,
}

/// A destination as written in the forwarding rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationConfig {
    /// One signed JSON POST per item.
    Webhook {
        url: String,
        /// The NAME of the secret that signs each body (HMAC-SHA256), not the secret.
        #[serde(default)]
        hmac_secret: Option<String>,
    },
    /// A Slack incoming webhook: one plain-text message per item.
    Slack {
        /// The incoming-webhook URL is itself a secret: the name of it.
        url_secret: String,
    },
    /// Splunk's HTTP Event Collector (`/services/collector/event`).
    SplunkHec {
        url: String,
        token_secret: String,
        #[serde(default)]
        sourcetype: Option<String>,
        #[serde(default)]
        index: Option<String>,
    },
    /// Elasticsearch or OpenSearch `_bulk`, one index per UTC day.
    Elasticsearch {
        url: String,
        /// `tideline-` → `tideline-2024.05.05`.
        #[serde(default = "default_index_prefix")]
        index_prefix: String,
        /// The name of a secret holding `user:password` (basic auth) or an API key value
        /// (the base64 `id:key` Elasticsearch hands out, sent as `ApiKey …`).
        #[serde(default)]
        auth_secret: Option<String>,
    },
    /// RFC 5424 syslog over TCP (octet counting) or UDP.
    Syslog {
        transport: SyslogTransport,
        /// `host:port`.
        address: String,
        #[serde(default)]
        app_name: Option<String>,
    },
}

fn default_index_prefix() -> String {
    "tideline-".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    Tcp,
    Udp,
}

/// Where named secrets come from (the OS keyring in the app; env or a test map elsewhere).
/// Never logged.
pub trait SecretSource: Send + Sync {
    fn secret(&self, name: &str) -> Option<String>;
}

/// Secrets held in memory: for tests and for callers that read them from elsewhere first.
#[derive(Default, Clone)]
pub struct MapSecrets(pub HashMap<String, String>);

impl MapSecrets {
    pub fn with(mut self, name: &str, value: &str) -> MapSecrets {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl SecretSource for MapSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

impl fmt::Debug for MapSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        write!(f, "MapSecrets({names:?}, values redacted)")
    }
}

/// What one delivery attempt came to. Indices in [`Delivery::Partial`] are positions in the
/// batch handed to [`Destination::deliver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver accepted every item of the batch.
    Delivered,
    /// Nothing is known to have been accepted; worth sending the whole batch again (5xx, 429,
    /// 408, connection refused/reset, timeouts): after `after` when the receiver said so
    /// (`Retry-After`), else on the caller's own backoff. Receivers may then see an item twice
    /// (delivery is at least once; Elasticsearch and webhook receivers can dedupe on the id).
    Retry {
        after: Option<Duration>,
        cause: String,
    },
    /// Will not succeed on retry (401/403 bad token, 400 bad request, 404 wrong URL, a
    /// redirect, a certificate the platform does not trust): stop this destination and keep
    /// what is pending until its configuration is fixed.
    Refused { cause: String },
    /// The receiver answered item by item (Elasticsearch `_bulk`), or a one-request-per-item
    /// sender stopped partway (webhook, Slack). Every index of the batch is in exactly one
    /// list: `delivered` are done; `retry` should be sent again (after `after`, if given);
    /// `rejected` were refused individually (a mapping error for that document) and will
    /// never be accepted as they are — record them, do not resend, and go on with the rest.
    /// A destination-wide refusal is never reported here: the next attempt, starting with the
    /// first `retry` item, returns [`Delivery::Refused`] itself.
    Partial {
        delivered: Vec<usize>,
        retry: Vec<usize>,
        rejected: Vec<(usize, String)>,
        after: Option<Duration>,
        cause: String,
    },
}

/// Why a destination could not be opened. Messages name the destination and the field, never
/// a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("{destination}: `{field}` is not a usable URL: {detail}")]
    InvalidUrl {
        destination: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error("{destination}: the secret `{name}` named by `{field}` is not set")]
    MissingSecret {
        destination: &'static str,
        field: &'static str,
        name: String,
    },
    #[error("{destination}: the secret `{name}` named by `{field}` is not usable: {detail}")]
    InvalidSecret {
        destination: &'static str,
        field: &'static str,
        name: String,
        detail: String,
    },
    #[error("{destination}: `{field}` {detail}")]
    InvalidConfig {
        destination: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error("syslog: the address `{address}` does not resolve: {detail}")]
    Unresolvable { address: String, detail: String },
    #[error("{destination}: the HTTP client could not be built: {detail}")]
    Client {
        destination: &'static str,
        detail: String,
    },
}

/// An open destination: one of the five senders.
pub enum Destination {
    Webhook(WebhookSender),
    Slack(SlackSender),
    SplunkHec(HecSender),
    Elasticsearch(BulkSender),
    Syslog(SyslogSender),
}

impl Destination {
    /// Sends one batch (at most [`Destination::max_batch`] items; an empty one is delivered at
    /// once). Every network wait is bounded, so this always returns.
    pub async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        if batch.is_empty() {
            return Delivery::Delivered;
        }
        match self {
            Destination::Webhook(sender) => sender.deliver(batch).await,
            Destination::Slack(sender) => sender.deliver(batch).await,
            Destination::SplunkHec(sender) => sender.deliver(batch).await,
            Destination::Elasticsearch(sender) => sender.deliver(batch).await,
            Destination::Syslog(sender) => sender.deliver(batch).await,
        }
    }

    /// The most items one [`Destination::deliver`] call should be handed.
    pub fn max_batch(&self) -> usize {
        match self {
            Destination::Webhook(_) | Destination::Slack(_) => 1,
            Destination::SplunkHec(_) => splunk::MAX_BATCH,
            Destination::Elasticsearch(_) => elasticsearch::MAX_BATCH,
            Destination::Syslog(_) => syslog::MAX_BATCH,
        }
    }

    /// For logs and the UI, e.g. `webhook http://127.0.0.1:9/hook`; never a secret.
    pub fn name(&self) -> String {
        match self {
            Destination::Webhook(sender) => sender.name(),
            Destination::Slack(sender) => sender.name(),
            Destination::SplunkHec(sender) => sender.name(),
            Destination::Elasticsearch(sender) => sender.name(),
            Destination::Syslog(sender) => sender.name(),
        }
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Destination({})", self.name())
    }
}

/// Opens a destination: validates the config (URLs parse, plain http only to loopback, the
/// syslog address resolves) and fetches its secrets.
pub async fn connect(
    config: &DestinationConfig,
    secrets: &dyn SecretSource,
) -> Result<Destination, DestinationError> {
    Ok(match config {
        DestinationConfig::Webhook { url, hmac_secret } => {
            Destination::Webhook(WebhookSender::open(url, hmac_secret.as_deref(), secrets)?)
        }
        DestinationConfig::Slack { url_secret } => {
            Destination::Slack(SlackSender::open(url_secret, secrets)?)
        }
        DestinationConfig::SplunkHec {
            url,
            token_secret,
            sourcetype,
            index,
        } => Destination::SplunkHec(HecSender::open(
            url,
            token_secret,
            sourcetype.as_deref(),
            index.as_deref(),
            secrets,
        )?),
        DestinationConfig::Elasticsearch {
            url,
            index_prefix,
            auth_secret,
        } => Destination::Elasticsearch(BulkSender::open(
            url,
            index_prefix,
            auth_secret.as_deref(),
            secrets,
        )?),
        DestinationConfig::Syslog {
            transport,
            address,
            app_name,
        } => {
            Destination::Syslog(SyslogSender::open(*transport, address, app_name.as_deref()).await?)
        }
    })
}

/// Fetches a named secret, naming the field when it is missing or blank.
fn fetch_secret(
    secrets: &dyn SecretSource,
    destination: &'static str,
    field: &'static str,
    name: &str,
) -> Result<String, DestinationError> {
    match secrets.secret(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(DestinationError::MissingSecret {
            destination,
            field,
            name: name.to_owned(),
        }),
    }
}

/// The JSON an item stands for in a log store (Splunk's `event`, an Elasticsearch document):
/// the event's body read under the one JSON policy ([`crate::json`], so exact numbers stay
/// exact), or the finding. Serialize it with `serde_json_lenient`, which writes those numbers.
enum Document {
    Event(crate::json::Value),
    Finding(serde_json::Value),
}

impl Document {
    fn of(item: &Item<'_>) -> Document {
        match item {
            Item::Event { body, .. } => Document::Event(crate::json::parse(body).unwrap_or_else(
                // Never so for a stored event (wire read it); kept whole rather than dropped.
                |_| {
                    let mut object = crate::json::Map::new();
                    object.insert(
                        "unreadable_body".into(),
                        crate::json::Value::String((*body).to_owned()),
                    );
                    crate::json::Value::Object(object)
                },
            )),
            Item::Finding { json, .. } => Document::Finding((*json).clone()),
        }
    }

    /// Adds a string member to an object document (a non-object is wrapped as `value`).
    fn with_member(self, name: &str, text: String) -> Document {
        match self {
            Document::Event(crate::json::Value::Object(mut object)) => {
                object.insert(name.to_owned(), crate::json::Value::String(text));
                Document::Event(crate::json::Value::Object(object))
            }
            Document::Event(other) => {
                let mut object = crate::json::Map::new();
                object.insert(name.to_owned(), crate::json::Value::String(text));
                object.insert("value".into(), other);
                Document::Event(crate::json::Value::Object(object))
            }
            Document::Finding(serde_json::Value::Object(mut object)) => {
                object.insert(name.to_owned(), serde_json::Value::String(text));
                Document::Finding(serde_json::Value::Object(object))
            }
            Document::Finding(other) => {
                let mut object = serde_json::Map::new();
                object.insert(name.to_owned(), serde_json::Value::String(text));
                object.insert("value".into(), other);
                Document::Finding(serde_json::Value::Object(object))
            }
        }
    }
}

impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Document::Event(value) => value.serialize(serializer),
            Document::Finding(value) => value.serialize(serializer),
        }
    }
}

/// The outcome of a one-request-per-item sender that stopped at item `delivered.len()` with
/// `failed`: that outcome alone when nothing went yet, else the items sent and the rest to
/// send again (a refusal then shows on the next attempt, which starts with the failed item).
fn stopped_partway(delivered: Vec<usize>, len: usize, failed: Delivery) -> Delivery {
    if delivered.is_empty() {
        return failed;
    }
    let (after, cause) = match failed {
        Delivery::Retry { after, cause } => (after, cause),
        Delivery::Refused { cause } => (None, cause),
        other => (None, format!("{other:?}")),
    };
    Delivery::Partial {
        retry: (delivered.len()..len).collect(),
        delivered,
        rejected: Vec::new(),
        after,
        cause,
    }
}

/// Replaces CR, LF and every other control character with a space: one value stays on one
/// line in every format, so it cannot fake another field or frame.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_read_from_the_rules_file_shape() {
        let configs: Vec<DestinationConfig> = serde_json::from_str(
            r#"[
              {"kind": "webhook", "url": "https://hooks.example.com/x", "hmac_secret": "hook"},
              {"kind": "slack", "url_secret": "slack-url"},
              {"kind": "splunk_hec", "url": "https://splunk:8088", "token_secret": "hec"},
              {"kind": "elasticsearch", "url": "https://es:9200"},
              {"kind": "syslog", "transport": "tcp", "address": "127.0.0.1:514"}
            ]"#,
        )
        .unwrap();
        assert_eq!(
            configs[3],
            DestinationConfig::Elasticsearch {
                url: "https://es:9200".into(),
                index_prefix: "tideline-".into(),
                auth_secret: None,
            }
        );
        assert_eq!(
            configs[4],
            DestinationConfig::Syslog {
                transport: SyslogTransport::Tcp,
                address: "127.0.0.1:514".into(),
                app_name: None,
            }
        );
        // A misspelt field is an error, not a silently unsigned webhook.
        let typo = serde_json::from_str::<DestinationConfig>(
            r#"{"kind": "webhook", "url": "https://h.example.com", "hmac_secert": "x"}"#,
        );
        assert!(typo.is_err());
    }

    #[tokio::test]
    async fn a_missing_secret_is_named_without_opening_anything() {
        let config = DestinationConfig::SplunkHec {
            url: "https://splunk.example.com:8088".into(),
            token_secret: "hec-token".into(),
            sourcetype: None,
            index: None,
        };
        let error = connect(&config, &MapSecrets::default()).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "splunk_hec: the secret `hec-token` named by `token_secret` is not set"
        );
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let secrets = MapSecrets::default().with("hook", "s3cr3t-value");
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
    }

    #[test]
    fn one_line_turns_every_control_character_into_a_space() {
        assert_eq!(one_line("a\r\nb\tc\u{85}d"), "a  b c d");
        assert_eq!(truncate_at_char("héllo", 2), "h");
    }
}
