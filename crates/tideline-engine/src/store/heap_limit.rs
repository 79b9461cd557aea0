//! heap_limit: SQLite's soft heap limit, process-wide, held low while a bulk job runs, so that
//! the page caches of every connection give pages back instead of each growing to its own
//! `cache_size`.
//!
//! SQLite's caches share one pool of pages in this build (`SQLITE_ENABLE_MEMORY_MANAGEMENT`),
//! and under the soft heap limit it recycles that pool's least recently used pages before it
//! allocates more (<https://sqlite.org/c3ref/hard_heap_limit64.html>). A findings rebuild keeps
//! three connections (the event reader's, the rules' and the findings writer's) whose caches
//! and a batch's dirty pages reached 47 MB at 1,000,000 events; under a 16 MiB limit they hold
//! 16 MB, in the same time (BENCHMARKS.md, "Ninth pass").
//!
//! The limit is the process's, not a connection's: while a rebuild runs in the app, a
//! recorder's writer in the same process (its 64 MiB cache) and the list's reads hold fewer
//! pages too. Their pages are the OS's file cache's as well, so this costs a copy, not a read.

use std::sync::Mutex;

/// The limits held now (the lowest is in force) and the limit in force before the first.
struct Held {
    limits: Vec<i64>,
    before: i64,
}

static HELD: Mutex<Held> = Mutex::new(Held {
    limits: Vec::new(),
    before: 0,
});

/// SQLite's soft heap limit, in bytes (0: none), set to `bytes` when non-negative; returns the
/// limit before. A process-wide setting, thread-safe in SQLite.
fn soft_heap_limit(bytes: i64) -> i64 {
    // SAFETY: `sqlite3_soft_heap_limit64` takes a plain integer and may be called at any time
    // from any thread (it initializes SQLite if need be); a negative argument only reads.
    unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64(bytes) }
}

/// While held, SQLite's soft heap limit is at most `bytes` (the lowest of the limits held at
/// once); when the last is let go, the limit in force before the first comes back.
#[must_use = "the limit holds only while the bound is kept"]
pub struct SqliteHeapBound {
    bytes: i64,
}

/// Holds SQLite's soft heap limit at or below `bytes` (at least 1 MiB) until the returned
/// bound is dropped.
pub fn bound_sqlite_heap(bytes: i64) -> SqliteHeapBound {
    let bytes = bytes.max(1 << 20);
    let mut held = HELD.lock().unwrap_or_else(|poison| poison.into_inner());
    if held.limits.is_empty() {
        held.before = soft_heap_limit(-1);
    }
    held.limits.push(bytes);
    let lowest = held.limits.iter().copied().min().unwrap_or(bytes);
    soft_heap_limit(lowest);
    SqliteHeapBound { bytes }
}

impl Drop for SqliteHeapBound {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(at) = held.limits.iter().position(|bytes| *bytes == self.bytes) {
            held.limits.swap_remove(at);
        }
        let next = held.limits.iter().copied().min().unwrap_or(held.before);
        soft_heap_limit(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit in force, and how many bounds are held, read together.
    fn state() -> (i64, usize) {
        let held = HELD.lock().unwrap();
        (soft_heap_limit(-1), held.limits.len())
    }

    #[test]
    fn the_lowest_bound_held_is_in_force_and_the_limit_before_comes_back_after_the_last() {
        // Other tests' rebuilds may hold a bound meanwhile (16 MiB): every check allows for
        // a lower limit held by them, and the last one applies only when none is held.
        let (before, others) = state();
        let wide = bound_sqlite_heap(64 << 20);
        let in_force = state().0;
        assert!(in_force > 0 && in_force <= 64 << 20, "{in_force}");
        let narrow = bound_sqlite_heap(2 << 20);
        assert!(state().0 <= 2 << 20);
        let tiny = bound_sqlite_heap(0);
        assert_eq!(state().0, 1 << 20, "at least 1 MiB");
        drop(tiny);
        assert!(state().0 <= 2 << 20 && state().0 > 1 << 20);
        drop(narrow);
        let in_force = state().0;
        assert!(in_force > 2 << 20 && in_force <= 64 << 20, "{in_force}");
        drop(wide);
        let (after, holders) = state();
        if holders == 0 && others == 0 {
            assert_eq!(after, before);
        }
    }
}
