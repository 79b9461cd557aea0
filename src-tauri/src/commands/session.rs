//! Opening, recording, resuming, copying, checking and closing the session; the live status
//! and menu channels.

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tideline_engine::sessions::{self, SessionCard};
use tideline_engine::store::Verification;

use super::own_connection;
use crate::dialogs::{FileDialog, choose_file};
use crate::error::CommandError;
use crate::host::{LiveStatus, NewSession, SessionHost, SessionInfo};
use crate::menu::{self, MenuAction, MenuBridge};
use crate::recent::RecentSessions;

/// Remembers an opened or created session in File ▸ Open Recent.
fn remember(app: &AppHandle, info: &SessionInfo) {
    app.state::<RecentSessions>()
        .add(&PathBuf::from(&info.path));
    menu::refresh(app);
}

#[tauri::command]
pub async fn start_demo(
    app: AppHandle,
    host: State<'_, SessionHost>,
) -> Result<SessionInfo, CommandError> {
    let info = host.start_demo().await?;
    remember(&app, &info);
    Ok(info)
}

/// Starts recording an EventStream into a new session. The key is never sent back.
#[tauri::command]
pub async fn connect_stream(
    app: AppHandle,
    host: State<'_, SessionHost>,
    endpoint: String,
    api_key: String,
    name: Option<String>,
    incident: Option<String>,
) -> Result<SessionInfo, CommandError> {
    let new = NewSession {
        name: name.unwrap_or_default(),
        incident,
        endpoint,
        api_key,
    };
    let info = host.connect(new).await?;
    remember(&app, &info);
    Ok(info)
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
            let dialog = FileDialog::Open {
                title: "Open a Tideline session",
                filter: ("Tideline session", &["tideline"]),
                folder: Some(host.sessions_dir().to_owned()),
            };
            match choose_file(app.clone(), dialog).await? {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    let info = host.open(&path).await?;
    remember(&app, &info);
    Ok(Some(info))
}

/// The recent sessions (File ▸ Open Recent's list, newest first), each described for the start
/// screen: where it is, its size, name, events and time span. Reads each without writing to it.
#[tauri::command]
pub async fn recent_sessions(
    recent: State<'_, RecentSessions>,
) -> Result<Vec<SessionCard>, CommandError> {
    let paths = recent.list();
    tauri::async_runtime::spawn_blocking(move || {
        paths
            .iter()
            .map(|path| sessions::describe(std::path::Path::new(path)))
            .collect()
    })
    .await
    .map_err(CommandError::Background)
}

/// Shows a session file in the desktop's file manager: `path`, or the open session's file.
#[tauri::command]
pub async fn show_in_folder(
    host: State<'_, SessionHost>,
    path: Option<String>,
) -> Result<(), CommandError> {
    let path = match path {
        Some(path) => PathBuf::from(path),
        None => host.path()?,
    };
    tauri::async_runtime::spawn_blocking(move || tauri_plugin_opener::reveal_item_in_dir(path))
        .await
        .map_err(CommandError::Background)?
        .map_err(CommandError::FileManager)
}

/// The open session; fails once with the launch error when `--open FILE` could not open.
#[tauri::command]
pub fn current_session(host: State<'_, SessionHost>) -> Result<Option<SessionInfo>, CommandError> {
    if let Some(error) = host.take_launch_error() {
        return Err(error);
    }
    Ok(host.current())
}

/// Records the open session again from its stored stream position: a saved session resumed,
/// or a stopped or unreachable recording retried, with a new key and/or endpoint when given.
#[tauri::command]
pub async fn resume_recording(
    host: State<'_, SessionHost>,
    api_key: Option<String>,
    endpoint: Option<String>,
) -> Result<SessionInfo, CommandError> {
    host.resume(api_key, endpoint).await
}

#[tauri::command]
pub fn close_session(host: State<'_, SessionHost>) {
    host.close();
}

/// Saves a consistent copy of the open session where the user chooses; `None` if cancelled.
#[tauri::command]
pub async fn save_copy(
    app: AppHandle,
    host: State<'_, SessionHost>,
) -> Result<Option<String>, CommandError> {
    let current = host.path()?;
    let suggested = format!(
        "{}-copy.tideline",
        current
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("session")
    );
    let dialog = FileDialog::Save {
        title: "Save a copy of the session",
        suggested,
        filter: Some(("Tideline session", &["tideline"])),
    };
    let Some(destination) = choose_file(app, dialog).await? else {
        return Ok(None);
    };
    let shown = destination.display().to_string();
    own_connection(&host, move |session| Ok(session.save_copy(&destination)?)).await?;
    Ok(Some(shown))
}

/// Checks the session's integrity chain: `full` (the default) recomputes it over every stored
/// event; otherwise only the events stored since the last intact check continue the chain from
/// its head (a growing session, every few seconds).
#[tauri::command]
pub async fn verify_session(
    host: State<'_, SessionHost>,
    full: Option<bool>,
) -> Result<Verification, CommandError> {
    let path = host.path()?;
    let earlier = if full.unwrap_or(true) {
        None
    } else {
        host.last_verification()
    };
    let verification = own_connection(&host, move |session| {
        Ok(session.verify_after(earlier.as_ref())?)
    })
    .await?;
    host.keep_verification(&path, &verification);
    Ok(verification)
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

/// Sends File-menu choices to the page.
#[tauri::command]
pub fn watch_menu(bridge: State<'_, MenuBridge>, on_action: Channel<MenuAction>) {
    bridge.connect(on_action);
}
