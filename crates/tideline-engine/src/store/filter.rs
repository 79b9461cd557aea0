//! filter: a [`TimelineQuery`] as a WHERE clause over `events`, for every filtered read.
//!
//! The clause is made of fixed column names and `?` parameters; no value from a query or an
//! event is ever spliced into SQL text.

use chrono::DateTime;
use rusqlite::types::Value as SqlValue;

use super::StoreError;
use super::query::{Facet, TimelineQuery};

/// The WHERE clause for `filter`: its asset changes, or every event without one.
pub(super) fn filter_clause(
    filter: Option<&TimelineQuery>,
) -> Result<(String, Vec<SqlValue>), StoreError> {
    match filter {
        Some(query) => where_clause(query, None),
        None => Ok(("1".to_owned(), Vec::new())),
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
