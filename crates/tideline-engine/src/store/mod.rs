//! store: the session file, the ONLY module with SQL.
//!
//! One SQLite file per session, in WAL mode, with versioned migrations (`migrations/*.sql`,
//! tracked by `PRAGMA user_version`) and Tideline's `application_id`, so another program's
//! database is recognised and left alone. Writes come in batches, one transaction each, and
//! the stream position is saved in the same transaction as the batch it follows.
//!
//! The store owns the types it is asked with and answers in ([`TimelineQuery`], [`StoredEvent`],
//! [`StoredFinding`]): the layers above re-export or convert them, and nothing here imports
//! from those layers. Below it are only pure modules: `model`, `json` (the one parse policy),
//! and `digest` with `diff` (what an event's digest holds, which the store keeps). Rows are
//! read by column name (a statement that reads many rows finds each name once,
//! `events::EventColumns`), but for events and findings read from a constant select list that
//! leads their statement: those are read by the places `columns::column_at` finds at compile
//! time (debug builds check the names at each such row's ends; the tests, every name).

mod annotations;
mod assets;
mod checkpointer;
mod columns;
mod digests;
mod events;
mod facet_values;
mod filter;
mod findings;
mod forwarding;
mod heap_limit;
mod integrity;
mod lock;
mod meta;
mod notes;
mod open;
mod quarantine;
mod query;
mod search;
mod search_sets;
mod search_syntax;
mod search_terms;
mod summary;
mod timeline;
mod values;
mod write_lock;
mod writer;
mod writes;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use annotations::{Annotations, Comment};
pub use checkpointer::{Checkpointer, Checkpoints, WRITER_CHECKPOINT_FACTOR};
pub use events::{PageCursor, StoredEvent};
pub use findings::{
    Committed, EventRef, FindingGrow, FindingMark, FindingRow, FindingsBatch, FindingsWatermark,
    FindingsWriter, RowWrite, StoredFinding, TimedEventRef, WatermarkUpdate, WriteKind,
    finding_key_hash,
};
pub use forwarding::ForwardCursor;
pub use heap_limit::{SqliteHeapBound, bound_sqlite_heap};
pub use integrity::{ChainBreak, Verification};
pub use lock::{lock_path, recorder_of};
pub use meta::keys as meta_keys;
pub use notes::{NotesLocation, notes_dir, use_notes_dir};
pub use open::{APPLICATION_ID, BULK_CACHE_KIB, BULK_WAL_BYTES, MigrationProgress, SCHEMA_VERSION};
pub use quarantine::QuarantineRow;
pub use query::{Facet, TimelineQuery};

/// Checks a query of the search box's language (`store::search_syntax`) without running it.
///
/// Errors: [`StoreError::BadQuery`] saying where the query is wrong.
pub fn check_search_query(text: &str) -> Result<(), StoreError> {
    search_syntax::parse(text).map(|_| ())
}
pub use summary::{ChangeCounts, EventBreakdown, SessionGlance, SessionSummary, glance};
pub use timeline::PageStart;
pub use values::format_time;
pub use writer::{SessionWriter, WriterTotals};
pub use writes::{BATCH_MAX_BYTES, BATCH_MAX_FRAMES, BatchFill, BatchOutcome};

/// A read snapshot of a session ([`Session::read_snapshot`]), held until dropped.
pub struct ReadSnapshot<'c>(
    #[allow(dead_code, reason = "held for its drop")] rusqlite::Transaction<'c>,
);

/// Everything that can go wrong with a session file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a Tideline session ({detail})")]
    NotASession { path: PathBuf, detail: String },
    #[error(
        "{path}: session schema version {found} is newer than this Tideline supports ({supported}); \
         open it with a newer version"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: no such session file")]
    Missing { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: the session is being recorded by {}; one recorder per session",
        match pid { Some(pid) => format!("process {pid}"), None => "another process".to_owned() }
    )]
    BeingRecorded { path: PathBuf, pid: Option<u32> },
    #[error(
        "{path}: disk full: recording stopped; the session is intact and resumes once space is freed"
    )]
    DiskFull { path: PathBuf },
    #[error("{path}: read-only: {detail}")]
    ReadOnly { path: PathBuf, detail: String },
    #[error("session database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("invalid query: {0}")]
    BadQuery(String),
    #[error("the session writer stopped")]
    WriterGone,
    #[error("recording stopped: {cause}")]
    WriterStopped { cause: String },
}

impl StoreError {
    /// A copy of this error for every caller waiting on the writer that it stopped: typed where
    /// the cause has a name, else its message.
    pub(crate) fn shared_copy(&self) -> StoreError {
        match self {
            StoreError::DiskFull { path } => StoreError::DiskFull { path: path.clone() },
            StoreError::ReadOnly { path, detail } => StoreError::ReadOnly {
                path: path.clone(),
                detail: detail.clone(),
            },
            // A copy of a copy (the writer keeps one, each caller gets one of it) says it once.
            StoreError::WriterStopped { cause } => StoreError::WriterStopped {
                cause: cause.clone(),
            },
            other => StoreError::WriterStopped {
                cause: other.to_string(),
            },
        }
    }

