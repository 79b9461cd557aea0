//! http: what the four HTTP destinations share — the URL rule, the client, and how an answer
//! becomes a [`Delivery`]. Follows RFC 9110 (status classes, `Retry-After` §10.2.3) and the
//! transport of [`crate::ingest`]: reqwest over rustls with the ring provider and the
//! platform's roots, no proxy; `https://` everywhere, plain `http://` to loopback only.
//!
//! Status → delivery: 2xx delivered; 408, 425, 429 and 5xx retried (after `Retry-After`, at
//! most [`MAX_RETRY_AFTER`]); every other answer (3xx, 400, 401, 403, 404, 413, …) refused.
//! Redirects are not followed: a destination's URL is configured, so a redirect is a
//! configuration to fix (and following it could carry a token elsewhere).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{Delivery, DestinationError};
use crate::ingest::{Endpoint, IngestError};

/// How long one request (connect, send, answer) may take in all.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A receiver cannot park a destination for longer than this with one `Retry-After`.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// How much of an answer is read: enough for a `_bulk` answer to a full batch.
pub(super) const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A destination URL under the ingest rule (`https://`, or `http://` to loopback), with no
/// credentials in it (those belong in a secret).
pub(super) fn parse_url(
    text: &str,
    destination: &'static str,
    field: &'static str,
) -> Result<url::Url, DestinationError> {
    let invalid = |detail: String| DestinationError::InvalidUrl {
        destination,
        field,
        detail,
    };
    // The rule's own detail, never the URL text: some URLs (Slack's) are secrets.
    let endpoint = Endpoint::parse(text.trim()).map_err(|error| match error {
        IngestError::InvalidEndpoint { detail, .. } => invalid(detail),
        other => invalid(other.to_string()),
    })?;
    let url = url::Url::parse(endpoint.as_str()).map_err(|error| invalid(error.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "it carries credentials; name a secret for them instead".into(),
        ));
    }
    Ok(url)
}

/// `base` with `suffix` appended to its path (`https://h:8088/` + `services/collector/event`),
/// unless the path already ends with it. The query is kept.
pub(super) fn join_path(base: &url::Url, suffix: &str) -> url::Url {
    let mut url = base.clone();
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with(&format!("/{suffix}")) {
        url.set_path(&format!("{path}/{suffix}"));
    }
    url
}

/// A URL as shown in a destination's name: no credentials, no query (which may hold a token).
pub(super) fn shown(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// The one HTTP client of a destination: the ingest transport, without redirects.
pub(super) fn client(destination: &'static str) -> Result<reqwest::Client, DestinationError> {
    // reqwest's rustls uses the process's default provider; Tideline ships ring. An error
    // means one is installed already, which is then used.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| DestinationError::Client {
            destination,
            detail: chain_text(&error.without_url()),
        })
}

/// An answer, read up to [`MAX_ANSWER_BYTES`].
pub(super) struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Sends a request and reads its answer; a transport failure is already a [`Delivery`].
pub(super) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Delivery> {
    let mut response = request.send().await.map_err(transport_failure)?;
    let status = response.status();
    let retry_after = retry_after(response.headers(), Utc::now());
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is in; a body cut short only loses detail (and a 2xx stays a 2xx).
            Err(_) => break,
        }
    }
    body.truncate(MAX_ANSWER_BYTES);
    Ok(Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// What a status means when the body adds nothing.
pub(super) fn by_status(answer: &Answer, what: &str) -> Delivery {
    let status = answer.status;
    if status.is_success() {
        return Delivery::Delivered;
    }
    let cause = format!("{what} answered {status}{}", excerpt(&answer.body));
    if retryable(status) {
        Delivery::Retry {
            after: answer.retry_after,
            cause,
        }
    } else {
        Delivery::Refused { cause }
    }
}

/// 408, 425, 429 and every 5xx: the receiver may well take it later.
pub(super) fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.as_u16() == 425
}

/// `: <the first line of the body>`, short, for a cause.
pub(super) fn excerpt(body: &str) -> String {
    let line = super::one_line(body.trim());
    if line.is_empty() {
        return String::new();
    }
    let cut = super::truncate_at_char(&line, 200);
    format!(": {cut}")
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, capped at
/// [`MAX_RETRY_AFTER`]; a date in the past means now.
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let after = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let date = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        (date - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(after.min(MAX_RETRY_AFTER))
}

/// A request that got no answer: retried, unless the platform refused the certificate (that
/// does not fix itself).
fn transport_failure(error: reqwest::Error) -> Delivery {
    let error = error.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(rustls::Error::InvalidCertificate(reason)) =
            current.downcast_ref::<rustls::Error>()
        {
            return Delivery::Refused {
                cause: format!("the receiver's certificate was rejected: {reason:?}"),
            };
        }
        source = current.source();
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    Delivery::Retry {
        after: None,
        cause: format!("the request {what}: {}", chain_text(&error)),
    }
}

/// An error and its causes, joined: the one the stream client uses.
pub(super) use crate::ingest::chain_text;

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn urls_follow_the_ingest_rule_and_carry_no_credentials() {
        assert!(parse_url("https://hooks.example.com/x", "webhook", "url").is_ok());
        assert!(parse_url("http://127.0.0.1:9/hook", "webhook", "url").is_ok());
        assert!(parse_url("http://hooks.example.com/x", "webhook", "url").is_err());
        assert!(parse_url("https://u:p@es.example.com", "elasticsearch", "url").is_err());
        let secret = parse_url(
            "http://hooks.example.com/T0/B0/sekrit",
            "slack",
            "url_secret",
        )
        .unwrap_err()
        .to_string();
        assert!(!secret.contains("sekrit"), "{secret}");
    }

    #[test]
    fn paths_are_joined_once_and_names_hide_queries() {
        let base = url::Url::parse("https://splunk.example.com:8088/?x=1").unwrap();
        let joined = join_path(&base, "services/collector/event");
        assert_eq!(
            joined.as_str(),
            "https://splunk.example.com:8088/services/collector/event?x=1"
        );
        assert_eq!(join_path(&joined, "services/collector/event"), joined);
        assert_eq!(
            shown(&joined),
            "https://splunk.example.com:8088/services/collector/event"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let now = DateTime::parse_from_rfc3339("2024-05-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 05 May 2024 10:01:30 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&headers, now), Some(MAX_RETRY_AFTER));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn statuses_map_to_deliveries() {
        let answer = |code: u16| Answer {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            body: String::new(),
        };
        assert_eq!(by_status(&answer(204), "x"), Delivery::Delivered);
        for code in [408, 425, 429, 500, 502, 503] {
            assert!(
                matches!(by_status(&answer(code), "x"), Delivery::Retry { .. }),
                "{code}"
            );
        }
        for code in [301, 400, 401, 403, 404, 413] {
            assert!(
                matches!(by_status(&answer(code), "x"), Delivery::Refused { .. }),
                "{code}"
            );
        }
    }
}
