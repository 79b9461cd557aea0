//! timeline: the filtered reads behind the incident view and exports: every matching event in
//! time order, keyset pages of changes, counts, facets, the time extent and histograms. All of
//! them read the narrow `event_facets` rows (migration 0006); whole events are joined only for
//! the rows returned.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;

use super::digests;
use super::events::{
    EVENT_COLUMNS, EVENT_ROW_COLUMNS, EventColumns, PageCursor, StoredEvent, stored_events,
};
use super::facet_values::{top_values, values_of};
use super::filter::Filter;
use super::query::{Facet, TimelineQuery};
use super::search_sets::{SearchSets, SeqSet};
use super::values::{count, micros_to_time};
use super::{Session, StoreError};
use crate::digest::EventDigest;

/// Where a page of the change list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many rows from the newest (a jump to a place in the list).
    Offset(u64),
    /// The rows after this one, newest first (the next page: keyset, no rows skipped).
    After(PageCursor),
}

/// Asset changes stored after an arrival bound: how many, and how many carry each facet id.
struct ArrivedAfter {
    changes: u64,
    /// Per column of [`Facet::ALL`]: facet id → changes.
    tallies: Vec<HashMap<i64, u64>>,
}

/// A count or limit as an SQL integer.
fn integer(value: u64) -> SqlValue {
    SqlValue::Integer(value.min(i64::MAX as u64) as i64)
}

/// Per facet, its most frequent values with their counts.
pub type FacetValueCounts = HashMap<Facet, Vec<(String, u64)>>;

/// The joins that turn `f` rows into whole events.
const WHOLE_EVENTS: &str = "JOIN events e ON e.seq = f.seq JOIN event_bodies b ON b.seq = f.seq";

