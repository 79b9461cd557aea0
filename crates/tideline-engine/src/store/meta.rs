//! meta: facts about the session itself (its name, the incident it belongs to, the endpoint it
//! records from) and copying the whole file.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::{Session, StoreError};

/// The keys Tideline writes in `session_meta`.
pub mod keys {
    pub const NAME: &str = "name";
    pub const INCIDENT: &str = "incident";
    pub const ENDPOINT: &str = "endpoint";
    pub const CREATED_AT: &str = "created_at";
    /// A random 128-bit hex id written when the session is created: the key of its notes.
    pub const SESSION_ID: &str = "session_id";
}

impl Session {
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO session_meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM session_meta WHERE key = ?1",
                [key],
                |row| row.get("value"),
            )
            .optional()?)
    }

    /// Writes a consistent copy of the whole session to `destination`, which must not exist
    /// (SQLite's `VACUUM INTO`: a snapshot, even while a recorder is writing), with the
    /// analyst's stars, tags and comments bundled into the copy's own annotation tables.
    pub fn save_copy(&self, destination: &Path) -> Result<(), StoreError> {
        if destination.exists() {
            return Err(StoreError::BadQuery(format!(
                "{} already exists; choose a new file name",
                destination.display()
            )));
        }
        let target = destination.to_str().ok_or_else(|| {
            StoreError::BadQuery(format!("{} is not a UTF-8 path", destination.display()))
        })?;
        self.conn.execute("VACUUM INTO ?1", [target])?;
        super::notes::bundle_into(&self.conn, destination)
    }
}
