//! keeper: keeps one session's findings current for as long as it is open — resumed from the
//! stored watermark when it starts (a rebuild only if they are not current, see
//! [`DetectionRunner::open`]) and whenever the settings change to others, then only the events
//! stored since, each time the session says it changed. The one loop behind findings while
//! recording (app and CLI alike) and while reviewing a saved session.
//!
//! Each pass reads through a review connection of its own and writes findings into the
//! session's notes database (never the evidence), on a blocking thread, at most every
//! [`CATCH_UP_EVERY`]; while another process rebuilds them, it looks again every
//! [`LOOK_AGAIN_EVERY`]. Its state says whether the rules are still reading the session
//! ([`FindingsState::reading`]), and how far a rebuild has read, every [`PROGRESS_EVERY`]
//! ([`FindingsState::read`]), so that "no findings" is never said before they have read it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{DetectionRunner, DetectionSettings, Opened, RebuildProgress, RuleStatus};
use crate::store::{Session, StoreError};

/// New events are looked at no more often than this.
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(300);

/// While another process rebuilds the findings, they are looked at again this often.
pub const LOOK_AGAIN_EVERY: Duration = Duration::from_secs(5);

/// While the rules read the session, how far a rebuild has read is published this often.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What the rules have found so far, for a status bar or a findings panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingsState {
    /// How many findings the session has.
    pub count: u64,
    /// Changes whenever the stored findings do, so a page knows to reload them.
    pub version: u64,
    /// Which rules run, and why one does not.
    pub statuses: Vec<RuleStatus>,
    /// Why the last pass failed (it is tried again on the next change), if it did: then
    /// `reading` can stay true, the session not read, until a pass succeeds.
    pub problem: Option<String>,
    /// The rules have not yet read the whole session with the current settings: from the
    /// keeper's start and from a change of settings until a pass resumes or rebuilds the
    /// findings (a rebuild reads every event: about a minute at 1M), and for as long as another
    /// process rebuilds them. Meanwhile `count` can be short, or 0, however many there are.
    pub reading: bool,
    /// While `reading`, how far this keeper's rebuild has read: `(events read, events to
    /// read)`, every [`PROGRESS_EVERY`]; `(0, 0)` while it resumes, waits for another
    /// process, or before its rebuild begins, once it is not reading, and after a failed pass.
    pub read: (u64, u64),
}