impl Session {
    fn filter(&self, query: Option<&TimelineQuery>) -> Result<Filter, StoreError> {
        match query {
            Some(query) => Filter::changes(&self.conn, &self.search_sets, query),
            None => Ok(Filter::all_events()),
        }
    }

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
        let rows = self.filter(filter)?.pass();
        let (source, condition, params) = (rows.source, rows.condition, rows.params);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {source} {WHOLE_EVENTS} \
             WHERE {condition} ORDER BY {}",
            rows.oldest_first
        );
        let mut statement = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let columns = EventColumns::of(&statement).map_err(StoreError::from)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            visit(columns.read(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// As [`Session::for_each_event`], with each event's current digest (store/digests.rs).
    /// An event with one is handed over without its body (`body` empty), one without one with
    /// its body; a file without digests (reviewed in place from an older schema) hands every
    /// event over with its body.
    pub fn for_each_event_digested<E>(
        &self,
        filter: Option<&TimelineQuery>,
        mut visit: impl FnMut(StoredEvent, Option<EventDigest>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        if !digests::has_digests(&self.conn)? {
            return self.for_each_event(filter, |event| visit(event, None));
        }
        let rows = self.filter(filter)?.pass();
        let (source, condition, params) = (rows.source, rows.condition, rows.params);
        // The body is read (by its own lookup) only for a row without a digest. The digests'
        // alias is `dg`: a source may already name a table `d` (an asset's days). A row with
        // no body (a damaged file) reads as an empty body.
        let sql = format!(
            "SELECT {EVENT_ROW_COLUMNS}, dg.summary AS digest_summary, \
               dg.user_agent AS digest_user_agent, dg.provider_id AS digest_provider_id, \
               CASE WHEN dg.seq IS NULL \
                 THEN coalesce((SELECT body FROM event_bodies WHERE seq = f.seq), '') \
                 ELSE '' END AS body \
             FROM {source} JOIN events e ON e.seq = f.seq \
             LEFT JOIN event_digests dg ON dg.seq = f.seq AND dg.seq <= {} \
             WHERE {condition} ORDER BY {}",
            digests::current_mark(),
            rows.oldest_first
        );
        let mut statement = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let columns = EventColumns::of(&statement).map_err(StoreError::from)?;
        let digest_columns = digests::DigestColumns::of(&statement).map_err(StoreError::from)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let event = columns.read(row).map_err(StoreError::from)?;
            let digest = digest_columns.read(row).map_err(StoreError::from)?;
            visit(event, digest)?;
        }
        Ok(())
    }

    /// How many events [`Session::for_each_event`] visits with `filter` (exact).
    pub fn count_events(&self, filter: Option<&TimelineQuery>) -> Result<u64, StoreError> {
        self.count_matching(&self.filter(filter)?)
    }

    fn count_matching(&self, filter: &Filter) -> Result<u64, StoreError> {
        let rows = filter.pass();
        let sql = format!(
            "SELECT count(*) AS n FROM {} WHERE {}",
            rows.source, rows.condition
        );
        Ok(self
            .conn
            .query_row(&sql, rusqlite::params_from_iter(rows.params), |row| {
                count(row, "n")
            })?)
    }

    /// How many asset changes match `query` (the whole list's total is read from the facet
    /// dictionary; a filtered one is counted over the narrow rows).
    pub fn count_changes(&self, query: &TimelineQuery) -> Result<u64, StoreError> {
        let filter = Filter::changes(&self.conn, &self.search_sets, query)?;
        if filter.is_every_change() {
            return self.change_total();
        }
        self.count_matching(&filter)
    }

    /// [`Session::count_changes`], but a filtered count stops at `cap`: `(count, exact)`, where
    /// `exact` is false when more than `cap` match (`count` is then `cap`). What a first page
    /// needs at once; the exact figure comes with the facets ([`Session::facets_counts`]).
    pub fn count_changes_up_to(
        &self,
        query: &TimelineQuery,
        cap: u64,
    ) -> Result<(u64, bool), StoreError> {
        let filter = Filter::changes(&self.conn, &self.search_sets, query)?;
        if filter.is_every_change() {
            return Ok((self.change_total()?, true));
        }
        if let Some(max_seq) = filter.every_change_up_to() {
            let snapshot = self.conn.unchecked_transaction()?;
            if let Some(tail) = self.arrived_after(max_seq)? {
                let total = self.change_total()?.saturating_sub(tail.changes);
                snapshot.commit()?;
                return Ok((total, true));
            }
        }
        let rows = filter.pass();
        let sql = format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {} WHERE {} LIMIT {})",
            rows.source,
            rows.condition,
            cap.saturating_add(1).min(i64::MAX as u64)
        );
        let n = self
            .conn
            .query_row(&sql, rusqlite::params_from_iter(rows.params), |row| {
                count(row, "n")
            })?;
        Ok((n.min(cap), n <= cap))
    }

    /// The asset changes stored after arrival `max_seq`, tallied by facet id (in
    /// [`Facet::ALL`] order), read from `event_facets_by_seq`; `None` when they are not few
    /// (more than a tenth of the changes: a pass over the rows up to the bound is then as
    /// quick).
    fn arrived_after(&self, max_seq: i64) -> Result<Option<ArrivedAfter>, StoreError> {
        let newest: i64 = self.conn.query_row(
            "SELECT coalesce(max(seq), 0) AS seq FROM event_facets INDEXED BY event_facets_by_seq",
            [],
            |row| row.get("seq"),
        )?;
        let at_most = newest.saturating_sub(max_seq).max(0) as u64;
        if at_most > self.change_total()? / 10 {
            return Ok(None);
        }
        let mut statement = self.conn.prepare_cached(
            "SELECT f.change, f.asset_type, f.method, f.principal, f.region, f.account, f.asset \
             FROM event_facets f INDEXED BY event_facets_by_seq \
             WHERE f.seq > ?1 AND f.change IS NOT NULL",
        )?;
        let mut rows = statement.query([max_seq])?;
        let mut tail = ArrivedAfter {
            changes: 0,
            tallies: vec![HashMap::new(); Facet::ALL.len()],
        };
        while let Some(row) = rows.next()? {
            tail.changes += 1;
            for (column, tally) in tail.tallies.iter_mut().enumerate() {
                if let Some(id) = row.get::<_, Option<i64>>(column)? {
                    *tally.entry(id).or_insert(0) += 1;
                }
            }
        }
        Ok(Some(tail))
    }

    /// Every asset change the session holds, from the facet dictionary's counts.
    pub(super) fn change_total(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(changes), 0) AS n FROM facet_values WHERE facet = 'change'",
            [],
            |row| count(row, "n"),
        )?)
    }

    /// Asset changes matching `query`, newest first: `limit` of them from `start`.
    pub fn page_changes(
        &self,
        query: &TimelineQuery,
        start: PageStart,
        limit: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut rows = Filter::changes(&self.conn, &self.search_sets, query)?.page();
        let after = match start {
            PageStart::Offset(0) => None,
            // A jump: the row before the page is found on the narrow rows alone (~40 ns a row
            // skipped, where skipping whole events joined their rows too: 0.7 s to the end of a
            // 1M list), then the page is read after it, as the next page is.
            PageStart::Offset(n) => {
                let sql = format!(
                    "SELECT f.time_us AS time_us, f.seq AS seq FROM {} WHERE {} \
                     ORDER BY {} LIMIT 1 OFFSET ?",
                    rows.source, rows.condition, rows.newest_first
                );
                let mut skip = rows.params.clone();
                skip.push(integer(n - 1));
                let before = self
                    .conn
                    .prepare_cached(&sql)?
                    .query_row(rusqlite::params_from_iter(skip), |row| {
                        Ok(PageCursor {
                            time_us: row.get("time_us")?,
                            seq: row.get("seq")?,
                        })
                    })
                    .optional()?;
                match before {
                    Some(cursor) => Some(cursor),
                    None => return Ok(Vec::new()),
                }
            }
            PageStart::After(cursor) => Some(cursor),
        };
        if let Some(cursor) = after {
            rows.before(cursor);
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {} {WHOLE_EVENTS} WHERE {} ORDER BY {} LIMIT ?",
            rows.source, rows.condition, rows.newest_first
        );
        let mut params = rows.params;
        params.push(integer(limit));
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(stored_events(
            &mut statement,
            rusqlite::params_from_iter(params),
        )?)
    }

    /// The most frequent values of `facet` under `query` without its own filter.
    pub fn facet_counts(
        &self,
        query: &TimelineQuery,
        facet: Facet,
        limit: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut counts = self.facets_counts(query, &[facet], limit)?;
        Ok(counts.remove(&facet).unwrap_or_default())
    }

    /// For each of `facets`, its `limit` most frequent values under `query`, each facet counted
    /// without its own filter. One pass over the matching `event_facets` rows for all of them;
    /// the unfiltered counts are read from the facet dictionary instead.
    pub fn facets_counts(
        &self,
        query: &TimelineQuery,
        facets: &[Facet],
        limit: u64,
    ) -> Result<FacetValueCounts, StoreError> {
        Ok(self.facets_and_total(query, facets, limit)?.0)
    }

    /// [`Session::facets_counts`] and, from the same pass, how many changes match `query`
    /// (exact).
    pub fn facets_and_total(
        &self,
        query: &TimelineQuery,
        facets: &[Facet],
        limit: u64,
    ) -> Result<(FacetValueCounts, u64), StoreError> {
        self.facets_and_total_with(query, facets, limit, PARALLEL_PASS_MIN_CHANGES)
    }

    /// [`Session::facets_and_total`], its pass shared between two connections from
    /// `split_from` asset changes on.
    pub(super) fn facets_and_total_with(
        &self,
        query: &TimelineQuery,
        facets: &[Facet],
        limit: u64,
        split_from: u64,
    ) -> Result<(FacetValueCounts, u64), StoreError> {
        let filter = Filter::changes(&self.conn, &self.search_sets, query)?;
        if filter.is_every_change() {
            let counts = facets
                .iter()
                .map(|facet| Ok((*facet, top_values(&self.conn, *facet, limit)?)))
                .collect::<Result<_, StoreError>>()?;
            return Ok((counts, self.change_total()?));
        }
        if let Some(max_seq) = filter.every_change_up_to() {
            // The dictionary's counts less those of the changes stored after the bound, read
            // in one snapshot (the dictionary is kept in the events' own transactions).
            let snapshot = self.conn.unchecked_transaction()?;
            if let Some(tail) = self.arrived_after(max_seq)? {
                let mut counts = HashMap::new();
                for facet in facets {
                    let column = Facet::ALL.iter().position(|c| c == facet).unwrap_or(0);
                    let names = values_of(&self.conn, tail.tallies[column].keys().copied())?;
                    let less: HashMap<&str, u64> = tail.tallies[column]
                        .iter()
                        .filter_map(|(id, n)| names.get(id).map(|name| (name.as_str(), *n)))
                        .collect();
                    // Each value the tail lowers can drop out of the top: read as many more.
                    let mut top =
                        top_values(&self.conn, *facet, limit.saturating_add(less.len() as u64))?;
                    for (value, n) in &mut top {
                        *n = n.saturating_sub(less.get(value.as_str()).copied().unwrap_or(0));
                    }
                    top.retain(|(_, n)| *n > 0);
                    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    top.truncate(limit.min(usize::MAX as u64) as usize);
                    counts.insert(*facet, top);
                }
                let total = self.change_total()?.saturating_sub(tail.changes);
                snapshot.commit()?;
                return Ok((counts, total));
            }
        }
        let pass = FacetPass::new(&filter, facets);
        let tally = if self.splits_pass(&filter, split_from)? {
            self.tally_in_slices(&pass, &filter)?
        } else {
            pass.tally_all(&self.conn)?
        };
        let mut result = HashMap::new();
        for &column in &pass.wanted {
            let mut top: Vec<(i64, u64)> = tally.columns[column]
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(id, n)| (id as i64, u64::from(*n)))
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let names = values_of(&self.conn, top.iter().map(|(id, _)| *id))?;
            let mut named: Vec<(String, u64)> = top
                .into_iter()
                .filter_map(|(id, n)| names.get(&id).map(|value| (value.clone(), n)))
                .collect();
            named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            named.truncate(limit.min(usize::MAX as u64) as usize);
            result.insert(Facet::ALL[column], named);
        }
        Ok((result, tally.total))
    }

    /// The extent of the changes matching `query`: (oldest, newest) time in microseconds.
    pub fn time_extent(&self, query: &TimelineQuery) -> Result<Option<(i64, i64)>, StoreError> {
        let rows = Filter::changes(&self.conn, &self.search_sets, query)?.page();
        let (source, condition, params) = (rows.source, rows.condition, rows.params);
        let end = |order: &str| -> Result<Option<i64>, StoreError> {
            let sql = format!(
                "SELECT f.time_us AS time_us FROM {source} WHERE {condition} ORDER BY {order} LIMIT 1"
            );
            let mut statement = self.conn.prepare_cached(&sql)?;
            let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
            Ok(match rows.next()? {
                Some(row) => Some(row.get("time_us")?),
                None => None,
            })
        };
        Ok(end(&rows.oldest_first)?.zip(end(&rows.newest_first)?))
    }

    /// Reads the (time, change) of every change matching `query`, in time order.
    fn for_each_change_time(
        &self,
        query: &TimelineQuery,
        mut visit: impl FnMut(i64, i64),
    ) -> Result<(), StoreError> {
        let rows = Filter::changes(&self.conn, &self.search_sets, query)?.pass();
        let (condition, params) = (rows.condition, rows.params);
        let sql = format!(
            "SELECT f.time_us, f.change FROM {} WHERE {condition} ORDER BY {}",
            rows.source, rows.oldest_first
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            visit(row.get(0)?, row.get(1)?);
        }
        Ok(())
    }

    /// Changes matching `query` per time bucket of `bucket_us` and change type:
    /// (bucket start, change, count), oldest first.
    pub fn change_histogram(
        &self,
        query: &TimelineQuery,
        bucket_us: i64,
    ) -> Result<Vec<(i64, String, u64)>, StoreError> {
        let width = bucket_us.max(1);
        let mut buckets: Vec<(i64, i64, u64)> = Vec::new();
        self.for_each_change_time(query, |time_us, change| {
            let start = time_us.div_euclid(width) * width;
            match buckets
                .iter_mut()
                .rev()
                .take(3)
                .find(|(s, c, _)| *s == start && *c == change)
            {
                Some((_, _, n)) => *n += 1,
                None => buckets.push((start, change, 1)),
            }
        })?;
        let names = values_of(&self.conn, buckets.iter().map(|(_, change, _)| *change))?;
        Ok(buckets
            .into_iter()
            .filter_map(|(start, change, n)| names.get(&change).map(|c| (start, c.clone(), n)))
            .collect())
    }

    /// Changes matching `query` per (weekday from Monday = 0, hour): UTC, or this machine's
    /// local time with `query.local_time`.
    pub fn weekday_hour_counts(
        &self,
        query: &TimelineQuery,
    ) -> Result<Vec<(u8, u8, u64)>, StoreError> {
        const HOUR_US: i64 = 3_600_000_000;
        const DAY_US: i64 = 24 * HOUR_US;
        let mut cells = [[0u64; 24]; 7];
        self.for_each_change_time(query, |time_us, _| {
            let (weekday, hour) = if query.local_time {
                use chrono::{Datelike, Timelike};
                let local = micros_to_time(time_us).with_timezone(&chrono::Local);
                (
                    local.weekday().num_days_from_monday() as usize,
                    local.hour() as usize,
                )
            } else {
                let day = time_us.div_euclid(DAY_US);
                // 1970-01-01 was a Thursday (3 when Monday is 0).
                (
                    (day + 3).rem_euclid(7) as usize,
                    (time_us.rem_euclid(DAY_US) / HOUR_US) as usize,
                )
            };
            cells[weekday][hour] += 1;
        })?;
        let mut counts = Vec::new();
        for (weekday, hours) in cells.iter().enumerate() {
            for (hour, n) in hours.iter().enumerate() {
                if *n > 0 {
                    counts.push((weekday as u8, hour as u8, *n));
                }
            }
        }
        Ok(counts)
    }
}

