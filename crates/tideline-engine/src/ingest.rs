//! ingest: subscribes to an EventStream over SSE and hands every change frame to the session
//! writer, resuming from the durable stream position across disconnects and restarts.
//!
//! The transport is reqwest (rustls with the ring provider and the platform's roots, HTTP/2,
//! no proxy); the framing is Tideline's own [`crate::sse`], the same that reads `.sse`
//! captures, so a bad frame is quarantined and the connection goes on. Reconnection is ours:
//! before every reconnect the writer is flushed so `Last-Event-ID` is the last id durably
//! stored — never one still in a queue. 401/403 stop recording at once; everything else is
//! retried with exponential backoff and jitter, starting from the server's `retry:` when sent.
//! Why a connection failed is named in plain words ([`ConnectFault`]).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::model::{Frame, PositionedFrame};
use crate::sse::{self, Framer};
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
    /// Ends the recording as a requested stop does once the EventStream has sent no frame
    /// (an event or a rejected frame; keep-alives, pings and part of a frame do not count) for
    /// this long; `None` records until stopped. The clock starts when the first connection
    /// attempt has an outcome (opening the session and connecting are not a quiet stream), and
    /// goes on through reconnect waits and later attempts; time the session writer keeps the
    /// reader waiting (a full queue, the flush before a reconnect) never counts: a slow disk is
    /// not a quiet server. The CLI's `record --until-idle`.
    pub stop_when_quiet: Option<Duration>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            stop_when_quiet: None,
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
        cause: StopCause,
    },
}

/// Why a recording stopped, so a page can offer the way back: re-enter a rejected key, edit an
/// endpoint that never answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// Stopped on request (Ctrl-C, Close, a new recording).
    Requested,
    /// The EventStream rejected the API key (HTTP 401/403).
    ApiKeyRejected,
    /// The EventStream refused the request otherwise (HTTP 4xx): the endpoint is wrong.
    EndpointRejected,
    /// Stopped before any attempt reached the EventStream.
    NeverConnected,
    /// The session could not be written (disk full, read-only, …).
    Store,
    /// Any other fatal error.
    Other,
}

impl StopCause {
    fn of(error: &IngestError) -> StopCause {
        match error {
            IngestError::ApiKeyRejected { .. } => StopCause::ApiKeyRejected,
            IngestError::EndpointRejected { .. } => StopCause::EndpointRejected,
            IngestError::NeverConnected { .. } => StopCause::NeverConnected,
            IngestError::Store(_) => StopCause::Store,
            _ => StopCause::Other,
        }
    }
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
    /// Stopped without ever having had a stream; `fault` is why the last attempt failed.
    #[error("never connected to {endpoint}: {fault}")]
    NeverConnected {
        endpoint: String,
        fault: ConnectFault,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a connection attempt or a stream failed, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectFault {
    #[error("the host name {host:?} does not resolve (DNS); check the endpoint URL")]
    HostNotFound { host: String },
    #[error("the connection to {address} was refused; is the EventStream running there?")]
    ConnectionRefused { address: String },
    #[error("the server's TLS certificate was rejected ({detail})")]
    CertificateRejected { detail: String },
    #[error("the TLS handshake failed ({detail})")]
    Tls { detail: String },
    #[error("could not connect within {secs} s")]
    ConnectTimedOut { secs: u64 },
    #[error("no data for {secs} s")]
    Idle { secs: u64 },
    #[error("the server answered HTTP {status}")]
    Http { status: u16 },
    #[error("the server answered with content type {content_type:?}, not text/event-stream")]
    NotEventStream { content_type: String },
    #[error("the server closed the stream")]
    StreamEnded,
    #[error("{detail}")]
    Other { detail: String },
    /// Stopped while the first attempt was still under way.
    #[error("stopped before the first attempt was answered")]
    NoAnswerYet,
}

/// Records from `endpoint` into `writer` until `cancel` fires or a fatal error occurs.
/// Status changes are published on the returned receiver.
pub struct Recorder {
    endpoint: Endpoint,
    key: ApiKey,
    options: IngestOptions,
    status: watch::Sender<IngestStatus>,
    /// Whether any attempt got a stream (an HTTP 200 `text/event-stream` answer).
    connected: std::sync::atomic::AtomicBool,
    last_fault: Mutex<Option<ConnectFault>>,
}

/// How one connection ended.
enum ConnectionEnd {
    /// The recording ends, without an error.
    Stopped(Ended),
    Retry {
        fault: ConnectFault,
        delivered: bool,
    },
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
            connected: false.into(),
            last_fault: Mutex::new(None),
        }
    }