impl FindingsState {
    /// A keeper's state before its first pass ends: nothing counted, the session still to read.
    pub fn before_first_pass() -> FindingsState {
        FindingsState {
            reading: true,
            ..FindingsState::default()
        }
    }
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
    /// every change to other settings). Needs a Tokio runtime.
    pub fn start(session: PathBuf, settings: watch::Receiver<DetectionSettings>) -> FindingsKeeper {
        let (state_tx, state) = watch::channel(FindingsState::before_first_pass());
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
    let progress = Arc::new(RebuildProgress::default());
    // The settings the stored findings are current for, once a pass has made them so.
    let mut covered: Option<DetectionSettings> = None;
    let mut version = 0u64;
    let mut settings_open = true;
    loop {
        if ends.stop.is_cancelled() {
            return;
        }
        // Finishing: one last pass for what was stored since, then done.
        let last = ends.finishing.is_cancelled();
        let waiting = kept.as_ref().is_some_and(DetectionRunner::is_waiting);
        if last && !waiting && !changes.has_changed().unwrap_or(false) {
            return;
        }
        let current = settings.borrow_and_update().clone();
        changes.borrow_and_update();
        let path = path.clone();
        let taken = kept.take();
        // Findings not yet current for these settings are resumed or rebuilt: until that pass
        // ends, what is shown is not yet what the rules find.
        if covered.as_ref() != Some(&current) {
            state.send_if_modified(|now| !std::mem::replace(&mut now.reading, true));
        }
        let (reporting, passed) = (progress.clone(), current.clone());
        let mut pass =
            tokio::task::spawn_blocking(move || one_pass(&path, taken, current, reporting));
        let joined = loop {
            tokio::select! {
                joined = &mut pass => break joined,
                _ = tokio::time::sleep(PROGRESS_EVERY) => {
                    // A rebuild begun in this pass (a catch-up runs one too: an event older
                    // than the session's first change, a stalled rebuild taken over) reads.
                    let read = progress.get();
                    state.send_if_modified(|now| {
                        let reading = now.reading || read.1 > 0;
                        let moved = reading && (!now.reading || now.read != read);
                        if moved {
                            now.reading = true;
                            now.read = read;
                        }
                        moved
                    });
                }
            }
        };
        progress.reset();
        let outcome = joined
            .map_err(|error| format!("the findings pass failed: {error}"))
            .and_then(|pass| pass.map_err(|error| error.to_string()));
        let mut waiting = false;
        match outcome {
            Ok(pass) => {
                if pass.changed > 0 {
                    version += 1;
                }
                waiting = pass.waiting;
                covered = (!pass.waiting).then(|| passed.clone());
                let next = FindingsState {
                    count: pass.count,
                    version,
                    statuses: pass.statuses,
                    problem: None,
                    // Settings changed during the pass: the next one rebuilds.
                    reading: pass.waiting || *settings.borrow() != passed,
                    read: (0, 0),
                };
                state.send_if_modified(|now| {
                    let modified = *now != next;
                    *now = next;
                    modified
                });
                kept = pass.runner;
            }
            // The session cannot be read right now: say why and try again on the next change
            // (with a runner opened anew: what the failed one held may not match the store).
            Err(problem) => {
                covered = None;
                state.send_modify(|now| {
                    now.problem = Some(problem);
                    now.read = (0, 0);
                });
            }
        }
        if last && !waiting {
            return;
        }
        if waiting {
            // Another process rebuilds the findings: look again in a while.
            tokio::select! {
                _ = ends.stop.cancelled() => return,
                _ = tokio::time::sleep(LOOK_AGAIN_EVERY) => continue,
            }
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

/// What one pass did.
struct Pass {
    /// The runner the next pass continues with; `None` after a rebuild (see [`one_pass`]).
    runner: Option<DetectionRunner>,
    /// Another process rebuilds the findings: this pass only looked.
    waiting: bool,
    statuses: Vec<RuleStatus>,
    /// How many findings changed (a rebuild or takeover counts them all).
    changed: usize,
    /// How many findings the session has.
    count: u64,
}

/// One pass on a blocking thread: open (resume or rebuild) the first time or with other
/// settings, else the events stored since the last pass. The session is opened anew each
/// pass: a review connection reads a file as it was when opened, and an import may have
/// written to it since.
fn one_pass(
    path: &std::path::Path,
    kept: Option<DetectionRunner>,
    settings: DetectionSettings,
    progress: Arc<RebuildProgress>,
) -> Result<Pass, StoreError> {
    let mut session = Session::open(path)?;
    let (runner, changed, rebuilt) = match kept {
        Some(mut runner) if *runner.settings() == settings => {
            let changed = runner.catch_up(&mut session)?;
            (runner, changed, false)
        }
        _ => {
            let (runner, opened) =
                DetectionRunner::open_reporting(&mut session, settings, progress)?;
            let changed = match opened {
                Opened::Resumed { caught_up: 0 } | Opened::Waiting => 0,
                _ => usize::MAX,
            };
            (runner, changed, matches!(opened, Opened::Rebuilt(_)))
        }
    };
    let count = session.finding_count()?;
    let waiting = runner.is_waiting();
    let statuses = runner.statuses().to_vec();
    // A rebuild leaves the runner with everything its scan built up (at 1M events ~200 MB,
    // where one resumed from the watermark holds its rules' state per subject, and no pairs):
    // it is let go, with the memory the scan freed, and the next pass resumes from what the
    // rebuild stored.
    let runner = if rebuilt {
        drop(runner);
        release_free_memory();
        None
    } else {
        Some(runner)
    };
    Ok(Pass {
        runner,
        waiting,
        statuses,
        changed,
        count,
    })
}

/// Hands the allocator's free memory back to the system: glibc keeps what a bulk job on
/// several threads freed in its arenas (`malloc_trim(3)`); elsewhere nothing to do.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