/// A facet pass over at least this many asset changes (the session's, as the dictionary counts
/// them) is shared between two connections, each on its own thread: at 10M events one pass
/// reads ~10M narrow rows (~1.7 s on one core). Below it, opening the second connection
/// (a few ms) is not worth it.
const PARALLEL_PASS_MIN_CHANGES: u64 = 500_000;

/// The slices of time a shared pass is cut into; each thread takes the next one when done, so
/// a burst of events in one part of the range does not leave a thread idle.
const PASS_SLICES: i128 = 16;

/// One pass over the rows of a filter with its facet filters left out, counting each of the
/// wanted facets over the rows that pass every facet filter but (at most) that facet's own.
pub(super) struct FacetPass {
    /// `SELECT` of the seven facet columns, the filter's rows (its facet filters left out);
    /// `sliced_sql` adds `f.time_us BETWEEN ? AND ?` and `+f.seq <= ?` (a slice, and the
    /// newest event when the pass began).
    sql: String,
    sliced_sql: String,
    params: Vec<SqlValue>,
    /// Per facet filter, its column in [`Facet::ALL`] and the ids it allows.
    filters: Vec<(usize, Vec<i64>)>,
    /// The columns of [`Facet::ALL`] to count.
    wanted: Vec<usize>,
    /// The search sets `sql` names, held for as long as the pass may be read (on two
    /// connections when it is split).
    _sets: Vec<Arc<SeqSet>>,
}

