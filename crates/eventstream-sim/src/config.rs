//! What a simulator serves and how: the settings behind the command line.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::SimError;
use crate::faults::Faults;

/// A built-in generated stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The captured attack amid a week of benign background (`seed-incident`).
    SeedIncident,
    /// Many generated events of a chosen size (`load`).
    Load,
}

impl FromStr for Scenario {
    type Err = SimError;

    fn from_str(name: &str) -> Result<Self, SimError> {
        match name {
            "seed-incident" => Ok(Self::SeedIncident),
            "load" => Ok(Self::Load),
            other => Err(SimError::UnknownScenario(other.to_owned())),
        }
    }
}

/// Where the change events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamSource {
    /// An `.sse` capture or an NDJSON file, sent as recorded.
    Replay(PathBuf),
    /// A file or folder of raw cloud audit logs, normalized by Tideline's engine into the
    /// contract's events (in event-time order) and sent as those.
    AuditLog {
        path: PathBuf,
        format: tideline_engine::auditlog::LogFormat,
    },
    Scenario(Scenario),
}

/// Everything `start` needs besides the port. `SimConfig::new` fills in the defaults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The API key clients must send as `Authorization: Bearer KEY`.
    pub key: String,
    pub source: StreamSource,
    /// At most this many valid events (default: all; 10,000 for `load`).
    pub count: Option<usize>,
    /// Size of each `load` event's JSON in bytes (default 2048), reached exactly by
    /// padding; sizes below an event's compact form (about 1.7-2.0 KB) give that form.
    pub size: usize,
    /// At most this many frames per second over all connections (default: unlimited).
    pub rate: Option<f64>,
    pub faults: Faults,
    /// Where to keep the manifest written, if anywhere.
    pub manifest: Option<PathBuf>,
    /// Seeds every generated choice (default 1).
    pub seed: u64,
    /// The `retry:` value sent at the start of each connection (default 3000).
    pub retry_ms: u64,
    /// Interval between keep-alives (default 15 s).
    pub keepalive: Duration,
    /// Play the events' own time gaps compressed so the stream takes about this long.
    pub span: Option<Duration>,
    /// Build every `load` event before serving (memory: count × size), so serving costs a copy
    /// per event: for benchmarks, where the server shares the machine with the client it
    /// measures (a real EventStream runs elsewhere).
    pub pregenerate: bool,
    /// Set each valid event's `time` to the moment its frame is written (RFC 3339, UTC,
    /// microseconds), so a client on the same machine can measure socket → screen latency
    /// from the event alone (`scripts/bench-live`). Ids stay; the JSON is written again
    /// (same content, keys in sorted order).
    pub stamp_time: bool,
}

/// The `load` scenario's default number of events.
pub const DEFAULT_LOAD_COUNT: usize = 10_000;

impl SimConfig {
    pub fn new(key: impl Into<String>, source: StreamSource) -> Self {
        Self {
            key: key.into(),
            source,
            count: None,
            size: 2048,
            rate: None,
            faults: Faults::default(),
            manifest: None,
            seed: 1,
            retry_ms: 3000,
            keepalive: Duration::from_secs(15),
            span: None,
            pregenerate: false,
            stamp_time: false,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        let invalid = |what: &str| Err(SimError::InvalidSetting(what.to_owned()));
        if self.key.is_empty() || self.key.chars().any(char::is_whitespace) {
            return invalid("the key must be non-empty and without spaces");
        }
        if self.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return invalid("the rate must be a positive number of events per second");
        }
        if self.keepalive.is_zero() {
            return invalid("the keep-alive interval must be positive");
        }
        if self.span.is_some_and(|s| s.is_zero()) {
            return invalid("the span must be positive");
        }
        Ok(())
    }
}
