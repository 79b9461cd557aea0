//! filter: a [`TimelineQuery`] as conditions on `event_facets` (aliased `f`; an asset's rows
//! are reached through its days in `asset_days`, aliased `d`), for every filtered read: facet
//! values resolved to their dictionary ids, the search box's query language (search_syntax.rs),
//! and the access path (which index a page walks) chosen from the dictionary's counts.
//!
//! The clause is made of fixed column names and `?` parameters; no value from a query or an
//! event is ever spliced into SQL text.

use std::sync::Arc;

use chrono::DateTime;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::PageCursor;
use super::StoreError;
use super::facet_values::ids_of;
use super::query::{Facet, TimelineQuery};
use super::search::{SearchIndexes, cover_tail};
use super::search_sets::{HIT_FUNCTION, SearchSets, SeqSet};
use super::search_syntax::{self, seq_in_matches};

/// Below this share of all asset changes, a facet filter's own index is walked instead of the
/// time order (a page of a rare principal finds its rows at once; a common type's rows are
/// found faster by walking time and checking).
const INDEX_SHARE: f64 = 0.02;

/// A search matching at most this many events drives a page from its matches (looked up by
/// seq, then sorted) instead of walking time order until a page is full: ~3 µs a match against
/// ~50 ns a walked row, so a walk wins once matches are denser than about one in
/// sqrt(events)/… — a few thousand at 1M–10M events.
const PAGE_FROM_MATCHES_MAX: u64 = 4_000;

/// A search matching at most this many events drives a full pass (counts, facets, histograms)
/// from its matches instead of reading every row (~3 µs a match against ~160 ns a row: this
/// is 1 % of a 10M-event session, and costs ~0.15 s at worst).
const PASS_FROM_MATCHES_MAX: u64 = 50_000;

/// How the rows of a filter are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Walk `event_facets` in time order, checking each row.
    TimeOrder,
    /// Walk a filtered facet's own index (`INDEXED BY …`).
    FacetIndex(&'static str),
    /// One asset's rows, day by day from `asset_days`, each day a range of
    /// `event_facets_by_asset_day` in time order (migration 0008; the asset's id is the
    /// filter's own).
    AssetDays,
    /// Look up the search's matches by seq (`event_facets_by_seq`, migration 0007).
    SearchMatches,
}

impl Access {
    fn source(self) -> String {
        match self {
            Access::TimeOrder => "event_facets f".to_owned(),
            Access::FacetIndex(index) => format!("event_facets f {index}"),
            // CROSS JOIN: SQLite keeps the days as the outer loop (it would otherwise scan the
            // whole index and look each row's day up).
            Access::AssetDays => "asset_days d CROSS JOIN event_facets f \
                 INDEXED BY event_facets_by_asset_day ON f.day = d.day AND f.asset = d.asset"
                .to_owned(),
            Access::SearchMatches => "event_facets f INDEXED BY event_facets_by_seq".to_owned(),
        }
    }

    /// The rows' time order (oldest first, or newest first with `DESC`), as this access reads
    /// them: by day first where rows come day by day, which is the same order.
    fn order(self, direction: &str) -> String {
        let day = match self {
            Access::AssetDays => format!("d.day {direction}, "),
            _ => String::new(),
        };
        format!("{day}f.time_us {direction}, f.seq {direction}")
    }
}

/// How a session's file indexes events by asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AssetIndex {
    /// `asset_days` and `event_facets_by_asset_day` (schema 8 and later).
    ByDay,
    /// `event_facets_by_asset`, keyed (asset, time): a file of schema 6 or 7 reviewed in place.
    ByAsset,
}

impl AssetIndex {
    /// Which of the two this connection's file has.
    pub(super) fn of(conn: &Connection) -> Result<AssetIndex, StoreError> {
        let by_day = conn
            .prepare_cached("SELECT 1 FROM main.sqlite_schema WHERE name = 'asset_days'")?
            .exists([])?;
        Ok(if by_day {
            AssetIndex::ByDay
        } else {
            AssetIndex::ByAsset
        })
    }
}

/// The search box's query as a condition on `f`, in the two forms a read may need.
#[derive(Debug, Clone)]
struct SearchCondition {
    /// The matches looked up by `f.seq` (for [`Access::SearchMatches`]).
    by_seq: String,
    by_seq_params: Vec<SqlValue>,
    /// The same, checked on each row walked: each text term's matches as a set of this
    /// connection's ([`HIT_FUNCTION`]; a split pass's second connection reads the same sets).
    walked: String,
    walked_params: Vec<SqlValue>,
    /// The sets `walked` names, held so that they are kept while it is read.
    sets: Vec<Arc<SeqSet>>,
}

