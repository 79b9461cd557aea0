//! events: stored events read back whole (row and verbatim body), by column place: one by its key
//! or arrival number, a page of an asset's history, those stored after an arrival number, and
//! every event's key.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Statement};

use super::filter::{AssetIndex, DAY_US};
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

/// An event's columns of `events` (`e`), as [`EVENT_COLUMNS`] names them.
macro_rules! event_row_columns {
    () => {
        "e.seq AS seq, e.source AS source, \
         e.event_id AS event_id, e.event_type AS event_type, e.change AS change, \
         e.time_us AS time_us, e.asset_name AS asset_name, e.asset_type AS asset_type, \
         e.asset_display AS asset_display, e.asset_provider AS asset_provider, \
         e.asset_account AS asset_account, e.asset_region AS asset_region, \
         e.principal AS principal, e.principal_id AS principal_id, \
         e.assumed_role AS assumed_role, e.method AS method, e.source_ip AS source_ip, \
         e.action AS action"
    };
}

/// The columns a [`StoredEvent`] is read from, from [`EVENTS_WITH_BODIES`]: a statement that
/// selects them first is read by their places ([`EventColumns::LEADING`]), any other by their
/// names ([`EventColumns::of`]).
pub(super) const EVENT_COLUMNS: &str = concat!(event_row_columns!(), ", b.body AS body");

/// [`EVENT_COLUMNS`] but the body: a query that selects these names its own `body` column.
pub(super) const EVENT_ROW_COLUMNS: &str = event_row_columns!();

/// Each event's row (`e`) with its verbatim body (`b`).
pub(super) const EVENTS_WITH_BODIES: &str = "events e JOIN event_bodies b ON b.seq = e.seq";

/// Where a page of events starts: after the row at this (time, arrival number), in the page's
/// direction. A page's last row is the next page's cursor (keyset paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PageCursor {
    /// The row's event time, microseconds since the epoch (UTC).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time_us: i64,
    /// The row's arrival number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
}

impl StoredEvent {
    /// This event's place in time order: the cursor of the page that ends with it.
    pub fn cursor(&self) -> PageCursor {
        PageCursor {
            time_us: self.time.timestamp_micros(),
            seq: self.seq,
        }
    }
}

/// Where each of [`EVENT_COLUMNS`] is in a statement's rows, found by name once per statement
/// (looking a name up on every row cost ~5 % of a detection rebuild and ~7 % of an export).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct EventColumns {
    seq: usize,
    source: usize,
    event_id: usize,
    event_type: usize,
    change: usize,
    time_us: usize,
    asset_name: usize,
    asset_type: usize,
    asset_display: usize,
    asset_provider: usize,
    asset_account: usize,
    asset_region: usize,
    principal: usize,
    principal_id: usize,
    assumed_role: usize,
    method: usize,
    source_ip: usize,
    action: usize,
    body: usize,
}

impl EventColumns {
    /// The columns of a statement that selects [`EVENT_COLUMNS`] first, by their places there.
    pub(super) const LEADING: EventColumns = {
        const fn at(name: &str) -> usize {
            super::columns::column_at(EVENT_COLUMNS, name)
        }
        EventColumns {
            seq: at("seq"),
            source: at("source"),
            event_id: at("event_id"),
            event_type: at("event_type"),
            change: at("change"),
            time_us: at("time_us"),
            asset_name: at("asset_name"),
            asset_type: at("asset_type"),
            asset_display: at("asset_display"),
            asset_provider: at("asset_provider"),
            asset_account: at("asset_account"),
            asset_region: at("asset_region"),
            principal: at("principal"),
            principal_id: at("principal_id"),
            assumed_role: at("assumed_role"),
            method: at("method"),
            source_ip: at("source_ip"),
            action: at("action"),
            body: at("body"),
        }
    };

    /// The columns of a statement that selects [`EVENT_COLUMNS`].
    ///
    /// Errors: one of them is missing (`InvalidColumnName`).
    pub(super) fn of(statement: &Statement<'_>) -> rusqlite::Result<Self> {
        let at = |name: &str| statement.column_index(name);
        Ok(EventColumns {
            seq: at("seq")?,
            source: at("source")?,
            event_id: at("event_id")?,
            event_type: at("event_type")?,
            change: at("change")?,
            time_us: at("time_us")?,
            asset_name: at("asset_name")?,
            asset_type: at("asset_type")?,
            asset_display: at("asset_display")?,
            asset_provider: at("asset_provider")?,
            asset_account: at("asset_account")?,
            asset_region: at("asset_region")?,
            principal: at("principal")?,
            principal_id: at("principal_id")?,
            assumed_role: at("assumed_role")?,
            method: at("method")?,
            source_ip: at("source_ip")?,
            action: at("action")?,
            body: at("body")?,
        })
    }

