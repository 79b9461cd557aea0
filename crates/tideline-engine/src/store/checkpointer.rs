//! checkpointer: a recording's WAL checkpoints, on a thread and a connection of their own, so
//! that the writer thread never stops to copy the WAL into the session file.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses `wal_autocheckpoint`: on
//! the writer thread, which then reads no frame for as long as it takes. At 1,000 events/s of
//! ~2 KiB that was 0.5–0.7 s (two fsyncs and ~64 MiB copied) every ~6.5 s, and the live list
//! stood still meanwhile (BENCHMARKS.md §3, seventeenth pass). SQLite's own advice for this is
//! to turn the automatic checkpoint off and run checkpoints "in a separate thread or process"
//! (<https://sqlite.org/wal.html>, "Automatic Checkpoint"); a PASSIVE checkpoint runs beside
//! the one writer without waiting for it (<https://sqlite.org/c3ref/wal_checkpoint_v2.html>).
//!
//! How: the writer's connection gets a WAL hook (<https://sqlite.org/c3ref/wal_hook.html>, the
//! one `wal_autocheckpoint` itself installs) that, after each commit, wakes the checkpointer
//! thread when the WAL holds as many pages as the connection's `wal_autocheckpoint` or more
//! (64 MiB once tuned for bulk writes: [`BULK_WAL_BYTES`](super::BULK_WAL_BYTES)), where
//! that automatic checkpoint ran its own. The hook sees the WAL's length since it last started
//! again, copied frames included, so past that size every commit wakes the thread until the
//! WAL starts again from its beginning, which a writer's transaction does only after a
//! checkpoint that copied everything (one that runs beside the writer copies the frames
//! committed before it began).
//! So that the WAL stays bounded when the checkpointer cannot keep up (a disk slower than the
//! stream, or readers that hold old frames), the writer checkpoints itself, as before, once the
//! WAL holds [`WRITER_CHECKPOINT_FACTOR`] times that: the WAL file can reach about that many
//! times its size before. A failed checkpoint loses nothing (the frames stay in the WAL); it is
//! tried again at the next wake, as SQLite's automatic checkpoint is.
//!
//! The hook is a plain function (rusqlite's `wal_hook`), so the thread's wake-up is found in a
//! thread-local of the writer thread, the only thread that commits on the writer's connection;
//! a [`Checkpointer`] cannot leave that thread (it is not `Send`).

use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::{CheckpointMode, Wal};

use super::{Session, StoreError};

/// The writer checkpoints on its own thread once the WAL holds this many times the size that
/// wakes the checkpointer: the checkpointer has fallen that far behind.
pub const WRITER_CHECKPOINT_FACTOR: c_int = 4;

/// What the WAL hook of the writer thread's connection does.
struct Hook {
    /// Wakes the checkpointer (a channel of one: a wake while one is pending is the same wake).
    wake: flume::Sender<()>,
    /// The WAL size, in pages, at which the checkpointer is woken …
    wake_at_pages: c_int,
    /// … and at which the writer checkpoints itself.
    writer_at_pages: c_int,
    /// Checkpoints of the main database the writer ran itself.
    by_writer: Cell<u64>,
}

thread_local! {
    /// The hook of the connection whose commits run on this thread.
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// The WAL hook: after each commit of the writer's connection, `pages` frames are in the WAL
/// of database `wal.name()`. Other databases of the connection (the attached notes) are
/// checkpointed here, as `wal_autocheckpoint` did.
fn on_commit(wal: &Wal, pages: c_int) -> rusqlite::Result<()> {
    HOOK.with_borrow(|hook| {
        let Some(hook) = hook else {
            // The checkpointer is gone and the connection's own setting was not given back (a
            // writer thread that panicked): SQLite's default automatic checkpoint.
            if pages >= SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES {
                checkpoint_here(wal);
            }
            return Ok(());
        };
        let main = wal.name() == c"main";
        if pages >= hook.writer_at_pages || (pages >= hook.wake_at_pages && !main) {
            if checkpoint_here(wal) && main {
                hook.by_writer.set(hook.by_writer.get() + 1);
            }
        } else if pages >= hook.wake_at_pages {
            let _ = hook.wake.try_send(());
        }
        Ok(())
    })
}

/// `wal_autocheckpoint`'s default (<https://sqlite.org/pragma.html#pragma_wal_autocheckpoint>).
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES: c_int = 1000;

/// A PASSIVE checkpoint in the commit's own thread; whether it ran. A failure is not passed on,
/// as SQLite's automatic checkpoint does not pass it on: the commit is done, and an error
/// returned from the hook would make the committed statement report one (`SQLITE_BUSY` while
/// the checkpointer is at work, say).
fn checkpoint_here(wal: &Wal) -> bool {
    wal.checkpoint_v2(CheckpointMode::PASSIVE).is_ok()
}

/// How many checkpoints of a recording's session file ran, and where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// On the checkpointer's thread (wakes whose checkpoint ran, whether or not it copied
    /// anything).
    pub by_thread: u64,
    /// On the writer thread, in a commit, that ran: the checkpointer had fallen behind.
    pub by_writer: u64,
}

