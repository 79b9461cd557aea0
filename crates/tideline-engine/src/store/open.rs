//! open: opening a session file safely — recognise it, refuse what is not ours or too new,
//! set the connection up (WAL, busy timeout) and run pending migrations.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::lock::{RecordingLock, recorder_of};
use super::meta::keys;
use super::notes::{self, NotesLocation};
use super::query::Facet;
use super::{Session, StoreError};

/// `PRAGMA application_id` of a Tideline session: "TDLN".
pub const APPLICATION_ID: i32 = 0x5444_4c4e;

/// Migrations in order; the schema version of a file is how many of them it has.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_timeline.sql"),
    include_str!("migrations/0002_integrity.sql"),
    include_str!("migrations/0003_annotations.sql"),
    include_str!("migrations/0004_findings.sql"),
    include_str!("migrations/0005_change_index.sql"),
    include_str!("migrations/0006_layout.sql"),
    include_str!("migrations/0007_compound_search.sql"),
    include_str!("migrations/0008_asset_days.sql"),
    include_str!("migrations/0009_event_digests.sql"),
];

/// The schema version whose script is followed by [`backfill_layout`].
const LAYOUT_VERSION: i64 = 6;

/// The schema version whose script is followed by [`backfill_compounds`].
const COMPOUND_SEARCH_VERSION: i64 = 7;

/// The schema version whose script re-indexes every event by asset and day (reported as one
/// step before it runs: a statement, seconds at millions of events).
const ASSET_DAYS_VERSION: i64 = 8;

/// How far a migration has come: `done` of `total` units of its current `step`.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationProgress {
    /// What is being done, in words ("indexing events for search").
    pub step: &'static str,
    pub done: u64,
    pub total: u64,
}

/// The WAL size, in bytes, at which a bulk-writing connection's WAL is checkpointed
/// (`wal_autocheckpoint` is this over the page size; a recording's writer hands it to a thread
/// of its own, store/checkpointer.rs). The benchmark's bare-insert limit uses the same figure.
pub const BULK_WAL_BYTES: i64 = 64 << 20;
/// The page cache of a bulk-writing connection, in KiB (`PRAGMA cache_size = -this`).
pub const BULK_CACHE_KIB: i64 = 65_536;
/// The page cache of an audit-log import's connection, in KiB: half a recorder's. Its writes are
/// bound by the search indexes and `events`' random-keyed `(source, event_id)` index, whose
/// pages no cache of this size holds: importing 1,000,000 CloudTrail records wrote the same
/// 29.3 GB with 32 MiB as with 64, in the same time, and peaked at 215–223 MB instead of
/// 255–262 (BENCHMARKS.md §4; issue 11's limit of 200 MB is still missed).
pub const LOG_IMPORT_CACHE_KIB: i64 = 32_768;

/// The oldest schema a review reads in place: the layout of migration 0006, which every read
/// uses. An older file is reviewed from a migrated private copy; the file itself is migrated
/// only when it is recorded or imported into again.
const REVIEW_IN_PLACE_FROM: i64 = LAYOUT_VERSION;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(super) enum Mode {
    /// A recorder or an import: create the file if missing, take the recording lock, migrate.
    Record,
    /// Review: never write a byte to the file nor create one beside it.
    Review,
}

/// Reports a migration's progress.
type Progress<'a> = &'a mut dyn FnMut(MigrationProgress);

pub(super) fn open(path: &Path, mode: Mode, progress: Progress<'_>) -> Result<Session, StoreError> {
    match mode {
        Mode::Record => open_for_recording(path, progress),
        Mode::Review => open_for_review(path, progress),
    }
}

fn open_for_recording(path: &Path, progress: Progress<'_>) -> Result<Session, StoreError> {
    let exists = path.exists();
    if exists {
        check_header(path)?;
    } else if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(StoreError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the folder {} does not exist", folder.display()),
            ),
        });
    }
    let mut lock = Some(RecordingLock::acquire(path)?);
    let result = create_or_migrate(path, exists, &mut lock, progress);
    if result.is_err() && !exists {
        // A session that could not be created leaves nothing behind; cleaned up while the lock
        // is still held (the lock file goes too: `RecordingLock::acquire` checks that the file
        // it locked is still the one at its path, so unlinking it races nobody).
        for suffix in ["", "-wal", "-shm", "-journal", ".lock"] {
            let _ = std::fs::remove_file(sibling(path, suffix));
        }
    }
    drop(lock);
    result
}