/// What a pass (or some slices of one) counted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FacetTally {
    /// Rows that pass every facet filter.
    pub(super) total: u64,
    /// Per column of [`Facet::ALL`]: facet id → rows counted for it.
    pub(super) columns: Vec<Vec<u32>>,
}

impl FacetTally {
    pub(super) fn empty() -> FacetTally {
        FacetTally {
            total: 0,
            columns: vec![Vec::new(); Facet::ALL.len()],
        }
    }

    pub(super) fn add(&mut self, other: FacetTally) {
        self.total += other.total;
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            if mine.len() < theirs.len() {
                mine.resize(theirs.len(), 0);
            }
            for (n, m) in mine.iter_mut().zip(theirs) {
                *n += m;
            }
        }
    }
}

/// A slice of a shared pass: event times `from..=to` in microseconds, and the newest seq the
/// pass counts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slice {
    from: i64,
    to: i64,
    pub(super) max_seq: i64,
}

impl FacetPass {
    pub(super) fn new(filter: &Filter, facets: &[Facet]) -> FacetPass {
        let rows = filter.pass_without_facets();
        let sql = format!(
            "SELECT f.change, f.asset_type, f.method, f.principal, f.region, f.account, f.asset \
             FROM {} WHERE {}",
            rows.source, rows.condition
        );
        let column = |facet: &Facet| Facet::ALL.iter().position(|c| c == facet);
        FacetPass {
            sliced_sql: format!("{sql} AND f.time_us BETWEEN ? AND ? AND +f.seq <= ?"),
            sql,
            params: rows.params,
            filters: filter
                .facets
                .iter()
                .map(|(facet, ids)| (column(facet).unwrap_or(0), ids.clone()))
                .collect(),
            wanted: facets.iter().filter_map(column).collect(),
            _sets: rows._sets,
        }
    }