/// The checkpointer of one bulk-writing connection (a recording's writer; the benchmark's bare
/// insert, so that its limit is a real one): its thread, and the hook on the connection.
/// Started and stopped on the thread that commits on that connection.
pub struct Checkpointer {
    /// Dropped to let the thread end.
    wake: Option<flume::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    by_thread: Arc<AtomicU64>,
    /// The connection's `wal_autocheckpoint` before, restored at [`Checkpointer::stop`].
    autocheckpoint_pages: i64,
    /// Not `Send`: the hook's state is in the starting thread's thread-local.
    _on_this_thread: PhantomData<*const ()>,
}

impl Checkpointer {
    /// Hooks `conn` (a connection in WAL mode) and gives its checkpoints to a thread of their
    /// own on `peer`, another read-write connection to the same file: the thread checkpoints
    /// where `conn`'s own automatic checkpoint ran (its `wal_autocheckpoint`, in pages; SQLite's
    /// default when automatic checkpoints are off, 0), `conn`'s commits themselves at
    /// [`WRITER_CHECKPOINT_FACTOR`] times that. Must run on the thread that commits on `conn`.
    /// Errors: the pragmas could not be read or the thread started.
    pub fn start(conn: &Connection, peer: Connection) -> Result<Checkpointer, StoreError> {
        let autocheckpoint: i64 =
            conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))?;
        let wake_at_pages = match c_int::try_from(autocheckpoint) {
            Ok(pages) if pages > 0 => pages,
            Ok(_) => SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES,
            Err(_) => c_int::MAX,
        };
        Checkpointer::start_at(
            conn,
            peer,
            wake_at_pages,
            wake_at_pages.saturating_mul(WRITER_CHECKPOINT_FACTOR),
        )
    }

    /// [`Checkpointer::start`] with its two thresholds, in pages of WAL.
    fn start_at(
        conn: &Connection,
        peer: Connection,
        wake_at_pages: c_int,
        writer_at_pages: c_int,
    ) -> Result<Checkpointer, StoreError> {
        let autocheckpoint_pages: i64 =
            conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))?;
        let (wake, woken) = flume::bounded(1);
        let by_thread = Arc::new(AtomicU64::new(0));
        let counted = by_thread.clone();
        let thread = std::thread::Builder::new()
            .name("tideline-checkpoint".into())
            .spawn(move || run(&peer, &woken, &counted))
            .map_err(|source| StoreError::Io {
                path: "checkpoint thread".into(),
                source,
            })?;
        HOOK.set(Some(Hook {
            wake: wake.clone(),
            wake_at_pages,
            writer_at_pages,
            by_writer: Cell::new(0),
        }));
        conn.wal_hook(Some(on_commit));
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            by_thread,
            autocheckpoint_pages,
            _on_this_thread: PhantomData,
        })
    }

    /// Gives `conn` (the connection it was started on) its automatic checkpoint back and ends
    /// the thread once its checkpoint, if one runs, is over. Errors: the pragma could not be
    /// set.
    pub fn stop(mut self, conn: &Connection) -> Result<Checkpoints, StoreError> {
        let restored = conn.pragma_update(None, "wal_autocheckpoint", self.autocheckpoint_pages);
        let by_writer = self.end_thread();
        restored?;
        Ok(Checkpoints {
            by_thread: self.by_thread.load(Ordering::Relaxed),
            by_writer,
        })
    }

    /// Unhooks this thread and ends the checkpointer's; returns the writer's own checkpoints.
    fn end_thread(&mut self) -> u64 {
        let by_writer = HOOK.take().map_or(0, |hook| hook.by_writer.get());
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        by_writer
    }
}

