//! timeline: the filtered, paged and faceted reads behind the incident view.
//!
//! Filters become a WHERE clause of fixed column names and `?` parameters; no value from a
//! query or an event is ever spliced into SQL text.

use std::collections::HashMap;

use chrono::DateTime;
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;

use super::reads::{EVENT_COLUMNS, stored_event};
use super::{Session, StoreError, StoredEvent};
use crate::timeline::{Facet, TimelineQuery};

impl Facet {
    fn column(self) -> &'static str {
        match self {
            Facet::Asset => "asset_name",
            Facet::Change => "change",
            Facet::AssetType => "asset_type",
            Facet::Method => "method",
            Facet::Principal => "principal",
            Facet::Region => "asset_region",
            Facet::Account => "asset_account",
        }
    }
}

/// The WHERE clause for `query`, leaving out the filter on `skip` (for that facet's counts).
pub(super) fn where_clause(
    query: &TimelineQuery,
    skip: Option<Facet>,
) -> Result<(String, Vec<SqlValue>), StoreError> {
    let mut conditions = vec!["change IS NOT NULL".to_owned()];
    let mut params: Vec<SqlValue> = Vec::new();
    let changes: Vec<String> = query
        .changes
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    for (facet, values) in [
        (Facet::Change, &changes),
        (Facet::AssetType, &query.asset_types),
        (Facet::Method, &query.methods),
        (Facet::Principal, &query.principals),
        (Facet::Region, &query.regions),
        (Facet::Account, &query.accounts),
    ] {
        if values.is_empty() || skip == Some(facet) {
            continue;
        }
        let marks = vec!["?"; values.len()].join(", ");
        conditions.push(format!("{} IN ({marks})", facet.column()));
        params.extend(values.iter().map(|value| SqlValue::Text(value.clone())));
    }
    if let Some(from) = &query.time_from {
        conditions.push("time_us >= ?".to_owned());
        params.push(SqlValue::Integer(micros(from)?));
    }
    if let Some(to) = &query.time_to {
        conditions.push("time_us <= ?".to_owned());
        params.push(SqlValue::Integer(micros(to)?));
    }
    if let Some(name) = &query.asset_name {
        conditions.push("asset_name = ?".to_owned());
        params.push(SqlValue::Text(name.clone()));
    }
    if let Some(max_seq) = query.max_seq {
        conditions.push("seq <= ?".to_owned());
        params.push(SqlValue::Integer(max_seq));
    }
    // SQLite's %w counts from Sunday (0); ours from Monday.
    if let Some(weekday) = query.weekday {
        conditions.push(
            "(CAST(strftime('%w', time_us / 1000000, 'unixepoch') AS INTEGER) + 6) % 7 = ?"
                .to_owned(),
        );
        params.push(SqlValue::Integer(i64::from(weekday)));
    }
    if let Some(hour) = query.hour {
        conditions
            .push("CAST(strftime('%H', time_us / 1000000, 'unixepoch') AS INTEGER) = ?".to_owned());
        params.push(SqlValue::Integer(i64::from(hour)));
    }
    if let Some(key) = &query.finding {
        conditions.push("seq IN (SELECT seq FROM notes.finding_events WHERE key = ?)".to_owned());
        params.push(SqlValue::Text(key.clone()));
    }
    if query.starred_only {
        conditions.push("seq IN (SELECT seq FROM notes.event_stars)".to_owned());
    }
    if !query.tags.is_empty() {
        let marks = vec!["?"; query.tags.len()].join(", ");
        conditions.push(format!(
            "seq IN (SELECT seq FROM notes.event_tags WHERE tag IN ({marks}))"
        ));
        params.extend(query.tags.iter().map(|tag| SqlValue::Text(tag.clone())));
    }
    if let Some(text) = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        let columns = [
            "asset_name",
            "asset_display",
            "asset_type",
            "principal",
            "source_ip",
            "action",
        ];
        let any = columns
            .map(|column| format!("{column} LIKE ? ESCAPE '\\'"))
            .join(" OR ");
        conditions.push(format!("({any})"));
        let pattern = format!("%{}%", escape_like(text));
        params.extend(columns.map(|_| SqlValue::Text(pattern.clone())));
    }
    Ok((conditions.join(" AND "), params))
}

