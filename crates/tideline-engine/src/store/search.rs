//! search: the free-text index over event bodies (`event_search`, migration 0006) — kept by the
//! writer, searched with the few events it does not cover yet.
//!
//! Indexing a 2.6 KB body costs ~30 µs, more than storing the event, so it is not done in the
//! batch's transaction: the writer indexes what is new whenever its queue is empty and before it
//! closes ([`Session::index_for_search`]), and `search_state.indexed_to` says how far the index
//! covers. A search reads the index and, for the events past `indexed_to` (none or a few batches
//! while recording; all of them only in a file whose recorder died mid-burst), an index of just
//! those built in memory on the reading connection with the same tokenizer, so results are the
//! same whichever side of the mark an event is. Nothing here writes to a reviewed file: the
//! in-memory index lives in the connection's `temp` database.

use rusqlite::{Connection, params};

use super::{Session, StoreError};

/// The FTS5 options of both indexes: they must tokenize alike.
const FTS_OPTIONS: &str =
    "body, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2'";

/// The condition on `f.seq` that matches a search; its two parameters are the FTS5 query.
pub(super) const SEARCH_CONDITION: &str = "f.seq IN (SELECT rowid FROM event_search WHERE event_search MATCH ? \
     UNION ALL SELECT rowid FROM temp.search_tail WHERE search_tail MATCH ?)";

impl Session {
    /// Adds up to `max` events the search index does not cover yet, oldest first, in one
    /// transaction; returns how many it added (0: the index is current).
    pub fn index_for_search(&mut self, max: u64) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let tx = self.conn.transaction()?;
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
        tx.execute("UPDATE search_state SET indexed_to = ?1 WHERE id = 1", [to])?;
        tx.commit().map_err(|e| StoreError::from(e).on(&path))?;
        Ok(added as u64)
    }
}

/// Makes `temp.search_tail` hold exactly the events past the index's mark, before a search.
pub(super) fn cover_tail(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_tail USING fts5 ({FTS_OPTIONS}); \
         CREATE TABLE IF NOT EXISTS temp.search_tail_state (id INTEGER PRIMARY KEY, \
             from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL); \
         INSERT OR IGNORE INTO temp.search_tail_state VALUES (1, 0, 0);"
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
        // The index moved on (or this is the first search): start the tail again from its mark.
        conn.execute(
            "INSERT INTO temp.search_tail (search_tail) VALUES ('delete-all')",
            [],
        )?;
        mark
    };
    conn.execute(
        "INSERT INTO temp.search_tail (rowid, body) \
         SELECT seq, body FROM main.event_bodies WHERE seq > ?1",
        [start],
    )?;
    let newest: i64 = conn.query_row(
        "SELECT coalesce(max(seq), ?1) AS newest FROM main.event_bodies WHERE seq > ?1",
        [start],
        |row| row.get("newest"),
    )?;
    conn.execute(
        "UPDATE temp.search_tail_state SET from_seq = ?1, to_seq = ?2 WHERE id = 1",
        [mark, newest],
    )?;
    Ok(())
}