    /// Counts the rows on `conn` into `tally`: all of them, or those of `slice`.
    pub(super) fn tally(
        &self,
        conn: &rusqlite::Connection,
        slice: Option<Slice>,
        tally: &mut FacetTally,
    ) -> Result<(), StoreError> {
        let mut params = self.params.clone();
        let sql = match slice {
            Some(Slice { from, to, max_seq }) => {
                params.extend([from, to, max_seq].map(SqlValue::Integer));
                &self.sliced_sql
            }
            None => &self.sql,
        };
        let mut statement = conn.prepare_cached(sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        let mut ids = [None::<i64>; 7];
        while let Some(row) = rows.next()? {
            for (i, id) in ids.iter_mut().enumerate() {
                *id = row.get(i)?;
            }
            // Which facet filters this row fails: counted for a facet only if it fails none
            // but (at most) that facet's own.
            let mut failed = 0u32;
            let mut failed_column = usize::MAX;
            for (column, allowed) in &self.filters {
                let passes = ids[*column].is_some_and(|id| allowed.contains(&id));
                if !passes {
                    failed += 1;
                    failed_column = *column;
                }
            }
            if failed > 1 {
                continue;
            }
            if failed == 0 {
                tally.total += 1;
            }
            for &column in &self.wanted {
                if failed == 1 && failed_column != column {
                    continue;
                }
                if let Some(id) = ids[column] {
                    let counts = &mut tally.columns[column];
                    let slot = id.max(0) as usize;
                    if counts.len() <= slot {
                        counts.resize(slot + 1, 0);
                    }
                    counts[slot] += 1;
                }
            }
        }
        Ok(())
    }

    /// The whole pass on `conn`.
    pub(super) fn tally_all(&self, conn: &rusqlite::Connection) -> Result<FacetTally, StoreError> {
        let mut tally = FacetTally::empty();
        self.tally(conn, None, &mut tally)?;
        Ok(tally)
    }
}

/// `slices` ranges of event time (microseconds, both ends included) cutting `first..=last`
/// into near-equal parts, the first reaching back to `i64::MIN` and the last on to `i64::MAX`:
/// together they hold every time once. Empty parts (a range shorter than `slices` µs) are
/// left out.
pub(super) fn time_slices(first: i64, last: i64, slices: i128) -> Vec<(i64, i64)> {
    let (first, last) = (i128::from(first), i128::from(last.max(first)));
    let start = |i: i128| first + (last + 1 - first) * i / slices;
    (0..slices)
        .map(|i| {
            let from = if i == 0 {
                i128::from(i64::MIN)
            } else {
                start(i)
            };
            let to = if i == slices - 1 {
                i128::from(i64::MAX)
            } else {
                start(i + 1) - 1
            };
            (from, to)
        })
        .filter(|(from, to)| from <= to)
        .map(|(from, to)| (from as i64, to as i64))
        .collect()
}

impl Session {
    /// Whether a pass of `filter` is shared with a second connection: a session of at least
    /// `min_changes` asset changes, a filter whose conditions another connection can read (no
    /// notes, no search read by seq: [`Filter::pass_reads_session_file_only`]), this
    /// connection in no transaction (a read snapshot must stay one snapshot), and a second
    /// core.
    pub(super) fn splits_pass(
        &self,
        filter: &Filter,
        min_changes: u64,
    ) -> Result<bool, StoreError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(cores > 1
            && filter.pass_reads_session_file_only()
            && self.conn.is_autocommit()
            && self.change_total()? >= min_changes)
    }

