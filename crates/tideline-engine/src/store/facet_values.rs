//! facet_values: the dictionary of facet values (migration 0006). Every event's facets are kept
//! in `event_facets` as ids into `facet_values`, which also counts the asset changes carrying
//! each value. This module turns values into ids: for the write path (cached, creating missing
//! ids inside the batch's transaction) and for filters (looked up; an unknown value has no id).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use super::query::Facet;

/// The most ids the write path keeps cached; past it the cache starts over (a session with
/// millions of distinct assets must not grow the recorder's memory without bound).
const CACHE_MAX: usize = 200_000;

/// The write path's cache of ids, with the ids a batch created kept apart until it commits (a
/// rolled-back batch's ids do not exist).
#[derive(Default)]
pub(super) struct FacetIds {
    committed: HashMap<(Facet, String), i64>,
    pending: HashMap<(Facet, String), i64>,
    /// Asset changes per id in the open batch, added to `facet_values.changes` before it commits.
    change_counts: HashMap<i64, i64>,
}

impl FacetIds {
    /// The id of `value` under `facet`, created in `tx` if the session has none yet.
    pub(super) fn id(
        &mut self,
        tx: &Transaction<'_>,
        facet: Facet,
        value: &str,
    ) -> Result<i64, StoreError> {
        let key = (facet, value.to_owned());
        if let Some(id) = self.committed.get(&key).or_else(|| self.pending.get(&key)) {
            return Ok(*id);
        }
        let found: Option<i64> = tx
            .prepare_cached("SELECT id FROM facet_values WHERE facet = ?1 AND value = ?2")?
            .query_row(params![facet.name(), value], |row| row.get("id"))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                tx.prepare_cached("INSERT INTO facet_values (facet, value) VALUES (?1, ?2)")?
                    .execute(params![facet.name(), value])?;
                tx.last_insert_rowid()
            }
        };
        self.pending.insert(key, id);
        Ok(id)
    }

    /// Counts one asset change carrying each of `ids`.
    pub(super) fn count_change(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            *self.change_counts.entry(id).or_default() += 1;
        }
    }

    /// Adds the open batch's change counts to `facet_values`, in its transaction.
    pub(super) fn write_counts(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut add =
            tx.prepare_cached("UPDATE facet_values SET changes = changes + ?2 WHERE id = ?1")?;
        for (id, n) in self.change_counts.drain() {
            add.execute(params![id, n])?;
        }
        Ok(())
    }

    /// The batch committed: its ids are real.
    pub(super) fn committed(&mut self) {
        if self.committed.len() + self.pending.len() > CACHE_MAX {
            self.committed.clear();
        }
        self.committed.extend(self.pending.drain());
    }

    /// The batch rolled back: forget what it created and counted.
    pub(super) fn rolled_back(&mut self) {
        self.pending.clear();
        self.change_counts.clear();
    }
}

/// The ids of `values` under `facet` that the session knows (filters: a value it has never
/// seen matches nothing). A value ending in `/*` is also every value that starts with what
/// precedes the `*` (a group: all sessions of one role, `…:assumed-role/ROLE/*`); the value
/// itself counts too, so a value that really ends in `/*` is never hidden by its group.
pub(super) fn ids_of(
    conn: &Connection,
    facet: Facet,
    values: &[String],
) -> Result<Vec<i64>, StoreError> {
    let mut exact =
        conn.prepare_cached("SELECT id FROM facet_values WHERE facet = ?1 AND value = ?2")?;
    // Every value in [`prefix`, the prefix with its last `/` raised to `0`): those starting
    // with it ('0' follows '/' in UTF-8 and SQLite's binary collation).
    let mut prefixed = conn.prepare_cached(
        "SELECT id FROM facet_values WHERE facet = ?1 AND value >= ?2 AND value < ?3",
    )?;
    let mut ids = Vec::with_capacity(values.len());
    for value in values {
        if let Some(id) = exact
            .query_row(params![facet.name(), value], |row| row.get("id"))
            .optional()?
        {
            ids.push(id);
        }
        if let Some(prefix) = value.strip_suffix('*').filter(|p| p.ends_with('/')) {
            let above = format!("{}0", &prefix[..prefix.len() - 1]);
            let rows = prefixed.query_map(params![facet.name(), prefix, above], |row| {
                row.get::<_, i64>("id")
            })?;
            for id in rows {
                ids.push(id?);
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The values of `ids`, by id.
pub(super) fn values_of(
    conn: &Connection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, StoreError> {
    let mut statement = conn.prepare_cached("SELECT value FROM facet_values WHERE id = ?1")?;
    let mut values = HashMap::new();
    for id in ids {
        if let Some(value) = statement
            .query_row([id], |row| row.get::<_, String>("value"))
            .optional()?
        {
            values.insert(id, value);
        }
    }
    Ok(values)
}

/// The `limit` values of `facet` carried by the most asset changes, over the whole session:
/// the unfiltered facet counts, read rather than counted.
pub(super) fn top_values(
    conn: &Connection,
    facet: Facet,
    limit: u64,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT value, changes FROM facet_values WHERE facet = ?1 AND changes > 0 \
         ORDER BY changes DESC, value LIMIT ?2",
    )?;
    let rows = statement.query_map(
        params![facet.name(), limit.min(i64::MAX as u64) as i64],
        |row| {
            Ok((
                row.get("value")?,
                row.get::<_, i64>("changes")?.max(0) as u64,
            ))
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