impl Drop for Checkpointer {
    /// Not stopped (a writer thread that panicked): the thread ends; a commit after it on the
    /// connection, still hooked, checkpoints at SQLite's default size (see [`on_commit`]).
    fn drop(&mut self) {
        self.end_thread();
    }
}

/// The thread: a PASSIVE checkpoint of the session file at each wake, until the writer ends.
fn run(conn: &Connection, woken: &flume::Receiver<()>, done: &AtomicU64) {
    while woken.recv().is_ok() {
        // A failure (a full disk, say) leaves the frames in the WAL for the next wake. The
        // pragma's row is (busy, frames in the WAL, frames copied): busy when another
        // checkpoint held the lock.
        let busy = conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(0)
        });
        if busy == Ok(0) {
            done.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Session {
    /// Starts a [`Checkpointer`] for this session's connection (a session opened by path for
    /// writing, on the thread that will commit on it): what the recorder's writer thread runs,
    /// and the benchmarks that time its writes. Errors: the second connection could not be
    /// opened, or see [`Checkpointer::start`].
    pub fn start_checkpointer(&self) -> Result<Checkpointer, StoreError> {
        Checkpointer::start(&self.conn, self.open_checkpointer()?)
    }

    /// Stops a checkpointer from [`Session::start_checkpointer`]: see [`Checkpointer::stop`].
    pub fn stop_checkpointer(&self, checkpointer: Checkpointer) -> Result<Checkpoints, StoreError> {
        checkpointer.stop(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tempfile::TempDir;

    use super::*;

    /// Pages of WAL left after `commits` commits of one 16 KiB row each (a page and a bit),
    /// with the thread woken at 8 pages and the writer checkpointing at `writer_at_pages`.
    fn commit_rows(path: &Path, commits: usize, writer_at_pages: c_int) -> (u64, Checkpoints) {
        let session = Session::open_or_create(path).unwrap();
        session.tune_for_bulk_writes().unwrap();
        session
            .conn
            .execute_batch("CREATE TABLE scratch (body BLOB)")
            .unwrap();
        let peer = session.open_checkpointer().unwrap();
        let checkpointer = Checkpointer::start_at(&session.conn, peer, 8, writer_at_pages).unwrap();
        for _ in 0..commits {
            session
                .conn
                .execute("INSERT INTO scratch VALUES (zeroblob(16000))", [])
                .unwrap();
            // A recording's commits are ~100 ms apart; these leave the thread a moment.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let checkpoints = checkpointer.stop(&session.conn).unwrap();
        // The connection's own automatic checkpoint is back (64 MiB of 16 KiB pages).
        let pages: i64 = session
            .conn
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .unwrap();
        assert_eq!(pages, 4096);
        let wal = std::fs::metadata(path.with_extension("tideline-wal")).unwrap();
        let rows: i64 = session
            .conn
            .query_row("SELECT count(*) FROM scratch", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, commits as i64);
        (wal.len() / 16_384, checkpoints)
    }

    #[test]
    fn the_thread_checkpoints_the_wal_and_the_writer_does_not() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("s.tideline");
        let (wal_pages, checkpoints) = commit_rows(&path, 200, c_int::MAX);
        assert!(checkpoints.by_thread > 0, "{checkpoints:?}");
        assert_eq!(checkpoints.by_writer, 0);
        // Without checkpoints the WAL would hold every row: over 400 pages.
        assert!(wal_pages < 200, "the WAL kept {wal_pages} pages");
    }

    #[test]
    fn the_writer_checkpoints_itself_once_the_wal_passes_its_own_bound() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("s.tideline");
        let (_, checkpoints) = commit_rows(&path, 50, 8);
        assert!(checkpoints.by_writer > 0, "{checkpoints:?}");
    }
}
