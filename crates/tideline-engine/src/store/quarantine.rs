//! quarantine: the frames that were not stored as events, with why, read back.

use chrono::{DateTime, Utc};

use super::values::{count, micros_to_time};
use super::{Session, StoreError};

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

impl Session {
    /// Every quarantined frame, oldest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantineRow>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT id, received_us, reason, sse_id, raw, raw_len FROM quarantine ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(QuarantineRow {
                id: row.get("id")?,
                received_at: micros_to_time(row.get("received_us")?),
                reason: row.get("reason")?,
                sse_id: row.get("sse_id")?,
                raw: row.get("raw")?,
                raw_len: count(row, "raw_len")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
