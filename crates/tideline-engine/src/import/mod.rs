//! import: bring a saved stream (`.sse` capture or NDJSON, such as an NDJSON export) into a
//! session through the same validation, deduplication and quarantine as the live path; cloud
//! audit logs (CloudTrail, GCP, Azure) go the same way after normalization ([`logs`]).
//! Imports never move the session's live stream position. A frame that cannot be read (too
//! large, not UTF-8, or cut short by the end of the file) is quarantined like any bad frame.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::Utc;

use crate::capture::{self, CapturedFrame, Frames};
use crate::model::{Frame, PositionedFrame};
use crate::store::{BatchFill, BatchOutcome, Session, StoreError};
use crate::wire;

mod logs;

pub use logs::{LogImportReport, import_path};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    pub frames: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the import was cancelled after {0} frames (those are kept)")]
    Cancelled(u64),
}

/// Reports `(bytes read, bytes in all)`; returning `false` cancels (frames already stored stay).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Imports the capture at `path` into `session`.
pub fn import_file(
    session: &mut Session,
    path: &Path,
    progress: Progress<'_>,
) -> Result<ImportOutcome, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    session.tune_for_bulk_writes()?;
    let total = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            read: 0,
        },
    );
    let format = capture::sniff(reader.fill_buf().map_err(read_error)?);
    let mut frames = Frames::new(reader, format);
    let mut outcome = ImportOutcome::default();
    let mut batch = Vec::new();
    let mut fill = BatchFill::default();
    loop {
        let next = frames.next().transpose().map_err(read_error)?;
        let done = next.is_none();
        if let Some(frame) = next {
            outcome.frames += 1;
            let decoded = match frame {
                CapturedFrame::Event(event) => {
                    wire::decode_sse_event(&event.event_type, event.data)
                }
                CapturedFrame::Rejected(rejected) => Some(rejected.into_frame()),
            };
            if let Some(decoded) = decoded {
                let frame = positioned(decoded);
                fill.add(&frame);
                batch.push(frame);
            }
        }
        if fill.is_full() || (done && !batch.is_empty()) {
            add(&mut outcome, store_batch(session, &mut batch)?);
            fill = BatchFill::default();
            if !progress(frames.bytes_read(), total) {
                return Err(ImportError::Cancelled(outcome.frames));
            }
        }
        if done {
            progress(total, total);
            return Ok(outcome);
        }
    }
}

/// A frame as an import stores it: no stream position, received now.
fn positioned(frame: Frame) -> PositionedFrame {
    PositionedFrame {
        frame,
        sse_id: None,
        received_at: Utc::now(),
    }
}

/// Events an import indexes for search, or digests, per transaction (at least a batch).
const INDEX_CHUNK: u64 = 10_000;

/// Writes `batch` in one transaction, then brings the search index and the digests up to date
/// as the recorder's writer does when idle ([`Session::index_idle`]; an import has no idle
/// moments), a chunk at a time, and empties it. Digesting goes from the oldest event without a
/// digest: the first import into a session recorded before digests existed (or after their
/// version changed) digests the whole session.
fn store_batch(
    session: &mut Session,
    batch: &mut Vec<PositionedFrame>,
) -> Result<BatchOutcome, StoreError> {
    let outcome = session.write_batch(batch)?;
    while session.index_idle(INDEX_CHUNK)? > 0 {}
    batch.clear();
    Ok(outcome)
}

fn add(outcome: &mut ImportOutcome, batch: BatchOutcome) {
    outcome.stored += batch.stored;
    outcome.duplicates += batch.duplicates;
    outcome.quarantined += batch.quarantined;
}

/// A reader that counts the bytes taken from it, for progress.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Read> Frames<BufReader<Counting<R>>> {
    fn bytes_read(&self) -> u64 {
        self.reader().get_ref().read
    }
}
