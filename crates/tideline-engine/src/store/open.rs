//! open: opening a session file safely — recognise it, refuse what is not ours or too new,
//! set the connection up (WAL, busy timeout) and run pending migrations.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

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
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(super) enum Mode {
    OpenOrCreate,
    Existing,
}

pub(super) fn open(path: &Path, mode: Mode) -> Result<Session, StoreError> {
    let exists = path.exists();
    if !exists && matches!(mode, Mode::Existing) {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    if exists {
        check_header(path)?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut session = Session {
        conn,
        path: path.to_owned(),
    };
    session.check_identity()?;
    session.check_version()?;
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
    if session.migrate()? == 1 {
        session.fill_missing_links()?;
    }
    Ok(session)
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
        let page_size: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))?;
        self.conn
            .pragma_update(None, "wal_autocheckpoint", (64 << 20) / page_size.max(512))?;
        self.conn.pragma_update(None, "cache_size", -65_536)?;
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

    /// Applies pending migrations; returns the version the file had.
    fn migrate(&self) -> Result<i64, StoreError> {
        let found = self.schema_version()?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = index as i64 + 1;
            self.conn.execute_batch(&format!(
                "BEGIN IMMEDIATE;\n{sql}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {version};\nCOMMIT;"
            ))?;
        }
        Ok(found)
    }
}
