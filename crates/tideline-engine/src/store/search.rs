//! search: the free-text indexes over event bodies — kept by the writer, searched with the few
//! events they do not cover yet.
//!
//! Two contentless FTS5 indexes, filled together: `event_search` (migration 0006) holds every
//! word of each body (`unicode61`), `event_compounds` (migration 0007) each body's addresses,
//! CIDRs, ARNs and paths kept whole (search_terms.rs says which, and which typed words are
//! looked up there). Indexing a 2.6 KB body costs ~30 µs, more than storing the event, so it is
//! not done in the batch's transaction: the writer indexes what is new whenever its queue is
//! empty and before it closes ([`Session::index_for_search`]), and `search_state.indexed_to`
//! says how far both indexes cover. A search reads them and, for the events past `indexed_to`
//! (none or a few batches while recording; all of them only in a file whose recorder died
//! mid-burst), indexes of just those built in memory on the reading connection with the same
//! tokenizers, so results are the same whichever side of the mark an event is. Nothing here
//! writes to a reviewed file: the in-memory indexes live in the connection's `temp` database.
//!
//! A file of schema 6 reviewed in place has no compound index: its compound words are searched
//! as phrases of the word index (same results, slower).

use rusqlite::{Connection, OptionalExtension, params};

use super::search_terms::{COMPOUND_TOKENIZER, OVERFLOW_TERM, compound_terms};
use super::write_lock::{WriteLock, begin_writing};
use super::{Session, StoreError};

/// The FTS5 options of both word indexes: they must tokenize alike.
const FTS_OPTIONS: &str =
    "body, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2'";

/// The FTS5 options of both compound indexes (terms only: no positions are needed for
/// one-token queries); migration 0007 creates `event_compounds` with these.
pub(super) fn compound_options() -> String {
    format!(
        "terms, content = '', columnsize = 0, detail = none, tokenize = \"{COMPOUND_TOKENIZER}\""
    )
}

/// The events a word query matches (a subquery of rowids = seqs); its two parameters are the
/// FTS5 query.
pub(super) const WORD_MATCHES: &str = "SELECT rowid FROM event_search WHERE event_search MATCH ? \
     UNION ALL SELECT rowid FROM temp.search_tail WHERE search_tail MATCH ?";

/// The events a compound query matches (a subquery of seqs): its parameters are the compound
/// index's FTS5 query twice, then the same word as a word-index query twice (checked only on
/// the events indexed as [`OVERFLOW_TERM`]).
pub(super) fn compound_matches() -> String {
    format!(
        "SELECT rowid FROM event_compounds WHERE event_compounds MATCH ? \
         UNION ALL SELECT rowid FROM temp.compounds_tail WHERE compounds_tail MATCH ? \
         UNION ALL SELECT o.rowid FROM (SELECT rowid FROM event_compounds \
             WHERE event_compounds MATCH '\"{OVERFLOW_TERM}\"' UNION ALL SELECT rowid \
             FROM temp.compounds_tail WHERE compounds_tail MATCH '\"{OVERFLOW_TERM}\"') AS o \
           WHERE EXISTS (SELECT 1 FROM event_search s WHERE s.event_search MATCH ? \
               AND s.rowid = o.rowid) \
              OR EXISTS (SELECT 1 FROM temp.search_tail t WHERE t.search_tail MATCH ? \
               AND t.rowid = o.rowid)"
    )
}

/// Which indexes a search on this connection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SearchIndexes {
    /// The file has the compound index (schema 7 or later).
    pub(super) compounds: bool,
}

/// Adds the compound terms of the events `from < seq <= to` to `table` (`event_compounds` or
/// `temp.compounds_tail`); returns how many events it read.
pub(super) fn add_compounds(
    conn: &Connection,
    table: &str,
    from: i64,
    to: i64,
) -> Result<u64, StoreError> {
    let mut read = conn.prepare_cached(
        "SELECT seq, body FROM main.event_bodies WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
    )?;
    let mut insert = conn.prepare(&format!(
        "INSERT INTO {table} (rowid, terms) VALUES (?1, ?2)"
    ))?;
    let mut rows = read.query([from, to])?;
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get("seq")?;
        let body = row
            .get_ref("body")?
            .as_str()
            .map_err(rusqlite::Error::from)?;
        let terms = compound_terms(body);
        if !terms.is_empty() {
            insert.execute(params![seq, terms])?;
        }
        count += 1;
    }
    Ok(count)
}