/// A filter's rows as SQL: `FROM {source} WHERE {condition}`, with `params` in order, read in
/// time order by `ORDER BY {oldest_first}` or `{newest_first}` (the access path's own order,
/// so that SQLite need not sort).
pub(super) struct Rows {
    pub(super) source: String,
    pub(super) condition: String,
    pub(super) params: Vec<SqlValue>,
    pub(super) oldest_first: String,
    pub(super) newest_first: String,
    /// Whether the rows come day by day from `asset_days` (bounds on time also bound the days).
    by_days: bool,
    /// The search sets `condition` names (held while the rows are read, on this connection
    /// or a split pass's second one).
    pub(super) _sets: Vec<Arc<SeqSet>>,
}

impl Rows {
    /// Keeps only the rows before `cursor` in time order (the next page, newest first).
    pub(super) fn before(&mut self, cursor: PageCursor) {
        self.condition.push_str(" AND (f.time_us, f.seq) < (?, ?)");
        self.params.push(SqlValue::Integer(cursor.time_us));
        self.params.push(SqlValue::Integer(cursor.seq));
        if self.by_days {
            // A row's day never follows its time's: the days after the cursor's are skipped.
            self.condition
                .push_str(&format!(" AND d.day <= ? / {DAY_US}"));
            self.params.push(SqlValue::Integer(cursor.time_us));
        }
    }
}

/// A day in microseconds: `event_facets.day` is `time_us / DAY_US` (migration 0008), truncated
/// towards zero as both SQLite's and Rust's integer `/` do.
pub(super) const DAY_US: i64 = 86_400_000_000;

/// A query, resolved against one session.
#[derive(Debug, Clone)]
pub(super) struct Filter {
    /// Conditions other than facet membership, with their parameters.
    base: Vec<String>,
    base_params: Vec<SqlValue>,
    /// The search box's condition, if any: as read by seq and as checked on walked rows.
    search: Option<SearchCondition>,
    /// Per filtered facet, the ids it allows (empty: the session has none of the values, so
    /// nothing matches).
    pub(super) facets: Vec<(Facet, Vec<i64>)>,
    /// How a page of this filter reaches its rows.
    access: Access,
    /// How a full pass over this filter's rows reaches them when the page's way does not
    /// apply: the search's matches, or time order (never a facet's index).
    pass_access: Access,
    /// The query's time range in microseconds, `[from, to)`, to bound an asset's days.
    time_from_us: Option<i64>,
    time_to_us: Option<i64>,
    /// A condition reads the analyst's notes (`notes.*`, attached to this connection only).
    reads_notes: bool,
}

impl Filter {
    /// Every event: no condition at all (exports and detections of the whole session).
    pub(super) fn all_events() -> Filter {
        Filter {
            base: Vec::new(),
            base_params: Vec::new(),
            search: None,
            facets: Vec::new(),
            access: Access::TimeOrder,
            pass_access: Access::TimeOrder,
            time_from_us: None,
            time_to_us: None,
            reads_notes: false,
        }
    }

