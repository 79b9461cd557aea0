//! recording: the one way to record a session, for every caller (the desktop app, the CLI):
//! open or create the session file (taking its recording lock), label it, run the recorder into
//! the session's writer, keep its findings current, and hand back the status, a stop and a join.
//!
//! One [`CancellationToken`] per recording stops it; [`Recording::join`] returns once the
//! writer has committed everything received and the findings cover it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::detect::DetectionSettings;
use crate::detect::keeper::{FindingsKeeper, FindingsState};
use crate::forward::{self, DestinationStatus, ForwardingRules, SecretSource};
use crate::ingest::{ApiKey, Endpoint, IngestError, IngestOptions, IngestStatus, Recorder};
use crate::store::{Session, SessionSummary, SessionWriter, format_time, meta_keys};

/// What to record, into which file, and how.
pub struct RecordingRequest {
    /// The session file: created if missing, appended to (resumed) if not.
    pub session: PathBuf,
    pub endpoint: Endpoint,
    pub key: ApiKey,
    pub options: IngestOptions,
    pub labels: SessionLabels,
    /// The detection rules to keep findings current with (a new value rebuilds them); `None`
    /// records without findings.
    pub detections: Option<watch::Receiver<DetectionSettings>>,
    /// Where to forward matching changes and findings while recording; `None` forwards nothing.
    pub forwarding: Option<Forwarding>,
}

/// Forwarding beside a recording: the routes, and where their secrets come from.
pub struct Forwarding {
    pub rules: ForwardingRules,
    pub secrets: Arc<dyn SecretSource>,
}

/// How long a stopping recording lets its forwarding catch up before leaving the rest for the
/// next run (the cursors keep it: nothing is lost, it is only sent later).
const FORWARD_DRAIN: Duration = Duration::from_secs(10);

/// The analyst's names for a session, written into it when given (trimmed; empty is none).
#[derive(Debug, Clone, Default)]
pub struct SessionLabels {
    pub name: Option<String>,
    /// The incident reference the session belongs to.
    pub incident: Option<String>,
}

/// A running recording.
pub struct Recording {
    status: watch::Receiver<IngestStatus>,
    findings: watch::Receiver<FindingsState>,
    forwarding: watch::Receiver<Vec<DestinationStatus>>,
    stop: CancellationToken,
    done: JoinHandle<Result<SessionSummary, IngestError>>,
}

impl Recording {
    /// Opens the session (refused with [`crate::store::StoreError::BeingRecorded`] while
    /// another process records it), labels it, and starts recording. Needs a Tokio runtime.
    pub fn start(request: RecordingRequest) -> Result<Recording, IngestError> {
        let session = Session::open_or_create(&request.session)?;
        label(&session, &request)?;
        let writer = SessionWriter::spawn(session)?;
        let recorder = Recorder::new(request.endpoint, request.key, request.options, &writer);
        let status = recorder.status();
        let keeper = request
            .detections
            .map(|settings| FindingsKeeper::start(request.session.clone(), settings));
        let findings = match &keeper {
            Some(keeper) => keeper.state(),
            None => watch::channel(FindingsState::default()).1,
        };
        if let Some(keeper) = &keeper {
            tokio::spawn(signal_commits(writer.totals(), keeper.change_signal()));
        }
        let stop = CancellationToken::new();
        let (forward_status, forwarding) = watch::channel(Vec::new());
        // Its own task and read connection: a slow or dead destination never holds ingest.
        let forwarder = request.forwarding.map(|forwarding| {
            let forward_stop = CancellationToken::new();
            let task = tokio::spawn(forward::run(
                request.session.clone(),
                forwarding.rules.clone(),
                forwarding.secrets.clone(),
                forward::Follow::Live,
                None,
                forward_stop.clone(),
                forward_status.clone(),
            ));
            Forwarder {
                request: forwarding,
                session: request.session.clone(),
                stop: forward_stop,
                task,
                status: forward_status,
            }
        });
        let done = tokio::spawn(run(recorder, writer, keeper, forwarder, stop.clone()));
        Ok(Recording {
            status,
            findings,
            forwarding,
            stop,
            done,
        })
    }

    /// The connection state and counters, updated as they change.
    pub fn status(&self) -> watch::Receiver<IngestStatus> {
        self.status.clone()
    }

    /// The findings' state (empty when recording without detections).
    pub fn findings(&self) -> watch::Receiver<FindingsState> {
        self.findings.clone()
    }

    /// Each forwarding destination's state (empty when recording without forwarding).
    pub fn forwarding(&self) -> watch::Receiver<Vec<DestinationStatus>> {
        self.forwarding.clone()
    }

    /// Stops the recording: what was received is committed, then [`Recording::join`] returns.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// The recording's one stop, for a caller that stops it from elsewhere (a signal handler).
    pub fn stopper(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits for the recording to end; the session's summary, or the error that stopped it
    /// (the last status says the same in words).
    pub async fn join(self) -> Result<SessionSummary, IngestError> {
        self.done.await.map_err(|error| {
            IngestError::Store(crate::store::StoreError::WriterStopped {
                cause: error.to_string(),
            })
        })?
    }
}

/// Writes the session's facts: where it records from (so it can be resumed, never with the
/// key), when it was created, and the analyst's names.
fn label(session: &Session, request: &RecordingRequest) -> Result<(), IngestError> {
    session.set_meta(meta_keys::ENDPOINT, request.endpoint.as_str())?;
    if session.meta(meta_keys::CREATED_AT)?.is_none() {
        session.set_meta(meta_keys::CREATED_AT, &format_time(chrono::Utc::now()))?;
    }
    let given = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    if let Some(name) = given(&request.labels.name) {
        session.set_meta(meta_keys::NAME, &name)?;
    }
    if let Some(incident) = given(&request.labels.incident) {
        session.set_meta(meta_keys::INCIDENT, &incident)?;
    }
    Ok(())
}

/// Records until stopped or a fatal error, then commits everything, lets the findings catch up
/// with it, and reads the session's summary.
async fn run(
    recorder: Recorder,
    writer: SessionWriter,
    keeper: Option<FindingsKeeper>,
    forwarder: Option<Forwarder>,
    stop: CancellationToken,
) -> Result<SessionSummary, IngestError> {
    let recorded = recorder.run(&writer, stop).await;
    let closed = writer.close().await;
    if let Some(keeper) = keeper {
        keeper.finish().await;
    }
    if let Some(forwarder) = forwarder {
        forwarder.finish().await;
    }
    recorded?;
    Ok(closed?.summary()?)
}

/// The forwarding task of a recording.
struct Forwarder {
    request: Forwarding,
    session: PathBuf,
    stop: CancellationToken,
    task: JoinHandle<Result<Vec<DestinationStatus>, forward::ForwardError>>,
    status: watch::Sender<Vec<DestinationStatus>>,
}

impl Forwarder {
    /// Stops following and sends what the recording stored last, for at most
    /// [`FORWARD_DRAIN`]; what is left stays pending for the next run.
    async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let drain = forward::run(
            self.session,
            self.request.rules,
            self.request.secrets,
            forward::Follow::UntilCaughtUp,
            None,
            CancellationToken::new(),
            self.status,
        );
        let _ = tokio::time::timeout(FORWARD_DRAIN, drain).await;
    }
}

/// Tells the findings keeper about every commit of the writer.
async fn signal_commits(
    mut totals: watch::Receiver<crate::store::WriterTotals>,
    changed: watch::Sender<u64>,
) {
    while totals.changed().await.is_ok() {
        changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}
