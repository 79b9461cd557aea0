//! slack: posts one plain-text message per item to a Slack incoming webhook, readable at a
//! glance in a channel and inert whatever an attacker put in the event. Follows Slack's
//! "Sending messages using incoming webhooks" (a JSON POST of a message payload to the
//! webhook URL, which is itself the credential), "Formatting text for app surfaces" §Escaping
//! text (`&`, `<`, `>` are control characters: send `&amp;`, `&lt;`, `&gt;`, and only those),
//! and the message payload's `mrkdwn` flag ("Disable Slack markup parsing by setting to false").
//!
//! Payload: `{"text": "…", "mrkdwn": false}`. The text is a headline (what changed) and one
//! labelled line per fact — `Who:` (the principal, shortened), `Changed:` (the summary),
//! `Method:`, `Source IP:`, `User agent:`, `Where:` — each value on its own line with CR/LF
//! and other control characters turned into spaces, so a value cannot fake another line.
//! Escaping makes `<!channel>`, `<@U123>` and `<http://x|y>` plain text; a bare `@here`,
//! `@channel` or `@everyone` (which Slack links only when asked to, with `link_names`) also
//! gets an invisible WORD JOINER after its `@`, so no setting can turn it into a ping.

use reqwest::header::CONTENT_TYPE;
use serde::Serialize;

use super::http;
use super::{
    Delivery, DestinationError, EventFacts, Item, SecretSource, fetch_secret, one_line,
    stopped_partway, truncate_at_char,
};

const DESTINATION: &str = "slack";
/// Per value: enough for any ARN or summary line; the message stays well under Slack's limits.
const MAX_VALUE_BYTES: usize = 500;

pub struct SlackSender {
    client: reqwest::Client,
    /// The incoming-webhook URL: a secret, never printed.
    url: url::Url,
    secret_name: String,
}

#[derive(Serialize)]
struct Payload<'a> {
    text: &'a str,
    mrkdwn: bool,
}

impl SlackSender {
    pub(super) fn open(
        url_secret: &str,
        secrets: &dyn SecretSource,
    ) -> Result<SlackSender, DestinationError> {
        let url = fetch_secret(secrets, DESTINATION, "url_secret", url_secret)?;
        let url = http::parse_url(&url, DESTINATION, "url_secret").map_err(|error| {
            DestinationError::InvalidSecret {
                destination: DESTINATION,
                field: "url_secret",
                name: url_secret.to_owned(),
                detail: match error {
                    DestinationError::InvalidUrl { detail, .. } => detail,
                    other => other.to_string(),
                },
            }
        })?;
        Ok(SlackSender {
            client: http::client(DESTINATION)?,
            url,
            secret_name: url_secret.to_owned(),
        })
    }

    pub(super) fn name(&self) -> String {
        format!("slack (incoming webhook in secret `{}`)", self.secret_name)
    }

    pub(super) async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        let mut delivered = Vec::new();
        for (index, item) in batch.iter().enumerate() {
            let text = message(item);
            let payload = Payload {
                text: &text,
                mrkdwn: false,
            };
            let body = serde_json::to_string(&payload).unwrap_or_default();
            let request = self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body);
            let outcome = match http::send(request).await {
                Ok(answer) => http::by_status(&answer, "Slack"),
                Err(failed) => failed,
            };
            match outcome {
                Delivery::Delivered => delivered.push(index),
                failed => return stopped_partway(delivered, batch.len(), failed),
            }
        }
        Delivery::Delivered
    }
}

