//! Findings, the rules' settings and the insight charts' numbers.

use std::sync::Arc;

use tauri::State;
use tideline_engine::detect::{DetectionSettings, FindingsOverview, FindingsQuery, RuleStatus};
use tideline_engine::insights::{self, ChangeRate, Insights};
use tideline_engine::timeline::TimelineQuery;

use super::read;
use crate::detections::Detections;
use crate::error::CommandError;
use crate::host::SessionHost;

/// The Findings panel's page of the open session's findings (most severe first, then newest)
/// and their counts: never every finding, however many there are.
#[tauri::command]
pub async fn findings(
    host: State<'_, SessionHost>,
    query: FindingsQuery,
) -> Result<FindingsOverview, CommandError> {
    read(&host, move |session| Ok(session.findings_overview(&query)?)).await
}

/// Which rules run, and why one does not.
#[tauri::command]
pub fn rule_statuses(host: State<'_, SessionHost>) -> Vec<RuleStatus> {
    host.rule_statuses()
}

#[tauri::command]
pub fn detection_settings(detections: State<'_, Arc<Detections>>) -> DetectionSettings {
    detections.settings()
}

/// Saves the settings; the open session's findings are rebuilt with them.
#[tauri::command]
pub fn save_detection_settings(
    detections: State<'_, Arc<Detections>>,
    settings: DetectionSettings,
) -> Result<(), CommandError> {
    detections.save(settings)
}

/// The list's histogram: the change rate of `query` (the page sends its filters without the
/// time range, so a brushed range can be widened again).
#[tauri::command]
pub async fn change_rate(
    host: State<'_, SessionHost>,
    query: TimelineQuery,
) -> Result<ChangeRate, CommandError> {
    read(&host, move |session| {
        Ok(insights::change_rate(session, &query)?)
    })
    .await
}

#[tauri::command]
pub async fn insights(
    host: State<'_, SessionHost>,
    query: TimelineQuery,
) -> Result<Insights, CommandError> {
    read(&host, move |session| {
        Ok(insights::insights(session, &query)?)
    })
    .await
}
