//! filter: a [`TimelineQuery`] as conditions on `event_facets` (aliased `f`), for every filtered
//! read: facet values resolved to their dictionary ids, the search box's query language
//! (search_syntax.rs), and the
//! access path (which index a page walks) chosen from the dictionary's counts.
//!
//! The clause is made of fixed column names and `?` parameters; no value from a query or an
//! event is ever spliced into SQL text.

use chrono::DateTime;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::StoreError;
use super::facet_values::ids_of;
use super::query::{Facet, TimelineQuery};
use super::search::cover_tail;
use super::search_syntax;

/// Below this share of all asset changes, a facet filter's own index is walked instead of the
/// time order (a page of a rare principal finds its rows at once; a common type's rows are
/// found faster by walking time and checking).
const INDEX_SHARE: f64 = 0.02;

/// A query, resolved against one session.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    /// Conditions other than facet membership, with their parameters.
    base: Vec<String>,
    base_params: Vec<SqlValue>,
    /// Per filtered facet, the ids it allows (empty: the session has none of the values, so
    /// nothing matches).
    pub(super) facets: Vec<(Facet, Vec<i64>)>,
    /// The index a page of this filter walks: `None` for time order, else `INDEXED BY …`.
    access: Option<&'static str>,
}

impl Filter {
    /// Every event: no condition at all (exports and detections of the whole session).
    pub(super) fn all_events() -> Filter {
        Filter {
            base: Vec::new(),
            base_params: Vec::new(),
            facets: Vec::new(),
            access: None,
        }
    }

    /// The asset changes `query` matches (its other events, with `query.activity`).
    pub(super) fn changes(conn: &Connection, query: &TimelineQuery) -> Result<Filter, StoreError> {
        let kind = if query.activity {
            "f.change IS NULL"
        } else {
            "f.change IS NOT NULL"
        };
        let mut base = vec![kind.to_owned()];
        let mut base_params: Vec<SqlValue> = Vec::new();
        let changes: Vec<String> = query
            .changes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        let asset: Vec<String> = query.asset_name.iter().cloned().collect();
        let mut facets = Vec::new();
        for (facet, values) in [
            (Facet::Change, &changes),
            (Facet::AssetType, &query.asset_types),
            (Facet::Method, &query.methods),
            (Facet::Principal, &query.principals),
            (Facet::Region, &query.regions),
            (Facet::Account, &query.accounts),
            (Facet::Asset, &asset),
        ] {
            if !values.is_empty() {
                facets.push((facet, ids_of(conn, facet, values)?));
            }
        }
        let excluded_changes: Vec<String> = query
            .exclude_changes
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        for (facet, values) in [
            (Facet::Change, &excluded_changes),
            (Facet::AssetType, &query.exclude_asset_types),
            (Facet::Method, &query.exclude_methods),
            (Facet::Principal, &query.exclude_principals),
            (Facet::Region, &query.exclude_regions),
            (Facet::Account, &query.exclude_accounts),
        ] {
            if values.is_empty() {
                continue;
            }
            // Values the session never saw hide nothing.
            let ids = ids_of(conn, facet, values)?;
            if !ids.is_empty() {
                let column = facet.name();
                let marks = vec!["?"; ids.len()].join(", ");
                base.push(format!(
                    "(f.{column} IS NULL OR f.{column} NOT IN ({marks}))"
                ));
                base_params.extend(ids.into_iter().map(SqlValue::Integer));
            }
        }
        if let Some(from) = &query.time_from {
            base.push("f.time_us >= ?".to_owned());
            base_params.push(SqlValue::Integer(micros(from)?));
        }
        if let Some(to) = &query.time_to {
            // Half-open: the bound itself belongs to the next range.
            base.push("f.time_us < ?".to_owned());
            base_params.push(SqlValue::Integer(micros(to)?));
        }
        if let Some(max_seq) = query.max_seq {
            base.push("f.seq <= ?".to_owned());
            base_params.push(SqlValue::Integer(max_seq));
        }
        if let Some(after_seq) = query.after_seq {
            base.push("f.seq > ?".to_owned());
            base_params.push(SqlValue::Integer(after_seq));
        }
        // SQLite's %w counts from Sunday (0); ours from Monday.
        if let Some(weekday) = query.weekday {
            base.push(
                "(CAST(strftime('%w', f.time_us / 1000000, 'unixepoch') AS INTEGER) + 6) % 7 = ?"
                    .to_owned(),
            );
            base_params.push(SqlValue::Integer(i64::from(weekday)));
        }
        if let Some(hour) = query.hour {
            base.push(
                "CAST(strftime('%H', f.time_us / 1000000, 'unixepoch') AS INTEGER) = ?".to_owned(),
            );
            base_params.push(SqlValue::Integer(i64::from(hour)));
        }
        if let Some(key) = &query.finding {
            base.push(
                "f.seq IN (SELECT seq FROM notes.finding_events WHERE key_hash = ? AND key = ?)"
                    .to_owned(),
            );
            base_params.push(SqlValue::Integer(super::finding_key_hash(key)));
            base_params.push(SqlValue::Text(key.clone()));
        }
        if query.starred_only {
            base.push("f.seq IN (SELECT seq FROM notes.event_stars)".to_owned());
        }
        if !query.tags.is_empty() {
            let marks = vec!["?"; query.tags.len()].join(", ");
            base.push(format!(
                "f.seq IN (SELECT seq FROM notes.event_tags WHERE tag IN ({marks}))"
            ));
            base_params.extend(query.tags.iter().map(|tag| SqlValue::Text(tag.clone())));
        }
        if let Some(text) = query.text.as_deref().filter(|text| !text.trim().is_empty()) {
            match search_syntax::parse(text)? {
                Some(search) => {
                    if search.has_text() {
                        cover_tail(conn)?;
                    }
                    base.push(search.condition(&mut base_params));
                }
                // Nothing searchable (only punctuation): nothing matches.
                None => base.push("0".to_owned()),
            }
        }
        let access = access_path(conn, &facets)?;
        Ok(Filter {
            base,
            base_params,
            facets,
            access,
        })
    }

