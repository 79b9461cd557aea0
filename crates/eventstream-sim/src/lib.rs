//! `eventstream-sim`: an SSE server speaking the EventStream contract
//! (`docs/eventstream.md`). It is the desktop app's demo stream, the recorder's
//! test peer and the load source for benchmarks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), eventstream_sim::SimError> {
//! use eventstream_sim::{Scenario, SimConfig, StreamSource, start};
//! let config = SimConfig::new("secret", StreamSource::Scenario(Scenario::SeedIncident));
//! let sim = start(config, 0).await?;
//! println!("{}", sim.url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What goes on the wire
//!
//! `GET /v1/consume/stream` with `Authorization: Bearer KEY` (any case of the scheme);
//! a missing or wrong key gets `401` with a JSON error, other paths `404`. A response
//! opens with `: connected` and `retry: N`, then sends change frames (`id:`,
//! `event: data`, `data:`), and keep-alives every interval (alternately `event: ping` with
//! `data: {}` and a `: keep-alive` comment). After the last event it stays open with
//! keep-alives: a live stream never ends by itself. With `--stamp-time` each valid event's
//! `time` is the wall-clock moment its frame was written, so a client on the same machine can
//! measure its latency from the event alone (`scripts/bench-live`).
//!
//! # Resuming
//!
//! `Last-Event-ID` continues after that frame: after a valid event's id, with the next
//! frame (or after its duplicate, when the plan has one right behind it: skipping a copy
//! loses nothing); after a bad frame's id (`sim-malformed-N`, `sim-oversize-N`, N being
//! the index of the valid event it follows), right after that bad frame. An id the
//! server never sent restarts the stream from the beginning. Every connection that
//! delivered at least one `id:` frame therefore moves the client forward.
//!
//! # Faults
//!
//! Which events get a duplicate, a malformed or an oversize frame after them is a pure
//! function of the seed and the event's index, so every connection and every resume
//! follows the same plan. `drop-every`, `stall-after` and `--rate` count every `id:`
//! frame (valid, duplicate and bad alike).

mod badframes;
mod cloud;
mod config;
mod connection;
mod error;
mod events;
mod faults;
mod load;
mod manifest;
mod pacing;
mod plan;
mod replay;
mod scenario;
mod server;
mod source;
mod sse;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{DEFAULT_LOAD_COUNT, Scenario, SimConfig, StreamSource};
pub use error::SimError;
pub use faults::{Faults, parse_faults};
pub use manifest::Manifest;
pub use server::STREAM_PATH;

use events::EventList;
use manifest::Tracker;
use pacing::{RateLimiter, Span};
use plan::Plan;
use server::Shared;
use source::Source;

/// A server started by [`start`]. Dropping it stops the server too (without waiting).
pub struct RunningSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

/// Builds the stream and listens on `127.0.0.1:port` (`0` picks a free port).
pub async fn start(config: SimConfig, port: u16) -> Result<RunningSim, SimError> {
    config.validate()?;
    let source = Arc::new(build_source(&config)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| SimError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { port, source })?;
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        key: config.key.clone(),
        plan: Plan {
            seed: config.seed,
            faults: config.faults,
            len: source.len(),
        },
        faults: config.faults,
        tracker: Arc::new(Tracker::default()),
        limiter: config.rate.map(RateLimiter::new),
        span: config.span.map(|span| Span::new(&source, span)),
        retry_ms: config.retry_ms,
        keepalive: config.keepalive,
        stamp_time: config.stamp_time,
        stop: stop_rx.clone(),
        source,
    });
    let writer = config.manifest.clone().map(|path| {
        tokio::spawn(manifest::keep_written(
            path,
            shared.tracker.clone(),
            shared.source.clone(),
            stop_rx.clone(),
        ))
    });
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let mut stopped = stop_rx;
    let serve = axum::serve(listener, server::router(shared.clone()))
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .into_future();
    let server = tokio::spawn(async move {
        if let Err(err) = serve.await {
            eprintln!("eventstream-sim: server error: {err}");
        }
    });
    Ok(RunningSim {
        addr,
        shared,
        stop,
        server: Some(server),
        writer,
    })
}

fn build_source(config: &SimConfig) -> Result<Source, SimError> {
    let list = match &config.source {
        StreamSource::Replay(path) => replay::load(path)?,
        StreamSource::AuditLog { path, format } => replay::load_audit_log(path, *format)?,
        StreamSource::Scenario(Scenario::SeedIncident) => scenario::seed_incident(config.seed),
        StreamSource::Scenario(Scenario::Load) => {
            let load = load::LoadScenario {
                seed: config.seed,
                count: config.count.unwrap_or(DEFAULT_LOAD_COUNT),
                size: config.size,
            };
            if !config.pregenerate {
                return Ok(Source::Load(load));
            }
            // The same events, each a pure function of (seed, index), built up front.
            return Ok(Source::List(EventList::new(
                (0..load.count).map(|i| load.event(i)).collect(),
            )));
        }
    };
    Ok(Source::List(match config.count {
        Some(n) => list.truncate(n),
        None => list,
    }))
}

impl RunningSim {
    /// The stream's URL: `http://127.0.0.1:PORT/v1/consume/stream`.
    pub fn url(&self) -> String {
        format!("http://{}{STREAM_PATH}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What has been sent so far (the same content as the manifest file).
    pub fn manifest(&self) -> Manifest {
        self.shared.tracker.snapshot(&self.shared.source)
    }

    /// Ends every stream, stops listening, and writes the manifest a last time.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
