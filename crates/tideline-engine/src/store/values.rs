//! values: how the store keeps times and counts (times as microseconds since the epoch, counts
//! as SQLite integers) and how they read back.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Row;

/// Counts are stored as SQLite integers (i64) and never negative.
pub(super) fn count(row: &Row<'_>, column: &str) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(column)?.max(0) as u64)
}

pub(super) fn micros_to_time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`, as exports and `info` print times.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Events looked up per query with [`in_list`] (well under SQLite's 32,766 parameters).
pub(super) const IN_LIST: usize = 500;

/// `?,?,…` with `n` parameters: the list of an `IN (…)` condition.
pub(super) fn in_list(n: usize) -> String {
    let mut list = "?,".repeat(n);
    list.pop();
    list
}