/// Opens (creating if needed) and migrates the session; the lock moves into it on success.
fn create_or_migrate(
    path: &Path,
    existed: bool,
    lock: &mut Option<RecordingLock>,
    progress: Progress<'_>,
) -> Result<Session, StoreError> {
    let mut session = connect(path, path, false, None)?;
    if session.schema_version()? == 0 {
        // A new file: 16 KiB pages hold several ~2 KiB events each (4 KiB pages held one and
        // made every insert write a page; +52 % throughput in benches/bare_insert.rs).
        session.conn.pragma_update(None, "page_size", 16_384)?;
    }
    session.conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose the
    // last transactions, never half of one, so events and stream position stay consistent.
    session.conn.pragma_update(None, "synchronous", "NORMAL")?;
    session.conn.pragma_update(None, "foreign_keys", "ON")?;
    // Only a schema-1 file has events without integrity links; checking any other file for them
    // would scan every row on every open.
    if session.migrate(progress).map_err(|e| e.on(path))? == 1 {
        session.fill_missing_links()?;
    }
    if session.meta(keys::SESSION_ID)?.is_none() {
        // A file from before session ids keeps the identity its notes were filed under.
        let id = if existed {
            notes::identity(&session.conn, path)?
        } else {
            format!("{:032x}", rand::random::<u128>())
        };
        session
            .set_meta(keys::SESSION_ID, &id)
            .map_err(|e| e.on(path))?;
    }
    session.attach_notes()?;
    session._lock = lock.take();
    Ok(session)
}

/// How a file under review is read.
enum ReviewAccess {
    /// Nobody writes it and it has no pending WAL: SQLite reads it as immutable, so it takes no
    /// lock and creates no `-wal`/`-shm` file (works on read-only folders and media).
    Immutable,
    /// A recorder is writing it right now: a read-only connection beside the recorder's.
    BesideRecorder,
    /// A crashed writer left a WAL, or the schema predates the integrity links: reading it in
    /// place would write (WAL recovery, migration), so a private copy is read instead.
    Snapshot,
}

fn open_for_review(path: &Path, progress: Progress<'_>) -> Result<Session, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    check_header(path)?;
    let pending_wal = std::fs::metadata(sibling(path, "-wal"))
        .map(|meta| meta.len() > 0)
        .unwrap_or(false);
    let access = if recorder_of(path).is_some() {
        ReviewAccess::BesideRecorder
    } else if pending_wal {
        ReviewAccess::Snapshot
    } else {
        ReviewAccess::Immutable
    };
    let session = match access {
        ReviewAccess::Immutable => review_connection(path, "mode=ro&immutable=1")?,
        ReviewAccess::BesideRecorder => review_connection(path, "mode=ro")?,
        ReviewAccess::Snapshot => return open_snapshot(path, pending_wal, progress),
    };
    if session.schema_version()? < REVIEW_IN_PLACE_FROM {
        drop(session);
        return open_snapshot(path, pending_wal, progress);
    }
    finish_review(session)
}

/// A read-only look at the session at `path` that writes nothing and migrates nothing (any
/// schema this build knows): for a glance at its facts, never for the timeline. A file whose
/// recorder is running is read beside it; otherwise it is read as immutable (a crashed
/// recorder's pending WAL is then not seen).
pub(super) fn glance_connection(path: &Path) -> Result<Session, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    check_header(path)?;
    let parameters = if recorder_of(path).is_some() {
        "mode=ro"
    } else {
        "mode=ro&immutable=1"
    };
    review_connection(path, parameters)
}