/// The message text for one item (already escaped for Slack).
pub(super) fn message(item: &Item<'_>) -> String {
    let facts = item.facts();
    let mut lines = Vec::new();
    match item {
        Item::Event { .. } => {
            let what = match &facts.change {
                Some(change) => change.as_str(),
                None => facts.event_type.as_str(),
            };
            let mut headline = format!("Tideline: {}", value(what));
            for part in [&facts.asset_type, &facts.asset_name].into_iter().flatten() {
                headline.push(' ');
                headline.push_str(&value(part));
            }
            lines.push(headline);
            push(
                &mut lines,
                "Who",
                facts.principal.as_deref().map(short_principal),
            );
            push(&mut lines, "Changed", non_empty(&facts.summary));
        }
        Item::Finding { .. } => {
            let rule = facts.rule.as_deref().unwrap_or("finding");
            let severity = facts.severity.as_deref().unwrap_or("unrated");
            lines.push(format!(
                "Tideline finding ({}): {}",
                value(severity),
                value(rule)
            ));
            push(&mut lines, "What", non_empty(&facts.summary));
            push(&mut lines, "Asset", asset(facts).as_deref());
            push(
                &mut lines,
                "Who",
                facts.principal.as_deref().map(short_principal),
            );
        }
    }
    push(&mut lines, "Method", facts.method.as_deref());
    push(&mut lines, "Source IP", facts.source_ip.as_deref());
    push(&mut lines, "User agent", facts.user_agent.as_deref());
    let place: Vec<&str> = [&facts.provider, &facts.account, &facts.region]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    push(&mut lines, "Where", non_empty(&place.join(" ")));
    lines.join("\n")
}

fn push(lines: &mut Vec<String>, label: &str, text: Option<&str>) {
    if let Some(text) = text {
        lines.push(format!("{label}: {}", value(text)));
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.trim().is_empty()).then_some(text)
}

