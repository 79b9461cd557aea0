//! host: the window's one open session — recording it (from an EventStream or the built-in
//! demo), reviewing a saved one offline, resuming its recording — and the live status the
//! page watches.
//!
//! Recording is the engine's [`Recording`] (the CLI starts the same one) and findings its
//! [`FindingsKeeper`]; this module only holds the open session, and one cancellation token per
//! session that stops its recording, its findings and its status bridge together.
//! Reads go through their own connection to the session file (WAL lets it read while the
//! writer thread commits), so queries never wait for ingest and ingest never waits for them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventstream_sim::{RunningSim, Scenario, SimConfig, StreamSource};
use serde::Serialize;
use tideline_engine::detect::RuleStatus;
use tideline_engine::detect::keeper::{FindingsKeeper, FindingsState};
use tideline_engine::forward::DestinationStatus;
use tideline_engine::ingest::{ApiKey, ConnectionState, Endpoint, IngestOptions, IngestStatus};
use tideline_engine::recording::{Recording, RecordingRequest, SessionLabels};
use tideline_engine::store::{Session, Verification, format_time, meta_keys};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::detections::Detections;
use crate::error::CommandError;
use crate::forwarding::ForwardingFile;
use crate::keystore::{self, KeyStorage};

/// How long the demo's attack story takes to unfold.
const DEMO_SPAN: Duration = Duration::from_secs(60);
/// The live status is pushed at most this often: at once when rows were committed, findings
/// changed or the connection did (the page reads the new rows then) …
const LIVE_THROTTLE: Duration = Duration::from_millis(50);
/// … and when only the count of frames read moved, at most this often (the status bar's
/// counter; the page redraws what shows the status each time).
const COUNTERS_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    Demo,
    Live,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SessionInfo {
    pub path: String,
    pub name: Option<String>,
    /// The incident reference the analyst gave the session.
    pub incident: Option<String>,
    pub mode: SessionMode,
    pub endpoint: Option<String>,
    pub key_storage: Option<KeyStorage>,
    /// Said to the user when the key could not go to the OS keyring.
    pub key_note: Option<String>,
    /// An offline session that knows its endpoint can resume recording.
    pub can_resume: bool,
}

/// The status bar's data, and which session it is about.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct LiveStatus {
    pub session: Option<SessionInfo>,
    pub connection: ConnectionState,
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub newest_event_time: Option<String>,
    #[ts(type = "number | null")]
    pub newest_seq: Option<i64>,
    /// How many findings the detection rules have for this session …
    pub findings: u64,
    /// … and a number that changes whenever they do.
    pub findings_version: u64,
    /// The rules are still reading the session (its first look, a rebuild after a change of
    /// settings, or another process's rebuild): `findings` can be short, or 0, meanwhile.
    pub findings_reading: bool,
    /// While reading, how many events a rebuild has read so far …
    pub findings_read: u64,
    /// … of how many (0: not known, as while the stored findings are resumed).
    pub findings_to_read: u64,
    /// Why the rules' last pass over the session failed (tried again on its next change).
    pub findings_problem: Option<String>,
}

impl LiveStatus {
    /// The same status with the findings' fields of `findings`.
    fn with_findings(self, findings: &FindingsState) -> LiveStatus {
        LiveStatus {
            findings: findings.count,
            findings_version: findings.version,
            findings_reading: findings.reading,
            findings_read: findings.read.0,
            findings_to_read: findings.read.1,
            findings_problem: findings.problem.clone(),
            ..self
        }
    }

    fn none() -> LiveStatus {
        LiveStatus {
            session: None,
            connection: ConnectionState::Offline,
            received: 0,
            stored: 0,
            duplicates: 0,
            quarantined: 0,
            newest_event_time: None,
            newest_seq: None,
            findings: 0,
            findings_version: 0,
            findings_reading: false,
            findings_read: 0,
            findings_to_read: 0,
            findings_problem: None,
        }
    }
}