fn review_connection(path: &Path, parameters: &str) -> Result<Session, StoreError> {
    let absolute = std::path::absolute(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut uri = url::Url::from_file_path(&absolute).map_err(|()| StoreError::NotASession {
        path: path.to_owned(),
        detail: "the path cannot be written as a file URI".into(),
    })?;
    uri.set_query(Some(parameters));
    connect(path, uri.as_str(), true, None)
}

/// Opens the connection of the session at `path`: `target` is that path, a `file:` URI to it
/// (`uri`: review's read-only modes), or a private copy of it. READ_WRITE and CREATE on the
/// connection so the notes database can be attached (and created) writable; a review URI's
/// `mode=ro` keeps the session file itself read-only. A plain path is never read as a URI, even
/// one that starts with `file:`. Refuses a file that is not ours or is too new.
fn connect(
    path: &Path,
    target: impl AsRef<Path>,
    uri: bool,
    snapshot: Option<Arc<tempfile::TempDir>>,
) -> Result<Session, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if uri {
        flags |= OpenFlags::SQLITE_OPEN_URI;
    }
    let opened = Opened {
        target: target.as_ref().to_owned(),
        uri,
    };
    let conn = Connection::open_with_flags(target, flags).map_err(|e| classify(e, path))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let search_sets = super::search_sets::SearchSets::register(&conn)?;
    let session = Session {
        conn,
        path: path.to_owned(),
        notes: NotesLocation::Memory { why: String::new() },
        _lock: None,
        _snapshot: snapshot,
        facet_ids: Default::default(),
        opened,
        search_sets,
        bulk_writer: std::sync::OnceLock::new(),
    };
    session.check_identity()?;
    session.check_version()?;
    Ok(session)
}

/// What a session's connection opened: a path (the session's own, or a review's private copy),
/// or a review's `file:` URI with its read-only modes.
#[derive(Debug, Clone)]
pub(super) struct Opened {
    target: PathBuf,
    uri: bool,
}

impl Session {
    /// Another connection to the file this session reads, read-only whatever this one is (a
    /// review's URI keeps its `mode=ro` and `immutable=1`): it never writes the file and holds
    /// no more than a reader's locks, and it has neither the notes nor this connection's
    /// temporary tables. It reads the newest committed state, not this connection's open
    /// transaction.
    pub(super) fn open_reader(&self) -> Result<Connection, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.opened.uri {
            flags |= OpenFlags::SQLITE_OPEN_URI;
        }
        let conn = Connection::open_with_flags(&self.opened.target, flags)
            .map_err(|e| classify(e, &self.path))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    /// Another read-write connection to this session's file, for its checkpoints while it
    /// records ([`super::checkpointer`]). Only for a session opened by path (a recording's).
    pub(super) fn open_checkpointer(&self) -> Result<Connection, StoreError> {
        debug_assert!(!self.opened.uri, "a review's URI is never written");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.opened.target, flags)
            .map_err(|e| classify(e, &self.path))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    /// Whether this session reads its file in place as immutable (a review nobody writes).
    #[cfg(test)]
    pub(super) fn opened_immutable(&self) -> bool {
        self.opened.uri && self.opened.target.to_string_lossy().contains("immutable=1")
    }
}

/// Reads a private copy of the session (and its pending WAL) made in a temporary folder, and
/// migrates the copy when its schema is older; the evidence itself is only read.
fn open_snapshot(
    path: &Path,
    pending_wal: bool,
    progress: Progress<'_>,
) -> Result<Session, StoreError> {
    let io_error = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let folder = snapshot_of(path, pending_wal).map_err(io_error)?;
    let copy = folder.path().join("session.tideline");
    let mut session = connect(path, &copy, false, Some(folder))?;
    if session.migrate(progress)? == 1 {
        session.fill_missing_links()?;
    }
    finish_review(session)
}

/// What identifies one state of a file on disk: device, inode, size, modification time.
type FileState = (u64, u64, u64, i64);

fn file_state(path: &Path) -> FileState {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|meta| {
            (
                meta.dev(),
                meta.ino(),
                meta.len(),
                meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
            )
        })
        .unwrap_or_default()
}

