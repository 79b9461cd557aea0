//! writer: the thread that owns a session while it records and commits frames in batches —
//! at most [`BATCH_MAX_FRAMES`] frames or [`BATCH_MAX_BYTES`] of bodies, and within
//! [`FLUSH_WITHIN`] of the first uncommitted one.
//!
//! The queue in front of it is bounded, so a slow disk slows the stream reader down instead
//! of growing memory. When the queue is empty, and before it closes, it brings the search index
//! (store/search.rs) and the events' digests (store/digests.rs) up to date. Its WAL checkpoints
//! run on a thread of their own (store/checkpointer.rs).

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, watch};

use super::writes::BatchFill;
#[cfg(doc)]
use super::writes::{BATCH_MAX_BYTES, BATCH_MAX_FRAMES};
use super::{Session, StoreError};
use crate::model::PositionedFrame;

/// Events the writer adds to the search index (or digests) at a time when its queue is empty
/// (~0.15 s of work: a frame arriving meanwhile waits at most that long).
const SEARCH_CHUNK: u64 = 5_000;
pub const FLUSH_WITHIN: Duration = Duration::from_millis(100);
const QUEUE_CAPACITY: usize = 8_192;

/// The session's totals as of the last commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterTotals {
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub newest_time: Option<DateTime<Utc>>,
    /// The durable stream position.
    pub position: Option<String>,
}

#[allow(
    clippy::large_enum_variant,
    reason = "frames are the common case; flushes are rare"
)]
enum Command {
    Frame(PositionedFrame),
    Flush(oneshot::Sender<Option<String>>),
}

/// A handle to the writer thread. Dropping every handle lets the thread finish its last batch.
pub struct SessionWriter {
    commands: flume::Sender<Command>,
    totals: watch::Receiver<WriterTotals>,
    thread: JoinHandle<Result<Session, StoreError>>,
    /// Why the thread stopped, when it stopped on an error: what `send` and `flush` report
    /// instead of a bare "writer gone".
    failure: Arc<Mutex<Option<StoreError>>>,
}

impl SessionWriter {
    /// Moves `session` onto its own thread; totals start from what the session already holds.
    pub fn spawn(session: Session) -> Result<SessionWriter, StoreError> {
        session.tune_for_bulk_writes()?;
        let summary = session.summary()?;
        let initial = WriterTotals {
            stored: summary.events,
            duplicates: summary.duplicates,
            quarantined: summary.quarantined,
            newest_time: summary
                .last_time
                .as_deref()
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&Utc)),
            position: summary.last_event_id,
        };
        let (commands, queue) = flume::bounded(QUEUE_CAPACITY);
        let (totals_tx, totals) = watch::channel(initial);
        let failure = Arc::new(Mutex::new(None));
        let failed = failure.clone();
        let thread = std::thread::Builder::new()
            .name("tideline-writer".into())
            .spawn(move || run(session, queue, totals_tx, &failed))
            .map_err(|source| StoreError::Io {
                path: "writer thread".into(),
                source,
            })?;
        Ok(SessionWriter {
            commands,
            totals,
            thread,
            failure,
        })
    }

    /// Queues a frame; waits while the queue is full.
    pub async fn send(&self, frame: PositionedFrame) -> Result<(), StoreError> {
        self.commands
            .send_async(Command::Frame(frame))
            .await
            .map_err(|_| self.stopped())
    }

    /// The reason the writer thread stopped, if it stopped on an error.
    fn stopped(&self) -> StoreError {
        self.failure
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(StoreError::shared_copy))
            .unwrap_or(StoreError::WriterGone)
    }

    /// Commits everything queued so far and returns the durable stream position.
    pub async fn flush(&self) -> Result<Option<String>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send_async(Command::Flush(reply))
            .await
            .map_err(|_| self.stopped())?;
        answer.await.map_err(|_| self.stopped())
    }

    /// Totals after each commit.
    pub fn totals(&self) -> watch::Receiver<WriterTotals> {
        self.totals.clone()
    }

    /// Commits what is queued, stops the thread and hands the session back (or the error
    /// that stopped the thread).
    pub async fn close(self) -> Result<Session, StoreError> {
        drop(self.commands);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(|_| StoreError::WriterGone)?
    }
}

fn run(
    mut session: Session,
    queue: flume::Receiver<Command>,
    totals_tx: watch::Sender<WriterTotals>,
    failure: &Mutex<Option<StoreError>>,
) -> Result<Session, StoreError> {
    // Without its own thread (a second connection could not be opened), the writer
    // checkpoints in its commits, as SQLite does by itself: slower to show, nothing lost.
    let checkpointer = session.start_checkpointer().ok();
    let recorded = write_until_closed(&mut session, &queue, &totals_tx, failure);
    if let Some(checkpointer) = checkpointer {
        // Not passed on: every row is committed, and a connection whose own setting could not
        // be given back still checkpoints in its commits (at SQLite's default size).
        let _ = session.stop_checkpointer(checkpointer);
    }
    recorded?;
    Ok(session)
}

/// The writer thread's loop: batches of frames committed until every handle is gone.
fn write_until_closed(
    session: &mut Session,
    queue: &flume::Receiver<Command>,
    totals_tx: &watch::Sender<WriterTotals>,
    failure: &Mutex<Option<StoreError>>,
) -> Result<(), StoreError> {
    let mut batch: Vec<PositionedFrame> = Vec::new();
    let mut fill = BatchFill::default();
    let mut flushes: Vec<oneshot::Sender<Option<String>>> = Vec::new();
    // Named before the queue and the waiting flushes are dropped, so whoever notices first
    // reads the real cause.
    let fail = |error: StoreError| {
        if let Ok(mut slot) = failure.lock() {
            *slot = Some(error.shared_copy());
        }
        error
    };
    loop {
        // Idle: bring the search index up to date, a chunk at a time, between frames.
        let first = match queue.try_recv() {
            Ok(command) => command,
            Err(flume::TryRecvError::Disconnected) => break,
            Err(flume::TryRecvError::Empty) => {
                if session.index_idle(SEARCH_CHUNK).map_err(fail)? > 0 {
                    continue;
                }
                match queue.recv() {
                    Ok(command) => command,
                    Err(_) => break,
                }
            }
        };
        let deadline = Instant::now() + FLUSH_WITHIN;
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Frame(frame) => {
                    fill.add(&frame);
                    batch.push(frame);
                }
                Command::Flush(reply) => {
                    flushes.push(reply);
                    break;
                }
            }
            if fill.is_full() {
                break;
            }
            next = queue.recv_deadline(deadline).ok();
        }
        if !batch.is_empty() {
            let outcome = session.write_batch(&batch).map_err(fail)?;
            batch.clear();
            fill = BatchFill::default();
            totals_tx.send_modify(|totals| {
                totals.stored += outcome.stored;
                totals.duplicates += outcome.duplicates;
                totals.quarantined += outcome.quarantined;
                totals.newest_time = totals.newest_time.max(outcome.newest_time);
                if outcome.position.is_some() {
                    totals.position = outcome.position;
                }
            });
        }
        for reply in flushes.drain(..) {
            let _ = reply.send(totals_tx.borrow().position.clone());
        }
    }
    // The recording ends with its search index and digests complete.
    while session.index_idle(SEARCH_CHUNK).map_err(fail)? > 0 {}
    Ok(())
}
