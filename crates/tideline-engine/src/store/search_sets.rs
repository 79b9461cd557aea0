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
//! `PRAGMA data_version` (changes another connection committed: a recorder's events, its
//! idle-time indexing) and the connection's own `total_changes()` (its writes, its temporary
//! search tail), so a set is never read after the data it came from changed. Outside a read
//! snapshot a statement may see events committed after its sets were made: a term does not
//! match them (a NOT term does) until the next read makes new sets — as with the search tail,
//! which holds the events up to the newest when the read began.
//!
//! A set is a bitmap while it is built and kept as one only when that is smaller than its seqs
//! listed (8 bytes each): a few rare terms ORed together hold a few bytes each, not a bitmap
//! each of the whole session.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;

use super::StoreError;

/// `tl_search_hit(set, seq)`: 1 when the set with id `set` holds `seq`, else 0. The set is
/// looked up once per statement (SQLite's auxiliary data of a constant argument), which holds
/// it while the statement runs. An id the connection's sets do not hold is an error (ids are
/// unique in the process: a statement built for other sets cannot read a wrong one).
pub(super) const HIT_FUNCTION: &str = "tl_search_hit";

/// Sets kept for later reads beyond those in use: each is at most one bit per stored event
/// (1.25 MB at 10M events).
const KEPT: usize = 4;

/// Seqs below this are bits of a bitmap (32 MiB at most); any above (none in a session of
/// fewer events) are kept sorted.
const BITMAP_SEQS: i64 = 1 << 28;

/// Ids of sets, unique in the process.
static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// Seqs: a bitmap of those from 0 to [`BITMAP_SEQS`] (one bit per seq up to the largest held:
/// 1.25 MB at 10M events, whatever the number of matches) when that is the smaller, else
/// listed.
#[derive(Default)]
pub(super) struct SeqSet {
    /// Bit `seq % 64` of word `seq / 64`, for the seqs in the bitmap.
    words: Vec<u64>,
    /// The seqs not in the bitmap, ascending, no repeats.
    listed: Vec<i64>,
    len: u64,
}

impl fmt::Debug for SeqSet {
    /// Its size, not its seqs (a set may hold millions).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqSet({} seqs)", self.len)
    }
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
            self.listed.push(seq);
        }
    }

    /// Done adding: sorts the seqs outside the bitmap, and lists the bitmap's too when a list
    /// is smaller (fewer seqs than the bitmap has words).
    fn seal(&mut self) {
        self.listed.sort_unstable();
        self.listed.dedup();
        self.len += self.listed.len() as u64;
        if self.len < self.words.len() as u64 {
            let mut listed: Vec<i64> = Vec::with_capacity(self.len as usize);
            for (at, word) in self.words.iter().enumerate() {
                let mut bits = *word;
                while bits != 0 {
                    listed.push(at as i64 * 64 + i64::from(bits.trailing_zeros()));
                    bits &= bits - 1;
                }
            }
            listed.extend_from_slice(&self.listed);
            listed.sort_unstable();
            self.listed = listed;
            self.words = Vec::new();
        }
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

    /// Whether it holds `seq`.
    pub(super) fn contains(&self, seq: i64) -> bool {
        let in_bitmap = (0..BITMAP_SEQS).contains(&seq)
            && self
                .words
                .get((seq / 64) as usize)
                .is_some_and(|word| word & (1 << (seq % 64)) != 0);
        in_bitmap || (!self.listed.is_empty() && self.listed.binary_search(&seq).is_ok())
    }
}

/// What a set was read from: its subquery and parameters, and the data as the connection saw
/// it then.
#[derive(PartialEq)]
struct SetKey {
    data_version: i64,
    own_changes: u64,
    matches: String,
    params: Vec<SqlValue>,
}

/// A set kept for later reads.
struct Kept {
    id: i64,
    key: SetKey,
    set: Arc<SeqSet>,
}

