//! events: stored events read back whole, by column name: one by its key or arrival number, an
//! asset's history, those stored after an arrival number, and every event's key.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row};

use super::values::micros_to_time;
use super::{Session, StoreError};
use crate::model::ChangeKind;

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

/// The columns [`stored_event`] reads, by name: their order here does not matter.
pub(super) const EVENT_COLUMNS: &str = "seq, source, event_id, event_type, change, time_us, \
     asset_name, asset_type, asset_display, asset_provider, asset_account, asset_region, \
     principal, principal_id, assumed_role, method, source_ip, action, body";

/// A row selected with [`EVENT_COLUMNS`] as a [`StoredEvent`].
pub(super) fn stored_event(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let change: Option<String> = row.get("change")?;
    Ok(StoredEvent {
        seq: row.get("seq")?,
        source: row.get("source")?,
        event_id: row.get("event_id")?,
        event_type: row.get("event_type")?,
        change: change.as_deref().and_then(ChangeKind::parse),
        time: micros_to_time(row.get("time_us")?),
        asset_name: row.get("asset_name")?,
        asset_type: row.get("asset_type")?,
        asset_display: row.get("asset_display")?,
        asset_provider: row.get("asset_provider")?,
        asset_account: row.get("asset_account")?,
        asset_region: row.get("asset_region")?,
        principal: row.get("principal")?,
        principal_id: row.get("principal_id")?,
        assumed_role: row.get("assumed_role")?,
        method: row.get("method")?,
        source_ip: row.get("source_ip")?,
        action: row.get("action")?,
        body: row.get("body")?,
    })
}

impl Session {
    /// One event by its key.
    pub fn event(&self, source: &str, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE source = ?1 AND event_id = ?2");
        Ok(self
            .conn
            .query_row(&sql, [source, event_id], stored_event)
            .optional()?)
    }

    /// One event by its arrival number.
    pub fn event_by_seq(&self, seq: i64) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1");
        Ok(self.conn.query_row(&sql, [seq], stored_event).optional()?)
    }

    /// Every event of one asset, oldest first.
    pub fn asset_events(&self, asset_name: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE asset_name = ?1 ORDER BY time_us, seq"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map([asset_name], stored_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events with an arrival number above `seq`, in arrival order (for incremental detection).
    pub fn events_after(&self, seq: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map([seq], stored_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored event's `(source, event_id)`, in arrival order.
    pub fn event_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT source, event_id FROM events ORDER BY seq")?;
        let keys = statement.query_map([], |row| Ok((row.get("source")?, row.get("event_id")?)))?;
        Ok(keys.collect::<Result<_, _>>()?)
    }

    /// The arrival number of the newest stored event.
    pub fn newest_seq(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT max(seq) AS newest FROM events", [], |row| {
                row.get("newest")
            })?)
    }
}
