//! search_sets: a search term's matching seqs, read once from the free-text indexes into a set
//! and checked on each walked row by the SQL function [`HIT_FUNCTION`], instead of SQLite
//! collecting every match into a temporary b-tree in each statement that walks rows.
//!
//! A first page with a search runs several statements (how many match, the page, its capped
//! count), and each `+f.seq IN (matches)` built its own b-tree of all matches: 1.27M inserts
//! for a common word at 10M events, per statement. Here the matches are read once per term and
//! data version and kept, a few at a time, for the next reads of the same search (the count,
//! facets, histogram and later pages the app asks for next).
//!
//! A set is keyed by its SQL, its parameters and what the connection can see: SQLite's
//! `PRAGMA data_version` (changes another connection committed) and the connection's own
//! `total_changes()` (its temporary search tail, its notes), so a set is never read after the
//! data it came from changed. Reads outside a read snapshot may see events committed after a
//! set was made: those are not matched until the next read makes a new set, as if they had
//! arrived a moment later.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;

use super::StoreError;

/// `tl_search_hit(set, seq)`: 1 when the set with id `set` holds `seq`, else 0. An id this
/// connection does not hold is an error (a statement built for another connection).
pub(super) const HIT_FUNCTION: &str = "tl_search_hit";

/// Sets kept for later reads beyond those in use: each is at most one bit per stored event
/// (1.25 MB at 10M events).
const KEPT: usize = 4;

/// Seqs below this are bits of a bitmap (32 MiB at most); any above (none in a session of
/// fewer events) are kept sorted.
const BITMAP_SEQS: i64 = 1 << 28;

/// Seqs: a bitmap of those from 0 to [`BITMAP_SEQS`] (one bit per seq up to the largest held:
/// 1.25 MB at 10M events, whatever the number of matches), the rest sorted.
#[derive(Debug, Default)]
pub(super) struct SeqSet {
    words: Vec<u64>,
    /// The seqs outside the bitmap's range, ascending, no repeats.
    beyond: Vec<i64>,
    len: u64,
}

impl SeqSet {
    /// Adds `seq` (again or not).
    fn insert(&mut self, seq: i64) {
        if (0..BITMAP_SEQS).contains(&seq) {
            let (word, bit) = ((seq / 64) as usize, seq % 64);
            if word >= self.words.len() {
                self.words.resize(word + 1, 0);
            }
            if self.words[word] & (1 << bit) == 0 {
                self.words[word] |= 1 << bit;
                self.len += 1;
            }
        } else {
            self.beyond.push(seq);
        }
    }

    /// Done adding: sorts the seqs outside the bitmap.
    fn seal(&mut self) {
        self.beyond.sort_unstable();
        self.beyond.dedup();
        self.len += self.beyond.len() as u64;
        self.words.shrink_to_fit();
    }

    /// The set of `seqs` (in any order, repeats allowed).
    #[cfg(test)]
    fn of(seqs: &[i64]) -> SeqSet {
        let mut set = SeqSet::default();
        for seq in seqs {
            set.insert(*seq);
        }
        set.seal();
        set
    }

    /// How many seqs it holds.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn contains(&self, seq: i64) -> bool {
        if (0..BITMAP_SEQS).contains(&seq) {
            self.words
                .get((seq / 64) as usize)
                .is_some_and(|word| word & (1 << (seq % 64)) != 0)
        } else {
            self.beyond.binary_search(&seq).is_ok()
        }
    }
}

struct Kept {
    id: i64,
    key: String,
    set: Arc<SeqSet>,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    /// Oldest first.
    kept: Vec<Kept>,
}

/// One connection's search sets (shared with its [`HIT_FUNCTION`]).
#[derive(Default)]
pub(crate) struct SearchSets {
    inner: Mutex<Inner>,
}

impl SearchSets {
    /// New sets, with [`HIT_FUNCTION`] registered on `conn` to read them.
    pub(super) fn register(conn: &Connection) -> Result<Arc<SearchSets>, StoreError> {
        let sets = Arc::new(SearchSets::default());
        let read = Arc::clone(&sets);
        conn.create_scalar_function(
            HIT_FUNCTION,
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
            move |context| {
                let id: i64 = context.get(0)?;
                let seq: i64 = context.get(1)?;
                let set = read.by_id(id).ok_or_else(|| {
                    rusqlite::Error::UserFunctionError(
                        format!("{HIT_FUNCTION}: no search set {id} on this connection").into(),
                    )
                })?;
                Ok(i64::from(set.contains(seq)))
            },
        )?;
        Ok(sets)
    }

    fn by_id(&self, id: i64) -> Option<Arc<SeqSet>> {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        inner
            .kept
            .iter()
            .find(|kept| kept.id == id)
            .map(|kept| Arc::clone(&kept.set))
    }

