//! reads: what the CLI, exports and tests read back from a session.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use super::timeline::where_clause;
use super::{Session, StoreError};
use crate::model::ChangeKind;
use crate::timeline::TimelineQuery;

/// Counts and extent of a session (`tideline-cli info --json` prints this).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    pub events: u64,
    pub asset_events: u64,
    pub other_events: u64,
    pub quarantined: u64,
    pub duplicates: u64,
    /// The oldest and newest event time, RFC 3339 UTC.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// The stream position: the SSE id of the last frame stored.
    pub last_event_id: Option<String>,
    pub by_change: ChangeCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChangeCounts {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
}

/// A stored event: its extracted columns and its verbatim JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub change: Option<ChangeKind>,
    pub time: DateTime<Utc>,
    pub asset_name: Option<String>,
    pub asset_type: Option<String>,
    pub asset_display: Option<String>,
    pub asset_provider: Option<String>,
    pub asset_account: Option<String>,
    pub asset_region: Option<String>,
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub assumed_role: Option<String>,
    pub method: Option<String>,
    pub source_ip: Option<String>,
    pub action: Option<String>,
    pub body: String,
}

/// A quarantined frame as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub sse_id: Option<String>,
    pub raw: Vec<u8>,
    pub raw_len: u64,
}

pub(super) const EVENT_COLUMNS: &str = "seq, source, event_id, event_type, change, time_us, asset_name, asset_type, \
     asset_display, asset_provider, asset_account, asset_region, principal, principal_id, \
     assumed_role, method, source_ip, action, body";

/// Counts are stored as SQLite integers (i64) and never negative.
fn count(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(index)?.max(0) as u64)
}

fn micros_to_time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`, as exports and `info` print times.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(super) fn stored_event(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let change: Option<String> = row.get(4)?;
    Ok(StoredEvent {
        seq: row.get(0)?,
        source: row.get(1)?,
        event_id: row.get(2)?,
        event_type: row.get(3)?,
        change: change.as_deref().and_then(ChangeKind::parse),
        time: micros_to_time(row.get(5)?),
        asset_name: row.get(6)?,
        asset_type: row.get(7)?,
        asset_display: row.get(8)?,
        asset_provider: row.get(9)?,
        asset_account: row.get(10)?,
        asset_region: row.get(11)?,
        principal: row.get(12)?,
        principal_id: row.get(13)?,
        assumed_role: row.get(14)?,
        method: row.get(15)?,
        source_ip: row.get(16)?,
        action: row.get(17)?,
        body: row.get(18)?,
    })
}

impl Session {
    /// The SSE id of the last frame stored: where a reconnect resumes.
    pub fn stream_position(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT last_event_id FROM stream_state WHERE id = 1",
            [],
            |row| row.get(0),
        )?)
    }

    pub fn summary(&self) -> Result<SessionSummary, StoreError> {
        let (events, asset_events, first_us, last_us, create, update, delete): (
            u64,
            u64,
            Option<i64>,
            Option<i64>,
            u64,
            u64,
            u64,
        ) = self.conn.query_row(
            "SELECT count(*), count(change), min(time_us), max(time_us), \
                    count(*) FILTER (WHERE change = 'create'), \
                    count(*) FILTER (WHERE change = 'update'), \
                    count(*) FILTER (WHERE change = 'delete') \
             FROM events",
            [],
            |row| {
                Ok((
                    count(row, 0)?,
                    count(row, 1)?,
                    row.get(2)?,
                    row.get(3)?,
                    count(row, 4)?,
                    count(row, 5)?,
                    count(row, 6)?,
                ))
            },
        )?;
        let quarantined: u64 =
            self.conn
                .query_row("SELECT count(*) FROM quarantine", [], |row| count(row, 0))?;
        let (last_event_id, duplicates): (Option<String>, u64) = self.conn.query_row(
            "SELECT last_event_id, duplicates FROM stream_state WHERE id = 1",
            [],
            |row| Ok((row.get(0)?, count(row, 1)?)),
        )?;
        Ok(SessionSummary {
            events,
            asset_events,
            other_events: events - asset_events,
            quarantined,
            duplicates,
            first_time: first_us.map(|us| format_time(micros_to_time(us))),
            last_time: last_us.map(|us| format_time(micros_to_time(us))),
            last_event_id,
            by_change: ChangeCounts {
                create,
                update,
                delete,
            },
        })
    }

    /// Calls `visit` for every event in time order (then arrival order), one row at a time,
    /// so a caller can stream any number of events in constant memory. With a `filter`, only
    /// the asset changes it matches, as the change list shows them.
    pub fn for_each_event<E>(
        &self,
        filter: Option<&TimelineQuery>,
        mut visit: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let (condition, params) = match filter {
            Some(query) => where_clause(query, None)?,
            None => ("1".to_owned(), Vec::new()),
        };
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE {condition} ORDER BY time_us, seq");
        let mut statement = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            visit(stored_event(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// How many events [`Session::for_each_event`] visits with `filter`.
    pub fn count_events(&self, filter: Option<&TimelineQuery>) -> Result<u64, StoreError> {
        match filter {
            Some(query) => self.count_changes(query),
            None => Ok(self.summary()?.events),
        }
    }

    /// One event by its key.
    pub fn event(&self, source: &str, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE source = ?1 AND event_id = ?2");
        Ok(self
            .conn
            .query_row(&sql, [source, event_id], stored_event)
            .optional()?)
    }

    /// Every stored event's `(source, event_id)`, in arrival order.
    pub fn event_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT source, event_id FROM events ORDER BY seq")?;
        let keys = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(keys.collect::<Result<_, _>>()?)
    }

    /// Every quarantined frame, oldest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantineRow>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, received_us, reason, sse_id, raw, raw_len FROM quarantine ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(QuarantineRow {
                id: row.get(0)?,
                received_at: micros_to_time(row.get(1)?),
                reason: row.get(2)?,
                sse_id: row.get(3)?,
                raw: row.get(4)?,
                raw_len: count(row, 5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
