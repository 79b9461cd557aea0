//! write_lock: begins the store's write transactions so that they wait for the write lock of
//! the one database they write, and hold no other.
//!
//! SQLite (WAL mode) hands out one write lock per database file. Two ways of beginning a
//! transaction that reads before it writes go wrong:
//! - deferred, the transaction takes a read snapshot at its first read; when its first write
//!   then finds another connection holding the lock, SQLite returns `SQLITE_BUSY` at once,
//!   without calling the busy handler (it could deadlock otherwise), and `SQLITE_BUSY_SNAPSHOT`
//!   when another connection committed since the snapshot — "database is locked" in the middle
//!   of a recording;
//! - `BEGIN IMMEDIATE` waits for the lock through the busy handler, but takes the write lock
//!   of every attached database: the recorder's connection has the notes database attached,
//!   where findings and annotations are committed meanwhile by other connections.
//!
//! [`begin_writing`] begins deferred and makes the first statement a write to the one
//! database (`UPDATE … WHERE 0`: it takes the lock, waiting through the busy handler as any
//! first statement does, and changes no row), so every read after it sees the newest commit.
//! Source: <https://www.sqlite.org/lang_transaction.html> ("read transactions", `SQLITE_BUSY`),
//! <https://www.sqlite.org/wal.html> (`SQLITE_BUSY_SNAPSHOT`).

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// The database whose write lock a transaction takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteLock {
    /// The session file (`main`): events, bodies, indexes, digests, the chain.
    Session,
    /// The notes database (`notes`): findings, annotations, forwarding cursors.
    Notes,
}

impl WriteLock {
    /// A write to this database alone that changes nothing.
    const fn claim(self) -> &'static str {
        match self {
            WriteLock::Session => "UPDATE main.events SET seq = seq WHERE 0",
            WriteLock::Notes => "UPDATE notes.notes_meta SET value = value WHERE 0",
        }
    }
}

/// Begins a transaction on `conn` holding `lock`'s write lock (and no other), waiting for it
/// as long as the connection's busy timeout. Errors: SQLite's (`SQLITE_BUSY` once the timeout
/// has passed; an error when the connection is already in a transaction).
pub(crate) fn begin_writing(
    conn: &Connection,
    lock: WriteLock,
) -> Result<Transaction<'_>, rusqlite::Error> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
    tx.prepare_cached(lock.claim())?.execute([])?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_connections(dir: &std::path::Path) -> (Connection, Connection) {
        let path = dir.join("lock.db");
        let first = Connection::open(&path).unwrap();
        first
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE events (seq INTEGER PRIMARY KEY); \
                 INSERT INTO events VALUES (1);",
            )
            .unwrap();
        let second = Connection::open(&path).unwrap();
        for conn in [&first, &second] {
            conn.execute(
                "ATTACH DATABASE ?1 AS notes",
                [dir.join("notes.db").to_str()],
            )
            .unwrap();
        }
        first
            .execute_batch(
                "CREATE TABLE notes.notes_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            )
            .unwrap();
        (first, second)
    }

    #[test]
    fn a_writer_waits_for_the_lock_reads_the_newest_commit_and_leaves_the_other_database_free() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = two_connections(dir.path());
        second
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        let (held, holding) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let tx = begin_writing(&first, WriteLock::Session).unwrap();
            tx.execute("INSERT INTO events VALUES (2)", []).unwrap();
            held.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
            first
        });
        holding.recv().unwrap();
        // The notes are free while the session file is held.
        begin_writing(&second, WriteLock::Notes)
            .unwrap()
            .commit()
            .unwrap();
        // The session's lock is waited for, and what was committed meanwhile is read.
        let tx = begin_writing(&second, WriteLock::Session).unwrap();
        let newest: i64 = tx
            .query_row("SELECT max(seq) FROM events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(newest, 2);
        tx.execute("INSERT INTO events VALUES (3)", []).unwrap();
        tx.commit().unwrap();
        holder.join().unwrap();
    }

    #[test]
    fn a_deferred_transaction_that_reads_first_is_refused_at_once_which_is_why_this_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = two_connections(dir.path());
        second
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        let reading = second.unchecked_transaction().unwrap();
        let _: i64 = reading
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .unwrap();
        let held = begin_writing(&first, WriteLock::Session).unwrap();
        let started = std::time::Instant::now();
        let refused = reading.execute("INSERT INTO events VALUES (9)", []);
        assert!(refused.is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        drop(held);
    }
}