    /// The seqs `matches` (a subquery of seqs, with `params`) gives on `conn` now: a kept set
    /// when the data it came from has not changed, else read anew. The id names it to
    /// [`HIT_FUNCTION`] for as long as the returned `Arc` is held.
    pub(super) fn set_of(
        &self,
        conn: &Connection,
        matches: &str,
        params: &[SqlValue],
    ) -> Result<(i64, Arc<SeqSet>), StoreError> {
        let data_version: i64 = conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
        let key = format!(
            "{data_version} {} {matches} {params:?}",
            conn.total_changes()
        );
        {
            let mut inner = self
                .inner
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            if let Some(at) = inner.kept.iter().position(|kept| kept.key == key) {
                // The newest again: kept longest.
                let kept = inner.kept.remove(at);
                let found = (kept.id, Arc::clone(&kept.set));
                inner.kept.push(kept);
                return Ok(found);
            }
        }
        let mut statement = conn.prepare(&format!("SELECT rowid FROM ({matches})"))?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        let mut set = SeqSet::default();
        while let Some(row) = rows.next()? {
            set.insert(row.get::<_, i64>(0)?);
        }
        set.seal();
        let set = Arc::new(set);
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        inner.next_id += 1;
        let id = inner.next_id;
        inner.kept.push(Kept {
            id,
            key,
            set: Arc::clone(&set),
        });
        // Let the oldest go beyond KEPT, but never one a caller still holds (its statements
        // would find it gone).
        let mut spare = inner.kept.len().saturating_sub(KEPT);
        inner.kept.retain(|kept| {
            if spare > 0 && Arc::strong_count(&kept.set) == 1 {
                spare -= 1;
                false
            } else {
                true
            }
        });
        Ok((id, set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seq_set_holds_exactly_its_seqs_in_and_beyond_its_bitmap() {
        let common: Vec<i64> = (100..1_100)
            .filter(|seq| seq % 3 == 0)
            .chain([7, 99, 7])
            .collect();
        let far = vec![
            5,
            i64::MAX,
            1,
            BITMAP_SEQS - 1,
            BITMAP_SEQS,
            -3,
            5,
            i64::MIN,
            0,
            63,
            64,
        ];
        for seqs in [common, far, Vec::new()] {
            let set = SeqSet::of(&seqs);
            let mut unique = seqs.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(set.len(), unique.len() as u64, "{seqs:?}");
            let probes = seqs
                .iter()
                .flat_map(|seq| [seq.saturating_sub(1), *seq, seq.saturating_add(1)])
                .chain([i64::MIN, -1, 0, 64, 1_163, BITMAP_SEQS + 1, i64::MAX]);
            for probe in probes {
                assert_eq!(set.contains(probe), unique.contains(&probe), "{probe}");
            }
        }
        // The bitmap reaches the largest seq held, not the range's end.
        assert_eq!(SeqSet::of(&[640, i64::MAX]).words.len(), 11);
    }

    #[test]
    fn a_set_is_read_again_once_the_data_changes_and_one_in_use_is_never_let_go() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (rowid INTEGER PRIMARY KEY, w TEXT)")
            .unwrap();
        conn.execute_batch("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'a')")
            .unwrap();
        let sets = SearchSets::register(&conn).unwrap();
        let matches = "SELECT rowid FROM t WHERE w = ?";
        let a = [SqlValue::Text("a".into())];
        let (first, set) = sets.set_of(&conn, matches, &a).unwrap();
        assert_eq!(set.len(), 2);
        drop(set);
        assert_eq!(sets.set_of(&conn, matches, &a).unwrap().0, first);
        let hits = |id: i64| -> Vec<i64> {
            let sql = format!("SELECT rowid FROM t WHERE {HIT_FUNCTION}(?, rowid) ORDER BY rowid");
            let mut statement = conn.prepare(&sql).unwrap();
            statement
                .query_map([id], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(hits(first), [1, 3]);
        conn.execute("INSERT INTO t VALUES (4, 'a')", []).unwrap();
        let (second, set) = sets.set_of(&conn, matches, &a).unwrap();
        assert_ne!(second, first);
        assert_eq!(set.len(), 3);
        drop(set);
        assert_eq!(hits(second), [1, 3, 4]);
        // More sets than are kept: those held stay readable, the oldest unheld go.
        let held: Vec<_> = (0..KEPT + 2)
            .map(|n| {
                let w = [SqlValue::Text(format!("w{n}"))];
                sets.set_of(&conn, matches, &w).unwrap()
            })
            .collect();
        assert!(sets.by_id(first).is_none());
        for (id, _) in &held {
            assert!(sets.by_id(*id).is_some());
        }
        drop(held);
        let err = conn
            .query_row(&format!("SELECT {HIT_FUNCTION}(?, 1)"), [first], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap_err();
        assert!(err.to_string().contains("no search set"), "{err}");
    }
}
