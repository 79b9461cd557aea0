//! detections: runs the engine's detection rules over the open session — a rebuild when it
//! opens or the settings change, then incrementally as events are stored — and keeps the
//! settings file (JSON, in the app's config folder).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tideline_engine::detect::{DetectionRunner, DetectionSettings, RuleStatus};
use tideline_engine::store::Session;
use tokio::sync::watch;

use crate::error::CommandError;
use crate::host::LiveStatus;

/// New events are checked at most this often.
const CATCH_UP_EVERY: Duration = Duration::from_millis(300);

pub struct Detections {
    file: PathBuf,
    settings: watch::Sender<DetectionSettings>,
    statuses: Mutex<Vec<RuleStatus>>,
    /// Bumped whenever the stored findings change, so the page knows to reload them.
    pub version: Arc<AtomicU64>,
    pub count: Arc<AtomicU64>,
}

impl Detections {
    /// Loads the settings file; a missing one means the defaults, a broken one is reported.
    pub fn load(file: PathBuf) -> (Detections, Option<String>) {
        let (settings, problem) = match std::fs::read_to_string(&file) {
            Err(_) => (DetectionSettings::default(), None),
            Ok(text) => match serde_json::from_str(&text) {
                Ok(settings) => (settings, None),
                Err(error) => (
                    DetectionSettings::default(),
                    Some(format!(
                        "{}: {error}; using the default detection settings",
                        file.display()
                    )),
                ),
            },
        };
        let detections = Detections {
            file,
            settings: watch::channel(settings).0,
            statuses: Mutex::new(Vec::new()),
            version: Arc::new(AtomicU64::new(0)),
            count: Arc::new(AtomicU64::new(0)),
        };
        (detections, problem)
    }

    pub fn settings(&self) -> DetectionSettings {
        self.settings.borrow().clone()
    }

    pub fn statuses(&self) -> Vec<RuleStatus> {
        self.statuses.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Saves the settings file and rebuilds the findings of the open session with them.
    pub fn save(&self, settings: DetectionSettings) -> Result<(), CommandError> {
        settings.validate().map_err(CommandError::BadSettings)?;
        let json = serde_json::to_vec_pretty(&settings)
            .map_err(|error| CommandError::Task(error.to_string()))?;
        if let Some(folder) = self.file.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|error| CommandError::Task(error.to_string()))?;
        }
        std::fs::write(&self.file, json).map_err(|error| {
            CommandError::Task(format!("cannot save {}: {error}", self.file.display()))
        })?;
        self.settings.send_replace(settings);
        Ok(())
    }

    /// Keeps the findings of the session at `path` current until `alive` says it closed.
    pub fn watch_session(
        self: &Arc<Self>,
        path: &Path,
        live: watch::Sender<LiveStatus>,
        alive: impl Fn() -> bool + Send + 'static,
    ) {
        let detections = self.clone();
        let mut changes = live.subscribe();
        let path = path.to_owned();
        let mut settings = self.settings.subscribe();
        tauri::async_runtime::spawn(async move {
            let mut runner: Option<DetectionRunner> = None;
            while alive() {
                let rebuild = runner.is_none() || settings.has_changed().unwrap_or(false);
                let current = settings.borrow_and_update().clone();
                let path = path.clone();
                let taken = runner.take();
                let outcome = tauri::async_runtime::spawn_blocking(move || {
                    let mut session = Session::open(&path)?;
                    match taken {
                        Some(mut runner) if !rebuild => runner
                            .catch_up(&mut session)
                            .map(|changed| (runner, changed)),
                        _ => DetectionRunner::rebuild(&mut session, current).map(|runner| {
                            let count = runner.findings().len();
                            (runner, count.max(1))
                        }),
                    }
                })
                .await;
                match outcome {
                    Ok(Ok((next, changed))) => {
                        if let Ok(mut statuses) = detections.statuses.lock() {
                            *statuses = next.statuses().to_vec();
                        }
                        if (changed > 0 || rebuild) && alive() {
                            let count = next.findings().len() as u64;
                            detections.count.store(count, Ordering::SeqCst);
                            let version = detections.version.fetch_add(1, Ordering::SeqCst) + 1;
                            live.send_if_modified(|status| {
                                if !alive() {
                                    return false;
                                }
                                status.findings = count;
                                status.findings_version = version;
                                true
                            });
                        }
                        runner = Some(next);
                    }
                    // The session went away or cannot be read: try again on the next change.
                    _ => runner = None,
                }
                tokio::select! {
                    _ = changes.changed() => {}
                    _ = settings.changed() => {}
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                tokio::time::sleep(CATCH_UP_EVERY).await;
            }
        });
    }
}
