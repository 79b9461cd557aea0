//! host: the window's one open session — recording it (from an EventStream or the built-in
//! demo), or reviewing a saved one offline — and the live status the page watches.
//!
//! Reads go through a second connection to the same file (WAL lets it read while the writer
//! thread commits), so queries never wait for ingest and ingest never waits for queries.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventstream_sim::{RunningSim, Scenario, SimConfig, StreamSource};
use serde::Serialize;
use tideline_engine::ingest::{
    ApiKey, ConnectionState, Endpoint, IngestOptions, IngestStatus, Recorder,
};
use tideline_engine::store::{Session, SessionWriter, format_time};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::CommandError;
use crate::keystore::{self, KeyStorage};

/// How long the demo's attack story takes to unfold.
const DEMO_SPAN: Duration = Duration::from_secs(60);
/// The live status is pushed at most this often.
const LIVE_THROTTLE: Duration = Duration::from_millis(50);

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
    pub mode: SessionMode,
    pub endpoint: Option<String>,
    pub key_storage: Option<KeyStorage>,
    /// Said to the user when the key could not go to the OS keyring.
    pub key_note: Option<String>,
}

/// The status bar's data.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct LiveStatus {
    pub connection: ConnectionState,
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub newest_event_time: Option<String>,
    #[ts(type = "number | null")]
    pub newest_seq: Option<i64>,
}

impl LiveStatus {
    fn none() -> LiveStatus {
        LiveStatus {
            connection: ConnectionState::Offline,
            received: 0,
            stored: 0,
            duplicates: 0,
            quarantined: 0,
            newest_event_time: None,
            newest_seq: None,
        }
    }
}

pub type Reader = Arc<Mutex<Session>>;

struct Active {
    info: SessionInfo,
    reader: Reader,
    /// Stops this session's recording, if it records.
    stop: Option<CancellationToken>,
    /// The in-process demo stream server, kept alive while its session is open.
    _demo: Option<RunningSim>,
}

pub struct SessionHost {
    active: Mutex<Option<Active>>,
    /// Bumped whenever the session changes, so a closed session's bridge stops publishing.
    generation: Arc<AtomicU64>,
    live: watch::Sender<LiveStatus>,
    sessions_dir: PathBuf,
}

impl SessionHost {
    pub fn new(sessions_dir: PathBuf) -> SessionHost {
        SessionHost {
            active: Mutex::new(None),
            generation: Arc::new(AtomicU64::new(0)),
            live: watch::channel(LiveStatus::none()).0,
            sessions_dir,
        }
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

    pub fn live(&self) -> watch::Receiver<LiveStatus> {
        self.live.subscribe()
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
        let info = SessionInfo {
            path: path.display().to_string(),
            mode: SessionMode::Demo,
            endpoint: Some(endpoint.to_string()),
            key_storage: None,
            key_note: None,
        };
        self.record(info, &path, endpoint, ApiKey::new(key)?, Some(sim))
    }

    /// Records a real EventStream; the key goes to the OS keyring, else memory.
    pub async fn connect(&self, endpoint: &str, key: String) -> Result<SessionInfo, CommandError> {
        let endpoint = Endpoint::parse(endpoint)?;
        let key = ApiKey::new(key)?;
        let (key_storage, key_note) = keystore::store(&endpoint, &key);
        let path = self.new_session_path(endpoint_slug(&endpoint).as_str())?;
        let info = SessionInfo {
            path: path.display().to_string(),
            mode: SessionMode::Live,
            endpoint: Some(endpoint.to_string()),
            key_storage: Some(key_storage),
            key_note,
        };
        self.record(info, &path, endpoint, key, None)
    }

    /// Opens a saved session for review. Nothing connects anywhere.
    pub fn open(&self, path: &Path) -> Result<SessionInfo, CommandError> {
        let reader = Session::open(path)?;
        let summary = reader.summary()?;
        let info = SessionInfo {
            path: path.display().to_string(),
            mode: SessionMode::Offline,
            endpoint: None,
            key_storage: None,
            key_note: None,
        };
        let newest_seq = reader.newest_seq()?;
        self.replace(Active {
            info: info.clone(),
            reader: Arc::new(Mutex::new(reader)),
            stop: None,
            _demo: None,
        });
        self.live.send_replace(LiveStatus {
            connection: ConnectionState::Offline,
            received: 0,
            stored: summary.events,
            duplicates: summary.duplicates,
            quarantined: summary.quarantined,
            newest_event_time: summary.last_time,
            newest_seq,
        });
        Ok(info)
    }

    fn record(
        &self,
        info: SessionInfo,
        path: &Path,
        endpoint: Endpoint,
        key: ApiKey,
        demo: Option<RunningSim>,
    ) -> Result<SessionInfo, CommandError> {
        let session = Session::open_or_create(path)?;
        let reader: Reader = Arc::new(Mutex::new(Session::open(path)?));
        let writer = SessionWriter::spawn(session)?;
        let recorder = Recorder::new(endpoint, key, IngestOptions::default(), &writer);
        let status = recorder.status();
        let stop = CancellationToken::new();
        let generation = self.replace(Active {
            info: info.clone(),
            reader: reader.clone(),
            stop: Some(stop.clone()),
            _demo: demo,
        });
        tauri::async_runtime::spawn(async move {
            // The reason a recording stops is published in its status; nothing else to report.
            let _ = recorder.run(&writer, stop).await;
            let _ = writer.close().await;
        });
        tauri::async_runtime::spawn(bridge(
            status,
            reader,
            self.live.clone(),
            self.generation.clone(),
            generation,
        ));
        Ok(info)
    }

    /// Makes `active` the open session, stopping the previous one's recording.
    fn replace(&self, active: Active) -> u64 {
        let mut slot = self.lock();
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(previous) = slot.replace(active) {
            if let Some(stop) = previous.stop {
                stop.cancel();
            }
        }
        generation
    }

    fn new_session_path(&self, label: &str) -> Result<PathBuf, CommandError> {
        std::fs::create_dir_all(&self.sessions_dir).map_err(|error| {
            CommandError::SessionFolder(format!("{}: {error}", self.sessions_dir.display()))
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        Ok(self.sessions_dir.join(format!("{label}-{stamp}.tideline")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `streaming.opshelm.com` from its URL, safe as part of a file name.
fn endpoint_slug(endpoint: &Endpoint) -> String {
    let host = endpoint.as_str().split("://").nth(1).unwrap_or("stream");
    host.chars()
        .take_while(|c| *c != '/')
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Forwards a recording's status to the page's live status while its session is the open one.
async fn bridge(
    mut status: watch::Receiver<IngestStatus>,
    reader: Reader,
    live: watch::Sender<LiveStatus>,
    current: Arc<AtomicU64>,
    generation: u64,
) {
    loop {
        let snapshot = status.borrow_and_update().clone();
        if current.load(Ordering::SeqCst) != generation {
            return;
        }
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
        live.send_replace(LiveStatus {
            received: snapshot.received,
            stored: snapshot.stored,
            duplicates: snapshot.duplicates,
            quarantined: snapshot.quarantined,
            newest_event_time: snapshot.newest_event_time.map(format_time),
            newest_seq,
            connection: snapshot.state,
        });
        if status.changed().await.is_err() {
            return;
        }
        tokio::time::sleep(LIVE_THROTTLE).await;
    }
}
