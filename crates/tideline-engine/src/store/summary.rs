//! summary: a session's counts and extent, and the stream position it resumes from.

use serde::Serialize;

use std::path::Path;

use super::meta::keys;
use super::values::{count, format_time, micros_to_time};
use super::{Session, StoreError};

/// A session file at a glance: what a list of sessions shows of each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionGlance {
    /// The name and incident reference given when it was recorded.
    pub name: Option<String>,
    pub incident: Option<String>,
    /// Events stored (as of the file's last checkpoint when no recorder is running).
    pub events: u64,
    /// The oldest and newest event time, RFC 3339 UTC.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

/// Reads the facts of the session at `path` without writing a byte of it or beside it, and
/// without migrating it (a file of any schema this build knows); a few index reads, whatever
/// its size.
///
/// Errors: [`StoreError::Missing`], [`StoreError::NotASession`], [`StoreError::SchemaTooNew`],
/// or SQLite's own.
pub fn glance(path: &Path) -> Result<SessionGlance, StoreError> {
    let session = super::open::glance_connection(path)?;
    let conn = &session.conn;
    let time = |sql: &str| -> Result<Option<String>, StoreError> {
        let micros: Option<i64> = conn.query_row(sql, [], |row| row.get("t"))?;
        Ok(micros.map(|us| format_time(micros_to_time(us))))
    };
    // Events are never deleted and each takes the next arrival number, so the newest is the
    // count (read from the table's end instead of counting millions of rows).
    let events = conn.query_row("SELECT coalesce(max(seq), 0) AS n FROM events", [], |row| {
        count(row, "n")
    })?;
    Ok(SessionGlance {
        name: session.meta(keys::NAME)?,
        incident: session.meta(keys::INCIDENT)?,
        events,
        first_time: time("SELECT min(time_us) AS t FROM events")?,
        last_time: time("SELECT max(time_us) AS t FROM events")?,
    })
}

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
        // Counts come from the facet dictionary and the time extent from the time-ordered
        // index: nothing here reads every row.
        // (min and max each in a query of its own: SQLite reads either from one end of the
        // index only when it is alone.)
        let events = self
            .conn
            .query_row("SELECT count(*) AS n FROM event_facets", [], |row| {
                count(row, "n")
            })?;
        let first_us: Option<i64> =
            self.conn
                .query_row("SELECT min(time_us) AS t FROM event_facets", [], |row| {
                    row.get("t")
                })?;
        let last_us: Option<i64> =
            self.conn
                .query_row("SELECT max(time_us) AS t FROM event_facets", [], |row| {
                    row.get("t")
                })?;
        let mut by_change = ChangeCounts::default();
        let mut statement = self
            .conn
            .prepare_cached("SELECT value, changes FROM facet_values WHERE facet = 'change'")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let n = count(row, "changes")?;
            match row.get::<_, String>("value")?.as_str() {
                "create" => by_change.create = n,
                "update" => by_change.update = n,
                "delete" => by_change.delete = n,
                _ => {}
            }
        }
        let asset_events = by_change.create + by_change.update + by_change.delete;
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
            other_events: events.saturating_sub(asset_events),
            quarantined,
            duplicates,
            first_time: first_us.map(|us| format_time(micros_to_time(us))),
            last_time: last_us.map(|us| format_time(micros_to_time(us))),
            last_event_id,
            by_change,
        })
    }
}

/// Events counted by cloud account and by UTC date (`tideline-cli info --json`'s `by_account`
/// and `by_date`): what an export's partitions hold. Reads every event's facet row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventBreakdown {
    /// Events per `data.asset.account`; events without one are counted under `""`.
    pub by_account: std::collections::BTreeMap<String, u64>,
    /// Events per UTC date of their event time, `YYYY-MM-DD`.
    pub by_date: std::collections::BTreeMap<String, u64>,
}

impl Session {
    pub fn breakdown(&self) -> Result<EventBreakdown, StoreError> {
        let mut breakdown = EventBreakdown::default();
        let mut by_account = self.conn.prepare_cached(
            "SELECT coalesce(v.value, '') AS account, count(*) AS n FROM event_facets f \
             LEFT JOIN facet_values v ON v.id = f.account GROUP BY f.account",
        )?;
        let mut rows = by_account.query([])?;
        while let Some(row) = rows.next()? {
            *breakdown.by_account.entry(row.get("account")?).or_default() += count(row, "n")?;
        }
        // The day's first second in whole integers (a floor, also before 1970), so no
        // rounding moves an event at 23:59:59.999999 to the next day.
        let mut by_date = self.conn.prepare_cached(
            "SELECT strftime('%Y-%m-%d', (time_us - ((time_us % 86400000000) + 86400000000) \
             % 86400000000) / 1000000, 'unixepoch') AS day, count(*) AS n \
             FROM event_facets GROUP BY day",
        )?;
        let mut rows = by_date.query([])?;
        while let Some(row) = rows.next()? {
            breakdown.by_date.insert(row.get("day")?, count(row, "n")?);
        }
        Ok(breakdown)
    }
}