    pub fn status(&self) -> watch::Receiver<IngestStatus> {
        self.status.subscribe()
    }

    /// Runs until cancelled or quiet for [`IngestOptions::stop_when_quiet`] (`Ok`), or stopped
    /// by a fatal error (`Err`); the last status is
    /// `Stopped` with the reason either way. Everything received is flushed before returning.
    /// Cancelled before any attempt got a stream, it returns [`IngestError::NeverConnected`]
    /// with the last attempt's fault: a recording that never started is not a success.
    pub async fn run(
        &self,
        writer: &SessionWriter,
        cancel: CancellationToken,
    ) -> Result<(), IngestError> {
        let mut result = self.run_connections(writer, &cancel).await;
        if result.is_ok() && !self.connected.load(std::sync::atomic::Ordering::Relaxed) {
            let fault = self
                .last_fault
                .lock()
                .map(|fault| fault.clone())
                .ok()
                .flatten()
                .unwrap_or(ConnectFault::NoAnswerYet);
            result = Err(IngestError::NeverConnected {
                endpoint: self.endpoint.to_string(),
                fault,
            });
        }
        let flushed = writer.flush().await;
        let (reason, cause) = match (&result, &flushed) {
            (Err(error), _) => (error.to_string(), StopCause::of(error)),
            (Ok(_), Err(error)) => (error.to_string(), StopCause::Store),
            (Ok(Ended::Cancelled), Ok(_)) => ("recording stopped".to_owned(), StopCause::Requested),
            (Ok(Ended::Quiet), Ok(_)) => (
                format!(
                    "recording stopped: the EventStream sent no event for {} s",
                    self.options
                        .stop_when_quiet
                        .unwrap_or_default()
                        .as_secs_f64()
                ),
                StopCause::Requested,
            ),
        };
        self.status.send_modify(|status| {
            status.absorb(&writer.totals().borrow());
            status.state = ConnectionState::Stopped { reason, cause };
        });
        result?;
        flushed?;
        Ok(())
    }