fn micros(text: &str) -> Result<i64, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|_| StoreError::BadQuery(format!("not an RFC 3339 time: {text:?}")))
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Session {
    /// How many asset changes match `query`.
    pub fn count_changes(&self, query: &TimelineQuery) -> Result<u64, StoreError> {
        let (filter, params) = where_clause(query, None)?;
        let sql = format!("SELECT count(*) FROM events WHERE {filter}");
        let count: i64 = self
            .conn
            .query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))?;
        Ok(count.max(0) as u64)
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
        params.push(SqlValue::Integer(limit.min(i64::MAX as u64) as i64));
        params.push(SqlValue::Integer(offset.min(i64::MAX as u64) as i64));
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
            "SELECT {column}, count(*) AS n FROM events WHERE {filter} AND {column} IS NOT NULL \
             GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?"
        );
        params.push(SqlValue::Integer(limit.min(i64::MAX as u64) as i64));
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The extent of the changes matching `query`: (oldest, newest) time in microseconds.
    pub fn time_extent(&self, query: &TimelineQuery) -> Result<Option<(i64, i64)>, StoreError> {
        let (filter, params) = where_clause(query, None)?;
        let sql = format!("SELECT min(time_us), max(time_us) FROM events WHERE {filter}");
        let (min, max): (Option<i64>, Option<i64>) =
            self.conn
                .query_row(&sql, rusqlite::params_from_iter(params), |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?;
        Ok(min.zip(max))
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
            "SELECT (time_us / ?) * ?, change, count(*) FROM events WHERE {filter} GROUP BY 1, 2 ORDER BY 1"
        );
        let mut all = vec![
            SqlValue::Integer(bucket_us.max(1)),
            SqlValue::Integer(bucket_us.max(1)),
        ];
        all.append(&mut params);
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(all), |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get::<_, i64>(2)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Changes matching `query` per (weekday from Monday = 0, UTC hour).
    pub fn weekday_hour_counts(
        &self,
        query: &TimelineQuery,
    ) -> Result<Vec<(u8, u8, u64)>, StoreError> {
        let (filter, params) = where_clause(query, None)?;
        let sql = format!(
            "SELECT (CAST(strftime('%w', time_us / 1000000, 'unixepoch') AS INTEGER) + 6) % 7, \
                    CAST(strftime('%H', time_us / 1000000, 'unixepoch') AS INTEGER), count(*) \
             FROM events WHERE {filter} GROUP BY 1, 2"
        );
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>(0)? as u8,
                row.get::<_, i64>(1)? as u8,
                row.get::<_, i64>(2)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Of `names`, the assets this session has seen, with their display names.
    pub fn known_assets(
        &self,
        names: &[&str],
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT display_name FROM assets WHERE name = ?1")?;
        let mut known = HashMap::new();
        for name in names {
            if let Some(display) = statement
                .query_row([name], |row| row.get::<_, Option<String>>(0))
                .optional()?
            {
                known.insert((*name).to_owned(), display);
            }
        }
        Ok(known)
    }

    /// The arrival number of the newest stored event.
    pub fn newest_seq(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT max(seq) FROM events", [], |row| row.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn filters_never_put_values_into_the_sql_text() {
        let query = TimelineQuery {
            principals: vec!["x' OR 1=1 --".into()],
            text: Some("'; DROP TABLE events; --".into()),
            ..TimelineQuery::default()
        };
        let (sql, params) = where_clause(&query, None).unwrap();
        assert!(!sql.contains("DROP") && !sql.contains("1=1"), "{sql}");
        assert_eq!(params.len(), 7);
    }
}
