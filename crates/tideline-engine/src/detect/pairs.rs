//! pairs: the (principal, address) pairs `new_source_ip` has seen, each with the id of its
//! finding (0 while it has none), as a 64-bit keyed hash and a 32-bit id, and stored as a log
//! beside the findings so a later run resumes with them. The ids let a pair's finding be read
//! by id, so the findings' key index is not needed for the most numerous rule (a rebuild
//! builds that index once, at its end).
//!
//! A rebuild holds every pair in memory: 12 bytes a pair (a bucket may hold up to a quarter
//! more unused, room for its next merges). A run resumed from stored findings holds only the
//! pairs it set in commits the store does not have yet ([`KnownPairs::let_go`]) and looks the
//! others up in the store by hash ([`KnownPairs::look_up_in_store`]): one pair per new
//! (principal, address) is nearly one per event in a busy session, and a resumed run lives as
//! long as the session is open.
//!
//! The hash is keyed BLAKE3 (its key derived from a secret salt chosen at each rebuild), so
//! nobody can pick an address whose pair collides with a known one (and hide a new address); an
//! accidental collision among n pairs has odds of about n² / 2⁶⁵.

use std::collections::HashMap;

use crate::store::{Session, StoreError};

/// Sorted hashes with their ids, in [`BUCKETS`] buckets by the hash's top byte, and the newest
/// ones until there are enough to merge.
pub(crate) struct KnownPairs {
    /// BLAKE3's key, derived from the rebuild's salt.
    key: [u8; 32],
    buckets: Vec<Bucket>,
    recent: HashMap<u64, u32>,
    /// Pairs added or given another id since the last [`KnownPairs::take_fresh`].
    fresh: Vec<(i64, i64)>,
    /// The pairs not in `recent` are the store's, not the buckets' (which stay empty).
    in_store: bool,
    /// While `in_store`: the take that carries each pair of `recent` to the store (the
    /// number of [`KnownPairs::take_fresh`] calls before it was last set).
    set_in_take: HashMap<u64, u64>,
    /// How many times [`KnownPairs::take_fresh`] was called.
    takes: u64,
}

/// The pairs whose hash starts with one byte: hashes ascending, and their ids.
#[derive(Default)]
struct Bucket {
    hashes: Vec<u64>,
    ids: Vec<u32>,
}

/// A merge grows one bucket at a time, so growing never holds two copies of all the pairs
/// (at 10,000,000 pairs, one array of them is 120 MB).
const BUCKETS: usize = 256;

/// The recent map is merged into the sorted arrays at this size.
const MERGE_AT: usize = 1 << 16;

/// BLAKE3's key derivation context for the pairs' key (its documented form: application,
/// date, purpose).
const PAIR_KEY_CONTEXT: &str = "Tideline 2026-12-01 new_source_ip principal-address pairs";

/// The bucket of `hash`: its top byte.
fn bucket_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

impl Bucket {
    /// Room for `more` pairs: a quarter more than it holds at least, so that merges copy each
    /// bucket a bounded number of times while it never holds more than a quarter unused.
    fn reserve(&mut self, more: usize) {
        let more = more.max(self.hashes.len() / 4);
        if self.hashes.capacity() - self.hashes.len() < more {
            self.hashes.reserve_exact(more);
            self.ids.reserve_exact(more);
        }
    }

    /// Merges `chunk` (ascending, none of its hashes here) in, from the back.
    fn merge(&mut self, chunk: &[(u64, u32)]) {
        self.reserve(chunk.len());
        let old = self.hashes.len();
        let len = old + chunk.len();
        self.hashes.resize(len, 0);
        self.ids.resize(len, 0);
        let (mut i, mut j) = (old, chunk.len());
        for k in (0..len).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && self.hashes[i - 1] > chunk[j - 1].0 {
                self.hashes[k] = self.hashes[i - 1];
                self.ids[k] = self.ids[i - 1];
                i -= 1;
            } else {
                (self.hashes[k], self.ids[k]) = chunk[j - 1];
                j -= 1;
            }
        }
    }
}

