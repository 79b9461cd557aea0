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

/// The lock file of the session at `session`: the same path with `.lock` appended.
pub fn lock_path(session: &Path) -> PathBuf {
    let mut name = session.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::BeingRecorded {
                    path: session.to_owned(),
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        file.set_len(0).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        Ok(RecordingLock { _file: file })
    }
}

/// Whether a recorder holds the session's lock right now, and its process id if it wrote one.
/// Never creates or changes a file (a reviewer only looks).
pub fn recorder_of(session: &Path) -> Option<Option<u32>> {
    let mut file = File::open(lock_path(session)).ok()?;
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
