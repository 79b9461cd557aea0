//! Forwarding: the forwarding file the Forwarding dialog edits, and each destination's state
//! for the status bar (live from a recording, or from a reviewed session's cursors).

use std::sync::Arc;

use tauri::State;
use tideline_engine::forward::DestinationStatus;

use super::read;
use crate::error::CommandError;
use crate::forwarding::{ForwardingFile, ForwardingText};
use crate::host::SessionHost;

#[tauri::command]
pub fn forwarding_rules(file: State<'_, Arc<ForwardingFile>>) -> ForwardingText {
    file.text()
}

/// Checks and saves the forwarding file (empty: no forwarding); recordings started after it
/// forward by it.
#[tauri::command]
pub fn save_forwarding_rules(
    file: State<'_, Arc<ForwardingFile>>,
    text: String,
) -> Result<(), CommandError> {
    file.save(&text)
}

/// Each destination the open session forwards (or forwarded) to.
#[tauri::command]
pub async fn forwarding_status(
    host: State<'_, SessionHost>,
) -> Result<Vec<DestinationStatus>, CommandError> {
    if let Some(live) = host.live_forwarding() {
        return Ok(live);
    }
    read(&host, |session| {
        let newest = session.newest_seq()?.unwrap_or(0);
        Ok(session
            .forward_cursors()?
            .iter()
            .map(|(name, cursor)| DestinationStatus::of(name, cursor, newest))
            .collect())
    })
    .await
}