    /// The asset changes `query` matches (its other events, with `query.activity`).
    pub(super) fn changes(
        conn: &Connection,
        sets: &SearchSets,
        query: &TimelineQuery,
    ) -> Result<Filter, StoreError> {
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
        let time_from_us = query.time_from.as_deref().map(micros).transpose()?;
        let time_to_us = query.time_to.as_deref().map(micros).transpose()?;
        if let Some(from) = time_from_us {
            base.push("f.time_us >= ?".to_owned());
            base_params.push(SqlValue::Integer(from));
        }
        if let Some(to) = time_to_us {
            // Half-open: the bound itself belongs to the next range.
            base.push("f.time_us < ?".to_owned());
            base_params.push(SqlValue::Integer(to));
        }
        if let Some(max_seq) = query.max_seq {
            // Every read of the app's list carries this bound (the arrivals it has shown), and
            // nearly every row passes it: `+` keeps SQLite off `event_facets_by_seq`, which it
            // would otherwise walk and then sort every row by time. Arrivals after a seq (the
            // "N new" count) are few: that range is the seq index's to read.
            let column = if query.after_seq.is_some() {
                "f.seq"
            } else {
                "+f.seq"
            };
            base.push(format!("{column} <= ?"));
            base_params.push(SqlValue::Integer(max_seq));
        }
        if let Some(after_seq) = query.after_seq {
            base.push("f.seq > ?".to_owned());
            base_params.push(SqlValue::Integer(after_seq));
        }
        // SQLite's %w counts from Sunday (0); ours from Monday. 'localtime' converts with the C
        // library's zone rules, the same the app's local times and chrono::Local follow.
        let zone = if query.local_time {
            ", 'localtime'"
        } else {
            ""
        };
        if let Some(weekday) = query.weekday {
            base.push(format!(
                "(CAST(strftime('%w', f.time_us / 1000000, 'unixepoch'{zone}) AS INTEGER) + 6) % 7 = ?"
            ));
            base_params.push(SqlValue::Integer(i64::from(weekday)));
        }
        if let Some(hour) = query.hour {
            base.push(format!(
                "CAST(strftime('%H', f.time_us / 1000000, 'unixepoch'{zone}) AS INTEGER) = ?"
            ));
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
        let reads_notes = query.finding.is_some() || query.starred_only || !query.tags.is_empty();
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
        let mut search_matches = None;
        let mut search = None;
        if let Some(text) = query.text.as_deref().filter(|text| !text.trim().is_empty()) {
            match search_syntax::parse(text)? {
                Some(node) => {
                    let indexes = if node.has_text() {
                        cover_tail(conn)?
                    } else {
                        SearchIndexes { compounds: false }
                    };
                    let mut by_seq_params = Vec::new();
                    let by_seq =
                        node.condition(&mut by_seq_params, indexes, &mut seq_in_matches)?;
                    let mut walked_params = Vec::new();
                    let mut held = Vec::new();
                    let walked = node.condition(
                        &mut walked_params,
                        indexes,
                        &mut |matches, own, params| {
                            let (id, set) = sets.set_of(conn, &matches, &own)?;
                            held.push(set);
                            params.push(SqlValue::Integer(id));
                            Ok(format!("{HIT_FUNCTION}(?, f.seq)"))
                        },
                    )?;
                    search_matches = fewest_matches(conn, sets, &node, indexes)?;
                    search = Some(SearchCondition {
                        by_seq,
                        by_seq_params,
                        walked,
                        walked_params,
                        sets: held,
                    });
                }
                // Nothing searchable (only punctuation): nothing matches.
                None => base.push("0".to_owned()),
            }
        }
        let by_matches = |max: u64| search_matches.is_some_and(|n| n <= max);
        let access = if by_matches(PAGE_FROM_MATCHES_MAX) {
            Access::SearchMatches
        } else {
            access_path(conn, &facets)?
        };
        let pass_access = if by_matches(PASS_FROM_MATCHES_MAX) {
            Access::SearchMatches
        } else {
            Access::TimeOrder
        };
        Ok(Filter {
            base,
            base_params,
            search,
            facets,
            access,
            pass_access,
            time_from_us,
            time_to_us,
            reads_notes,
        })
    }

    /// Whether a pass ([`Filter::pass_without_facets`]) reads the session file alone, so that
    /// another connection to the file that checks this connection's search sets reads the
    /// same rows ([`Session::open_reader`], [`SearchSets::share_with`]): no notes (attached to
    /// this connection only), and no search read from its matches by seq (they read the
    /// free-text indexes and this connection's temporary tail). A search walked with its
    /// sets is read the same on either connection.
    pub(super) fn pass_reads_session_file_only(&self) -> bool {
        !self.reads_notes && self.pass_access != Access::SearchMatches
    }

    /// This filter's pass as a search of many matches reads it: walking the rows and checking
    /// each against the search's sets, whatever the number of matches (the tests' sessions
    /// hold too few events to reach [`PASS_FROM_MATCHES_MAX`]).
    #[cfg(test)]
    pub(super) fn walking_search_matches(mut self) -> Filter {
        self.pass_access = Access::TimeOrder;
        self
    }

    /// This filter's pass as a search of few matches reads it: its matches looked up by seq
    /// (valid for any search: the by-seq form is complete for every node).
    #[cfg(test)]
    pub(super) fn reading_search_matches(mut self) -> Filter {
        assert!(self.search.is_some(), "a search to read by seq");
        self.pass_access = Access::SearchMatches;
        self
    }

    /// The query's time range in microseconds, `[from, to)`.
    pub(super) fn time_range_us(&self) -> (Option<i64>, Option<i64>) {
        (self.time_from_us, self.time_to_us)
    }

    /// The rows a page of this filter walks (newest first, a few hundred at a time).
    pub(super) fn page(&self) -> Rows {
        self.rows(self.access, true)
    }

    /// Every row this filter matches, read in one pass (counts, histograms, exports): from the
    /// search's matches when they are few enough, else the way a page reads them (a rare
    /// facet's own index, an asset's days, or time order).
    pub(super) fn pass(&self) -> Rows {
        let access = match self.pass_access {
            Access::SearchMatches => Access::SearchMatches,
            _ => self.access,
        };
        self.rows(access, true)
    }

    /// The rows a one-pass facet count reads: every facet filter left out (each facet is
    /// counted without its own filter, by the caller), so never through a facet's index.
    pub(super) fn pass_without_facets(&self) -> Rows {
        self.rows(self.pass_access, false)
    }

    fn rows(&self, access: Access, with_facets: bool) -> Rows {
        let mut conditions = self.base.clone();
        let mut params = self.base_params.clone();
        if let Some(search) = &self.search {
            if access == Access::SearchMatches {
                conditions.push(search.by_seq.clone());
                params.extend(search.by_seq_params.iter().cloned());
            } else {
                conditions.push(search.walked.clone());
                params.extend(search.walked_params.iter().cloned());
            }
        }
        for (facet, ids) in self.facets.iter().filter(|_| with_facets) {
            if ids.is_empty() {
                conditions.push("0".to_owned());
                continue;
            }
            let marks = vec!["?"; ids.len()].join(", ");
            // Unless this facet's index is the one walked, `+` keeps SQLite off it (it would
            // otherwise take it, then sort every matching row by time).
            let (table, unindexed) = match (access, facet) {
                (Access::FacetIndex(_), _) => ("f", ""),
                // The asset's days are the walk's outer loop; its rows follow by the join.
                (Access::AssetDays, Facet::Asset) => ("d", ""),
                (Access::TimeOrder | Access::SearchMatches | Access::AssetDays, _) => ("f", "+"),
            };
            conditions.push(format!("{unindexed}{table}.{} IN ({marks})", facet.name()));
            params.extend(ids.iter().map(|id| SqlValue::Integer(*id)));
        }
        let by_days = access == Access::AssetDays;
        if by_days {
            // The days outside the time range hold none of its rows: not even looked up.
            if let Some(from) = self.time_from_us {
                conditions.push(format!("d.day >= ? / {DAY_US}"));
                params.push(SqlValue::Integer(from));
            }
            if let Some(to) = self.time_to_us {
                conditions.push(format!("d.day <= ? / {DAY_US}"));
                params.push(SqlValue::Integer(to));
            }
        }
        if conditions.is_empty() {
            conditions.push("1".to_owned());
        }
        Rows {
            source: access.source(),
            condition: conditions.join(" AND "),
            params,
            oldest_first: access.order("ASC"),
            newest_first: access.order("DESC"),
            by_days,
            _sets: self
                .search
                .as_ref()
                .map(|search| search.sets.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether this is the whole change list: no condition but "is a change".
    pub(super) fn is_every_change(&self) -> bool {
        self.facets.is_empty() && self.search.is_none() && self.base == ["f.change IS NOT NULL"]
    }

    /// The arrival bound of a filter that is otherwise the whole change list (the app's
    /// unfiltered view: every change up to the newest arrival it has shown).
    pub(super) fn every_change_up_to(&self) -> Option<i64> {
        let whole = self.facets.is_empty()
            && self.search.is_none()
            && self.base == ["f.change IS NOT NULL", "+f.seq <= ?"];
        match self.base_params.as_slice() {
            [SqlValue::Integer(max_seq)] if whole => Some(*max_seq),
            _ => None,
        }
    }
}

/// The index to walk for `facets`: the most selective filtered facet's own index when it
/// selects under [`INDEX_SHARE`] of the changes, else time order.
fn access_path(conn: &Connection, facets: &[(Facet, Vec<i64>)]) -> Result<Access, StoreError> {
    let total: i64 = conn.query_row(
        "SELECT coalesce(sum(changes), 0) AS n FROM facet_values WHERE facet = 'change'",
        [],
        |row| row.get("n"),
    )?;
    let mut best: Option<(f64, Access)> = None;
    for (facet, ids) in facets {
        let index = match facet {
            Facet::Principal => Access::FacetIndex("INDEXED BY event_facets_by_principal"),
            Facet::AssetType => Access::FacetIndex("INDEXED BY event_facets_by_asset_type"),
            // Several ids (a name ending in `/*`) are read day by day too, then sorted.
            Facet::Asset => match AssetIndex::of(conn)? {
                AssetIndex::ByDay => Access::AssetDays,
                AssetIndex::ByAsset => Access::FacetIndex("INDEXED BY event_facets_by_asset"),
            },
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
    Ok(best.map_or(Access::TimeOrder, |(_, access)| access))
}

/// How many events the most selective text term every match needs matches (the size of its
/// set, which the walked condition reads too); `None` when the query has no such term.
fn fewest_matches(
    conn: &Connection,
    sets: &SearchSets,
    search: &search_syntax::Node,
    indexes: SearchIndexes,
) -> Result<Option<u64>, StoreError> {
    let mut fewest = None;
    for node in search.required_text() {
        let mut params = Vec::new();
        let Some(matches) = node.matches(&mut params, indexes) else {
            continue;
        };
        // The set the walked condition reads (made once for both).
        let n = sets.set_of(conn, &matches, &params)?.1.len();
        fewest = Some(fewest.map_or(n, |fewest: u64| fewest.min(n)));
    }
    Ok(fewest)
}

fn micros(text: &str) -> Result<i64, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_micros())
        .map_err(|_| StoreError::BadQuery(format!("not an RFC 3339 time: {text:?}")))
}