/// One connection's search sets (shared with its [`HIT_FUNCTION`], and with that of a split
/// pass's second connection: [`SearchSets::share_with`]).
#[derive(Default)]
pub(super) struct SearchSets {
    /// The least recently used first.
    kept: Mutex<Vec<Kept>>,
}

impl SearchSets {
    /// New sets, with [`HIT_FUNCTION`] registered on `conn` to read them.
    pub(super) fn register(conn: &Connection) -> Result<Arc<SearchSets>, StoreError> {
        let sets = Arc::new(SearchSets::default());
        SearchSets::share_with(&sets, conn)?;
        Ok(sets)
    }

    /// Registers [`HIT_FUNCTION`] on `conn`, another connection to the same session, to read
    /// `sets` (made on the first): a pass split between them checks the same sets (ids are
    /// unique in the process; the caller holds the sets its statements name).
    pub(super) fn share_with(sets: &Arc<SearchSets>, conn: &Connection) -> Result<(), StoreError> {
        let read = Arc::clone(sets);
        conn.create_scalar_function(
            HIT_FUNCTION,
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
            move |context| {
                let set = context.get_or_create_aux(0, |id| {
                    let id = id.as_i64()?;
                    read.by_id(id).ok_or_else(|| {
                        rusqlite::Error::UserFunctionError(
                            format!("{HIT_FUNCTION}: no search set {id} in this connection's sets")
                                .into(),
                        )
                    })
                })?;
                let seq: i64 = context.get(1)?;
                Ok(i64::from(set.contains(seq)))
            },
        )?;
        Ok(())
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<Kept>> {
        self.kept
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The kept set `id`.
    fn by_id(&self, id: i64) -> Option<Arc<SeqSet>> {
        self.kept()
            .iter()
            .find(|kept| kept.id == id)
            .map(|kept| Arc::clone(&kept.set))
    }

    /// The seqs `matches` (a query whose first column is a seq, with `params`) gives on `conn`
    /// now: a kept set when the data it came from has not changed, else read anew. The id
    /// names it to [`HIT_FUNCTION`] for as long as the returned `Arc` is held.
    pub(super) fn set_of(
        &self,
        conn: &Connection,
        matches: &str,
        params: &[SqlValue],
    ) -> Result<(i64, Arc<SeqSet>), StoreError> {
        let key = SetKey {
            data_version: conn.query_row("PRAGMA data_version", [], |row| row.get(0))?,
            own_changes: conn.total_changes(),
            matches: matches.to_owned(),
            params: params.to_vec(),
        };
        {
            let mut kept = self.kept();
            if let Some(at) = kept.iter().position(|kept| kept.key == key) {
                // The most recently used again: kept longest.
                let found = kept.remove(at);
                let id_and_set = (found.id, Arc::clone(&found.set));
                kept.push(found);
                return Ok(id_and_set);
            }
        }
        let mut statement = conn.prepare(matches)?;
        let mut rows = statement.query(rusqlite::params_from_iter(params))?;
        let mut set = SeqSet::default();
        while let Some(row) = rows.next()? {
            set.insert(row.get::<_, i64>(0)?);
        }
        set.seal();
        let set = Arc::new(set);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept();
        kept.push(Kept {
            id,
            key,
            set: Arc::clone(&set),
        });
        // Let the least recently used go beyond KEPT, but never one a caller still holds (its
        // statements would find it gone).
        let mut spare = kept.len().saturating_sub(KEPT);
        kept.retain(|kept| {
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
        let rare_and_late = vec![9_999_999, 12, 640, 641];
        for seqs in [common, far, rare_and_late, Vec::new()] {
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
        // A bitmap is kept only when the smaller: up to the largest seq held, not the range's
        // end; a few seqs far apart are listed.
        let dense = SeqSet::of(&(0..700).step_by(2).chain([i64::MAX]).collect::<Vec<_>>());
        assert_eq!((dense.words.len(), dense.listed.len()), (11, 1));
        let rare = SeqSet::of(&[9_999_999, 12, 640, -3]);
        assert_eq!(
            (rare.words.len(), rare.listed),
            (0, vec![-3, 12, 640, 9_999_999])
        );
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
