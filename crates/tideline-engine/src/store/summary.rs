//! summary: a session's counts and extent, and the stream position it resumes from.

use serde::Serialize;

use super::values::{count, format_time, micros_to_time};
use super::{Session, StoreError};

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

impl Session {
    /// The SSE id of the last frame stored: where a reconnect resumes.
    pub fn stream_position(&self) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT last_event_id FROM stream_state WHERE id = 1",
            [],
            |row| row.get("last_event_id"),
        )?)
    }

    pub fn summary(&self) -> Result<SessionSummary, StoreError> {
        let (events, asset_events, first_us, last_us, by_change): (
            u64,
            u64,
            Option<i64>,
            Option<i64>,
            ChangeCounts,
        ) = self.conn.query_row(
            "SELECT count(*) AS events, count(change) AS asset_events, \
                    min(time_us) AS first_us, max(time_us) AS last_us, \
                    count(*) FILTER (WHERE change = 'create') AS creates, \
                    count(*) FILTER (WHERE change = 'update') AS updates, \
                    count(*) FILTER (WHERE change = 'delete') AS deletes \
             FROM events",
            [],
            |row| {
                Ok((
                    count(row, "events")?,
                    count(row, "asset_events")?,
                    row.get("first_us")?,
                    row.get("last_us")?,
                    ChangeCounts {
                        create: count(row, "creates")?,
                        update: count(row, "updates")?,
                        delete: count(row, "deletes")?,
                    },
                ))
            },
        )?;
        let quarantined: u64 =
            self.conn
                .query_row("SELECT count(*) AS frames FROM quarantine", [], |row| {
                    count(row, "frames")
                })?;
        let (last_event_id, duplicates): (Option<String>, u64) = self.conn.query_row(
            "SELECT last_event_id, duplicates FROM stream_state WHERE id = 1",
            [],
            |row| Ok((row.get("last_event_id")?, count(row, "duplicates")?)),
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
            by_change,
        })
    }
}