impl KnownPairs {
    pub fn new(salt: u64) -> KnownPairs {
        KnownPairs {
            key: blake3::derive_key(PAIR_KEY_CONTEXT, &salt.to_le_bytes()),
            buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(),
            recent: HashMap::new(),
            fresh: Vec::new(),
            in_store: false,
            set_in_take: HashMap::new(),
            takes: 0,
        }
    }

    /// From now on the pairs of earlier runs are looked up in the store
    /// ([`Session::detect_pair`]) instead of taken back into memory, and those set here are
    /// held only until the store has the take that carries them ([`KnownPairs::let_go`]).
    pub fn look_up_in_store(&mut self) {
        self.in_store = true;
        self.buckets
            .iter_mut()
            .for_each(|bucket| *bucket = Bucket::default());
    }

    /// How many pairs are held in memory.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.recent.len()
            + self
                .buckets
                .iter()
                .map(|bucket| bucket.hashes.len())
                .sum::<usize>()
    }

    /// Makes room for `count` pairs taken back with [`KnownPairs::restore`] (spread evenly
    /// over the buckets, as hashes are).
    pub fn reserve(&mut self, count: usize) {
        let each = count / BUCKETS + count / BUCKETS / 8 + 16;
        for bucket in &mut self.buckets {
            bucket.hashes.reserve_exact(each);
            bucket.ids.reserve_exact(each);
        }
    }

    /// Takes back one pair of an earlier run: its hash (as the store keeps it: signed) and
    /// finding id, pairs coming in ascending order of the hash read unsigned.
    pub fn restore(&mut self, hash: i64, id: i64) {
        let (hash, id) = (hash as u64, u32::try_from(id).unwrap_or(0));
        let bucket = &mut self.buckets[bucket_of(hash)];
        if bucket.hashes.last().is_some_and(|last| *last >= hash) {
            // Out of order (never, from the store): findable all the same.
            self.recent.insert(hash, id);
            return;
        }
        bucket.hashes.push(hash);
        bucket.ids.push(id);
    }

    /// The hash of `principal` at `address`.
    pub fn hash(&self, principal: &str, address: &str) -> u64 {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&(principal.len() as u64).to_le_bytes());
        hasher.update(principal.as_bytes());
        hasher.update(address.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    /// `None` for a pair never seen; else the id of its finding (0: none). Errors: the
    /// store's, when the pairs are looked up there.
    pub fn get(&self, pair: u64, session: &Session) -> Result<Option<u32>, StoreError> {
        if let Some(id) = self.recent.get(&pair) {
            return Ok(Some(*id));
        }
        if self.in_store {
            let id = session.detect_pair(pair as i64)?;
            return Ok(id.map(|id| u32::try_from(id).unwrap_or(0)));
        }
        let bucket = &self.buckets[bucket_of(pair)];
        Ok(bucket
            .hashes
            .binary_search(&pair)
            .ok()
            .map(|index| bucket.ids[index]))
    }

    /// Remembers `pair` with the finding id `id` (0: none).
    pub fn set(&mut self, pair: u64, id: i64) {
        let id = u32::try_from(id).unwrap_or(0);
        self.fresh.push((pair as i64, i64::from(id)));
        if self.in_store {
            self.set_in_take.insert(pair, self.takes);
        }
        let bucket = &mut self.buckets[bucket_of(pair)];
        if let Ok(index) = bucket.hashes.binary_search(&pair) {
            bucket.ids[index] = id;
            return;
        }
        self.recent.insert(pair, id);
        if self.recent.len() >= MERGE_AT && !self.in_store {
            self.merge();
        }
    }

    /// Merges the recent map into the buckets.
    fn merge(&mut self) {
        let mut chunk: Vec<(u64, u32)> = self.recent.drain().collect();
        chunk.sort_unstable();
        let mut rest = chunk.as_slice();
        while let Some(&(first, _)) = rest.first() {
            let index = bucket_of(first);
            let end = rest.partition_point(|(hash, _)| bucket_of(*hash) == index);
            self.buckets[index].merge(&rest[..end]);
            rest = &rest[end..];
        }
    }

    /// The pairs added or given another id since the last call, as `(hash, id)`: one take,
    /// for one commit. They stay held until [`KnownPairs::let_go`] says the store has it.
    pub fn take_fresh(&mut self) -> Vec<(i64, i64)> {
        self.takes += 1;
        std::mem::take(&mut self.fresh)
    }

    /// When the pairs are looked up in the store, lets go of those it has: every take but
    /// the last `takes` ([`Ledger::let_go`](super::ledger::Ledger::let_go)'s count). A rebuild
    /// holds them all: nothing to do.
    pub fn let_go(&mut self, takes: u64) {
        if !self.in_store {
            return;
        }
        let kept_from = self.takes.saturating_sub(takes);
        let KnownPairs {
            recent,
            set_in_take,
            ..
        } = self;
        set_in_take.retain(|pair, take| {
            let keep = *take >= kept_from;
            if !keep {
                recent.remove(pair);
            }
            keep
        });
        if recent.is_empty() {
            // Gives back what a burst of new pairs grew the maps to.
            *recent = HashMap::new();
            *set_in_take = HashMap::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_their_ids_across_merges_and_restores() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = &Session::open_or_create(&dir.path().join("pairs.tideline")).unwrap();
        let mut pairs = KnownPairs::new(7);
        let hashes: Vec<u64> = (0..(MERGE_AT as u64 * 2 + 10))
            .map(|n| pairs.hash("p", &n.to_string()))
            .collect();
        for (n, &hash) in hashes.iter().enumerate() {
            assert_eq!(pairs.get(hash, session).unwrap(), None);
            pairs.set(hash, n as i64 % 3);
        }
        pairs.set(hashes[5], 99);
        assert!(pairs.recent.len() < MERGE_AT);
        for (index, bucket) in pairs.buckets.iter().enumerate() {
            assert!(bucket.hashes.windows(2).all(|w| w[0] < w[1]));
            assert!(bucket.hashes.iter().all(|hash| bucket_of(*hash) == index));
            assert_eq!(bucket.hashes.len(), bucket.ids.len());
        }
        for (n, &hash) in hashes.iter().enumerate() {
            let id = if n == 5 { 99 } else { n as u32 % 3 };
            assert_eq!(pairs.get(hash, session).unwrap(), Some(id));
        }
        let mut latest: HashMap<u64, i64> = HashMap::new();
        for (hash, id) in pairs.take_fresh() {
            latest.insert(hash as u64, id);
        }
        let mut stored: Vec<(u64, i64)> = latest.into_iter().collect();
        stored.sort_unstable();
        let mut again = KnownPairs::new(7);
        again.reserve(stored.len());
        for (hash, id) in stored {
            again.restore(hash as i64, id);
        }
        assert_eq!(again.get(hashes[5], session).unwrap(), Some(99));
        assert_eq!(again.get(hashes[7], session).unwrap(), Some(1));
        assert_eq!(again.get(again.hash("p", "new"), session).unwrap(), None);
        assert_ne!(KnownPairs::new(8).hash("p", "1"), again.hash("p", "1"));
    }

    #[test]
    fn pairs_looked_up_in_the_store_are_held_until_it_has_their_take() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = &Session::open_or_create(&dir.path().join("pairs.tideline")).unwrap();
        let mut pairs = KnownPairs::new(7);
        pairs.look_up_in_store();
        let (a, b) = (pairs.hash("p", "a"), pairs.hash("p", "b"));
        pairs.set(a, 1);
        assert_eq!(pairs.take_fresh(), vec![(a as i64, 1)]);
        pairs.set(b, 2);
        assert_eq!(pairs.take_fresh(), vec![(b as i64, 2)]);
        // a's take is stored, b's is in flight: b is still found without the store.
        pairs.let_go(1);
        assert_eq!(pairs.held(), 1);
        assert_eq!(pairs.get(b, session).unwrap(), Some(2));
        // Set again in a later take, a pair stays held for that one.
        pairs.set(b, 3);
        pairs.take_fresh();
        pairs.let_go(1);
        assert_eq!(pairs.get(b, session).unwrap(), Some(3));
        pairs.let_go(0);
        assert_eq!(pairs.held(), 0);
    }
}
