//! digests: each event's [`EventDigest`] — the cells of its CSV row that come from its body —
//! kept in `event_digests` (migration 0009) so that a CSV export reads no body. Derived data,
//! like the search indexes: [`Session::digest_events`] adds the events past
//! `digest_state.digested_to`, oldest first (the recorder's writer when its queue is empty and
//! before it closes, an import with each batch), and an export reads the body of every event
//! without a current digest (store/timeline.rs, [`Session::for_each_event_digested`]), so the
//! rows are the same whichever side of the mark an event is. Digests of another
//! [`DIGEST_VERSION`] are never read; the next [`Session::digest_events`] drops them and starts
//! again. Nothing here writes to a reviewed file.

use rusqlite::{OptionalExtension, params};

use super::events::EVENTS_WITH_BODIES;
use super::{Session, StoreError};
use crate::digest::{self, DIGEST_VERSION, EventDigest};
use crate::model::ChangeKind;

/// The mark up to which stored digests are current: none when the file has no digests table
/// (schema 8 or older, reviewed in place) or its digests are of another version. An SQL
/// expression, evaluated once per statement.
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

/// A digest column read from a row of [`Session::for_each_event_digested`]'s statement: the
/// digest when the row has one.
pub(super) fn digest_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<EventDigest>> {
    let Some(summary) = row.get::<_, Option<String>>("digest_summary")? else {
        return Ok(None);
    };
    Ok(Some(EventDigest {
        summary,
        user_agent: row.get("digest_user_agent")?,
        provider_id: row.get("digest_provider_id")?,
    }))
}

impl Session {
    /// Digests up to `max` events that have no current digest, oldest first, in one
    /// transaction; returns how many (0: every event has one). Digests of another
    /// [`DIGEST_VERSION`] are dropped first (in the same transaction). A file without the
    /// digests table (never: a recorder's file is migrated) digests nothing.
    ///
    /// Errors: SQLite's, with the session's path.
    pub fn digest_events(&mut self, max: u64) -> Result<u64, StoreError> {
        if !has_digests(&self.conn)? {
            return Ok(0);
        }
        let path = self.path.clone();
        let tx = self.conn.transaction()?;
        let (version, from): (i64, i64) = tx.query_row(
            "SELECT version, digested_to FROM digest_state WHERE id = 1",
            [],
            |row| Ok((row.get("version")?, row.get("digested_to")?)),
        )?;
        let from = if version == DIGEST_VERSION {
            from
        } else {
            tx.execute("DELETE FROM event_digests", [])?;
            0
        };
        let events: Vec<(i64, Option<String>, String)> = {
            let mut statement = tx.prepare(&format!(
                "SELECT e.seq AS seq, e.change AS change, b.body AS body \
                 FROM {EVENTS_WITH_BODIES} WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
            ))?;
            let rows = statement
                .query_map(params![from, max.min(i64::MAX as u64) as i64], |row| {
                    Ok((row.get("seq")?, row.get("change")?, row.get("body")?))
                })?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(to) = events.last().map(|(seq, ..)| *seq) else {
            if version != DIGEST_VERSION {
                tx.execute(
                    "UPDATE digest_state SET version = ?1, digested_to = 0 WHERE id = 1",
                    [DIGEST_VERSION],
                )?;
                tx.commit().map_err(|e| StoreError::from(e).on(&path))?;
            }
            return Ok(0);
        };
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO event_digests (seq, summary, user_agent, provider_id) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (seq, change, body) in &events {
                let change = change.as_deref().and_then(ChangeKind::parse);
                let EventDigest {
                    summary,
                    user_agent,
                    provider_id,
                } = digest::digest(change, body);
                insert
                    .execute(params![seq, summary, user_agent, provider_id])
                    .map_err(|e| StoreError::from(e).on(&path))?;
            }
        }
        tx.execute(
            "UPDATE digest_state SET version = ?1, digested_to = ?2 WHERE id = 1",
            params![DIGEST_VERSION, to],
        )?;
        tx.commit().map_err(|e| StoreError::from(e).on(&path))?;
        Ok(events.len() as u64)
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