/// The private copies reviews read, shared while any session reads one: a file that needs a
/// copy is copied once per state of it (session and WAL) in this process, not once per open
/// (the findings keeper opens the session on every pass).
static SNAPSHOTS: Mutex<Vec<([FileState; 2], Weak<tempfile::TempDir>)>> = Mutex::new(Vec::new());

fn snapshot_of(path: &Path, pending_wal: bool) -> std::io::Result<Arc<tempfile::TempDir>> {
    let wal = sibling(path, "-wal");
    let state = [
        file_state(path),
        if pending_wal {
            file_state(&wal)
        } else {
            (0, 0, 0, 0)
        },
    ];
    let mut snapshots = SNAPSHOTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    snapshots.retain(|(_, folder)| folder.strong_count() > 0);
    if let Some(folder) = snapshots
        .iter()
        .find(|(of, _)| *of == state)
        .and_then(|(_, folder)| folder.upgrade())
    {
        return Ok(folder);
    }
    let folder = tempfile::Builder::new()
        .prefix("tideline-review-")
        .tempdir()?;
    let copy = folder.path().join("session.tideline");
    copy_writable(path, &copy)?;
    if pending_wal {
        copy_writable(&wal, &sibling(&copy, "-wal"))?;
    }
    let folder = Arc::new(folder);
    snapshots.push((state, Arc::downgrade(&folder)));
    Ok(folder)
}

fn finish_review(mut session: Session) -> Result<Session, StoreError> {
    if session.schema_version()? == 0 {
        return Err(StoreError::NotASession {
            path: session.path.clone(),
            detail: "it is an empty SQLite database, not a Tideline session".into(),
        });
    }
    session.conn.pragma_update(None, "foreign_keys", "ON")?;
    session.attach_notes()?;
    Ok(session)
}

/// Copies `from` into a new file `to` that this process may write (`std::fs::copy` would carry
/// over a read-only file's permissions, and SQLite would then open the copy read-only).
fn copy_writable(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut source = std::fs::File::open(from)?;
    let mut target = std::fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)?;
    target.sync_all()
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Names the cause SQLite reports as "disk full" or "cannot open" in plain words.
pub(super) fn classify(error: rusqlite::Error, path: &Path) -> StoreError {
    StoreError::from(error).on(path)
}

/// A non-empty file must start with SQLite's header before SQLite is let near it.
fn check_header(path: &Path) -> Result<(), StoreError> {
    let io_error = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]).map_err(io_error)? {
            0 => break,
            n => read += n,
        }
    }
    if read == 0 {
        return Err(StoreError::NotASession {
            path: path.to_owned(),
            detail: "the file is empty".into(),
        });
    }
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(StoreError::NotASession {
            path: path.to_owned(),
            detail: "the file is not an SQLite database".into(),
        });
    }
    Ok(())
}

impl Session {
    /// Attaches this session's notes database (see [`super::notes`]).
    fn attach_notes(&mut self) -> Result<(), StoreError> {
        let identity = notes::identity(&self.conn, &self.path)?;
        self.notes = notes::attach(&self.conn, &identity)?;
        Ok(())
    }

    /// The file must be ours, or empty (no tables, no application id: it may become ours).
    fn check_identity(&self) -> Result<(), StoreError> {
        let not_ours = |detail: String| StoreError::NotASession {
            path: self.path.clone(),
            detail,
        };
        let application_id: i32 = self
            .conn
            .query_row("PRAGMA application_id", [], |row| row.get(0))
            .map_err(|error| not_ours(format!("SQLite cannot read it: {error}")))?;
        let table_count: i64 =
            self.conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
        if application_id == APPLICATION_ID || (application_id == 0 && table_count == 0) {
            return Ok(());
        }
        Err(not_ours(format!(
            "it is another application's SQLite database (application_id {application_id:#x}, {table_count} schema objects)"
        )))
    }

    /// For the connection that commits large batches (the recorder's writer, an import): a WAL
    /// of about 64 MiB before each checkpoint (the default, ~4 MiB, checkpointed after every
    /// batch and wrote everything twice) and a 64 MiB page cache for the indexes.
    pub fn tune_for_bulk_writes(&self) -> Result<(), StoreError> {
        self.tune_for_batches(BULK_CACHE_KIB)
    }

