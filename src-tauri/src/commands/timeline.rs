//! The change list and its detail: reads on the open session's read connection.

use tauri::State;
use tideline_engine::timeline::{
    self, ChangeDetail, ChangePage, Facets, HistoryEntry, QuarantineEntry, TimelineQuery,
};

use super::read;
use crate::error::CommandError;
use crate::host::SessionHost;

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
