//! keeper: keeps one session's findings current for as long as it is open — a rebuild when it
//! starts and whenever the settings change, then only the events stored since, each time the
//! session says it changed. The one loop behind findings while recording (app and CLI alike)
//! and while reviewing a saved session.
//!
//! Each pass reads through a review connection of its own and writes findings into the
//! session's notes database (never the evidence), on a blocking thread, at most every
//! [`CATCH_UP_EVERY`].

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{DetectionRunner, DetectionSettings, RuleStatus};
use crate::store::{Session, StoreError};

/// New events are looked at no more often than this.
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(300);

/// What the rules have found so far, for a status bar or a findings panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingsState {
    /// How many findings the session has.
    pub count: u64,
    /// Changes whenever the stored findings do, so a page knows to reload them.
    pub version: u64,
    /// Which rules run, and why one does not.
    pub statuses: Vec<RuleStatus>,
    /// Why the last pass failed (it is tried again on the next change), if it did.
    pub problem: Option<String>,
}

/// A running keeper. It runs until [`FindingsKeeper::stop`] (or [`FindingsKeeper::finish`]);
/// dropping the handle stops it too.
pub struct FindingsKeeper {
    state: watch::Receiver<FindingsState>,
    changed: watch::Sender<u64>,
    stop: CancellationToken,
    /// Asks for one last pass, then an end (see [`FindingsKeeper::finish`]).
    finishing: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl FindingsKeeper {
    /// Starts keeping the findings of the session at `session` with `settings` (a rebuild on
    /// every change of it). Needs a Tokio runtime.
    pub fn start(session: PathBuf, settings: watch::Receiver<DetectionSettings>) -> FindingsKeeper {
        let (state_tx, state) = watch::channel(FindingsState::default());
        let (changed, changes) = watch::channel(0);
        let stop = CancellationToken::new();
        let finishing = CancellationToken::new();
        let task = tokio::spawn(keep(
            session,
            settings,
            changes,
            state_tx,
            Ends {
                stop: stop.clone(),
                finishing: finishing.clone(),
            },
        ));
        FindingsKeeper {
            state,
            changed,
            stop,
            finishing,
            task: Some(task),
        }
    }

    /// Stops at once, without looking at what was stored since the last pass.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Looks at what was stored since the last pass, once more, then stops: call it after the
    /// session's writer closed, so the findings cover every stored event.
    pub async fn finish(mut self) -> FindingsState {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        self.finishing.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state.borrow().clone()
    }

    /// The findings' state, updated after every pass that changed something.
    pub fn state(&self) -> watch::Receiver<FindingsState> {
        self.state.clone()
    }

    /// Tells the keeper the session has new events (a recorder committed, an import ran).
    pub fn session_changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A handle that can tell the keeper about changes from another task.
    pub fn change_signal(&self) -> watch::Sender<u64> {
        self.changed.clone()
    }
}

impl Drop for FindingsKeeper {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn keep(
    path: PathBuf,
    mut settings: watch::Receiver<DetectionSettings>,
    mut changes: watch::Receiver<u64>,
    state: watch::Sender<FindingsState>,
    ends: Ends,
) {
    let mut kept: Option<DetectionRunner> = None;
    let mut version = 0u64;
    let mut settings_open = true;
    loop {
        if ends.stop.is_cancelled() {
            return;
        }
        // Finishing: one last pass for what was stored since, then done.
        let last = ends.finishing.is_cancelled();
        if last && !changes.has_changed().unwrap_or(false) {
            return;
        }
        let rebuild = kept.is_none() || settings.has_changed().unwrap_or(false);
        let current = settings.borrow_and_update().clone();
        changes.borrow_and_update();
        let path = path.clone();
        let taken = kept.take();
        let outcome = tokio::task::spawn_blocking(move || one_pass(&path, taken, rebuild, current))
            .await
            .map_err(|error| format!("the findings pass failed: {error}"))
            .and_then(|pass| pass.map_err(|error| error.to_string()));
        match outcome {
            Ok((runner, changed)) => {
                if changed > 0 || rebuild {
                    version += 1;
                }
                let next = FindingsState {
                    count: runner.findings().len() as u64,
                    version,
                    statuses: runner.statuses().to_vec(),
                    problem: None,
                };
                state.send_if_modified(|now| {
                    let modified = *now != next;
                    *now = next;
                    modified
                });
                kept = Some(runner);
            }
            // The session cannot be read right now: say why and try again on the next change.
            Err(problem) => state.send_modify(|now| now.problem = Some(problem)),
        }
        if last {
            return;
        }
        tokio::select! {
            _ = ends.stop.cancelled() => return,
            _ = ends.finishing.cancelled() => continue,
            changed = changes.changed() => if changed.is_err() { return },
            // Settings that can no longer change (their sender is gone) are simply kept.
            changed = settings.changed(), if settings_open => {
                settings_open = changed.is_ok();
            }
        }
        tokio::select! {
            _ = ends.stop.cancelled() => return,
            _ = ends.finishing.cancelled() => {}
            _ = tokio::time::sleep(CATCH_UP_EVERY) => {}
        }
    }
}

/// How a keeper ends: at once (`stop`), or after one last pass (`finishing`).
struct Ends {
    stop: CancellationToken,
    finishing: CancellationToken,
}

/// One pass on a blocking thread: a rebuild, or the events stored since the last pass. The
/// session is opened anew each pass: a review connection reads a file as it was when opened,
/// and an import may have written to it since.
fn one_pass(
    path: &std::path::Path,
    kept: Option<DetectionRunner>,
    rebuild: bool,
    settings: DetectionSettings,
) -> Result<(DetectionRunner, usize), StoreError> {
    let mut session = Session::open(path)?;
    match kept {
        Some(mut runner) if !rebuild => {
            let changed = runner.catch_up(&mut session)?;
            Ok((runner, changed))
        }
        _ => {
            let runner = DetectionRunner::rebuild(&mut session, settings)?;
            let count = runner.findings().len();
            Ok((runner, count.max(1)))
        }
    }
}