    /// [`Session::tune_for_bulk_writes`] for an import of audit logs: the same WAL, the smaller
    /// page cache of [`LOG_IMPORT_CACHE_KIB`].
    pub fn tune_for_log_import(&self) -> Result<(), StoreError> {
        self.tune_for_batches(LOG_IMPORT_CACHE_KIB)
    }

    fn tune_for_batches(&self, cache_kib: i64) -> Result<(), StoreError> {
        self.bulk_writer
            .get_or_init(super::heap_limit::bulk_writer_present);
        let page_size: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))?;
        self.conn.pragma_update(
            None,
            "wal_autocheckpoint",
            BULK_WAL_BYTES / page_size.max(512),
        )?;
        self.conn.pragma_update(None, "cache_size", -cache_kib)?;
        Ok(())
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// Refuses a file from a newer Tideline before anything is written to it.
    fn check_version(&self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Applies pending migrations, each in one transaction; returns the version the file had.
    fn migrate(&self, progress: Progress<'_>) -> Result<i64, StoreError> {
        let found = self.schema_version()?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = index as i64 + 1;
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            let applied = (|| -> Result<(), StoreError> {
                let reindexed = if version == ASSET_DAYS_VERSION {
                    // The newest arrival number: the event count without counting them.
                    let newest: i64 = self.conn.query_row(
                        "SELECT coalesce(max(seq), 0) FROM events",
                        [],
                        |row| row.get(0),
                    )?;
                    let total = newest.max(0) as u64;
                    progress(MigrationProgress {
                        step: "indexing events by asset and day",
                        done: 0,
                        total,
                    });
                    Some(total)
                } else {
                    None
                };
                self.conn.execute_batch(sql)?;
                if let Some(total) = reindexed {
                    progress(MigrationProgress {
                        step: "indexing events by asset and day",
                        done: total,
                        total,
                    });
                }
                if version == LAYOUT_VERSION {
                    backfill_layout(&self.conn, progress)?;
                }
                if version == COMPOUND_SEARCH_VERSION {
                    backfill_compounds(&self.conn, progress)?;
                }
                self.conn.execute_batch(&format!(
                    "PRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {version};\nCOMMIT;"
                ))?;
                Ok(())
            })();
            if let Err(error) = applied {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(error);
            }
        }
        Ok(found)
    }
}

/// How many events one statement of [`backfill_layout`] fills at a time (progress is reported
/// between them).
const BACKFILL_CHUNK: i64 = 20_000;