    async fn run_connections(
        &self,
        writer: &SessionWriter,
        cancel: &CancellationToken,
    ) -> Result<Ended, IngestError> {
        let client = http_client(&self.options)?;
        let authorization = {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", self.key.0))
                .map_err(|_| IngestError::InvalidApiKey)?;
            value.set_sensitive(true);
            value
        };
        let mut backoff_base = self.options.initial_backoff;
        let mut attempt: u32 = 0;
        let mut quiet = QuietClock::new(self.options.stop_when_quiet);
        loop {
            let flushing = Instant::now();
            let position = writer.flush().await?;
            quiet.hold(flushing);
            let request = self.request(&client, &authorization, position);
            let end = self
                .connect_once(request, writer, cancel, &mut backoff_base, &mut quiet)
                .await?;
            let fault = match end {
                ConnectionEnd::Stopped(ended) => return Ok(ended),
                ConnectionEnd::Retry { fault, delivered } => {
                    attempt = if delivered { 1 } else { attempt + 1 };
                    fault
                }
            };
            let delay = backoff_delay(backoff_base, self.options.max_backoff, attempt);
            let next_try_at = Utc::now() + delay;
            let reason = fault.to_string();
            if let Ok(mut last) = self.last_fault.lock() {
                *last = Some(fault);
            }
            self.status.send_modify(|status| {
                status.state = ConnectionState::Reconnecting {
                    attempt,
                    next_try_at,
                    reason,
                };
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(Ended::Cancelled),
                _ = quiet.expired() => return Ok(Ended::Quiet),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn request(
        &self,
        client: &reqwest::Client,
        authorization: &HeaderValue,
        position: Option<String>,
    ) -> reqwest::RequestBuilder {
        let mut request = client
            .get(self.endpoint.as_str())
            .header(AUTHORIZATION, authorization.clone())
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        // An id that cannot travel in a header cannot resume; start over and let
        // deduplication absorb the replay rather than never connecting again.
        if let Some(id) = position.filter(|id| id.bytes().all(|byte| (0x20..0x7f).contains(&byte)))
        {
            request = request.header("Last-Event-ID", id);
        }
        request
    }

    /// One connection, from request to end of stream.
    async fn connect_once(
        &self,
        request: reqwest::RequestBuilder,
        writer: &SessionWriter,
        cancel: &CancellationToken,
        backoff_base: &mut Duration,
        quiet: &mut QuietClock,
    ) -> Result<ConnectionEnd, IngestError> {
        self.status.send_modify(|status| {
            if !matches!(status.state, ConnectionState::Reconnecting { .. }) {
                status.state = ConnectionState::Connecting;
            }
        });
        let retry = |fault| {
            Ok(ConnectionEnd::Retry {
                fault,
                delivered: false,
            })
        };
        // Connecting has its own timeout (in the client); then the answer must come as
        // promptly as any byte of the stream.
        let answer_within = self.options.connect_timeout + self.options.idle_timeout;
        let response = tokio::select! {
            _ = cancel.cancelled() => return Ok(ConnectionEnd::Stopped(Ended::Cancelled)),
            _ = quiet.expired() => return Ok(ConnectionEnd::Stopped(Ended::Quiet)),
            response = tokio::time::timeout(answer_within, request.send()) => response,
        };
        quiet.start();
        let response = match response {
            Err(_) => {
                return retry(ConnectFault::Idle {
                    secs: self.options.idle_timeout.as_secs(),
                });
            }
            Ok(Err(error)) => return retry(self.fault(&error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        match status {
            401 | 403 => return Err(IngestError::ApiKeyRejected { status }),
            400..=499 if status != 408 && status != 429 => {
                return Err(IngestError::EndpointRejected { status });
            }
            200..=299 => {}
            _ => return retry(ConnectFault::Http { status }),
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("text/event-stream") {
            return retry(ConnectFault::NotEventStream { content_type });
        }
        self.connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.status
            .send_modify(|status| status.state = ConnectionState::Live);

        let mut body = response.bytes_stream();
        // Per connection: a frame cut by a disconnect is never dispatched (WHATWG).
        let mut framer = Framer::new();
        let mut items = Vec::new();
        let mut totals = writer.totals();
        let mut delivered = false;
        let mut deadline = Instant::now() + self.options.idle_timeout;
        loop {
            // In this order: bytes already here are read before a deadline is believed (a
            // process the OS did not run for a while finds both ready at once).
            let chunk = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(ConnectionEnd::Stopped(Ended::Cancelled)),
                Ok(()) = totals.changed() => {
                    self.status.send_modify(|status| status.absorb(&totals.borrow_and_update()));
                    continue;
                }
                chunk = body.next() => chunk,
                _ = tokio::time::sleep_until(deadline) => {
                    return Ok(ConnectionEnd::Retry {
                        fault: ConnectFault::Idle { secs: self.options.idle_timeout.as_secs() },
                        delivered,
                    });
                }
                _ = quiet.expired() => return Ok(ConnectionEnd::Stopped(Ended::Quiet)),
            };
            let bytes = match chunk {
                None => {
                    return Ok(ConnectionEnd::Retry {
                        fault: ConnectFault::StreamEnded,
                        delivered,
                    });
                }
                Some(Err(error)) => {
                    return Ok(ConnectionEnd::Retry {
                        fault: self.fault(&error),
                        delivered,
                    });
                }
                Some(Ok(bytes)) => bytes,
            };
            framer.feed(&bytes, &mut items);
            let mut sent = 0u64;
            let mut advanced = false;
            for item in items.drain(..) {
                let (frame, sse_id) = match item {
                    sse::Item::Retry(millis) => {
                        *backoff_base = Duration::from_millis(millis.max(1));
                        continue;
                    }
                    sse::Item::Event(event) => {
                        match wire::decode_sse_event(&event.event_type, event.data) {
                            Some(frame) => (frame, event.id),
                            None => continue,
                        }
                    }
                    sse::Item::Rejected(rejected) => {
                        let id = rejected.id.clone();
                        (rejected.into_frame(), id)
                    }
                };
                // An empty `id:` resets the browser's id; it does not move ours.
                let sse_id = sse_id.filter(|id| !id.is_empty());
                // Progress (which resets the backoff) is an event, or a frame that moves the
                // stream position: a bad frame the server resends on every connect is neither.
                advanced |= sse_id.is_some() || matches!(frame, Frame::Event(_));
                writer
                    .send(PositionedFrame {
                        frame,
                        sse_id,
                        received_at: Utc::now(),
                    })
                    .await?;
                sent += 1;
            }
            delivered |= advanced;
            // Once per chunk, not per frame: every status change wakes its watchers.
            if sent > 0 {
                quiet.restart();
                self.status.send_modify(|status| {
                    status.received += sent;
                    status.state = ConnectionState::Live;
                });
            }
            // Counted from here, not from the read: a writer applying backpressure is not an
            // idle server.
            deadline = Instant::now() + self.options.idle_timeout;
        }
    }

    fn fault(&self, error: &reqwest::Error) -> ConnectFault {
        classify(error, &self.endpoint.0, &self.options)
    }
}

/// The one HTTP client of a recorder: rustls with ring and the platform's roots, no proxy,
/// redirects only to endpoints [`Endpoint::parse`] accepts.
fn http_client(options: &IngestOptions) -> Result<reqwest::Client, IngestError> {
    // reqwest's rustls uses the process's default provider; Tideline ships ring. An error
    // means one is installed already, which is then used.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("too many redirects")
        } else if Endpoint::parse(attempt.url().as_str()).is_ok() {
            attempt.follow()
        } else {
            attempt.error("redirected to an endpoint that is not https (or loopback http)")
        }
    });
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .no_proxy()
        .redirect(redirects)
        .build()
        .map_err(|error| IngestError::Transport(chain_text(&error)))
}

/// Names the cause of a transport error by walking its `source()` chain (and the errors
/// wrapped inside `io::Error`s, which `source()` skips).
fn classify(error: &reqwest::Error, url: &url::Url, options: &IngestOptions) -> ConnectFault {
    let host = url.host_str().unwrap_or("").to_owned();
    let address = format!("{host}:{}", url.port_or_known_default().unwrap_or(443));
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(current) = pending.pop() {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::InvalidCertificate(_) => ConnectFault::CertificateRejected {
                    detail: tls.to_string(),
                },
                other => ConnectFault::Tls {
                    detail: other.to_string(),
                },
            };
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return ConnectFault::ConnectionRefused { address };
            }
            if let Some(inner) = io.get_ref() {
                pending.push(inner);
            }
        }
        // hyper-util names resolver failures so; the resolver's own error is an io::Error.
        if current.to_string() == "dns error" {
            return ConnectFault::HostNotFound { host };
        }
        if let Some(source) = current.source() {
            pending.push(source);
        }
    }
    if error.is_connect() && error.is_timeout() {
        return ConnectFault::ConnectTimedOut {
            secs: options.connect_timeout.as_secs(),
        };
    }
    ConnectFault::Other {
        detail: chain_text(error),
    }
}

/// An error and its causes, joined: reqwest's own message alone rarely says what went wrong.
pub(crate) fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Why [`Recorder::run`] ended without an error.
enum Ended {
    Cancelled,
    /// Quiet for [`IngestOptions::stop_when_quiet`].
    Quiet,
}

/// The deadline of [`IngestOptions::stop_when_quiet`]: set when the first attempt has an
/// outcome, restarted once a chunk's frames are all in the writer's queue (so a wait for room
/// in it is not counted), pushed back by the time a flush took.
struct QuietClock {
    limit: Option<Duration>,
    deadline: Option<Instant>,
}

impl QuietClock {
    fn new(limit: Option<Duration>) -> QuietClock {
        QuietClock {
            limit,
            deadline: None,
        }
    }

