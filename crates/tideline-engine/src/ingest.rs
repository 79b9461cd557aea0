//! ingest: subscribes to an EventStream over SSE (eventsource-client) and hands every change
//! frame to the session writer, resuming from the durable stream position across disconnects
//! and restarts.
//!
//! Reconnection is ours, not the client library's: each connection is one client stream, and
//! before every reconnect the writer is flushed so `Last-Event-ID` is the last id durably
//! stored — never one still in a queue. 401/403 stop recording at once; everything else is
//! retried with exponential backoff and jitter, starting from the server's `retry:` when sent.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventsource_client::{self as sse, Client};
use futures::StreamExt;
use launchdarkly_sdk_transport::{HttpTransport, HyperTransport};
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::model::PositionedFrame;
use crate::store::{SessionWriter, StoreError, WriterTotals};
use crate::wire;

/// An EventStream endpoint: `https://…`, or `http://` on the loopback interface only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(url::Url);

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, IngestError> {
        let invalid = |detail: &str| IngestError::InvalidEndpoint {
            endpoint: text.to_owned(),
            detail: detail.to_owned(),
        };
        let url = url::Url::parse(text).map_err(|error| invalid(&error.to_string()))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(invalid("the URL has no host")),
        };
        match url.scheme() {
            "https" => Ok(Endpoint(url)),
            "http" if loopback => Ok(Endpoint(url)),
            "http" => Err(invalid(
                "plain http is only allowed to 127.0.0.1, [::1] or localhost",
            )),
            _ => Err(invalid("the URL must start with https://")),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The EventStream API key. It is never printed, serialized or stored by the engine.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> Result<ApiKey, IngestError> {
        let key = key.trim().to_owned();
        if key.is_empty() || !key.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(IngestError::InvalidApiKey);
        }
        Ok(ApiKey(key))
    }

    /// The key itself, for handing to a secret store. Never log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How patient the recorder is.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// No byte at all (not even a keep-alive) for this long means the connection is dead.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// The first reconnect delay, until the server sends `retry:`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Where the connection stands, for a status bar or progress line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// No recorder: a saved session opened for review.
    Offline,
    Connecting,
    Live,
    Reconnecting {
        attempt: u32,
        next_try_at: DateTime<Utc>,
        reason: String,
    },
    Stopped {
        reason: String,
    },
}

/// The recorder's state and counters. `stored`, `duplicates`, `quarantined` and
/// `newest_event_time` are the session's totals; `received` counts this run's change frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestStatus {
    pub state: ConnectionState,
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub newest_event_time: Option<DateTime<Utc>>,
}

impl IngestStatus {
    fn starting(totals: &WriterTotals) -> IngestStatus {
        let mut status = IngestStatus {
            state: ConnectionState::Connecting,
            received: 0,
            stored: 0,
            duplicates: 0,
            quarantined: 0,
            newest_event_time: None,
        };
        status.absorb(totals);
        status
    }

