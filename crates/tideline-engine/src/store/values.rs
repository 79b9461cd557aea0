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

/// `(…)` of an `IN` condition over a set of events given as one parameter, `?1`: the JSON
/// array [`seq_list`] makes. One statement whatever the number of events, so the statement
/// cache keeps it.
pub(super) const SEQ_LIST: &str = "(SELECT value FROM json_each(?1))";

/// `seqs` as the JSON array [`SEQ_LIST`] reads.
pub(super) fn seq_list(seqs: &[i64]) -> String {
    let items: Vec<String> = seqs.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}