    /// One row of that statement as a [`StoredEvent`].
    pub(super) fn read(&self, row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
        let change: Option<String> = row.get(self.change)?;
        Ok(StoredEvent {
            seq: row.get(self.seq)?,
            source: row.get(self.source)?,
            event_id: row.get(self.event_id)?,
            event_type: row.get(self.event_type)?,
            change: change.as_deref().and_then(ChangeKind::parse),
            time: micros_to_time(row.get(self.time_us)?),
            asset_name: row.get(self.asset_name)?,
            asset_type: row.get(self.asset_type)?,
            asset_display: row.get(self.asset_display)?,
            asset_provider: row.get(self.asset_provider)?,
            asset_account: row.get(self.asset_account)?,
            asset_region: row.get(self.asset_region)?,
            principal: row.get(self.principal)?,
            principal_id: row.get(self.principal_id)?,
            assumed_role: row.get(self.assumed_role)?,
            method: row.get(self.method)?,
            source_ip: row.get(self.source_ip)?,
            action: row.get(self.action)?,
            body: row.get(self.body)?,
        })
    }
}

/// A row of a statement that selects [`EVENT_COLUMNS`] first, as a [`StoredEvent`] (for
/// single rows; a statement that reads many finds its columns once with [`EventColumns::of`]).
pub(super) fn stored_event(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    // A statement that does not lead with the list has other names at its ends (a full check of
    // every row, `columns::leads_with`, slowed a debug build's recording out of its tests).
    debug_assert!(
        row.as_ref().column_name(0).is_ok_and(|name| name == "seq")
            && row
                .as_ref()
                .column_name(EventColumns::LEADING.body)
                .is_ok_and(|name| name == "body")
    );
    EventColumns::LEADING.read(row)
}

/// Every row of a prepared statement that selects [`EVENT_COLUMNS`], as [`StoredEvent`]s.
pub(super) fn stored_events(
    statement: &mut Statement<'_>,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let columns = EventColumns::of(statement)?;
    let rows = statement.query_map(params, |row| columns.read(row))?;
    rows.collect()
}

impl Session {
    /// One event by its key.
    pub fn event(&self, source: &str, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES} WHERE e.source = ?1 AND e.event_id = ?2"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(statement
            .query_row([source, event_id], stored_event)
            .optional()?)
    }

    /// One event by its arrival number.
    pub fn event_by_seq(&self, seq: i64) -> Result<Option<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES} WHERE e.seq = ?1");
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(statement.query_row([seq], stored_event).optional()?)
    }

    /// One asset's events, newest first: `limit` of them, older than `before` when given.
    pub fn asset_events(
        &self,
        asset_name: &str,
        before: Option<PageCursor>,
        limit: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let before = before.unwrap_or(PageCursor {
            time_us: i64::MAX,
            seq: i64::MAX,
        });
        let asset = "(SELECT id FROM facet_values WHERE facet = 'asset' AND value = ?1)";
        let sql = match AssetIndex::of(&self.conn)? {
            // Day by day, newest first; each day's rows are a range of the index in time
            // order, so the page is read without a sort.
            AssetIndex::ByDay => format!(
                "SELECT {EVENT_COLUMNS} FROM asset_days d \
                 CROSS JOIN event_facets f INDEXED BY event_facets_by_asset_day \
                   ON f.day = d.day AND f.asset = d.asset \
                 JOIN events e ON e.seq = f.seq JOIN event_bodies b ON b.seq = f.seq \
                 WHERE d.asset = {asset} AND d.day <= ?2 / {DAY_US} \
                   AND (f.time_us, f.seq) < (?2, ?3) \
                 ORDER BY d.day DESC, f.time_us DESC, f.seq DESC LIMIT ?4"
            ),
            AssetIndex::ByAsset => format!(
                "SELECT {EVENT_COLUMNS} FROM event_facets f \
                 JOIN events e ON e.seq = f.seq JOIN event_bodies b ON b.seq = f.seq \
                 WHERE f.asset = {asset} AND (f.time_us, f.seq) < (?2, ?3) \
                 ORDER BY f.time_us DESC, f.seq DESC LIMIT ?4"
            ),
        };
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(stored_events(
            &mut statement,
            rusqlite::params![
                asset_name,
                before.time_us,
                before.seq,
                limit.min(i64::MAX as u64) as i64
            ],
        )?)
    }

    /// Events with an arrival number above `seq`, in arrival order (for incremental detection).
    pub fn events_after(&self, seq: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES} WHERE e.seq > ?1 ORDER BY e.seq"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(stored_events(&mut statement, [seq])?)
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