    /// The WHERE clause over `f`, leaving out the filter on `skip` (for that facet's counts).
    pub(super) fn clause(&self, skip: Option<Facet>) -> (String, Vec<SqlValue>) {
        let mut conditions = self.base.clone();
        let mut params = self.base_params.clone();
        for (facet, ids) in &self.facets {
            if skip == Some(*facet) {
                continue;
            }
            if ids.is_empty() {
                conditions.push("0".to_owned());
                continue;
            }
            let marks = vec!["?"; ids.len()].join(", ");
            // In time order, `+` keeps SQLite off the facet's own index (it would otherwise
            // take it, then sort every matching row by time).
            let unindexed = if self.access.is_none() { "+" } else { "" };
            conditions.push(format!("{unindexed}f.{} IN ({marks})", facet.name()));
            params.extend(ids.iter().map(|id| SqlValue::Integer(*id)));
        }
        if conditions.is_empty() {
            conditions.push("1".to_owned());
        }
        (conditions.join(" AND "), params)
    }

    /// The WHERE clause without any facet filter: the rows a one-pass facet count reads.
    pub(super) fn base_clause(&self) -> (String, Vec<SqlValue>) {
        let conditions = if self.base.is_empty() {
            "1".to_owned()
        } else {
            self.base.join(" AND ")
        };
        (conditions, self.base_params.clone())
    }

    /// `event_facets f` with the index a page of this filter walks.
    pub(super) fn source(&self) -> String {
        format!("event_facets f {}", self.access.unwrap_or_default())
    }

    /// Whether this is the whole change list: no condition but "is a change".
    pub(super) fn is_every_change(&self) -> bool {
        self.facets.is_empty() && self.base == ["f.change IS NOT NULL"]
    }
}

/// The index to walk for `facets`: the most selective filtered facet's own index when it
/// selects under [`INDEX_SHARE`] of the changes, else time order.
fn access_path(
    conn: &Connection,
    facets: &[(Facet, Vec<i64>)],
) -> Result<Option<&'static str>, StoreError> {
    let total: i64 = conn.query_row(
        "SELECT coalesce(sum(changes), 0) AS n FROM facet_values WHERE facet = 'change'",
        [],
        |row| row.get("n"),
    )?;
    let mut best: Option<(f64, &'static str)> = None;
    for (facet, ids) in facets {
        let index = match facet {
            Facet::Principal => "INDEXED BY event_facets_by_principal",
            Facet::AssetType => "INDEXED BY event_facets_by_asset_type",
            Facet::Asset => "INDEXED BY event_facets_by_asset",
            _ => continue,
        };
        let mut selected = 0i64;
        for id in ids {
            selected += conn.query_row(
                "SELECT changes FROM facet_values WHERE id = ?1",
                [id],
                |row| row.get::<_, i64>("changes"),
            )?;
        }
        let share = selected as f64 / total.max(1) as f64;
        if share < INDEX_SHARE && best.is_none_or(|(best, _)| share < best) {
            best = Some((share, index));
        }
    }
    Ok(best.map(|(_, index)| index))
}

fn micros(text: &str) -> Result<i64, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|_| StoreError::BadQuery(format!("not an RFC 3339 time: {text:?}")))
}
