//! export: hand the timeline on — CSV for a spreadsheet, NDJSON of the verbatim events for
//! another Tideline (re-importable), and Timesketch's CSV for a team's timeline analysis.
//!
//! Exports stream row by row, so any session exports in constant memory, report progress and
//! can be cancelled. In both CSV formats every cell that a spreadsheet would evaluate as a
//! formula is neutralized as OWASP recommends (a leading `'`); the text is otherwise verbatim.
//! NDJSON lines are the events' verbatim JSON, except that line breaks between JSON tokens
//! (possible only in an event that arrived over several `data:` lines) become spaces.
//!
//! A CSV row costs far more than reading its event (the body's configurations parsed and
//! diffed for the summary), so CSV rows are made on worker threads, a batch at a time, and
//! written in order ([`rows`]); the output is the same bytes a single thread would write.

mod body;
mod rows;

use std::borrow::Cow;
use std::io::Write;

use crate::json::Value;
use crate::model::ChangeKind;
use crate::store::{Annotations, Session, StoreError, StoredEvent, format_time};
use crate::timeline::{TimelineQuery, change_summary};
use body::{BodyView, DataView};

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
    if !progress(0, total) {
        return Err(ExportError::Cancelled);
    }
    let mut ticker = Ticker::new(total, &mut *progress);
    let rows = match format {
        ExportFormat::Ndjson => write_ndjson(session, filter, out, &mut ticker)?,
        ExportFormat::Csv => rows::write(session, filter, RowFormat::Csv, out, &mut ticker)?,
        ExportFormat::Timesketch => {
            rows::write(session, filter, RowFormat::Timesketch, out, &mut ticker)?
        }
    };
    progress(rows, total);
    Ok(rows)
}

/// Writes every event of `session` as CSV (the CLI's and the tests' shorthand).
pub fn export_csv(session: &Session, out: impl Write) -> Result<u64, ExportError> {
    export(session, ExportFormat::Csv, None, out, &mut |_, _| true)
}

/// Reports progress every [`PROGRESS_EVERY`] rows written and turns a `false` into
/// [`ExportError::Cancelled`].
struct Ticker<'p> {
    rows: u64,
    total: u64,
    progress: Progress<'p>,
}

impl<'p> Ticker<'p> {
    fn new(total: u64, progress: Progress<'p>) -> Self {
        Ticker {
            rows: 0,
            total,
            progress,
        }
    }

    /// `rows` more rows are written.
    fn advance(&mut self, rows: u64) -> Result<(), ExportError> {
        let before = self.rows / PROGRESS_EVERY;
        self.rows += rows;
        if self.rows / PROGRESS_EVERY != before && !(self.progress)(self.rows, self.total) {
            return Err(ExportError::Cancelled);
        }
        Ok(())
    }
}

fn write_ndjson(
    session: &Session,
    filter: Option<&TimelineQuery>,
    out: impl Write,
    ticker: &mut Ticker<'_>,
) -> Result<u64, ExportError> {
    let mut out = std::io::BufWriter::new(out);
    session.for_each_event(filter, |event| {
        out.write_all(one_line(&event.body).as_bytes())?;
        out.write_all(b"\n")?;
        ticker.advance(1)
    })?;
    out.flush()?;
    Ok(ticker.rows)
}

fn csv_writer<W: Write>(out: W, header: &[&str]) -> Result<csv::Writer<W>, ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header)?;
    Ok(writer)
}

/// The row layout of a CSV export.
#[derive(Debug, Clone, Copy)]
enum RowFormat {
    /// [`CSV_COLUMNS`].
    Csv,
    /// [`TIMESKETCH_COLUMNS`], then [`CSV_COLUMNS`].
    Timesketch,
}

impl RowFormat {
    /// The header record, as CSV.
    fn header(self) -> Result<Vec<u8>, ExportError> {
        let lead: &[&str] = match self {
            RowFormat::Csv => &[],
            RowFormat::Timesketch => &TIMESKETCH_COLUMNS,
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(lead.iter().chain(CSV_COLUMNS.iter()))?;
        into_bytes(writer)
    }

    /// `events` as CSV records, in order.
    fn records(self, events: &[NotedEvent]) -> Result<Vec<u8>, ExportError> {
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(events.len() * 1024));
        for noted in events {
            let cells = csv_cells(noted);
            if let RowFormat::Timesketch = self {
                let event = &noted.event;
                let lead = [
                    timesketch_message(&cells),
                    event
                        .time
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                    "Cloud change time".to_owned(),
                    event.time.timestamp_micros().to_string(),
                ];
                for cell in &lead {
                    writer.write_field(neutralize_formula(cell).as_bytes())?;
                }
            }
            for cell in &cells {
                writer.write_field(neutralize_formula(cell).as_bytes())?;
            }
            // An empty record ends the one written field by field.
            writer.write_record(None::<&[u8]>)?;
        }
        into_bytes(writer)
    }
}

fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    writer
        .into_inner()
        .map_err(|error| ExportError::Io(error.into_error()))
}

/// An event with the analyst's notes on it: everything its CSV row is made of. The notes are
/// read on the session's own thread; the row is then made on any.
struct NotedEvent {
    event: StoredEvent,
    annotations: Annotations,
    findings: Vec<String>,
}

impl NotedEvent {
    fn read(session: &Session, event: StoredEvent) -> Result<NotedEvent, StoreError> {
        let seq = event.seq;
        Ok(NotedEvent {
            annotations: session.annotations(seq)?,
            findings: session
                .finding_rules_of(&[seq])?
                .remove(&seq)
                .unwrap_or_default(),
            event,
        })
    }
}

/// The cells of [`CSV_COLUMNS`] for one event: what the change list shows of it (time, change,
/// asset label, summary), its columns, the user agent, and the analyst's annotations. Columns
/// are borrowed from `event`; the body is read once, building only what a cell needs.
fn csv_cells(noted: &NotedEvent) -> [Cow<'_, str>; 21] {
    let NotedEvent {
        event,
        annotations:
            Annotations {
                starred,
                tags,
                comments,
            },
        findings,
    } = noted;
    let body = BodyView::read(&event.body);
    let DataView {
        config,
        previous_config,
        changed_part,
        asset,
        attribution,
    } = body.data;
    let summary = match event.change {
        // Only an update's summary reads the configurations (see `change_summary`).
        Some(ChangeKind::Update) => change_summary(
            event.change,
            &body::configs(config, previous_config, changed_part),
        ),
        change => change_summary(change, &Value::Null),
    };
    [
        Cow::Owned(format_time(event.time)),
        Cow::Borrowed(match event.change {
            Some(change) => change.as_str(),
            None => &event.event_type,
        }),
        asset_label(event, asset.provider_id),
        text(&event.asset_name),
        text(&event.asset_type),
        text(&event.asset_provider),
        text(&event.asset_account),
        text(&event.asset_region),
        text(&event.action),
        text(&event.principal),
        text(&event.assumed_role),
        text(&event.method),
        text(&event.source_ip),
        Cow::Owned(attribution.user_agent.unwrap_or_default()),
        Cow::Owned(summary),
        Cow::Borrowed(&event.event_id),
        Cow::Borrowed(&event.source),
        Cow::Borrowed(if *starred { "yes" } else { "" }),
        Cow::Owned(tags.join("; ")),
        Cow::Owned(
            comments
                .iter()
                .map(|comment| comment.body.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        Cow::Owned(findings.join("; ")),
    ]
}

/// A column as a cell: its text, or empty.
fn text(value: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(value.as_deref().unwrap_or_default())
}

/// The change list's asset label (`timeline::change_row`): the display name, else the
/// provider's short id, else the last part of the asset name.
fn asset_label(event: &StoredEvent, provider_id: Option<String>) -> Cow<'_, str> {
    if let Some(display) = &event.asset_display {
        return Cow::Borrowed(display);
    }
    if let Some(id) = provider_id {
        return Cow::Owned(id);
    }
    match &event.asset_name {
        Some(name) => Cow::Borrowed(name.rsplit(':').next().unwrap_or(name)),
        None => Cow::Borrowed("(unnamed asset)"),
    }
}

/// "jdoe (console) AuthorizeSecurityGroupIngress on prod-db-sg [network.firewall]: added …"
fn timesketch_message(cells: &[Cow<'_, str>; 21]) -> String {
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
    ] = cells.each_ref().map(|cell| &**cell);
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
    use std::path::PathBuf;

    use tempfile::TempDir;

    use super::*;
    use crate::import::import_file;
    use crate::json::{self, Value};
    use crate::timeline;

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

    #[test]
    fn the_body_view_reads_what_the_parsed_tree_holds() {
        let update = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/update.json"
        ))
        .unwrap();
        let bodies = [
            update.as_str(),
            r#"{"data":{"config":{"a":1}},"data":{"previous_config":{"a":2}}}"#,
            r#"{"data":{"config":{"a":1},"config":{"a":3},"previous_config":null}}"#,
            r#"{"data":[{"config":{"a":1}}]}"#,
            r#"{"data":{"asset":{"provider_id":123456789012345678901234567890}}}"#,
            r#"{"data":{"asset":{"provider_id":{"id":"x"}},"asset":{"provider_id":"sg-1"}}}"#,
            r#"{"data":{"asset":"sg-1","attribution":{"user_agent":"Mozilla/5.0 \ud800"}}}"#,
            r#"{"data":{"config":{"$serde_json_lenient::private::Number":"1"}}}"#,
            r#"{"data":{"config":{"$serde_json_lenient::private::Number":"x","b":2}}}"#,
            r#"{"data":{"attribution":{"user_agent":1.50}}}"#,
            r#"{"data":{"config":{"a":1}}"#,
            r#"[{"data":{"config":{"a":1}}}]"#,
            "",
        ];
        for body in bodies {
            let tree = json::parse_or_null(body);
            let data = &tree["data"];
            let view = BodyView::read(body).data;
            assert_eq!(view.config.unwrap_or(Value::Null), data["config"], "{body}");
            assert_eq!(
                view.previous_config.unwrap_or(Value::Null),
                data["previous_config"],
                "{body}"
            );
            assert_eq!(
                view.asset.provider_id.as_deref(),
                json::text(&data["asset"]["provider_id"]),
                "{body}"
            );
            assert_eq!(
                view.attribution.user_agent.as_deref(),
                json::text(&data["attribution"]["user_agent"]),
                "{body}"
            );
        }
    }

    fn case(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name)
    }

    #[test]
    fn csv_rows_say_what_the_change_list_says() {
        let dir = TempDir::new().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        for name in [
            "seed-incident.sse",
            "cases/09b-surrogate-in-ua-hides-diff.ndjson",
            "cases/10-duplicate-keys.ndjson",
            "cases/14-source-ip-forms.ndjson",
        ] {
            import_file(&mut session, &case(name), &mut |_, _| true).unwrap();
        }
        let mut out = Vec::new();
        let exported = export_csv(&session, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let changes = timeline::list_changes(
            &session,
            &TimelineQuery::default(),
            timeline::PageStart::Offset(0),
            1_000,
        )
        .unwrap()
        .rows;
        assert_eq!(records.len() as u64, exported);
        assert!(changes.len() > 10, "{}", changes.len());
        let column = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
        for row in &changes {
            let event = session.event_by_seq(row.seq).unwrap().unwrap();
            let record = records
                .iter()
                .find(|r| r[column("event_id")] == event.event_id)
                .unwrap();
            let cell = |name: &str| record[column(name)].to_owned();
            let neutral = |text: &str| neutralize_formula(text).into_owned();
            assert_eq!(cell("time"), row.time);
            assert_eq!(cell("change"), row.change.unwrap().as_str());
            assert_eq!(cell("asset"), neutral(&row.asset_label));
            assert_eq!(cell("changes"), neutral(&row.summary));
            assert_eq!(
                cell("principal"),
                neutral(row.principal.as_deref().unwrap_or(""))
            );
        }
    }

    /// A session of `count` copies of the update fixture, in shuffled time order.
    fn many_events(dir: &TempDir, count: u64) -> Session {
        let update = std::fs::read_to_string(case("update.json")).unwrap();
        let mut template = json::parse(&update).unwrap();
        let frames: Vec<crate::model::PositionedFrame> = (0..count)
            .map(|i| {
                let second = (i * 7_919) % count;
                template["id"] = Value::String(format!("01HX{i:022}"));
                template["time"] = Value::String(format!(
                    "2024-05-05T{:02}:{:02}:{:02}Z",
                    second / 3600,
                    second / 60 % 60,
                    second % 60
                ));
                crate::model::PositionedFrame {
                    frame: crate::wire::decode_frame(template.to_string()),
                    sse_id: None,
                    received_at: chrono::Utc::now(),
                }
            })
            .collect();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        assert_eq!(session.write_batch(&frames).unwrap().stored, count);
        session
    }

    #[test]
    fn a_csv_export_of_many_batches_is_complete_and_in_time_order() {
        let dir = TempDir::new().unwrap();
        let session = many_events(&dir, 1_100);
        let mut in_order = Vec::new();
        session
            .for_each_event(None, |event| {
                in_order.push(event.event_id);
                Ok::<(), StoreError>(())
            })
            .unwrap();
        for format in [ExportFormat::Csv, ExportFormat::Timesketch] {
            let mut out = Vec::new();
            let mut reported = Vec::new();
            let rows = export(&session, format, None, &mut out, &mut |done, total| {
                reported.push((done, total));
                true
            })
            .unwrap();
            assert_eq!(rows, 1_100);
            assert_eq!(
                reported,
                [(0, 1_100), (512, 1_100), (1_024, 1_100), (1_100, 1_100)]
            );
            let mut reader = csv::Reader::from_reader(out.as_slice());
            let id = reader
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "event_id")
                .unwrap();
            let ids: Vec<String> = reader
                .records()
                .map(|r| r.unwrap()[id].to_owned())
                .collect();
            assert_eq!(ids, in_order, "{format:?}");
        }
    }

    #[test]
    fn a_cancelled_csv_export_stops_with_cancelled() {
        let dir = TempDir::new().unwrap();
        let session = many_events(&dir, 1_100);
        let result = export(
            &session,
            ExportFormat::Csv,
            None,
            std::io::sink(),
            &mut |done, _| done < 500,
        );
        assert!(matches!(result, Err(ExportError::Cancelled)), "{result:?}");
    }
}