impl Session {
    /// Adds up to `max` events the search indexes do not cover yet, oldest first, in one
    /// transaction; returns how many it added (0: the indexes are current).
    pub fn index_for_search(&mut self, max: u64) -> Result<u64, StoreError> {
        let path = self.path.clone();
        // It reads before it writes: see write_lock.rs.
        let tx = begin_writing(&self.conn, WriteLock::Session)?;
        let from: i64 = tx.query_row(
            "SELECT indexed_to FROM search_state WHERE id = 1",
            [],
            |row| row.get("indexed_to"),
        )?;
        let to: i64 = tx.query_row(
            "SELECT coalesce(max(seq), 0) AS newest FROM (SELECT seq FROM event_bodies \
             WHERE seq > ?1 ORDER BY seq LIMIT ?2)",
            params![from, max.min(i64::MAX as u64) as i64],
            |row| row.get("newest"),
        )?;
        if to <= from {
            return Ok(0);
        }
        let added = tx
            .execute(
                "INSERT INTO event_search (rowid, body) \
                 SELECT seq, body FROM event_bodies WHERE seq > ?1 AND seq <= ?2",
                [from, to],
            )
            .map_err(|e| StoreError::from(e).on(&path))?;
        add_compounds(&tx, "main.event_compounds", from, to).map_err(|e| e.on(&path))?;
        tx.execute("UPDATE search_state SET indexed_to = ?1 WHERE id = 1", [to])?;
        tx.commit().map_err(|e| StoreError::from(e).on(&path))?;
        Ok(added as u64)
    }
}

/// Makes `temp.search_tail` (and `temp.compounds_tail`, when the file has a compound index)
/// hold exactly the events past the indexes' mark, before a search; says which indexes the
/// search may read.
pub(super) fn cover_tail(conn: &Connection) -> Result<SearchIndexes, StoreError> {
    let compounds = conn
        .query_row(
            "SELECT 1 AS present FROM main.sqlite_schema WHERE name = 'event_compounds'",
            [],
            |row| row.get::<_, i64>("present"),
        )
        .optional()?
        .is_some();
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_tail USING fts5 ({FTS_OPTIONS}); \
         CREATE VIRTUAL TABLE IF NOT EXISTS temp.compounds_tail USING fts5 ({}); \
         CREATE TABLE IF NOT EXISTS temp.search_tail_state (id INTEGER PRIMARY KEY, \
             from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL); \
         INSERT OR IGNORE INTO temp.search_tail_state VALUES (1, 0, 0);",
        compound_options()
    ))?;
    let mark: i64 = conn.query_row(
        "SELECT indexed_to FROM main.search_state WHERE id = 1",
        [],
        |row| row.get("indexed_to"),
    )?;
    let (from, to): (i64, i64) = conn.query_row(
        "SELECT from_seq, to_seq FROM temp.search_tail_state WHERE id = 1",
        [],
        |row| Ok((row.get("from_seq")?, row.get("to_seq")?)),
    )?;
    let start = if from == mark {
        to.max(mark)
    } else {
        // The indexes moved on (or this is the first search): start the tails again from their
        // mark.
        conn.execute_batch(
            "INSERT INTO temp.search_tail (search_tail) VALUES ('delete-all'); \
             INSERT INTO temp.compounds_tail (compounds_tail) VALUES ('delete-all');",
        )?;
        mark
    };
    // The newest event first, then exactly up to it: a recorder may commit between statements,
    // and what it adds after `newest` is the next search's tail.
    let newest: i64 = conn.query_row(
        "SELECT coalesce(max(seq), ?1) AS newest FROM main.event_bodies WHERE seq > ?1",
        [start],
        |row| row.get("newest"),
    )?;
    conn.execute(
        "INSERT INTO temp.search_tail (rowid, body) \
         SELECT seq, body FROM main.event_bodies WHERE seq > ?1 AND seq <= ?2",
        [start, newest],
    )?;
    if compounds {
        add_compounds(conn, "temp.compounds_tail", start, newest)?;
    }
    // Written only when it moves: the connection's change count then says whether what a
    // search reads changed (search_sets.rs keys its sets by it).
    conn.execute(
        "UPDATE temp.search_tail_state SET from_seq = ?1, to_seq = ?2 \
         WHERE id = 1 AND (from_seq, to_seq) IS NOT (?1, ?2)",
        [mark, newest],
    )?;
    Ok(SearchIndexes { compounds })
}