/// Fills migration 0006's tables for the events already stored, inside its transaction: the
/// facet dictionary, each event's facet row, the search index and the per-value change counts.
fn backfill_layout(conn: &Connection, progress: Progress<'_>) -> Result<(), StoreError> {
    let (total, newest): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*) AS n, max(seq) AS newest FROM events",
        [],
        |row| Ok((row.get("n")?, row.get("newest")?)),
    )?;
    let total = total.max(0) as u64;
    let newest = newest.unwrap_or(0);
    // Facet name → the `events` column it was read from.
    const SOURCES: [(Facet, &str); 7] = [
        (Facet::Change, "change"),
        (Facet::AssetType, "asset_type"),
        (Facet::Method, "method"),
        (Facet::Principal, "principal"),
        (Facet::Region, "asset_region"),
        (Facet::Account, "asset_account"),
        (Facet::Asset, "asset_name"),
    ];
    progress(MigrationProgress {
        step: "collecting facet values",
        done: 0,
        total,
    });
    for (facet, column) in SOURCES {
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO facet_values (facet, value) \
                 SELECT DISTINCT ?1, {column} FROM events WHERE {column} IS NOT NULL"
            ),
            [facet.name()],
        )?;
    }
    let lookups: Vec<String> = SOURCES
        .iter()
        .map(|(facet, column)| {
            format!(
                "(SELECT id FROM facet_values WHERE facet = '{}' AND value = e.{column})",
                facet.name()
            )
        })
        .collect();
    let fill_facets = format!(
        "INSERT INTO event_facets (time_us, seq, change, asset_type, method, principal, region, \
         account, asset) SELECT e.time_us, e.seq, {} FROM events e WHERE e.seq > ?1 AND e.seq <= ?2",
        lookups.join(", ")
    );
    let fill_search = "INSERT INTO event_search (rowid, body) \
         SELECT seq, body FROM event_bodies WHERE seq > ?1 AND seq <= ?2";
    conn.execute(
        "UPDATE search_state SET indexed_to = (SELECT coalesce(max(seq), 0) FROM events)",
        [],
    )?;
    for (step, sql) in [
        ("indexing events by facet", fill_facets.as_str()),
        ("indexing events for search", fill_search),
    ] {
        let mut statement = conn.prepare(sql)?;
        let mut done = 0u64;
        let mut from = 0i64;
        while from < newest {
            let to = from.saturating_add(BACKFILL_CHUNK);
            done += statement.execute([from, to])? as u64;
            from = to;
            progress(MigrationProgress { step, done, total });
        }
    }
    progress(MigrationProgress {
        step: "counting facet values",
        done: total,
        total,
    });
    for (facet, _) in SOURCES {
        let column = facet.name();
        conn.execute(
            &format!(
                "UPDATE facet_values SET changes = counted.n FROM \
                 (SELECT {column} AS id, count(*) AS n FROM event_facets \
                  WHERE change IS NOT NULL AND {column} IS NOT NULL GROUP BY {column}) AS counted \
                 WHERE facet_values.id = counted.id"
            ),
            [],
        )?;
    }
    Ok(())
}

/// Fills migration 0007's compound index for the events the word index already covers, inside
/// its transaction (the events past the mark are indexed with the next ones, by the writer).
fn backfill_compounds(conn: &Connection, progress: Progress<'_>) -> Result<(), StoreError> {
    let (total, newest): (i64, i64) = conn.query_row(
        "SELECT count(*) AS n, coalesce(max(seq), 0) AS newest FROM event_bodies \
         WHERE seq <= (SELECT indexed_to FROM search_state WHERE id = 1)",
        [],
        |row| Ok((row.get("n")?, row.get("newest")?)),
    )?;
    let total = total.max(0) as u64;
    let step = "indexing addresses and ARNs for search";
    let mut done = 0u64;
    let mut from = 0i64;
    progress(MigrationProgress { step, done, total });
    while from < newest {
        let to = from.saturating_add(BACKFILL_CHUNK).min(newest);
        done += super::search::add_compounds(conn, "main.event_compounds", from, to)?;
        from = to;
        progress(MigrationProgress { step, done, total });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compound_index_of_the_file_and_of_the_search_tail_tokenize_alike() {
        let options = super::super::search::compound_options();
        let migration = MIGRATIONS[COMPOUND_SEARCH_VERSION as usize - 1];
        let squeeze = |text: &str| text.split_whitespace().collect::<String>();
        let created = squeeze(
            migration[migration.find("USING fts5 (").unwrap() + "USING fts5 (".len()..]
                .split(");")
                .next()
                .unwrap(),
        );
        assert_eq!(created, squeeze(&options));
    }

    #[test]
    fn a_file_needing_a_private_copy_is_copied_once_per_state_not_once_per_open() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("s.tideline");
        std::fs::write(&path, b"SQLite format 3\0 and the rest of a file").unwrap();
        std::fs::write(sibling(&path, "-wal"), b"a pending write-ahead log").unwrap();
        let first = snapshot_of(&path, true).unwrap();
        let second = snapshot_of(&path, true).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "copied twice");
        // The file changed: a new copy.
        std::fs::write(sibling(&path, "-wal"), b"a longer pending write-ahead log").unwrap();
        let third = snapshot_of(&path, true).unwrap();
        assert!(!Arc::ptr_eq(&first, &third));
        assert_eq!(
            std::fs::read(third.path().join("session.tideline-wal")).unwrap(),
            b"a longer pending write-ahead log"
        );
    }
}
