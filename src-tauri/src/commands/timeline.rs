//! The change list and its detail: reads on the open session's read connection.

use tauri::State;
use tideline_engine::timeline::{
    self, AssetComparison, AssetState, ChangeDetail, ChangePage, Facets, HistoryEntry, PageCursor,
    PageStart, QuarantineEntry, TimelineQuery,
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
    after: Option<PageCursor>,
) -> Result<ChangePage, CommandError> {
    // The next page after a known row is read by key; a jump into the list by offset.
    let start = after.map_or(PageStart::Offset(offset), PageStart::After);
    read(&host, move |session| {
        Ok(timeline::list_changes(session, &query, start, limit)?)
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
    before: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<HistoryEntry>, CommandError> {
    read(&host, move |session| {
        Ok(timeline::asset_history(
            session,
            &asset_name,
            before,
            limit,
        )?)
    })
    .await
}

/// The asset as it was right after its event `seq` (a point of its history).
#[tauri::command]
pub async fn asset_state(
    host: State<'_, SessionHost>,
    asset_name: String,
    seq: i64,
) -> Result<AssetState, CommandError> {
    read(&host, move |session| {
        timeline::asset_state(session, &asset_name, seq)?.ok_or(CommandError::NoSuchChange(seq))
    })
    .await
}

/// The asset at two points of its history and the diff between them (older first).
#[tauri::command]
pub async fn compare_asset_states(
    host: State<'_, SessionHost>,
    asset_name: String,
    a: i64,
    b: i64,
) -> Result<AssetComparison, CommandError> {
    read(&host, move |session| {
        timeline::compare_asset_states(session, &asset_name, a, b)?
            .ok_or(CommandError::NoSuchChange(a))
    })
    .await
}

#[tauri::command]
pub async fn quarantined(
    host: State<'_, SessionHost>,
) -> Result<Vec<QuarantineEntry>, CommandError> {
    read(&host, |session| Ok(timeline::quarantine_entries(session)?)).await
}
