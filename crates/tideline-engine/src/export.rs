//! export: the timeline as CSV (RFC 4180, UTF-8, one row per event in time order), streamed
//! row by row so any session exports in constant memory.
//!
//! Every cell that a spreadsheet would evaluate as a formula is neutralized as OWASP
//! recommends (a leading `'`); the event's text is otherwise written verbatim.

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value;

use crate::diff;
use crate::store::{Session, StoreError, StoredEvent, format_time};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "time",
    "change",
    "asset",
    "asset_name",
    "asset_type",
    "provider",
    "account",
    "region",
    "action",
    "principal",
    "assumed_role",
    "method",
    "source_ip",
    "user_agent",
    "changes",
    "event_id",
    "source",
];

/// How many field changes the `changes` cell lists before it summarises the rest.
const CHANGES_LISTED: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes every event of `session` as CSV to `out`; returns the number of rows.
pub fn export_csv(session: &Session, out: impl Write) -> Result<u64, ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_COLUMNS)?;
    let mut rows = 0u64;
    session.for_each_event(|event| {
        writer.write_record(
            csv_row(&event)
                .iter()
                .map(|cell| neutralize_formula(cell).into_owned()),
        )?;
        rows += 1;
        Ok::<(), ExportError>(())
    })?;
    writer.flush().map_err(csv::Error::from)?;
    Ok(rows)
}

fn csv_row(event: &StoredEvent) -> [String; 17] {
    let body: Value = serde_json::from_str(&event.body).unwrap_or(Value::Null);
    let data = &body["data"];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let or_empty = |value: &Option<String>| value.clone().unwrap_or_default();
    let asset = event
        .asset_display
        .clone()
        .or_else(|| data["asset"]["provider_id"].as_str().map(str::to_owned))
        .or_else(|| event.asset_name.clone())
        .unwrap_or_default();
    [
        format_time(event.time),
        event
            .change
            .map(|change| change.as_str().to_owned())
            .unwrap_or_else(|| event.event_type.clone()),
        asset,
        or_empty(&event.asset_name),
        or_empty(&event.asset_type),
        or_empty(&event.asset_provider),
        or_empty(&event.asset_account),
        or_empty(&event.asset_region),
        or_empty(&event.action),
        or_empty(&event.principal),
        or_empty(&event.assumed_role),
        or_empty(&event.method),
        or_empty(&event.source_ip),
        text(&data["attribution"]["user_agent"]),
        changes_summary(event, data),
        event.event_id.clone(),
        event.source.clone(),
    ]
}

/// A one-line summary of what changed: the field changes of an update, "created" or "deleted".
fn changes_summary(event: &StoredEvent, data: &Value) -> String {
    use crate::model::ChangeKind;
    let config = data.get("config").filter(|value| !value.is_null());
    let previous = data.get("previous_config").filter(|value| !value.is_null());
    match (event.change, previous, config) {
        (Some(ChangeKind::Create), _, _) => "created".to_owned(),
        (Some(ChangeKind::Delete), _, _) => "deleted".to_owned(),
        (Some(ChangeKind::Update), Some(previous), Some(config)) => {
            let changes = diff::field_changes(previous, config);
            if changes.is_empty() {
                "no configuration change".to_owned()
            } else {
                diff::summarize(&changes, CHANGES_LISTED)
            }
        }
        (Some(ChangeKind::Update), None, _) => "previous configuration unknown".to_owned(),
        (Some(ChangeKind::Update), Some(_), None) => "new configuration missing".to_owned(),
        (None, _, _) => String::new(),
    }
}

/// OWASP's CSV-injection defence: a cell starting with `=`, `+`, `-`, `@`, tab or carriage
/// return is prefixed with `'` so spreadsheets show it as text instead of running it.
pub fn neutralize_formula(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized_and_others_kept_verbatim() {
        for (cell, expected) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("jdoe", "jdoe"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralize_formula(cell), expected);
        }
    }
}
