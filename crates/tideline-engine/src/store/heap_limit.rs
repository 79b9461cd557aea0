//! heap_limit: SQLite's soft heap limit, process-wide, held low while a findings rebuild runs
//! and nothing in the process writes in bulk, so that SQLite's page caches give pages back
//! instead of each growing to its own `cache_size`.
//!
//! SQLite's caches share one pool of pages in this build (`SQLITE_ENABLE_MEMORY_MANAGEMENT`),
//! and under the soft heap limit it recycles that pool's least recently used pages before it
//! allocates more (<https://sqlite.org/c3ref/hard_heap_limit64.html>). The limit is soft: an
//! allocation over it still succeeds (it never causes `SQLITE_NOMEM`). A rebuild's three
//! connections (the event reader's, the rules' and the findings writer's) had SQLite hold
//! 47 MB at 1,000,000 events; under a 16 MiB limit it holds 16 MB, no slower within the noise
//! (BENCHMARKS.md, "Ninth pass").
//!
//! The limit is the whole process's: every connection's clean pages are recycled under it, and
//! while SQLite is over it each allocation first tries to free memory. A connection that writes
//! in bulk (a recorder's writer, an import) keeps its dirty pages up to its own `cache_size`
//! (64 MiB) whatever the limit, so it would hold SQLite over the limit and starve every other
//! cache. While a session tuned for bulk writes is open ([`BulkWriterPresence`]), no limit
//! is set: a rebuild beside a recording runs as before.

use std::sync::Mutex;

/// The bounds held now, the bulk writers open, and the limit in force before this module set
/// one (`Some` exactly while it has set one).
struct Held {
    limits: Vec<i64>,
    bulk_writers: usize,
    before: Option<i64>,
}

impl Held {
    /// The limit to hold now: the lowest bound held (and a lower one set before, if any),
    /// or `None` when nothing is held or a bulk writer is open.
    fn wanted(&self, current: i64) -> Option<i64> {
        if self.bulk_writers > 0 {
            return None;
        }
        let lowest = self.limits.iter().copied().min()?;
        let before = self.before.unwrap_or(current);
        Some(if before > 0 {
            lowest.min(before)
        } else {
            lowest
        })
    }

    /// Sets SQLite's limit to what is wanted now, or back to the one before.
    fn apply(&mut self) {
        let current = soft_heap_limit(-1).max(0);
        match self.wanted(current) {
            Some(limit) => {
                self.before.get_or_insert(current);
                soft_heap_limit(limit);
            }
            None => {
                if let Some(before) = self.before.take() {
                    soft_heap_limit(before);
                }
            }
        }
    }
}

static HELD: Mutex<Held> = Mutex::new(Held {
    limits: Vec::new(),
    bulk_writers: 0,
    before: None,
});

fn held() -> std::sync::MutexGuard<'static, Held> {
    HELD.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// SQLite's soft heap limit, in bytes (0: none), set to `bytes` when non-negative; returns the
/// limit before (-1 if SQLite could not initialize).
fn soft_heap_limit(bytes: i64) -> i64 {
    // SAFETY: `sqlite3_soft_heap_limit64` takes a plain integer and may be called at any time
    // from any thread (this build is `SQLITE_THREADSAFE=1`; it initializes SQLite if need be);
    // a negative argument only reads. This process never calls `sqlite3_config` or
    // `sqlite3_shutdown`, which it must not race.
    unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64(bytes) }
}

/// While held, SQLite's soft heap limit is at most `bytes` (the lowest of the bounds held at
/// once), unless a bulk writer is open; when the last is let go, the limit in force before
/// comes back. This module owns the limit while it holds one: a limit set otherwise meanwhile
/// is replaced.
#[must_use = "the limit holds only while the bound is kept"]
pub struct SqliteHeapBound {
    bytes: i64,
}

/// Holds SQLite's soft heap limit at or below `bytes` (at least 1 MiB) until the returned
/// bound is dropped.
pub fn bound_sqlite_heap(bytes: i64) -> SqliteHeapBound {
    let bytes = bytes.max(1 << 20);
    let mut held = held();
    held.limits.push(bytes);
    held.apply();
    SqliteHeapBound { bytes }
}