pub type Reader = Arc<Mutex<Session>>;

struct Active {
    info: SessionInfo,
    reader: Reader,
    /// This session's one stop: its recording (if it records), its findings and its bridge.
    stop: CancellationToken,
    findings: watch::Receiver<FindingsState>,
    /// Keeps an offline session's findings current (a recording keeps its own).
    keeper: Option<FindingsKeeper>,
    /// The last integrity check, where the next incremental one continues from.
    verified: Option<Verification>,
    /// A recording session's end: becomes true once it ended and let go of the file (`None`:
    /// a session under review, which nothing records).
    finished: Option<watch::Receiver<bool>>,
    /// A recording's forwarding, destination by destination (`None`: not forwarding).
    forwarding: Option<watch::Receiver<Vec<DestinationStatus>>>,
    /// The in-process demo stream server, kept alive while its session is open.
    _demo: Option<RunningSim>,
}

/// What a new recording is: the analyst's names for it and where it records from.
pub struct NewSession {
    pub name: String,
    pub incident: Option<String>,
    pub endpoint: String,
    pub api_key: String,
}

pub struct SessionHost {
    active: Mutex<Option<Active>>,
    live: watch::Sender<LiveStatus>,
    sessions_dir: PathBuf,
    detections: Arc<Detections>,
    forwarding: Arc<ForwardingFile>,
    /// Why the session given at launch (`--open`) did not open, until the page asks.
    launch_error: Mutex<Option<CommandError>>,
    /// Session files this app created in this run: one that never stored anything is not left
    /// behind when it closes.
    created: Arc<Mutex<HashSet<PathBuf>>>,
}

impl SessionHost {
    /// The folder new sessions are recorded into (the open dialog starts there).
    pub fn sessions_dir(&self) -> &std::path::Path {
        &self.sessions_dir
    }