    /// The slices a shared pass of `filter` reads: [`time_slices`] of the filter's time extent
    /// (clipped to its range), each bounded by the newest event stored when the pass began, so
    /// that both connections count the same rows even while a recorder adds more. `None` when
    /// there is nothing to cut (no rows, or one microsecond of them).
    pub(super) fn pass_slices(&self, filter: &Filter) -> Result<Option<Vec<Slice>>, StoreError> {
        let read = |sql: &str| -> Result<Option<i64>, StoreError> {
            Ok(self.conn.query_row(sql, [], |row| row.get("v"))?)
        };
        let (Some(oldest), Some(newest), Some(max_seq)) = (
            read("SELECT min(time_us) AS v FROM event_facets")?,
            read("SELECT max(time_us) AS v FROM event_facets")?,
            read("SELECT max(seq) AS v FROM events")?,
        ) else {
            return Ok(None);
        };
        let (from, to) = filter.time_range_us();
        let first = oldest.max(from.unwrap_or(i64::MIN));
        let last = newest.min(to.map_or(i64::MAX, |to| to.saturating_sub(1)));
        if first >= last {
            return Ok(None);
        }
        Ok(Some(
            time_slices(first, last, PASS_SLICES)
                .into_iter()
                .map(|(from, to)| Slice { from, to, max_seq })
                .collect(),
        ))
    }

