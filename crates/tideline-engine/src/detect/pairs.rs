//! pairs: the (principal, address) pairs `new_source_ip` has seen, each with the id of its
//! finding (0 while it has none) — 12 bytes a pair in memory, as a 64-bit keyed hash and a
//! 32-bit id, and stored as a log beside the findings so a later run resumes with them. The
//! ids let a pair's finding be read by id, so the findings' key index is not needed for the
//! most numerous rule (a rebuild builds that index once, at its end).
//!
//! The hash is SHA-256 under a secret salt chosen at each rebuild, so nobody can pick an
//! address whose pair collides with a known one (and hide a new address); an accidental
//! collision among n pairs has odds of about n² / 2⁶⁵.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// Sorted hashes with their ids, and the newest ones until there are enough to merge.
pub(crate) struct KnownPairs {
    salt: [u8; 8],
    hashes: Vec<u64>,
    ids: Vec<u32>,
    recent: HashMap<u64, u32>,
    /// Pairs added or given another id since the last [`KnownPairs::take_fresh`].
    fresh: Vec<(i64, i64)>,
}

/// The recent map is merged into the sorted arrays at this size.
const MERGE_AT: usize = 1 << 16;

impl KnownPairs {
    pub fn new(salt: u64) -> KnownPairs {
        KnownPairs {
            salt: salt.to_le_bytes(),
            hashes: Vec::new(),
            ids: Vec::new(),
            recent: HashMap::new(),
            fresh: Vec::new(),
        }
    }

    /// Makes room for `count` pairs taken back with [`KnownPairs::restore`].
    pub fn reserve(&mut self, count: usize) {
        self.hashes.reserve_exact(count);
        self.ids.reserve_exact(count);
    }

    /// Takes back one pair of an earlier run: its hash (as the store keeps it: signed) and
    /// finding id, pairs coming in ascending order of the hash read unsigned.
    pub fn restore(&mut self, hash: i64, id: i64) {
        let (hash, id) = (hash as u64, u32::try_from(id).unwrap_or(0));
        if self.hashes.last().is_some_and(|last| *last >= hash) {
            // Out of order (never, from the store): findable all the same.
            self.recent.insert(hash, id);
            return;
        }
        self.hashes.push(hash);
        self.ids.push(id);
    }

    /// The hash of `principal` at `address`.
    pub fn hash(&self, principal: &str, address: &str) -> u64 {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update((principal.len() as u64).to_le_bytes());
        hasher.update(principal.as_bytes());
        hasher.update(address.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    /// `None` for a pair never seen; else the id of its finding (0: none).
    pub fn get(&self, pair: u64) -> Option<u32> {
        if let Some(id) = self.recent.get(&pair) {
            return Some(*id);
        }
        self.hashes
            .binary_search(&pair)
            .ok()
            .map(|index| self.ids[index])
    }

    /// Remembers `pair` with the finding id `id` (0: none).
    pub fn set(&mut self, pair: u64, id: i64) {
        let id = u32::try_from(id).unwrap_or(0);
        self.fresh.push((pair as i64, i64::from(id)));
        if let Ok(index) = self.hashes.binary_search(&pair) {
            self.ids[index] = id;
            return;
        }
        self.recent.insert(pair, id);
        if self.recent.len() >= MERGE_AT {
            self.merge();
        }
    }

    /// Merges the recent map into the sorted arrays, from the back, growing them exactly.
    fn merge(&mut self) {
        let mut chunk: Vec<(u64, u32)> = self.recent.drain().collect();
        chunk.sort_unstable();
        let old = self.hashes.len();
        let len = old + chunk.len();
        self.hashes.reserve_exact(chunk.len());
        self.ids.reserve_exact(chunk.len());
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

    /// The pairs added or given another id since the last call, as `(hash, id)`.
    pub fn take_fresh(&mut self) -> Vec<(i64, i64)> {
        std::mem::take(&mut self.fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_their_ids_across_merges_and_restores() {
        let mut pairs = KnownPairs::new(7);
        let hashes: Vec<u64> = (0..(MERGE_AT as u64 * 2 + 10))
            .map(|n| pairs.hash("p", &n.to_string()))
            .collect();
        for (n, &hash) in hashes.iter().enumerate() {
            assert_eq!(pairs.get(hash), None);
            pairs.set(hash, n as i64 % 3);
        }
        pairs.set(hashes[5], 99);
        assert!(pairs.hashes.windows(2).all(|w| w[0] < w[1]));
        for (n, &hash) in hashes.iter().enumerate() {
            let id = if n == 5 { 99 } else { n as u32 % 3 };
            assert_eq!(pairs.get(hash), Some(id));
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
        assert_eq!(again.get(hashes[5]), Some(99));
        assert_eq!(again.get(hashes[7]), Some(1));
        assert_eq!(again.get(again.hash("p", "new")), None);
        assert_ne!(KnownPairs::new(8).hash("p", "1"), again.hash("p", "1"));
    }
}