    /// Names SQLite's disk-full and read-only failures of the file at `path` in plain words.
    pub(crate) fn on(self, path: &Path) -> StoreError {
        use rusqlite::ErrorCode;
        match &self {
            StoreError::Sqlite(error) => match error.sqlite_error_code() {
                Some(ErrorCode::DiskFull) => StoreError::DiskFull {
                    path: path.to_owned(),
                },
                Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
                    path: path.to_owned(),
                    detail: error.to_string(),
                },
                // SQLite reports a failed write of its shared-memory index or WAL as an I/O
                // error without the cause (ENOSPC among them): look at the disk itself.
                Some(ErrorCode::SystemIoFailure) if disk_is_full(path) => StoreError::DiskFull {
                    path: path.to_owned(),
                },
                _ => self,
            },
            StoreError::Io { source, .. } if source.raw_os_error() == Some(28) => {
                StoreError::DiskFull {
                    path: path.to_owned(),
                }
            }
            _ => self,
        }
    }
}

/// Whether writing `target` would overwrite the session at `session` or one of its own files
/// (`-wal`, `-shm`, `.lock`): an export must never be written over the evidence.
pub fn would_overwrite_session(session: &Path, target: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(target) = std::fs::metadata(target) else {
        return false;
    };
    let mut files = vec![session.to_owned(), lock_path(session)];
    for suffix in ["-wal", "-shm"] {
        let mut name = session.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files.iter().any(|file| {
        std::fs::metadata(file)
            .is_ok_and(|meta| meta.dev() == target.dev() && meta.ino() == target.ino())
    })
}

/// Whether the file system holding `path` has no room left for another SQLite page.
fn disk_is_full(path: &Path) -> bool {
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(folder) = std::ffi::CString::new(folder.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `folder` is a NUL-terminated path and `stats` is valid for writes; statvfs(3)
    // fills it on success, and it is read only then.
    let filled = unsafe { libc::statvfs(folder.as_ptr(), stats.as_mut_ptr()) } == 0;
    if !filled {
        return false;
    }
    // SAFETY: statvfs returned 0, so it initialised `stats`.
    let stats = unsafe { stats.assume_init() };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    free < 64 * 1024
}

/// An open session file, for recording or for review, with its notes attached.
pub struct Session {
    conn: Connection,
    path: PathBuf,
    notes: NotesLocation,
    /// Held while this session may write events (recording, resume, import).
    _lock: Option<lock::RecordingLock>,
    /// The private copy a review reads when the file cannot be read in place without writing.
    _snapshot: Option<std::sync::Arc<tempfile::TempDir>>,
    /// The write path's facet ids (see [`facet_values`]).
    facet_ids: facet_values::FacetIds,
    /// What this session's connection opened (a path, or a review's `file:` URI), so that a
    /// large pass can read the same file on a second, read-only connection
    /// ([`Session::open_reader`]).
    opened: open::Opened,
    /// Search terms' matches, kept for the next reads of the same search ([`search_sets`]).
    search_sets: std::sync::Arc<search_sets::SearchSets>,
    /// Set once this session is tuned for bulk writes: no SQLite heap limit while it is open
    /// ([`heap_limit`]).
    bulk_writer: std::sync::OnceLock<heap_limit::BulkWriterPresence>,
}

impl Session {
    /// A read snapshot: every read through this session sees one committed state of the file
    /// and its notes until the guard is dropped (a deferred transaction; it writes nothing and
    /// is rolled back on drop). Errors if the connection is already in a transaction.
    pub fn read_snapshot(&self) -> Result<ReadSnapshot<'_>, StoreError> {
        Ok(ReadSnapshot(self.conn.unchecked_transaction()?))
    }

    /// Opens the session at `path` to record into it, creating it if there is no file yet.
    /// Takes the session's recording lock: a second recorder gets
    /// [`StoreError::BeingRecorded`]. A file that could not be created is removed again.
    pub fn open_or_create(path: &Path) -> Result<Session, StoreError> {
        open::open(path, open::Mode::Record, &mut |_| {})
    }

    /// [`Session::open_or_create`], reporting a migration of an older session's layout as it
    /// goes (it rewrites every event: minutes at millions of events).
    pub fn open_or_create_reporting(
        path: &Path,
        progress: &mut dyn FnMut(MigrationProgress),
    ) -> Result<Session, StoreError> {
        open::open(path, open::Mode::Record, progress)
    }

    /// Opens an existing session for review. Never writes a byte to the file nor creates one
    /// beside it (works on a read-only file, folder or mount); notes and findings go to the
    /// notes database ([`notes_dir`]).
    pub fn open(path: &Path) -> Result<Session, StoreError> {
        open::open(path, open::Mode::Review, &mut |_| {})
    }

    /// [`Session::open`], reporting the migration of the private copy a session of an older
    /// layout is reviewed from (the file itself is never migrated by a review).
    pub fn open_reporting(
        path: &Path,
        progress: &mut dyn FnMut(MigrationProgress),
    ) -> Result<Session, StoreError> {
        open::open(path, open::Mode::Review, progress)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this session's notes (stars, tags, comments, findings) are kept.
    pub fn notes(&self) -> &NotesLocation {
        &self.notes
    }
}

#[cfg(test)]
mod tests;
