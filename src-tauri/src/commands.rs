//! commands: what the page may call. Each is thin: parse, call the engine or the host, map
//! errors. Reads run on the blocking pool against the session's read connection.

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tideline_engine::store::Session;
use tideline_engine::timeline::{
    self, ChangeDetail, ChangePage, Facets, HistoryEntry, QuarantineEntry, TimelineQuery,
};

use crate::error::CommandError;
use crate::host::{LiveStatus, SessionHost, SessionInfo};

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
    .map_err(|error| CommandError::SessionFolder(format!("read task failed: {error}")))?
}

#[tauri::command]
pub async fn start_demo(host: State<'_, SessionHost>) -> Result<SessionInfo, CommandError> {
    host.start_demo().await
}

#[tauri::command]
pub async fn connect_stream(
    host: State<'_, SessionHost>,
    endpoint: String,
    api_key: String,
) -> Result<SessionInfo, CommandError> {
    host.connect(&endpoint, api_key).await
}

/// Opens `path`, or asks for one with the native dialog when `path` is null.
#[tauri::command]
pub async fn open_session(
    app: AppHandle,
    host: State<'_, SessionHost>,
    path: Option<String>,
) -> Result<Option<SessionInfo>, CommandError> {
    let path = match path {
        Some(path) => PathBuf::from(path),
        None => {
            let picked = tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .set_title("Open a Tideline session")
                    .add_filter("Tideline session", &["tideline"])
                    .blocking_pick_file()
            })
            .await
            .map_err(|error| CommandError::Dialog(error.to_string()))?;
            match picked {
                None => return Ok(None),
                Some(file) => file
                    .into_path()
                    .map_err(|error| CommandError::Dialog(error.to_string()))?,
            }
        }
    };
    host.open(&path).map(Some)
}

#[tauri::command]
pub fn current_session(host: State<'_, SessionHost>) -> Option<SessionInfo> {
    host.current()
}

#[tauri::command]
pub async fn list_changes(
    host: State<'_, SessionHost>,
    query: TimelineQuery,
    offset: u64,
    limit: u64,
) -> Result<ChangePage, CommandError> {
    read(&host, move |session| {
        Ok(timeline::list_changes(session, &query, offset, limit)?)
    })
    .await
}

#[tauri::command]
pub async fn facets(
    host: State<'_, SessionHost>,
    query: TimelineQuery,
) -> Result<Facets, CommandError> {
    read(&host, move |session| Ok(timeline::facets(session, &query)?)).await
}

#[tauri::command]
pub async fn change_detail(
    host: State<'_, SessionHost>,
    seq: i64,
) -> Result<ChangeDetail, CommandError> {
    read(&host, move |session| {
        timeline::change_detail(session, seq)?.ok_or(CommandError::NoSuchChange(seq))
    })
    .await
}

#[tauri::command]
pub async fn asset_history(
    host: State<'_, SessionHost>,
    asset_name: String,
) -> Result<Vec<HistoryEntry>, CommandError> {
    read(&host, move |session| {
        Ok(timeline::asset_history(session, &asset_name)?)
    })
    .await
}

#[tauri::command]
pub async fn quarantined(
    host: State<'_, SessionHost>,
) -> Result<Vec<QuarantineEntry>, CommandError> {
    read(&host, |session| Ok(timeline::quarantine_entries(session)?)).await
}

/// Pushes the live status now and whenever it changes, until the page goes away.
#[tauri::command]
pub fn watch_live(host: State<'_, SessionHost>, on_status: Channel<LiveStatus>) {
    let mut live = host.live();
    tauri::async_runtime::spawn(async move {
        loop {
            let status = live.borrow_and_update().clone();
            if on_status.send(status).is_err() || live.changed().await.is_err() {
                return;
            }
        }
    });
}