impl Drop for SqliteHeapBound {
    fn drop(&mut self) {
        let mut held = held();
        if let Some(at) = held.limits.iter().position(|bytes| *bytes == self.bytes) {
            held.limits.swap_remove(at);
        }
        held.apply();
    }
}

/// Held by a session tuned for bulk writes for as long as it is open: no soft heap limit is
/// set meanwhile (and one in force is lifted).
pub(super) struct BulkWriterPresence(());

/// Notes a bulk writer open until the returned presence is dropped.
pub(super) fn bulk_writer_present() -> BulkWriterPresence {
    let mut held = held();
    held.bulk_writers += 1;
    held.apply();
    BulkWriterPresence(())
}

impl Drop for BulkWriterPresence {
    fn drop(&mut self) {
        let mut held = held();
        held.bulk_writers = held.bulk_writers.saturating_sub(1);
        held.apply();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_wanted_is_the_lowest_held_and_none_beside_a_bulk_writer() {
        let held = |limits: &[i64], bulk_writers, before| Held {
            limits: limits.to_vec(),
            bulk_writers,
            before,
        };
        let mib = 1 << 20;
        // Nothing held: none set.
        assert_eq!(held(&[], 0, None).wanted(0), None);
        assert_eq!(held(&[], 0, None).wanted(8 * mib), None);
        // The lowest bound held.
        assert_eq!(held(&[64 * mib], 0, None).wanted(0), Some(64 * mib));
        assert_eq!(
            held(&[64 * mib, 2 * mib, 16 * mib], 0, None).wanted(0),
            Some(2 * mib)
        );
        // A lower limit set before is kept, whether read now or remembered.
        assert_eq!(held(&[16 * mib], 0, None).wanted(8 * mib), Some(8 * mib));
        assert_eq!(
            held(&[16 * mib], 0, Some(8 * mib)).wanted(16 * mib),
            Some(8 * mib)
        );
        assert_eq!(
            held(&[16 * mib], 0, Some(0)).wanted(16 * mib),
            Some(16 * mib)
        );
        // A bulk writer open: none.
        assert_eq!(held(&[16 * mib], 1, Some(0)).wanted(16 * mib), None);
    }

    /// The limit in force, how many bounds and bulk writers are held, read together.
    fn state() -> (i64, usize, usize) {
        let held = held();
        (soft_heap_limit(-1), held.limits.len(), held.bulk_writers)
    }

    #[test]
    fn the_lowest_bound_held_is_in_force_and_the_limit_before_comes_back_after_the_last() {
        // Other tests in this binary may hold bounds (a rebuild's 16 MiB) or open bulk writers
        // meanwhile: each check allows for them, and those that cannot are made only when
        // nothing else is held.
        let alone = || {
            let (_, limits, writers) = state();
            limits == 0 && writers == 0
        };
        let wide = bound_sqlite_heap(64 << 20);
        let narrow = bound_sqlite_heap(2 << 20);
        let tiny = bound_sqlite_heap(0);
        let (in_force, _, writers) = state();
        if writers == 0 {
            assert_eq!(in_force, 1 << 20, "at least 1 MiB, the lowest held");
        }
        // A bulk writer lifts it.
        let writer = bulk_writer_present();
        assert_eq!(state().0, 0, "no limit beside a bulk writer");
        drop(writer);
        drop(tiny);
        let (in_force, _, writers) = state();
        if writers == 0 {
            assert_eq!(in_force, 2 << 20);
        }
        drop((narrow, wide));
        if alone() {
            assert_eq!(state().0, 0, "the limit before (none) is back");
        }
    }

    #[test]
    fn a_session_tuned_for_bulk_writes_lifts_the_limit_while_it_is_open() {
        let dir = tempfile::TempDir::new().unwrap();
        let session =
            super::super::Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let bound = bound_sqlite_heap(16 << 20);
        session.tune_for_bulk_writes().unwrap();
        let (in_force, _, writers) = state();
        assert!(writers >= 1);
        assert_eq!(in_force, 0, "no limit while a bulk writer is open");
        drop(session);
        let (in_force, _, writers) = state();
        if writers == 0 {
            assert!(in_force > 0 && in_force <= 16 << 20, "{in_force}");
        }
        drop(bound);
    }
}
