//! timeline: the filtered reads behind the incident view and exports: every matching event in
//! time order, pages of changes, counts, facets, the time extent and histograms.

use rusqlite::types::Value as SqlValue;

use super::events::{EVENT_COLUMNS, StoredEvent, stored_event};
use super::filter::{filter_clause, where_clause};
use super::query::{Facet, TimelineQuery};
use super::values::count;
use super::{Session, StoreError};

/// A count or limit as an SQL integer.
fn integer(value: u64) -> SqlValue {
    SqlValue::Integer(value.min(i64::MAX as u64) as i64)
}

impl Session {
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
        let (condition, params) = filter_clause(filter)?;
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
        let (condition, params) = filter_clause(filter)?;
        let sql = format!("SELECT count(*) AS n FROM events WHERE {condition}");
        Ok(self
            .conn
            .query_row(&sql, rusqlite::params_from_iter(params), |row| {
                count(row, "n")
            })?)
    }

    /// How many asset changes match `query`.
    pub fn count_changes(&self, query: &TimelineQuery) -> Result<u64, StoreError> {
        self.count_events(Some(query))
    }

    /// Asset changes matching `query`, newest first, `limit` of them from `offset`.
    pub fn page_changes(
        &self,
        query: &TimelineQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (filter, mut params) = where_clause(query, None)?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE {filter} ORDER BY time_us DESC, seq DESC LIMIT ? OFFSET ?"
        );
        params.push(integer(limit));
        params.push(integer(offset));
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), stored_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The most frequent values of `facet` under `query` without its own filter.
    pub fn facet_counts(
        &self,
        query: &TimelineQuery,
        facet: Facet,
        limit: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let (filter, mut params) = where_clause(query, Some(facet))?;
        let column = facet.column();
        let sql = format!(
            "SELECT {column} AS value, count(*) AS n FROM events WHERE {filter} AND {column} IS NOT NULL \
             GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
        );
        params.push(integer(limit));
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((row.get::<_, String>("value")?, count(row, "n")?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The extent of the changes matching `query`: (oldest, newest) time in microseconds.
    pub fn time_extent(&self, query: &TimelineQuery) -> Result<Option<(i64, i64)>, StoreError> {
        let (filter, params) = where_clause(query, None)?;
        let sql = format!(
            "SELECT min(time_us) AS oldest, max(time_us) AS newest FROM events WHERE {filter}"
        );
        let (oldest, newest): (Option<i64>, Option<i64>) =
            self.conn
                .query_row(&sql, rusqlite::params_from_iter(params), |row| {
                    Ok((row.get("oldest")?, row.get("newest")?))
                })?;
        Ok(oldest.zip(newest))
    }

    /// Changes matching `query` per time bucket of `bucket_us` and change type:
    /// (bucket start, change, count), oldest first.
    pub fn change_histogram(
        &self,
        query: &TimelineQuery,
        bucket_us: i64,
    ) -> Result<Vec<(i64, String, u64)>, StoreError> {
        let (filter, mut params) = where_clause(query, None)?;
        let sql = format!(
            "SELECT (time_us / ?) * ? AS bucket, change, count(*) AS n FROM events WHERE {filter} \
             GROUP BY 1, 2 ORDER BY 1"
        );
        let mut all = vec![
            SqlValue::Integer(bucket_us.max(1)),
            SqlValue::Integer(bucket_us.max(1)),
        ];
        all.append(&mut params);
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(all), |row| {
            Ok((row.get("bucket")?, row.get("change")?, count(row, "n")?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Changes matching `query` per (weekday from Monday = 0, UTC hour).
    pub fn weekday_hour_counts(
        &self,
        query: &TimelineQuery,
    ) -> Result<Vec<(u8, u8, u64)>, StoreError> {
        let (filter, params) = where_clause(query, None)?;
        // SQLite's %w counts from Sunday (0); ours from Monday.
        let sql = format!(
            "SELECT (CAST(strftime('%w', time_us / 1000000, 'unixepoch') AS INTEGER) + 6) % 7 AS weekday, \
                    CAST(strftime('%H', time_us / 1000000, 'unixepoch') AS INTEGER) AS hour, count(*) AS n \
             FROM events WHERE {filter} GROUP BY 1, 2"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>("weekday")? as u8,
                row.get::<_, i64>("hour")? as u8,
                count(row, "n")?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