fn asset(facts: &EventFacts) -> Option<String> {
    let parts: Vec<&str> = [&facts.asset_type, &facts.asset_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// One value: on one line, bounded, escaped, no mention.
fn value(text: &str) -> String {
    let line = one_line(truncate_at_char(text, MAX_VALUE_BYTES));
    defuse_mentions(&escape(line.trim()))
}

/// Slack's three control characters as HTML entities.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `@here` → `@\u{2060}here` (and `@channel`, `@everyone`, any case).
fn defuse_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let lower = rest.to_ascii_lowercase();
        if ["here", "channel", "everyone"]
            .iter()
            .any(|word| lower.starts_with(word))
        {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// The readable end of a principal: `arn:aws:iam::1:user/alice` → `alice`,
/// `arn:aws:sts::1:assumed-role/Admin/bob` → `Admin/bob`; anything else as it is.
pub(super) fn short_principal(principal: &str) -> &str {
    // arn:partition:service:region:account:resource (the resource may hold colons itself).
    let resource = match principal.splitn(6, ':').collect::<Vec<_>>()[..] {
        ["arn", _, _, _, _, resource] => resource,
        _ => return principal,
    };
    for kind in [
        "user/",
        "assumed-role/",
        "role/",
        "federated-user/",
        "group/",
    ] {
        if let Some(name) = resource.strip_prefix(kind) {
            return name;
        }
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{Receiver, Reply, event_item, facts, within};
    use super::super::{DestinationConfig, MapSecrets, connect};
    use super::*;

    #[tokio::test]
    async fn posts_one_plain_text_message_with_every_hostile_value_inert() {
        let receiver = Receiver::start().await;
        let secret_url = receiver.url("/services/T000/B000/XXXXSECRET");
        let secrets = MapSecrets::default().with("slack-url", &secret_url);
        let config = DestinationConfig::Slack {
            url_secret: "slack-url".into(),
        };
        let mut slack = connect(&config, &secrets).await.unwrap();
        assert!(!slack.name().contains("XXXXSECRET"), "{}", slack.name());

        let mut facts = facts();
        facts.user_agent = Some("<!channel> <http://evil|click> & @here".into());
        facts.principal = Some("arn:aws:iam::123456789012:user/mallory\nWho: root".into());
        receiver.reply(Reply::status(200).body("ok"));
        let item = event_item("ev-1", "{}", &facts);
        assert_eq!(within(slack.deliver(&[item])).await, Delivery::Delivered);

        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.path, "/services/T000/B000/XXXXSECRET");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let payload: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(payload["mrkdwn"], false);
        assert_eq!(payload.as_object().unwrap().len(), 2, "{payload}");
        let text = payload["text"].as_str().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Tideline: update s3_bucket prod-logs",
                "Who: mallory Who: root",
                "Changed: policy.Statement[0].Principal: \"arn:…\" → \"*\"",
                "Method: PutBucketPolicy",
                "Source IP: 203.0.113.7",
                "User agent: &lt;!channel&gt; &lt;http://evil|click&gt; &amp; @\u{2060}here",
                "Where: aws 123456789012 eu-west-1",
            ]
        );
        // Nothing Slack would parse as a control sequence survives.
        assert!(!text.contains('<') && !text.contains('>'));
    }

    #[tokio::test]
    async fn a_finding_names_its_rule_and_severity() {
        let receiver = Receiver::start().await;
        let secrets = MapSecrets::default().with("slack-url", &receiver.url("/hook"));
        let config = DestinationConfig::Slack {
            url_secret: "slack-url".into(),
        };
        let mut slack = connect(&config, &secrets).await.unwrap();
        let mut facts = facts();
        facts.rule = Some("public-bucket".into());
        facts.severity = Some("high".into());
        facts.summary = "prod-logs made public".into();
        let json = super::super::testkit::finding_json();
        let item = Item::Finding {
            key: "public-bucket|prod-logs",
            time_us: 0,
            json: &json,
            facts: &facts,
        };
        assert_eq!(within(slack.deliver(&[item])).await, Delivery::Delivered);
        let payload: serde_json::Value =
            serde_json::from_slice(&receiver.requests()[0].body).unwrap();
        let text = payload["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                "Tideline finding (high): public-bucket\nWhat: prod-logs made public\nAsset: s3_bucket prod-logs\nWho: alice\n"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_archived_channel_is_refused_and_a_rate_limit_retried() {
        let receiver = Receiver::start().await;
        let secrets = MapSecrets::default().with("slack-url", &receiver.url("/hook"));
        let config = DestinationConfig::Slack {
            url_secret: "slack-url".into(),
        };
        let mut slack = connect(&config, &secrets).await.unwrap();
        let facts = facts();
        let item = event_item("ev-1", "{}", &facts);
        receiver.reply(Reply::status(410).body("channel_is_archived"));
        assert!(matches!(
            within(slack.deliver(&[item])).await,
            Delivery::Refused { cause } if cause.contains("channel_is_archived")
        ));
        receiver.reply(Reply::status(429).header("Retry-After", "30"));
        assert!(matches!(
            within(slack.deliver(&[item])).await,
            Delivery::Retry { after: Some(after), .. } if after.as_secs() == 30
        ));
    }

    #[tokio::test]
    async fn a_webhook_url_secret_that_is_not_a_url_is_named_but_not_quoted() {
        let secrets = MapSecrets::default().with("slack-url", "http://hooks.example.com/T0/SEKRIT");
        let config = DestinationConfig::Slack {
            url_secret: "slack-url".into(),
        };
        let error = connect(&config, &secrets).await.unwrap_err().to_string();
        assert!(
            error.contains("slack-url") && !error.contains("SEKRIT"),
            "{error}"
        );
    }

    #[test]
    fn principals_are_shortened_to_their_readable_end() {
        assert_eq!(short_principal("arn:aws:iam::1:user/alice"), "alice");
        assert_eq!(
            short_principal("arn:aws:sts::1:assumed-role/Admin/bob"),
            "Admin/bob"
        );
        assert_eq!(short_principal("alice@example.com"), "alice@example.com");
        assert_eq!(
            defuse_mentions("@Channel a@here"),
            "@\u{2060}Channel a@\u{2060}here"
        );
    }
}