    fn absorb(&mut self, totals: &WriterTotals) {
        self.stored = totals.stored;
        self.duplicates = totals.duplicates;
        self.quarantined = totals.quarantined;
        self.newest_event_time = totals.newest_time;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "API key rejected by the EventStream (HTTP {status}); check the key, it may be wrong or revoked"
    )]
    ApiKeyRejected { status: u16 },
    #[error("the EventStream refused the request (HTTP {status}); check the endpoint URL")]
    EndpointRejected { status: u16 },
    #[error("invalid endpoint {endpoint:?}: {detail}")]
    InvalidEndpoint { endpoint: String, detail: String },
    #[error("the API key is empty or has characters an HTTP header cannot carry")]
    InvalidApiKey,
    #[error("cannot set up the HTTP client: {0}")]
    Transport(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records from `endpoint` into `writer` until `cancel` fires or a fatal error occurs.
/// Status changes are published on the returned receiver.
pub struct Recorder {
    endpoint: Endpoint,
    key: ApiKey,
    options: IngestOptions,
    status: watch::Sender<IngestStatus>,
}

/// How one connection ended.
enum ConnectionEnd {
    Cancelled,
    Retry { reason: String, delivered: bool },
}

impl Recorder {
    pub fn new(
        endpoint: Endpoint,
        key: ApiKey,
        options: IngestOptions,
        writer: &SessionWriter,
    ) -> Recorder {
        let (status, _) = watch::channel(IngestStatus::starting(&writer.totals().borrow()));
        Recorder {
            endpoint,
            key,
            options,
            status,
        }
    }

    pub fn status(&self) -> watch::Receiver<IngestStatus> {
        self.status.subscribe()
    }

    /// Runs until cancelled (`Ok`) or stopped by a fatal error (`Err`); the last status is
    /// `Stopped` with the reason either way. Everything received is flushed before returning.
    pub async fn run(
        &self,
        writer: &SessionWriter,
        cancel: CancellationToken,
    ) -> Result<(), IngestError> {
        let result = self.run_connections(writer, &cancel).await;
        let flushed = writer.flush().await;
        let reason = match (&result, &flushed) {
            (Err(error), _) => error.to_string(),
            (Ok(()), Err(error)) => error.to_string(),
            (Ok(()), Ok(_)) => "recording stopped".to_owned(),
        };
        self.status.send_modify(|status| {
            status.absorb(&writer.totals().borrow());
            status.state = ConnectionState::Stopped { reason };
        });
        result?;
        flushed?;
        Ok(())
    }

    async fn run_connections(
        &self,
        writer: &SessionWriter,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let transport = HyperTransport::builder()
            .connect_timeout(self.options.connect_timeout)
            .read_timeout(self.options.idle_timeout)
            .disable_proxy()
            .build_https()
            .map_err(|error| IngestError::Transport(error.to_string()))?;
        let mut backoff_base = self.options.initial_backoff;
        let mut attempt: u32 = 0;
        loop {
            let position = writer.flush().await?;
            let end = self
                .connect_once(&transport, position, writer, cancel, &mut backoff_base)
                .await?;
            let reason = match end {
                ConnectionEnd::Cancelled => return Ok(()),
                ConnectionEnd::Retry { reason, delivered } => {
                    attempt = if delivered { 1 } else { attempt + 1 };
                    reason
                }
            };
            let delay = backoff_delay(backoff_base, self.options.max_backoff, attempt);
            let next_try_at = Utc::now() + delay;
            self.status.send_modify(|status| {
                status.state = ConnectionState::Reconnecting {
                    attempt,
                    next_try_at,
                    reason,
                };
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One connection, from request to end of stream.
    async fn connect_once(
        &self,
        transport: &impl HttpTransport,
        position: Option<String>,
        writer: &SessionWriter,
        cancel: &CancellationToken,
        backoff_base: &mut Duration,
    ) -> Result<ConnectionEnd, IngestError> {
        self.status.send_modify(|status| {
            if !matches!(status.state, ConnectionState::Reconnecting { .. }) {
                status.state = ConnectionState::Connecting;
            }
        });
        let client = self.client(transport.clone(), position)?;
        let mut stream = client.stream();
        let mut totals = writer.totals();
        let mut delivered = false;
        loop {
            let item = tokio::select! {
                _ = cancel.cancelled() => return Ok(ConnectionEnd::Cancelled),
                Ok(()) = totals.changed() => {
                    self.status.send_modify(|status| status.absorb(&totals.borrow_and_update()));
                    continue;
                }
                item = stream.next() => item,
            };
            match item {
                None => {
                    return Ok(ConnectionEnd::Retry {
                        reason: "the stream ended".into(),
                        delivered,
                    });
                }
                Some(Ok(sse::SSE::Connected(_))) => {
                    self.status
                        .send_modify(|status| status.state = ConnectionState::Live);
                }
                Some(Ok(sse::SSE::Comment(_))) => {}
                Some(Ok(sse::SSE::Event(event))) => {
                    if let Some(retry) = event.retry {
                        *backoff_base = Duration::from_millis(retry.max(1));
                    }
                    let Some(frame) = wire::decode_sse_event(&event.event_type, event.data) else {
                        continue;
                    };
                    writer
                        .send(PositionedFrame {
                            frame,
                            sse_id: event.id,
                            received_at: Utc::now(),
                        })
                        .await?;
                    delivered = true;
                    self.status.send_modify(|status| {
                        status.received += 1;
                        status.state = ConnectionState::Live;
                    });
                }
                Some(Err(error)) => {
                    if let sse::Error::UnexpectedResponse(response, _) = &error {
                        let status = response.status();
                        match status {
                            401 | 403 => return Err(IngestError::ApiKeyRejected { status }),
                            400..=499 if status != 408 && status != 429 => {
                                return Err(IngestError::EndpointRejected { status });
                            }
                            _ => {}
                        }
                    }
                    return Ok(ConnectionEnd::Retry {
                        reason: describe(&error, &self.options),
                        delivered,
                    });
                }
            }
        }
    }

    fn client<T: HttpTransport>(
        &self,
        transport: T,
        position: Option<String>,
    ) -> Result<impl Client, IngestError> {
        let invalid = |error: sse::Error| IngestError::InvalidEndpoint {
            endpoint: self.endpoint.to_string(),
            detail: error.to_string(),
        };
        let mut builder = sse::ClientBuilder::for_url(self.endpoint.as_str())
            .map_err(invalid)?
            .header("Authorization", &format!("Bearer {}", self.key.0))
            .map_err(|_| IngestError::InvalidApiKey)?
            .header("Accept", "text/event-stream")
            .map_err(invalid)?
            .reconnect(
                sse::ReconnectOptions::reconnect(false)
                    .retry_initial(false)
                    .build(),
            );
        // An id that cannot travel in a header cannot resume; start over and let
        // deduplication absorb the replay rather than never connecting again.
        if let Some(id) = position.filter(|id| id.bytes().all(|byte| (0x20..0x7f).contains(&byte)))
        {
            builder = builder.last_event_id(id);
        }
        Ok(builder.build_with_transport(transport))
    }
}

fn describe(error: &sse::Error, options: &IngestOptions) -> String {
    match error {
        sse::Error::TimedOut => {
            format!("no data for {} s", options.idle_timeout.as_secs())
        }
        sse::Error::Eof => "the server closed the stream".to_owned(),
        sse::Error::UnexpectedResponse(response, _) => {
            format!("the server answered HTTP {}", response.status())
        }
        other => other.to_string(),
    }
}

/// Exponential backoff with equal jitter: half of the step is fixed, half random, so many
/// clients dropped at once do not come back at the same instant.
fn backoff_delay(base: Duration, max: Duration, attempt: u32) -> Duration {
    let step = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(max);
    let half = step / 2;
    half + Duration::from_millis(rand::random_range(0..=half.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_or_loopback_http() {
        assert!(Endpoint::parse("https://streaming.opshelm.com/v1/consume/stream").is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:8080/v1/consume/stream").is_ok());
        assert!(Endpoint::parse("http://[::1]:8080/v1/consume/stream").is_ok());
        assert!(Endpoint::parse("http://localhost:8080/v1/consume/stream").is_ok());
        assert!(Endpoint::parse("http://example.com/v1/consume/stream").is_err());
        assert!(Endpoint::parse("http://10.0.0.1/v1/consume/stream").is_err());
        assert!(Endpoint::parse("ftp://127.0.0.1/").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn api_keys_are_never_printed() {
        let key = ApiKey::new("s3cret-key".into()).unwrap();
        assert!(!format!("{key:?}").contains("s3cret"));
        assert!(ApiKey::new("  ".into()).is_err());
        assert!(ApiKey::new("bad\nkey".into()).is_err());
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_stays_capped() {
        let base = Duration::from_millis(1000);
        let max = Duration::from_secs(60);
        for _ in 0..100 {
            let first = backoff_delay(base, max, 1);
            assert!(
                first >= Duration::from_millis(500) && first <= base,
                "{first:?}"
            );
            let fourth = backoff_delay(base, max, 4);
            assert!(
                fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8),
                "{fourth:?}"
            );
            let late = backoff_delay(base, max, 40);
            assert!(late >= Duration::from_secs(30) && late <= max, "{late:?}");
        }
    }
}
