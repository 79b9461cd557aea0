//! digests: each event's [`EventDigest`] — the cells of its CSV row that come from its body —
//! kept in `event_digests` (migration 0009) so that a CSV export reads no body. Derived data,
//! like the search indexes: [`Session::digest_events`] adds the events past
//! `digest_state.digested_to`, oldest first (the recorder's writer when its queue is empty and
//! before it closes, an import with each batch), and an export reads the body of every event
//! without a current digest (store/timeline.rs, [`Session::for_each_event_digested`]), so the
//! rows are the same whichever side of the mark an event is. Digests of another
//! [`DIGEST_VERSION`] are never read; the next [`Session::digest_events`] starts again from the
//! first event and writes over them. Nothing here writes to a reviewed file.

use rusqlite::{OptionalExtension, params};

use super::events::EVENTS_WITH_BODIES;
use super::write_lock::{WriteLock, begin_writing};
use super::{Session, StoreError};
use crate::digest::{self, DIGEST_VERSION, EventDigest};
use crate::model::ChangeKind;

/// The mark up to which stored digests are current (NULL, so none, when they are of another
/// version), as an SQL expression evaluated once per statement. Only for a file that has the
/// digests table ([`has_digests`]).
pub(super) fn current_mark() -> String {
    format!(
        "(SELECT digested_to FROM main.digest_state WHERE id = 1 AND version = {DIGEST_VERSION})"
    )
}

/// Whether this connection's file has the digests table.
pub(super) fn has_digests(conn: &rusqlite::Connection) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 AS present FROM main.sqlite_schema WHERE name = 'event_digests'",
            [],
            |row| row.get::<_, i64>("present"),
        )
        .optional()?
        .is_some())
}

/// Where the digest's columns are in the rows of [`Session::for_each_event_digested`]'s
/// statement, found by name once per statement.
pub(super) struct DigestColumns {
    summary: usize,
    user_agent: usize,
    provider_id: usize,
}

impl DigestColumns {
    /// Errors: a column is missing (`InvalidColumnName`).
    pub(super) fn of(statement: &rusqlite::Statement<'_>) -> rusqlite::Result<Self> {
        Ok(DigestColumns {
            summary: statement.column_index("digest_summary")?,
            user_agent: statement.column_index("digest_user_agent")?,
            provider_id: statement.column_index("digest_provider_id")?,
        })
    }

    /// The row's digest, when it has one.
    pub(super) fn read(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<EventDigest>> {
        let Some(summary) = row.get::<_, Option<String>>(self.summary)? else {
            return Ok(None);
        };
        Ok(Some(EventDigest {
            summary,
            user_agent: row.get(self.user_agent)?,
            provider_id: row.get(self.provider_id)?,
        }))
    }
}

impl Session {
    /// Digests up to `max` events that have no current digest, oldest first, in one
    /// transaction, one body in memory at a time; returns how many (0: every event has one).
    /// After a change of [`DIGEST_VERSION`] it starts again from the first event, writing over
    /// the old digests as it goes (they are not read meanwhile: the mark covers only new ones).
    /// A file without the digests table (never: a recorder's file is migrated) digests nothing.
    ///
    /// Errors: SQLite's, with the session's path.
    pub fn digest_events(&mut self, max: u64) -> Result<u64, StoreError> {
        if !has_digests(&self.conn)? {
            return Ok(0);
        }
        let path = self.path.clone();
        let on_path = |error: rusqlite::Error| StoreError::from(error).on(&path);
        // It reads before it writes: see write_lock.rs.
        let tx = begin_writing(&self.conn, WriteLock::Session).map_err(on_path)?;
        let (version, mark): (i64, i64) = tx
            .query_row(
                "SELECT version, digested_to FROM digest_state WHERE id = 1",
                [],
                |row| Ok((row.get("version")?, row.get("digested_to")?)),
            )
            .map_err(on_path)?;
        let from = if version == DIGEST_VERSION { mark } else { 0 };
        let (mut digested, mut to) = (0u64, from);
        {
            let mut events = tx
                .prepare(&format!(
                    "SELECT e.seq AS seq, e.change AS change, b.body AS body \
                     FROM {EVENTS_WITH_BODIES} WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
                ))
                .map_err(on_path)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO event_digests (seq, summary, user_agent, provider_id) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(on_path)?;
            let mut rows = events
                .query(params![from, max.min(i64::MAX as u64) as i64])
                .map_err(on_path)?;
            while let Some(row) = rows.next().map_err(on_path)? {
                let seq: i64 = row.get("seq").map_err(on_path)?;
                let change: Option<String> = row.get("change").map_err(on_path)?;
                let body: String = row.get("body").map_err(on_path)?;
                let EventDigest {
                    summary,
                    user_agent,
                    provider_id,
                } = digest::digest(change.as_deref().and_then(ChangeKind::parse), &body);
                insert
                    .execute(params![seq, summary, user_agent, provider_id])
                    .map_err(on_path)?;
                (digested, to) = (digested + 1, seq);
            }
        }
        if digested > 0 || version != DIGEST_VERSION {
            tx.execute(
                "UPDATE digest_state SET version = ?1, digested_to = ?2 WHERE id = 1",
                params![DIGEST_VERSION, to],
            )
            .map_err(on_path)?;
            tx.commit().map_err(on_path)?;
        }
        Ok(digested)
    }

    /// Brings every index kept in idle time up to date by up to `max` events each: the search
    /// indexes ([`Session::index_for_search`]), then the digests ([`Session::digest_events`]).
    /// Returns how many events were added to either (0: both are current).
    pub fn index_idle(&mut self, max: u64) -> Result<u64, StoreError> {
        let searched = self.index_for_search(max)?;
        if searched > 0 {
            return Ok(searched);
        }
        self.digest_events(max)
    }
}
