//! export: the timeline as CSV (RFC 4180, UTF-8, one row per event in time order), streamed
//! row by row so any session exports in constant memory.
//!
//! Every cell that a spreadsheet would evaluate as a formula is neutralized as OWASP
//! recommends (a leading `'`); the event's text is otherwise written verbatim.

use std::borrow::Cow;
use std::io::Write;

use serde_json::Value;

use crate::store::{Session, StoreError, StoredEvent};
use crate::timeline::change_row;

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
    let row = change_row(event, &body);
    let text = |value: Option<String>| value.unwrap_or_default();
    [
        row.time,
        row.change
            .map(|change| change.as_str().to_owned())
            .unwrap_or(row.event_type),
        row.asset_label,
        text(row.asset_name),
        text(row.asset_type),
        text(event.asset_provider.clone()),
        text(row.account),
        text(row.region),
        text(row.action),
        text(row.principal),
        text(event.assumed_role.clone()),
        text(row.method),
        text(row.source_ip),
        text(
            body["data"]["attribution"]["user_agent"]
                .as_str()
                .map(str::to_owned),
        ),
        row.summary,
        event.event_id.clone(),
        event.source.clone(),
    ]
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
