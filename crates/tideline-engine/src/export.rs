//! export: hand the timeline on — CSV for a spreadsheet, NDJSON of the verbatim events for
//! another Tideline (re-importable), and Timesketch's CSV for a team's timeline analysis.
//!
//! Exports stream row by row, so any session exports in constant memory, report progress and
//! can be cancelled. In both CSV formats every cell that a spreadsheet would evaluate as a
//! formula is neutralized as OWASP recommends (a leading `'`); the text is otherwise verbatim.
//! NDJSON lines are the events' verbatim JSON, except that line breaks between JSON tokens
//! (possible only in an event that arrived over several `data:` lines) become spaces.

use std::borrow::Cow;
use std::io::Write;

use crate::json;
use crate::store::{Annotations, Session, StoreError, StoredEvent};
use crate::timeline::{ChangeRow, TimelineQuery, change_row};

/// The CSV columns, in order: the timeline's, then the analyst's annotations.
pub const CSV_COLUMNS: [&str; 21] = [
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
    "starred",
    "tags",
    "comments",
    "findings",
];

/// Timesketch's required columns first (`message`, `datetime` in ISO 8601, `timestamp_desc`,
/// plus `timestamp` in microseconds), then ours.
pub const TIMESKETCH_COLUMNS: [&str; 4] = ["message", "datetime", "timestamp_desc", "timestamp"];

/// How often progress is reported, in rows.
const PROGRESS_EVERY: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with [`CSV_COLUMNS`].
    Csv,
    /// One verbatim event JSON per line.
    Ndjson,
    /// CSV for Timesketch's importer.
    Timesketch,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the CSV: {0}")]
    Csv(csv::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("the export was cancelled")]
    Cancelled,
}

/// A CSV writer's I/O failure (a full disk, a reader that went away) is an I/O error like any
/// other export's, so callers see `ExportError::Io` and its `io::ErrorKind` either way.
impl From<csv::Error> for ExportError {
    fn from(error: csv::Error) -> ExportError {
        if !error.is_io_error() {
            return ExportError::Csv(error);
        }
        match error.into_kind() {
            csv::ErrorKind::Io(io) => ExportError::Io(io),
            _ => unreachable!("csv::Error::is_io_error holds only for ErrorKind::Io"),
        }
    }
}

/// Reports `(rows done, rows in all)`; returning `false` cancels.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Writes the events of `session` (those matching `filter`, or all) to `out` as `format`, in
/// time order. Returns the number of rows written.
pub fn export(
    session: &Session,
    format: ExportFormat,
    filter: Option<&TimelineQuery>,
    out: impl Write,
    progress: Progress<'_>,
) -> Result<u64, ExportError> {
    let total = session.count_events(filter)?;
    let mut sink = match format {
        ExportFormat::Csv => Sink::Csv(csv_writer(out, &CSV_COLUMNS)?),
        ExportFormat::Timesketch => {
            let header: Vec<&str> = TIMESKETCH_COLUMNS
                .iter()
                .chain(CSV_COLUMNS.iter())
                .copied()
                .collect();
            Sink::Timesketch(csv_writer(out, &header)?)
        }
        ExportFormat::Ndjson => Sink::Ndjson(std::io::BufWriter::new(out)),
    };
    let mut rows = 0u64;
    if !progress(0, total) {
        return Err(ExportError::Cancelled);
    }
    session.for_each_event(filter, |event| {
        sink.write(session, &event)?;
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) && !progress(rows, total) {
            return Err(ExportError::Cancelled);
        }
        Ok::<(), ExportError>(())
    })?;
    sink.finish()?;
    progress(rows, total);
    Ok(rows)
}

/// Writes every event of `session` as CSV (the CLI's and the tests' shorthand).
pub fn export_csv(session: &Session, out: impl Write) -> Result<u64, ExportError> {
    export(session, ExportFormat::Csv, None, out, &mut |_, _| true)
}

enum Sink<W: Write> {
    Csv(csv::Writer<W>),
    Timesketch(csv::Writer<W>),
    Ndjson(std::io::BufWriter<W>),
}

fn csv_writer<W: Write>(out: W, header: &[&str]) -> Result<csv::Writer<W>, ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header)?;
    Ok(writer)
}

