//! commands: what the page may call. Each is thin: parse, call the engine or the host, map
//! errors. Reads and writes of the session run on the blocking pool.

pub mod annotations;
pub mod detections;
pub mod forwarding;
pub mod session;
pub mod tasks;
pub mod timeline;

use tideline_engine::store::Session;

use crate::error::CommandError;
use crate::host::SessionHost;

/// Runs `read` on the open session's read connection, off the async runtime.
async fn read<T: Send + 'static>(
    host: &SessionHost,
    read: impl FnOnce(&Session) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let reader = host.reader()?;
    tauri::async_runtime::spawn_blocking(move || {
        let session = reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&session)
    })
    .await
    .map_err(CommandError::Background)?
}

/// Runs `work` on a connection of its own to the open session (long jobs: exports, imports,
/// verification), so the change list keeps answering meanwhile.
async fn own_connection<T: Send + 'static>(
    host: &SessionHost,
    work: impl FnOnce(&mut Session) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let path = host.path()?;
    tauri::async_runtime::spawn_blocking(move || work(&mut Session::open(&path)?))
        .await
        .map_err(CommandError::Background)?
}
