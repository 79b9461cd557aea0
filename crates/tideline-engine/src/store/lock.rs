//! lock: one writer per session. A recorder (or an import) holds an exclusive advisory lock on
//! `<session>.lock` beside the session file for as long as it writes; a second writer is refused
//! at once, told which process records. The kernel releases the lock when the process exits,
//! however it exits (kill -9 included), so a stale lock file never blocks anyone.
//!
//! The lock is not taken on the session file itself: SQLite uses POSIX record locks on it, and
//! closing any other descriptor of that file would silently drop them (POSIX semantics).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// The lock file of the session at `session`: its real path (links resolved, so two names of
/// one file share one lock) with `.lock` appended.
pub fn lock_path(session: &Path) -> PathBuf {
    let real = std::fs::canonicalize(session).unwrap_or_else(|_| {
        // A session not created yet: resolve its folder.
        match (session.parent(), session.file_name()) {
            (Some(folder), Some(name)) if !folder.as_os_str().is_empty() => {
                std::fs::canonicalize(folder)
                    .map(|folder| folder.join(name))
                    .unwrap_or_else(|_| session.to_owned())
            }
            _ => session.to_owned(),
        }
    });
    let mut name = real.into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// How long a recorder retries a lock held only for a moment (a reviewer's look).
const BRIEF_HOLD: std::time::Duration = std::time::Duration::from_millis(200);

/// A held recording lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct RecordingLock {
    _file: File,
}

impl RecordingLock {
    /// Takes the session's recording lock, or says which process holds it
    /// ([`StoreError::BeingRecorded`]). Creates `<session>.lock` if needed and writes this
    /// process id into it.
    pub(crate) fn acquire(session: &Path) -> Result<RecordingLock, StoreError> {
        let path = lock_path(session);
        let io_error = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let started = std::time::Instant::now();
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_error)?;
            match file.try_lock() {
                Ok(()) => {}
                // A reviewer looks with a shared lock for an instant; a recorder holds it.
                Err(TryLockError::WouldBlock) if started.elapsed() < BRIEF_HOLD => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::BeingRecorded {
                        path: session.to_owned(),
                        pid: read_pid(&mut file),
                    });
                }
                Err(TryLockError::Error(source)) => return Err(io_error(source)),
            }
            // The file may have been unlinked (a failed creation cleaning up) between our open
            // and our lock: then another writer can lock a new file at the path. Lock again.
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0).map_err(io_error)?;
            file.seek(SeekFrom::Start(0)).map_err(io_error)?;
            writeln!(file, "{}", std::process::id()).map_err(io_error)?;
            file.flush().map_err(io_error)?;
            return Ok(RecordingLock { _file: file });
        }
    }
}

/// Whether the open `file` is the file now at `path` (same device and inode).
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Whether a recorder holds the session's lock right now, and its process id if it wrote one.
/// Never creates or changes a file (a reviewer only looks).
/// A lock file that exists but cannot be opened (another user's) is taken as held: reading the
/// session as if nobody wrote it would be the worse mistake.
pub fn recorder_of(session: &Path) -> Option<Option<u32>> {
    let mut file = match File::open(lock_path(session)) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(_) => return Some(None),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => Some(read_pid(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
