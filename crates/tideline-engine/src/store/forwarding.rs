//! forwarding: where each forwarding destination is in the session — the last event and
//! finding it was sent, how many it took, and why it is failing or stopped. The outbox itself
//! is the session's own events (and the notes' findings) after those marks: nothing is copied,
//! and a restart resumes from the marks. Kept in the notes database, so forwarding (and a
//! backfill from a reviewed session) never writes a byte of the evidence.

use rusqlite::{OptionalExtension, params};

use super::{Session, StoreError};

/// One destination's place and health.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ForwardCursor {
    /// Every event up to this arrival number has been delivered or did not match.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered_seq: i64,
    /// Every finding up to this id has been delivered or did not match.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered_finding: i64,
    /// Events and findings delivered so far.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered: u64,
    /// Since when deliveries fail (microseconds since the epoch), while they do.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub failing_since_us: Option<i64>,
    pub last_error: Option<String>,
    /// Why the destination was stopped (a refusal that retrying cannot fix), if it was.
    pub stopped: Option<String>,
}

impl Session {
    /// `destination`'s cursor (all zero for one never used).
    pub fn forward_cursor(&self, destination: &str) -> Result<ForwardCursor, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT delivered_seq, delivered_finding, delivered, failing_since_us, last_error, stopped \
                 FROM notes.forward_cursors WHERE destination = ?1",
                [destination],
                |row| {
                    Ok(ForwardCursor {
                        delivered_seq: row.get("delivered_seq")?,
                        delivered_finding: row.get("delivered_finding")?,
                        delivered: row.get::<_, i64>("delivered")?.max(0) as u64,
                        failing_since_us: row.get("failing_since_us")?,
                        last_error: row.get("last_error")?,
                        stopped: row.get("stopped")?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Saves `destination`'s cursor (one small write in the notes database).
    pub fn save_forward_cursor(
        &self,
        destination: &str,
        cursor: &ForwardCursor,
        now_us: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO notes.forward_cursors (destination, delivered_seq, delivered_finding, \
                 delivered, failing_since_us, last_error, stopped, updated_us) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (destination) DO UPDATE SET delivered_seq = excluded.delivered_seq, \
                 delivered_finding = excluded.delivered_finding, delivered = excluded.delivered, \
                 failing_since_us = excluded.failing_since_us, last_error = excluded.last_error, \
                 stopped = excluded.stopped, updated_us = excluded.updated_us",
            params![
                destination,
                cursor.delivered_seq,
                cursor.delivered_finding,
                cursor.delivered.min(i64::MAX as u64) as i64,
                cursor.failing_since_us,
                cursor.last_error,
                cursor.stopped,
                now_us
            ],
        )?;
        Ok(())
    }

    /// Every destination this session has forwarded to, with its cursor.
    pub fn forward_cursors(&self) -> Result<Vec<(String, ForwardCursor)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT destination FROM notes.forward_cursors ORDER BY destination")?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        names
            .into_iter()
            .map(|name| Ok((name.clone(), self.forward_cursor(&name)?)))
            .collect()
    }
}
