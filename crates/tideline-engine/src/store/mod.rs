//! store: the session file, the ONLY module with SQL.
//!
//! One SQLite file per session, in WAL mode, with versioned migrations (`migrations/*.sql`,
//! tracked by `PRAGMA user_version`) and Tideline's `application_id`, so another program's
//! database is recognised and left alone. Writes come in batches, one transaction each, and
//! the stream position is saved in the same transaction as the batch it follows.

mod annotations;
mod findings;
mod integrity;
mod meta;
mod open;
mod reads;
mod timeline;
mod writer;
mod writes;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use annotations::{Annotations, Comment};
pub use integrity::{ChainBreak, Verification};
pub use meta::keys as meta_keys;
pub use open::{APPLICATION_ID, SCHEMA_VERSION};
pub use reads::{ChangeCounts, QuarantineRow, SessionSummary, StoredEvent, format_time};
pub use writer::{SessionWriter, WriterTotals};
pub use writes::BatchOutcome;

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
    #[error("session database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("invalid query: {0}")]
    BadQuery(String),
    #[error("the session writer stopped")]
    WriterGone,
}

/// An open session file.
pub struct Session {
    conn: Connection,
    path: PathBuf,
}

impl Session {
    /// Opens the session at `path`, creating an empty one if there is no file yet.
    pub fn open_or_create(path: &Path) -> Result<Session, StoreError> {
        open::open(path, open::Mode::OpenOrCreate)
    }

    /// Opens an existing session for reading and writing.
    pub fn open(path: &Path) -> Result<Session, StoreError> {
        open::open(path, open::Mode::Existing)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