impl<W: Write> Sink<W> {
    fn write(&mut self, session: &Session, event: &StoredEvent) -> Result<(), ExportError> {
        match self {
            Sink::Ndjson(out) => {
                out.write_all(one_line(&event.body).as_bytes())?;
                out.write_all(b"\n")?;
            }
            Sink::Csv(writer) => {
                let cells = csv_cells(session, event)?;
                writer.write_record(
                    cells
                        .iter()
                        .map(|cell| neutralize_formula(cell))
                        .map(Cow::into_owned),
                )?;
            }
            Sink::Timesketch(writer) => {
                let cells = csv_cells(session, event)?;
                let message = timesketch_message(&cells);
                let lead = [
                    message,
                    event
                        .time
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                    "Cloud change time".to_owned(),
                    event.time.timestamp_micros().to_string(),
                ];
                let all = lead.iter().chain(cells.iter());
                writer.write_record(
                    all.map(|cell| neutralize_formula(cell))
                        .map(Cow::into_owned),
                )?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        match self {
            Sink::Csv(mut writer) | Sink::Timesketch(mut writer) => writer.flush()?,
            Sink::Ndjson(mut out) => out.flush()?,
        }
        Ok(())
    }
}

/// The cells of [`CSV_COLUMNS`] for one event.
fn csv_cells(session: &Session, event: &StoredEvent) -> Result<[String; 21], ExportError> {
    let body = json::parse_or_null(&event.body);
    let ChangeRow {
        time,
        change,
        event_type,
        asset_label,
        asset_name,
        asset_type,
        region,
        account,
        action,
        principal,
        method,
        source_ip,
        summary,
        ..
    } = change_row(event, &body);
    let Annotations {
        starred,
        tags,
        comments,
    } = session.annotations(event.seq)?;
    let text = |value: Option<String>| value.unwrap_or_default();
    Ok([
        time,
        change
            .map(|change| change.as_str().to_owned())
            .unwrap_or(event_type),
        asset_label,
        text(asset_name),
        text(asset_type),
        text(event.asset_provider.clone()),
        text(account),
        text(region),
        text(action),
        text(principal),
        text(event.assumed_role.clone()),
        text(method),
        text(source_ip),
        text(json::text(&body["data"]["attribution"]["user_agent"]).map(str::to_owned)),
        summary,
        event.event_id.clone(),
        event.source.clone(),
        if starred { "yes" } else { "" }.to_owned(),
        tags.join("; "),
        comments
            .iter()
            .map(|comment| comment.body.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        session
            .finding_rules_of(&[event.seq])?
            .remove(&event.seq)
            .unwrap_or_default()
            .join("; "),
    ])
}

/// "jdoe (console) AuthorizeSecurityGroupIngress on prod-db-sg [network.firewall]: added …"
fn timesketch_message(cells: &[String; 21]) -> String {
    let [
        _,
        change,
        asset,
        _,
        asset_type,
        _,
        _,
        _,
        action,
        principal,
        _,
        method,
        _,
        _,
        changes,
        ..,
    ] = cells;
    let who = if principal.is_empty() {
        "unknown principal"
    } else {
        principal.rsplit('/').next().unwrap_or(principal)
    };
    let what = if action.is_empty() { change } else { action };
    let mut message = format!(
        "{who} ({}) {what} on {asset}",
        if method.is_empty() {
            "unknown method"
        } else {
            method
        }
    );
    if !asset_type.is_empty() {
        message.push_str(&format!(" [{asset_type}]"));
    }
    if !changes.is_empty() {
        message.push_str(": ");
        message.push_str(changes);
    }
    message
}

/// The findings as CSV: one row per finding, with the events behind it.
pub fn export_findings_csv(session: &Session, out: impl Write) -> Result<u64, ExportError> {
    let mut writer = csv_writer(
        out,
        &[
            "time",
            "rule",
            "severity",
            "asset",
            "principal",
            "summary",
            "events",
        ],
    )?;
    let findings = session.findings()?;
    for finding in &findings {
        let events: Vec<&str> = finding.events.iter().map(|e| e.event_id.as_str()).collect();
        let cells = [
            finding.time.clone(),
            finding.rule.as_str().to_owned(),
            finding.severity.as_str().to_owned(),
            finding.asset.clone().unwrap_or_default(),
            finding.principal.clone().unwrap_or_default(),
            finding.summary.clone(),
            events.join("; "),
        ];
        writer.write_record(
            cells
                .iter()
                .map(|cell| neutralize_formula(cell))
                .map(Cow::into_owned),
        )?;
    }
    writer.flush()?;
    Ok(findings.len() as u64)
}

/// An event's verbatim JSON on one line. JSON strings cannot hold a raw line break, so any in
/// the text is whitespace between tokens; it becomes a space (the only change NDJSON forces on
/// an event whose JSON arrived over several `data:` lines).
pub fn one_line(json: &str) -> Cow<'_, str> {
    if json.contains(['\n', '\r']) {
        Cow::Owned(json.replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(json)
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