    /// Starts the clock unless it runs already.
    fn start(&mut self) {
        if self.deadline.is_none() {
            self.restart();
        }
    }

    /// The stream sent a frame: quiet from now on.
    fn restart(&mut self) {
        // A limit past the clock's range never ends the recording.
        self.deadline = self
            .limit
            .and_then(|limit| Instant::now().checked_add(limit));
    }

    /// The time since `since` was the writer's, not the stream's.
    fn hold(&mut self, since: Instant) {
        if let Some(deadline) = &mut self.deadline {
            *deadline = deadline.checked_add(since.elapsed()).unwrap_or(*deadline);
        }
    }

    /// Resolves when the stream has been quiet for the limit; never without one.
    async fn expired(&self) {
        match self.deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
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

    async fn fault_of(url: &str) -> ConnectFault {
        let options = IngestOptions::default();
        let client = http_client(&options).unwrap();
        let error = client.get(url).send().await.expect_err("the request fails");
        classify(&error, &url::Url::parse(url).unwrap(), &options)
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_as_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let fault = fault_of(&format!("http://127.0.0.1:{port}/stream")).await;
        assert_eq!(
            fault,
            ConnectFault::ConnectionRefused {
                address: format!("127.0.0.1:{port}")
            }
        );
        assert!(fault.to_string().contains("refused"), "{fault}");
    }

    #[tokio::test]
    async fn a_host_name_that_does_not_resolve_is_named_as_dns() {
        let fault = fault_of("https://tideline-test.invalid/stream").await;
        assert_eq!(
            fault,
            ConnectFault::HostNotFound {
                host: "tideline-test.invalid".into()
            }
        );
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, made for this test only.
    const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUKn3afPlVE8QGk4iNEBNS6knhBU0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTE5MDAyNloYDzIxMjYxMTA1
MTkwMDI2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATxSopU0dD6lFLCmMQQz4ywQpvhjg40TxQ5LLsjLKxRIJS6viCHHvWS
J/ylxwAMzpboRtx1oZ8YrLqNsvesKojio28wbTAdBgNVHQ4EFgQUuQVX++5Pqa/s
WwVkCxl6/t0I1s8wHwYDVR0jBBgwFoAUuQVX++5Pqa/sWwVkCxl6/t0I1s8wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIhAO8dcRVU/MN8Pz6K7+NFT5tD3XhL5scu10EnhwpcXa0CAiA1
Z4PgdvQWeieNwB6hnzPYEMTDB8mMqwXCTL/vzEH3hQ==
-----END CERTIFICATE-----
";
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgArI+gs4DI2x4npoQ
DZovUQIyJTr7XBCcHywTLXcwAHWhRANCAATxSopU0dD6lFLCmMQQz4ywQpvhjg40
TxQ5LLsjLKxRIJS6viCHHvWSJ/ylxwAMzpboRtx1oZ8YrLqNsvesKoji
-----END PRIVATE KEY-----
";

    #[tokio::test]
    async fn a_certificate_the_platform_does_not_trust_is_named_as_rejected() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::io::Read;

        let cert = CertificateDer::from_pem_slice(TEST_CERT.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(TEST_KEY.as_bytes()).unwrap();
        let config = std::sync::Arc::new(
            rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((tcp, _)) = listener.accept() {
                let connection = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, tcp);
                let _ = tls.read(&mut [0; 1]);
            }
        });
        let fault = fault_of(&format!("https://127.0.0.1:{port}/stream")).await;
        assert!(
            matches!(fault, ConnectFault::CertificateRejected { .. }),
            "{fault:?}"
        );
        assert!(
            fault.to_string().contains("certificate was rejected"),
            "{fault}"
        );
    }
}
