//! The analyst's stars, tags and comments. Each returns the event's annotations as they now are.

use chrono::Utc;
use tauri::State;
use tideline_engine::store::{Annotations, Session, StoreError};

use super::read;
use crate::error::CommandError;
use crate::host::SessionHost;

/// Applies `change` to event `seq` and reads its annotations back.
async fn annotate(
    host: &SessionHost,
    seq: i64,
    change: impl FnOnce(&Session) -> Result<(), StoreError> + Send + 'static,
) -> Result<Annotations, CommandError> {
    read(host, move |session| {
        change(session)?;
        Ok(session.annotations(seq)?)
    })
    .await
}

#[tauri::command]
pub async fn set_starred(
    host: State<'_, SessionHost>,
    seq: i64,
    starred: bool,
) -> Result<Annotations, CommandError> {
    annotate(&host, seq, move |session| {
        session.set_starred(seq, starred, Utc::now())
    })
    .await
}

#[tauri::command]
pub async fn add_tag(
    host: State<'_, SessionHost>,
    seq: i64,
    tag: String,
) -> Result<Annotations, CommandError> {
    annotate(&host, seq, move |session| session.add_tag(seq, &tag)).await
}

#[tauri::command]
pub async fn remove_tag(
    host: State<'_, SessionHost>,
    seq: i64,
    tag: String,
) -> Result<Annotations, CommandError> {
    annotate(&host, seq, move |session| session.remove_tag(seq, &tag)).await
}

#[tauri::command]
pub async fn add_comment(
    host: State<'_, SessionHost>,
    seq: i64,
    body: String,
) -> Result<Annotations, CommandError> {
    annotate(&host, seq, move |session| {
        session.add_comment(seq, &body, Utc::now()).map(|_| ())
    })
    .await
}

#[tauri::command]
pub async fn delete_comment(
    host: State<'_, SessionHost>,
    seq: i64,
    comment_id: i64,
) -> Result<Annotations, CommandError> {
    annotate(&host, seq, move |session| {
        session.delete_comment(seq, comment_id)
    })
    .await
}