    /// A second connection that reads this session's file: `None` when it cannot be opened or
    /// does not read the same session up to `max_seq` (the file at the path was replaced, or
    /// SQLite cannot read it that way), so that the pass falls back to one connection.
    /// It checks this connection's search sets ([`SearchSets::share_with`]).
    pub(super) fn reader_for_pass(&self, max_seq: i64) -> Option<rusqlite::Connection> {
        let reader = self.open_reader().ok()?;
        SearchSets::share_with(&self.search_sets, &reader).ok()?;
        let id = self.meta(super::meta::keys::SESSION_ID).ok()??;
        let (their_id, their_max): (String, i64) = reader
            .query_row(
                "SELECT (SELECT value FROM session_meta WHERE key = ?1) AS id, \
                        (SELECT coalesce(max(seq), 0) FROM events) AS newest",
                [super::meta::keys::SESSION_ID],
                |row| Ok((row.get("id")?, row.get("newest")?)),
            )
            .ok()?;
        (their_id == id && their_max >= max_seq).then_some(reader)
    }

    /// [`FacetPass::tally`] slice by slice ([`Session::pass_slices`]), the slices taken in turn
    /// by this connection and a second one ([`Session::open_reader`]) on another thread, or the
    /// whole pass on this one when the pass cannot be cut or the second connection cannot read
    /// the file. A failure on the second connection also falls back to one pass.
    fn tally_in_slices(&self, pass: &FacetPass, filter: &Filter) -> Result<FacetTally, StoreError> {
        let Some(slices) = self.pass_slices(filter)? else {
            return pass.tally_all(&self.conn);
        };
        let Some(reader) = self.reader_for_pass(slices[0].max_seq) else {
            return pass.tally_all(&self.conn);
        };
        let next = AtomicUsize::new(0);
        let work = |conn: &rusqlite::Connection| -> Result<FacetTally, StoreError> {
            let mut tally = FacetTally::empty();
            while let Some(slice) = slices.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Err(error) = pass.tally(conn, Some(*slice), &mut tally) {
                    // The other thread stops at its next slice.
                    next.store(slices.len(), Ordering::Relaxed);
                    return Err(error);
                }
            }
            Ok(tally)
        };
        let (mine, theirs) = std::thread::scope(|scope| {
            let theirs = scope.spawn({
                let work = &work;
                move || work(&reader)
            });
            let mine = work(&self.conn);
            let theirs = theirs
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (mine, theirs)
        });
        let mut mine = mine?;
        match theirs {
            Ok(theirs) => {
                mine.add(theirs);
                Ok(mine)
            }
            Err(_) => pass.tally_all(&self.conn),
        }
    }
}