    pub fn new(
        sessions_dir: PathBuf,
        detections: Arc<Detections>,
        forwarding: Arc<ForwardingFile>,
    ) -> SessionHost {
        SessionHost {
            active: Mutex::new(None),
            live: watch::channel(LiveStatus::none()).0,
            sessions_dir,
            detections,
            forwarding,
            launch_error: Mutex::new(None),
            created: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    pub fn keep_launch_error(&self, error: CommandError) {
        if let Ok(mut slot) = self.launch_error.lock() {
            *slot = Some(error);
        }
    }

    pub fn take_launch_error(&self) -> Option<CommandError> {
        self.launch_error
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }

    pub fn current(&self) -> Option<SessionInfo> {
        self.lock().as_ref().map(|active| active.info.clone())
    }

    /// The open session's read connection.
    pub fn reader(&self) -> Result<Reader, CommandError> {
        self.lock()
            .as_ref()
            .map(|active| active.reader.clone())
            .ok_or(CommandError::NoSession)
    }

    /// The open session's file.
    pub fn path(&self) -> Result<PathBuf, CommandError> {
        self.current()
            .map(|info| PathBuf::from(info.path))
            .ok_or(CommandError::NoSession)
    }

    pub fn live(&self) -> watch::Receiver<LiveStatus> {
        self.live.subscribe()
    }

    /// The open session's last integrity check.
    pub fn last_verification(&self) -> Option<Verification> {
        self.lock()
            .as_ref()
            .and_then(|active| active.verified.clone())
    }

    /// Remembers a check of the session at `path`, if it is still the open one.
    pub fn keep_verification(&self, path: &Path, verification: &Verification) {
        if let Some(active) = self.lock().as_mut()
            && Path::new(&active.info.path) == path
        {
            active.verified = Some(verification.clone());
        }
    }

    /// Which rules run on the open session, and why one does not.
    /// A recording's forwarding state, destination by destination; `None` when the open
    /// session does not forward while recording (a reviewed one reads its cursors instead).
    pub fn live_forwarding(&self) -> Option<Vec<DestinationStatus>> {
        self.lock()
            .as_ref()
            .and_then(|active| active.forwarding.as_ref())
            .map(|status| status.borrow().clone())
    }

    pub fn rule_statuses(&self) -> Vec<RuleStatus> {
        self.lock()
            .as_ref()
            .map(|active| active.findings.borrow().statuses.clone())
            .unwrap_or_default()
    }

    /// Runs the seed-incident scenario on loopback and records it through the real SSE path.
    pub async fn start_demo(&self) -> Result<SessionInfo, CommandError> {
        let key = format!("demo-{:016x}", rand::random::<u64>());
        let config = SimConfig {
            span: Some(DEMO_SPAN),
            ..SimConfig::new(key.clone(), StreamSource::Scenario(Scenario::SeedIncident))
        };
        let sim = eventstream_sim::start(config, 0).await?;
        let endpoint = Endpoint::parse(&sim.url())?;
        let path = self.new_session_path("demo")?;
        self.mark_created(&path);
        let info = SessionInfo {
            path: path.display().to_string(),
            name: Some("Demo: the announcement's attack".into()),
            incident: None,
            mode: SessionMode::Demo,
            endpoint: Some(endpoint.to_string()),
            key_storage: None,
            key_note: None,
            can_resume: false,
        };
        let labels = SessionLabels {
            name: info.name.clone(),
            incident: None,
        };
        self.record(info, endpoint, ApiKey::new(key)?, labels, Some(sim))
            .await
    }

    /// Records a real EventStream into a new session; the key goes to the OS keyring, else memory.
    pub async fn connect(&self, new: NewSession) -> Result<SessionInfo, CommandError> {
        let endpoint = Endpoint::parse(&new.endpoint)?;
        let key = ApiKey::new(new.api_key)?;
        let (key_storage, key_note) = keystore::store(&endpoint, &key);
        let labels = SessionLabels {
            name: Some(new.name.trim().to_owned()).filter(|name| !name.is_empty()),
            incident: new
                .incident
                .map(|incident| incident.trim().to_owned())
                .filter(|incident| !incident.is_empty()),
        };
        let label = labels
            .name
            .clone()
            .unwrap_or_else(|| endpoint_host(&endpoint));
        let path = self.new_session_path(&label)?;
        self.mark_created(&path);
        let info = SessionInfo {
            path: path.display().to_string(),
            name: labels.name.clone(),
            incident: labels.incident.clone(),
            mode: SessionMode::Live,
            endpoint: Some(endpoint.to_string()),
            key_storage: Some(key_storage),
            key_note,
            can_resume: false,
        };
        self.record(info, endpoint, key, labels, None).await
    }

    /// Opens a saved session for review. Nothing connects anywhere, and nothing is written to
    /// the file: findings and notes go to the notes database. The file is read on the blocking
    /// pool (a review may copy it, counting it scans it).
    pub async fn open(&self, path: &Path) -> Result<SessionInfo, CommandError> {
        let path = path.to_owned();
        let (reader, info, first) = tauri::async_runtime::spawn_blocking(move || {
            let reader = Session::open(&path)?;
            let info = read_info(&reader, &path, SessionMode::Offline)?;
            let reader: Reader = Arc::new(Mutex::new(reader));
            let first = offline_status(&info, &reader, &FindingsState::before_first_pass())?;
            Ok::<_, CommandError>((reader, info, first))
        })
        .await
        .map_err(CommandError::Background)??;
        let keeper = FindingsKeeper::start(PathBuf::from(&info.path), self.detections.subscribe());
        let stop = CancellationToken::new();
        let findings = keeper.state();
        self.replace(Active {
            info: info.clone(),
            reader: reader.clone(),
            stop: stop.clone(),
            findings: findings.clone(),
            keeper: Some(keeper),
            verified: None,
            forwarding: None,
            finished: None,
            _demo: None,
        });
        publish_unless_stopped(&self.live, &stop, first);
        tauri::async_runtime::spawn(offline_bridge(
            info.clone(),
            reader,
            findings,
            self.live.clone(),
            stop,
        ));
        Ok(info)
    }

    /// Records the open session again from where its stream stopped: a saved session resumed,
    /// or a recording retried after its key was rejected or its endpoint did not answer (then
    /// with a new key or `endpoint`). A recording still running is stopped first, and its
    /// writer let go of the session. The key comes from `api_key`, else the OS keyring.
    pub async fn resume(
        &self,
        api_key: Option<String>,
        endpoint: Option<String>,
    ) -> Result<SessionInfo, CommandError> {
        let info = self.current().ok_or(CommandError::NoSession)?;
        let endpoint = match endpoint {
            Some(endpoint) => Endpoint::parse(endpoint.trim())?,
            None => Endpoint::parse(info.endpoint.as_deref().ok_or(CommandError::CannotResume)?)?,
        };
        let (key, key_storage, key_note) = match api_key {
            Some(key) => {
                let key = ApiKey::new(key)?;
                let (storage, note) = keystore::store(&endpoint, &key);
                (key, storage, note)
            }
            None => (
                keystore::load(&endpoint).ok_or(CommandError::ApiKeyNeeded)?,
                KeyStorage::Keyring,
                None,
            ),
        };
        // The running recording (if any) must end, and release the session, before a new one
        // can take it.
        let finished = self.lock().as_ref().and_then(|active| {
            active.stop.cancel();
            active.finished.clone()
        });
        if let Some(mut finished) = finished {
            let _ = finished.wait_for(|done| *done).await;
        }
        // A demo recorded again keeps its in-process stream server.
        let demo = self.lock().as_mut().and_then(|active| active._demo.take());
        let mode = if demo.is_some() {
            SessionMode::Demo
        } else {
            SessionMode::Live
        };
        let info = SessionInfo {
            mode,
            endpoint: Some(endpoint.to_string()),
            key_storage: Some(key_storage),
            key_note,
            can_resume: false,
            ..info
        };
        self.record(info, endpoint, key, SessionLabels::default(), demo)
            .await
    }

    /// Closes the open session, stopping its recording.
    pub fn close(&self) {
        self.retire(self.lock().take());
        self.live.send_replace(LiveStatus::none());
    }

    /// After an import: read the session anew and recount, so the page sees the new events.
    pub async fn refresh(&self) -> Result<(), CommandError> {
        let (info, reader, recording, stop, findings) = match self.lock().as_ref() {
            Some(active) => {
                if let Some(keeper) = &active.keeper {
                    keeper.session_changed();
                }
                (
                    active.info.clone(),
                    active.reader.clone(),
                    active.finished.is_some(),
                    active.stop.clone(),
                    active.findings.borrow().clone(),
                )
            }
            None => return Ok(()),
        };
        let live = self.live.clone();
        tauri::async_runtime::spawn_blocking(move || {
            if recording {
                // The bridge publishes on the recorder's next status; nudge the newest seq now.
                let newest_seq = reader
                    .lock()
                    .map_err(|_| CommandError::NoSession)?
                    .newest_seq()?;
                let mut next = live.borrow().clone();
                next.newest_seq = newest_seq;
                publish_unless_stopped(&live, &stop, next);
                return Ok(());
            }
            // A review connection reads the file as it was when opened: after an import wrote
            // to it, read it anew.
            let fresh = Session::open(Path::new(&info.path))?;
            *reader.lock().map_err(|_| CommandError::NoSession)? = fresh;
            let next = offline_status(&info, &reader, &findings)?;
            publish_unless_stopped(&live, &stop, next);
            Ok(())
        })
        .await
        .map_err(CommandError::Background)?
    }

    /// Starts the engine's recording of `info`'s session and makes it the open one. Opening
    /// (and migrating) the file runs on the blocking pool.
    async fn record(
        &self,
        info: SessionInfo,
        endpoint: Endpoint,
        key: ApiKey,
        labels: SessionLabels,
        demo: Option<RunningSim>,
    ) -> Result<SessionInfo, CommandError> {
        let path = PathBuf::from(&info.path);
        let request = RecordingRequest {
            session: path.clone(),
            endpoint,
            key,
            options: IngestOptions::default(),
            labels,
            detections: Some(self.detections.subscribe()),
            forwarding: None,
        };
        let forwarding = self.forwarding.clone();
        let (recording, reader) = tauri::async_runtime::spawn_blocking(move || {
            // The keyring is read here, off the async runtime.
            let request = RecordingRequest {
                forwarding: forwarding.for_recording(),
                ..request
            };
            let recording = Recording::start(request)?;
            match Session::open(&path) {
                Ok(reader) => Ok((recording, Arc::new(Mutex::new(reader)))),
                Err(error) => {
                    // Nothing would show or stop this recording: stop it now.
                    recording.stop();
                    Err(CommandError::from(error))
                }
            }
        })
        .await
        .map_err(CommandError::Background)??;
        let stop = recording.stopper();
        let status = recording.status();
        let findings = recording.findings();
        let forwarding_status = Some(recording.forwarding());
        let (finished, finished_rx) = watch::channel(false);
        self.replace(Active {
            info: info.clone(),
            reader: reader.clone(),
            stop: stop.clone(),
            findings: findings.clone(),
            keeper: None,
            verified: None,
            forwarding: forwarding_status,
            finished: Some(finished_rx),
            _demo: demo,
        });
        tauri::async_runtime::spawn(async move {
            // Why a recording stops is published in its status; nothing else to report.
            let _ = recording.join().await;
            let _ = finished.send(true);
        });
        tauri::async_runtime::spawn(live_bridge(
            status,
            findings,
            info.clone(),
            reader,
            self.live.clone(),
            stop,
        ));
        Ok(info)
    }

    /// Makes `active` the open session, stopping the previous one.
    fn replace(&self, active: Active) {
        let previous = self.lock().replace(active);
        self.retire(previous);
    }

    /// Stops a session that is no longer the open one (its recording, findings and bridge), and
    /// removes it if this app created it and it never stored anything: a connection that never
    /// worked leaves no empty session file behind. Files the app did not create are never
    /// touched.
    fn retire(&self, active: Option<Active>) {
        let Some(active) = active else { return };
        active.stop.cancel();
        let path = PathBuf::from(&active.info.path);
        let created_here = self
            .created
            .lock()
            .map(|created| created.contains(&path))
            .unwrap_or(false);
        if !created_here {
            return;
        }
        let created = self.created.clone();
        let finished = active.finished.clone();
        drop(active);
        tauri::async_runtime::spawn(async move {
            if let Some(mut finished) = finished {
                let _ = finished.wait_for(|done| *done).await;
            }
            let _ = tauri::async_runtime::spawn_blocking(move || {
                remove_if_empty(&path);
                if let Ok(mut created) = created.lock() {
                    created.remove(&path);
                }
            })
            .await;
        });
    }

    fn mark_created(&self, path: &Path) {
        if let Ok(mut created) = self.created.lock() {
            created.insert(path.to_owned());
        }
    }

    fn new_session_path(&self, label: &str) -> Result<PathBuf, CommandError> {
        std::fs::create_dir_all(&self.sessions_dir).map_err(|source| {
            CommandError::CreateSessionFolder {
                folder: self.sessions_dir.clone(),
                source,
            }
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        Ok(self
            .sessions_dir
            .join(format!("{}-{stamp}.tideline", file_safe(label))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Stops a session that is no longer the open one: its recording, findings and bridge.
/// Removes the session at `path` (and its lock file and notes) if it holds no event and no
/// quarantined frame, and nobody records it.
fn remove_if_empty(path: &Path) {
    let Ok(session) = Session::open(path) else {
        return;
    };
    let empty = session
        .summary()
        .is_ok_and(|summary| summary.events == 0 && summary.quarantined == 0);
    let notes = session.notes().clone();
    drop(session);
    if !empty || tideline_engine::store::recorder_of(path).is_some() {
        return;
    }
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    if let tideline_engine::store::NotesLocation::File(notes) = notes {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = notes.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

/// Publishes `next` unless the session was stopped; checked under the channel's lock, so it
/// cannot interleave with `close` (which stops the session, then publishes "no session").
fn publish_unless_stopped(
    live: &watch::Sender<LiveStatus>,
    stop: &CancellationToken,
    next: LiveStatus,
) -> bool {
    let mut next = Some(next);
    live.send_if_modified(|status| {
        if stop.is_cancelled() {
            return false;
        }
        if let Some(next) = next.take() {
            *status = next;
        }
        true
    });
    !stop.is_cancelled()
}

/// What a session file says about itself.
fn read_info(
    session: &Session,
    path: &Path,
    mode: SessionMode,
) -> Result<SessionInfo, CommandError> {
    let endpoint = session.meta(meta_keys::ENDPOINT)?;
    Ok(SessionInfo {
        path: path.display().to_string(),
        name: session.meta(meta_keys::NAME)?,
        incident: session.meta(meta_keys::INCIDENT)?,
        mode,
        can_resume: mode == SessionMode::Offline && endpoint.is_some(),
        endpoint,
        key_storage: None,
        key_note: None,
    })
}

fn endpoint_host(endpoint: &Endpoint) -> String {
    let host = endpoint.as_str().split("://").nth(1).unwrap_or("stream");
    host.split('/').next().unwrap_or(host).to_owned()
}

/// A label safe in a file name: letters, digits, `.`, `-`, `_`; at most 60 characters.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

/// The status of a session under review, read from its file.
fn offline_status(
    info: &SessionInfo,
    reader: &Reader,
    findings: &FindingsState,
) -> Result<LiveStatus, CommandError> {
    let session = reader.lock().map_err(|_| CommandError::NoSession)?;
    let summary = session.summary()?;
    Ok(LiveStatus {
        session: Some(info.clone()),
        connection: ConnectionState::Offline,
        received: 0,
        stored: summary.events,
        duplicates: summary.duplicates,
        quarantined: summary.quarantined,
        newest_event_time: summary.last_time,
        newest_seq: session.newest_seq()?,
        ..LiveStatus::none()
    }
    .with_findings(findings))
}

/// Republishes a reviewed session's status whenever its findings change, until it closes.
async fn offline_bridge(
    info: SessionInfo,
    reader: Reader,
    mut findings: watch::Receiver<FindingsState>,
    live: watch::Sender<LiveStatus>,
    stop: CancellationToken,
) {
    // The findings version the session's status was last read for.
    let mut read_for: Option<u64> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = findings.changed() => if changed.is_err() { return },
        }
        let current = findings.borrow_and_update().clone();
        let published = live.borrow().clone();
        let ours = published.session.as_ref().map(|s| &s.path) == Some(&info.path);
        let next = match read_for {
            // Only how far the rules read moved (every second of a rebuild): the status last
            // published (an import's refresh included) is not read from the session again.
            Some(version) if version == current.version && ours => {
                Some(published.with_findings(&current))
            }
            _ => {
                let (reader, info, found) = (reader.clone(), info.clone(), current.clone());
                tauri::async_runtime::spawn_blocking(move || {
                    offline_status(&info, &reader, &found).ok()
                })
                .await
                .ok()
                .flatten()
            }
        };
        if let Some(next) = next {
            read_for = Some(current.version);
            if !publish_unless_stopped(&live, &stop, next) {
                return;
            }
        }
    }
}

/// Forwards a recording's status and findings to the page's live status while its session is
/// the open one: a commit, a findings change or a connection change as soon as
/// [`LIVE_THROTTLE`] allows, frames read and nothing else within [`COUNTERS_EVERY`].
async fn live_bridge(
    mut status: watch::Receiver<IngestStatus>,
    mut findings: watch::Receiver<FindingsState>,
    info: SessionInfo,
    reader: Reader,
    live: watch::Sender<LiveStatus>,
    stop: CancellationToken,
) {
    let (mut status_open, mut findings_open) = (true, true);
    loop {
        let snapshot = status.borrow_and_update().clone();
        let found = findings.borrow_and_update().clone();
        let reader = reader.clone();
        let newest_seq = tauri::async_runtime::spawn_blocking(move || {
            reader
                .lock()
                .ok()
                .and_then(|session| session.newest_seq().ok().flatten())
        })
        .await
        .ok()
        .flatten();
        let next = LiveStatus {
            session: Some(info.clone()),
            received: snapshot.received,
            stored: snapshot.stored,
            duplicates: snapshot.duplicates,
            quarantined: snapshot.quarantined,
            newest_event_time: snapshot.newest_event_time.map(format_time),
            newest_seq,
            connection: snapshot.state.clone(),
            ..LiveStatus::none()
        }
        .with_findings(&found);
        if !publish_unless_stopped(&live, &stop, next) {
            return;
        }
        let published_at = tokio::time::Instant::now();
        // A stopped recording still finishes its findings: follow both to their ends.
        if !status_open && !findings_open {
            return;
        }
        // Waits for news the page acts on; a count of frames read alone waits its turn.
        let mut counters_moved = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = status.changed(), if status_open => status_open = changed.is_ok(),
                changed = findings.changed(), if findings_open => findings_open = changed.is_ok(),
                _ = tokio::time::sleep_until(published_at + COUNTERS_EVERY), if counters_moved => break,
            }
            if (!status_open && !findings_open) || *findings.borrow() != found {
                break;
            }
            let now = status.borrow();
            if is_news(&snapshot, &now) {
                break;
            }
            counters_moved |= now.received != snapshot.received;
        }
        tokio::time::sleep_until(published_at + LIVE_THROTTLE).await;
    }
}

/// Whether the recording's status moved in more than its count of frames read since
/// `published`: rows committed (the page reads them; the newest event time with them), a
/// duplicate or a quarantined frame, or the connection's state.
fn is_news(published: &IngestStatus, now: &IngestStatus) -> bool {
    let counted_alike = IngestStatus {
        received: published.received,
        ..now.clone()
    };
    counted_alike != *published
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_count_of_frames_read_waits_its_turn() {
        let published = IngestStatus {
            state: ConnectionState::Live,
            received: 10,
            stored: 8,
            duplicates: 1,
            quarantined: 1,
            newest_event_time: None,
        };
        let read_more = IngestStatus {
            received: 500,
            ..published.clone()
        };
        assert!(!is_news(&published, &read_more));
        assert!(!is_news(&published, &published));
        let committed = IngestStatus {
            stored: 9,
            ..read_more.clone()
        };
        assert!(is_news(&published, &committed));
        let quarantined = IngestStatus {
            quarantined: 2,
            ..published.clone()
        };
        assert!(is_news(&published, &quarantined));
        let dropped = IngestStatus {
            state: ConnectionState::Connecting,
            ..published.clone()
        };
        assert!(is_news(&published, &dropped));
        let newer = IngestStatus {
            newest_event_time: Some(chrono::Utc::now()),
            ..published.clone()
        };
        assert!(is_news(&published, &newer));
    }

    #[test]
    fn session_labels_become_safe_file_names() {
        assert_eq!(
            file_safe("INC-42: prod/db breach"),
            "INC-42__prod_db_breach"
        );
        assert_eq!(file_safe("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(file_safe(&"x".repeat(100)).len(), 60);
    }
}
