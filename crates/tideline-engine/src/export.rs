//! export: hand the timeline on — CSV for a spreadsheet, NDJSON of the verbatim events for
//! another Tideline (re-importable), Timesketch's CSV and JSONL for a team's timeline analysis,
//! and OCSF 1.1.0 ([`ocsf`]) as JSON lines or as Hive-partitioned Parquet ([`parquet`]) for a
//! security data lake.
//!
//! Exports stream row by row, so any session exports in constant memory, report progress and
//! can be cancelled. In both CSV formats every cell that a spreadsheet would evaluate as a
//! formula is neutralized as OWASP recommends (a leading `'`); the text is otherwise verbatim.
//! NDJSON lines are the events' verbatim JSON, except that line breaks between JSON tokens
//! (possible only in an event that arrived over several `data:` lines) become spaces.
//!
//! The cells of a CSV row that come from the body (the change summary, which parses and diffs
//! both configurations, the user agent, the provider's id) are read from the event's stored
//! digest (store/digests.rs) when it has a current one, and made from the body otherwise, by
//! the same function ([`crate::digest::digest`]). Rows are made on worker threads, a batch at a
//! time, and written in order ([`rows`]); the output is the same bytes a single thread would
//! write.

pub mod ocsf;
pub mod parquet;
mod rows;

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::digest::{self, EventDigest};
use crate::json::{self, Value};
use crate::store::{Annotations, FindingMark, Session, StoreError, StoredEvent, format_time};
use crate::timeline::TimelineQuery;

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
/// plus `timestamp` in microseconds and `tag`, a JSON list: the analyst's tags, `starred`, and
/// `finding:<rule id>` for each finding), then ours. Timesketch's importer
/// (`timesketch.lib.utils.read_and_validate_csv` / `read_and_validate_jsonl`) requires the
/// first three and reads `tag` as a list.
pub const TIMESKETCH_COLUMNS: [&str; 5] =
    ["message", "datetime", "timestamp_desc", "timestamp", "tag"];

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
    /// JSON lines for Timesketch's importer: its fields, then [`CSV_COLUMNS`]' as members.
    TimesketchJsonl,
    /// One OCSF 1.1.0 event per line ([`ocsf`]); `tideline-cli import` reads it back.
    OcsfJson,
    /// OCSF 1.1.0 as Parquet files in a folder, Hive-partitioned ([`parquet`]).
    OcsfParquet,
}

impl ExportFormat {
    /// A folder of files rather than one file.
    pub fn is_folder(self) -> bool {
        self == ExportFormat::OcsfParquet
    }

    /// The file name extension (none for a folder).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::Timesketch => "csv",
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::TimesketchJsonl => "jsonl",
            ExportFormat::OcsfJson => "ocsf.json",
            ExportFormat::OcsfParquet => "",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the CSV: {0}")]
    Csv(csv::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the export was cancelled")]
    Cancelled,
    #[error("cannot write the Parquet files: {0}")]
    Parquet(String),
    #[error("{format:?} is written as a folder of files: give a folder, not a stream")]
    NeedsFolder { format: ExportFormat },
    #[error("{} already exists and is not empty: choose a new folder", path.display())]
    FolderNotEmpty { path: PathBuf },
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
    let row_format = match format {
        ExportFormat::Ndjson => None,
        ExportFormat::Csv => Some(RowFormat::Csv),
        ExportFormat::Timesketch => Some(RowFormat::Timesketch),
        ExportFormat::TimesketchJsonl => Some(RowFormat::TimesketchJsonl),
        ExportFormat::OcsfJson => Some(RowFormat::OcsfJson),
        ExportFormat::OcsfParquet => return Err(ExportError::NeedsFolder { format }),
    };
    let rows = match row_format {
        None => write_ndjson(session, filter, out, &mut ticker)?,
        Some(rows) => rows::write(
            session,
            filter,
            rows.reads(),
            &rows.header()?,
            &|events| rows.records(events),
            out,
            &mut ticker,
        )?,
    };
    progress(rows, total);
    Ok(rows)
}

/// What [`export_to_path`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Events exported.
    pub rows: u64,
    /// The file or folder written.
    pub path: PathBuf,
    /// The files a folder export wrote, relative to it (empty for a one-file export).
    pub files: Vec<PathBuf>,
}

/// Writes the events of `session` (those matching `filter`, or all) as `format` to
/// `destination`: a file, or for a folder format ([`ExportFormat::is_folder`]) a folder that
/// must not exist or be empty. Written under `<destination>.partial` (for a folder, one that
/// does not exist yet) and renamed when complete, so a failed or cancelled export leaves
/// nothing that looks finished. Both the app and `tideline-cli export` write files this way.
///
/// Errors: as [`export`]; [`ExportError::FolderNotEmpty`]; I/O errors creating or renaming.
pub fn export_to_path(
    session: &Session,
    format: ExportFormat,
    filter: Option<&TimelineQuery>,
    destination: &Path,
    progress: Progress<'_>,
) -> Result<ExportReport, ExportError> {
    let partial = PathBuf::from(format!("{}.partial", destination.display()));
    let written = if format.is_folder() {
        let taken = match std::fs::metadata(destination) {
            Ok(meta) if meta.is_dir() => std::fs::read_dir(destination)?.next().is_some(),
            Ok(_) => true,
            Err(_) => false,
        };
        if taken {
            return Err(ExportError::FolderNotEmpty {
                path: destination.to_owned(),
            });
        }
        // Never into (or over) a folder someone else made: an earlier export's leftover
        // `.partial` is named, not deleted.
        std::fs::create_dir(&partial).map_err(|source| ExportError::Write {
            path: partial.clone(),
            source,
        })?;
        write_parquet(session, filter, &partial, progress)
    } else {
        std::fs::File::create(&partial)
            .map_err(ExportError::from)
            .and_then(|file| {
                let mut out = std::io::BufWriter::new(file);
                let rows = export(session, format, filter, &mut out, progress)?;
                out.flush()?;
                Ok((rows, Vec::new()))
            })
    };
    let at_destination = |error| match error {
        ExportError::Io(source) => ExportError::Write {
            path: destination.to_owned(),
            source,
        },
        error => error,
    };
    let remove_partial = || {
        let _ = if format.is_folder() {
            std::fs::remove_dir_all(&partial)
        } else {
            std::fs::remove_file(&partial)
        };
    };
    let (rows, files) = match written.map_err(at_destination) {
        Ok(written) => written,
        Err(error) => {
            remove_partial();
            return Err(error);
        }
    };
    let placed = (|| {
        if format.is_folder() && destination.is_dir() {
            // Empty (checked above): the finished folder takes its place.
            std::fs::remove_dir(destination)?;
        }
        std::fs::rename(&partial, destination)
    })();
    if let Err(error) = placed {
        remove_partial();
        return Err(at_destination(error.into()));
    }
    Ok(ExportReport {
        rows,
        path: destination.to_owned(),
        files,
    })
}

/// The OCSF Parquet export into `folder` (see [`parquet`]).
fn write_parquet(
    session: &Session,
    filter: Option<&TimelineQuery>,
    folder: &Path,
    progress: Progress<'_>,
) -> Result<(u64, Vec<PathBuf>), ExportError> {
    let total = session.count_events(filter)?;
    if !progress(0, total) {
        return Err(ExportError::Cancelled);
    }
    let mut ticker = Ticker::new(total, &mut *progress);
    let version = env!("CARGO_PKG_VERSION");
    // Encoding and compressing the columns runs on a thread of its own, beside the reading
    // (this thread) and the workers making the rows.
    let (to_writer, batches) = flume::bounded::<Vec<(parquet::PartitionKey, _)>>(2);
    let (rows, files) = std::thread::scope(|scope| {
        let writing = scope.spawn(move || {
            let mut writer = parquet::PartitionedWriter::new(folder);
            for batch in batches.iter() {
                writer.write(batch)?;
            }
            writer.finish()
        });
        let read = rows::in_order(
            session,
            filter,
            rows::Reads::Bodies,
            &|events| parquet::batches(events, version),
            |batch| {
                to_writer.send(batch).map_err(|_| {
                    ExportError::Io(std::io::Error::other("the Parquet writer stopped"))
                })
            },
            &mut ticker,
        );
        drop(to_writer);
        let written = writing.join().unwrap_or_else(|_| {
            Err(ExportError::Parquet(
                "the Parquet writer stopped".to_owned(),
            ))
        });
        // A cancel is a cancel; otherwise the writer's own error says why a send failed.
        match (read, written) {
            (Ok(rows), Ok(files)) => Ok((rows, files)),
            (Err(ExportError::Cancelled), _) => Err(ExportError::Cancelled),
            (_, Err(error)) | (Err(error), Ok(_)) => Err(error),
        }
    })?;
    progress(rows, total);
    Ok((rows, files))
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

/// The row layout of an export made a row per event on worker threads.
#[derive(Debug, Clone, Copy)]
enum RowFormat {
    /// [`CSV_COLUMNS`].
    Csv,
    /// [`TIMESKETCH_COLUMNS`], then [`CSV_COLUMNS`].
    Timesketch,
    /// A JSON object per line: [`TIMESKETCH_COLUMNS`]' members, then [`CSV_COLUMNS`]'.
    TimesketchJsonl,
    /// An OCSF event per line.
    OcsfJson,
}

impl RowFormat {
    /// What its rows are made from: OCSF reads the bodies, the others only the cells a digest
    /// holds.
    fn reads(self) -> rows::Reads {
        match self {
            RowFormat::OcsfJson => rows::Reads::Bodies,
            RowFormat::Csv | RowFormat::Timesketch | RowFormat::TimesketchJsonl => {
                rows::Reads::Digests
            }
        }
    }

    /// The header: a CSV record, or nothing for JSON lines.
    fn header(self) -> Result<Vec<u8>, ExportError> {
        let lead: &[&str] = match self {
            RowFormat::Csv => &[],
            RowFormat::Timesketch => &TIMESKETCH_COLUMNS,
            RowFormat::TimesketchJsonl | RowFormat::OcsfJson => return Ok(Vec::new()),
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(lead.iter().chain(CSV_COLUMNS.iter()))?;
        into_bytes(writer)
    }

    /// `events` as rows (CSV records or JSON lines), in order.
    fn records(self, events: &[NotedEvent]) -> Result<Vec<u8>, ExportError> {
        match self {
            RowFormat::Csv | RowFormat::Timesketch => {}
            RowFormat::TimesketchJsonl => {
                return json_lines(events, |noted| timesketch_object(noted, &csv_cells(noted)));
            }
            RowFormat::OcsfJson => {
                let version = env!("CARGO_PKG_VERSION");
                let mut out = Vec::with_capacity(events.len() * 4096);
                for noted in events {
                    ocsf::event(noted, version)
                        .write_json(&mut out)
                        .map_err(std::io::Error::other)?;
                    out.push(b'\n');
                }
                return Ok(out);
            }
        }
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(events.len() * 1024));
        for noted in events {
            let cells = csv_cells(noted);
            if let RowFormat::Timesketch = self {
                let lead = timesketch_lead(noted, &cells);
                let tags = serde_json::to_string(&lead.tags).map_err(std::io::Error::other)?;
                let lead = [
                    lead.message,
                    lead.datetime,
                    TIMESTAMP_DESC.to_owned(),
                    lead.timestamp.to_string(),
                    tags,
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

/// `events` as JSON lines, each the value `line` makes of it.
fn json_lines(
    events: &[NotedEvent],
    line: impl Fn(&NotedEvent) -> Value,
) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::with_capacity(events.len() * 2048);
    for noted in events {
        serde_json_lenient::to_writer(&mut out, &line(noted)).map_err(std::io::Error::other)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Timesketch's `timestamp_desc`: what the time of each row is.
const TIMESTAMP_DESC: &str = "Cloud change time";

/// The members Timesketch requires or reads of a row.
struct TimesketchLead {
    message: String,
    /// ISO 8601 with microseconds and offset.
    datetime: String,
    /// Microseconds since the epoch.
    timestamp: i64,
    /// The analyst's tags, `starred`, and `finding:<rule id>` per finding.
    tags: Vec<String>,
}

fn timesketch_lead(noted: &NotedEvent, cells: &[Cow<'_, str>; 21]) -> TimesketchLead {
    let event = &noted.event;
    let notes = &noted.annotations;
    let tags = notes
        .starred
        .then(|| "starred".to_owned())
        .into_iter()
        .chain(notes.tags.iter().cloned())
        .chain(
            noted
                .findings
                .iter()
                .map(|mark| format!("finding:{}", mark.rule)),
        )
        .collect();
    TimesketchLead {
        message: timesketch_message(cells),
        datetime: event
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
        timestamp: event.time.timestamp_micros(),
        tags,
    }
}

/// One Timesketch JSONL row: its lead members, then [`CSV_COLUMNS`]' (verbatim: JSON is not a
/// spreadsheet, so nothing is neutralized), comments as a list.
fn timesketch_object(noted: &NotedEvent, cells: &[Cow<'_, str>; 21]) -> Value {
    let lead = timesketch_lead(noted, cells);
    let mut row = json::Map::new();
    row.insert("message".into(), Value::from(lead.message));
    row.insert("datetime".into(), Value::from(lead.datetime));
    row.insert("timestamp_desc".into(), Value::from(TIMESTAMP_DESC));
    row.insert("timestamp".into(), Value::from(lead.timestamp));
    row.insert(
        "tag".into(),
        Value::Array(lead.tags.into_iter().map(Value::from).collect()),
    );
    for (name, cell) in CSV_COLUMNS.iter().zip(cells) {
        if !cell.is_empty() {
            row.insert((*name).to_owned(), Value::from(cell.as_ref()));
        }
    }
    let comments = &noted.annotations.comments;
    if !comments.is_empty() {
        row.insert(
            "comments".into(),
            Value::Array(
                comments
                    .iter()
                    .map(|comment| Value::from(comment.body.as_str()))
                    .collect(),
            ),
        );
    }
    Value::Object(row)
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
    /// The event's stored digest, if the export read one (then `event.body` is empty).
    digest: Option<EventDigest>,
    annotations: Annotations,
    findings: Vec<FindingMark>,
}

impl NotedEvent {
    /// `events` with their notes, read a batch at a time (a few queries, not several per event).
    fn read_batch(
        session: &Session,
        events: Vec<(StoredEvent, Option<EventDigest>)>,
    ) -> Result<Vec<NotedEvent>, StoreError> {
        let seqs: Vec<i64> = events.iter().map(|(event, _)| event.seq).collect();
        let mut annotations = session.annotations_of(&seqs)?;
        let mut findings = session.finding_marks_of(&seqs)?;
        Ok(events
            .into_iter()
            .map(|(event, digest)| NotedEvent {
                annotations: annotations.remove(&event.seq).unwrap_or_default(),
                findings: findings.remove(&event.seq).unwrap_or_default(),
                event,
                digest,
            })
            .collect())
    }
}

/// The cells of [`CSV_COLUMNS`] for one event: what the change list shows of it (time, change,
/// asset label, summary), its columns, the user agent, and the analyst's annotations. Columns
/// are borrowed from `event`; the body is read once, building only what a cell needs.
fn csv_cells(noted: &NotedEvent) -> [Cow<'_, str>; 21] {
    let NotedEvent {
        event,
        digest: _,
        annotations:
            Annotations {
                starred,
                tags,
                comments,
            },
        findings,
    } = noted;
    // The stored digest, or the same cells read from the body.
    let (summary, user_agent, provider_id) = match &noted.digest {
        Some(stored) => (
            Cow::Borrowed(stored.summary.as_str()),
            text(&stored.user_agent),
            stored.provider_id.as_deref().map(Cow::Borrowed),
        ),
        None => {
            let made = digest::digest(event.change, &event.body);
            (
                Cow::Owned(made.summary),
                Cow::Owned(made.user_agent.unwrap_or_default()),
                made.provider_id.map(Cow::Owned),
            )
        }
    };
    [
        Cow::Owned(format_time(event.time)),
        Cow::Borrowed(match event.change {
            Some(change) => change.as_str(),
            None => &event.event_type,
        }),
        asset_label(event, provider_id),
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
        user_agent,
        summary,
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
        Cow::Owned(
            findings
                .iter()
                .map(|mark| mark.rule.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ]
}

/// A column as a cell: its text, or empty.
fn text(value: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(value.as_deref().unwrap_or_default())
}

/// The change list's asset label (`timeline::change_row`): the display name, else the
/// provider's short id, else the last part of the asset name.
fn asset_label<'e>(event: &'e StoredEvent, provider_id: Option<Cow<'e, str>>) -> Cow<'e, str> {
    if let Some(display) = &event.asset_display {
        return Cow::Borrowed(display);
    }
    if let Some(id) = provider_id {
        return id;
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

    fn case(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name)
    }

    /// A session at `path` of the seed incident and the hostile cases (surrogates, duplicate
    /// keys, source IP forms), imported (so digested).
    fn hostile_session(path: &Path) -> Session {
        let mut session = Session::open_or_create(path).unwrap();
        for name in [
            "seed-incident.sse",
            "cases/09b-surrogate-in-ua-hides-diff.ndjson",
            "cases/10-duplicate-keys.ndjson",
            "cases/14-source-ip-forms.ndjson",
        ] {
            import_file(&mut session, &case(name), &mut |_, _| true).unwrap();
        }
        session
    }

    #[test]
    fn csv_rows_say_what_the_change_list_says() {
        let dir = TempDir::new().unwrap();
        let session = hostile_session(&dir.path().join("s.tideline"));
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

    #[test]
    fn csv_rows_are_the_same_from_stored_digests_as_from_the_bodies() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("s.tideline");
        drop(hostile_session(&path));
        // The import digested every event; the same file is then read with the digests of
        // half of them, and of none (another version's).
        let raw = rusqlite::Connection::open(&path).unwrap();
        let state = |sql: &str| raw.execute(sql, []).unwrap();
        // Each export reviews the file as it is then.
        let exports = || -> Vec<Vec<u8>> {
            let session = Session::open(&path).unwrap();
            [
                ExportFormat::Csv,
                ExportFormat::Timesketch,
                ExportFormat::TimesketchJsonl,
            ]
            .into_iter()
            .map(|format| {
                let mut out = Vec::new();
                export(&session, format, None, &mut out, &mut |_, _| true).unwrap();
                out
            })
            .collect()
        };
        let digested = exports();
        state("UPDATE digest_state SET digested_to = digested_to / 2");
        assert_eq!(exports(), digested, "half from digests");
        state("UPDATE digest_state SET version = version + 1");
        assert_eq!(exports(), digested, "all from bodies");
        // And the digests are what the rows are made of when current (no body is read).
        state("UPDATE digest_state SET version = version - 1, digested_to = 1000000");
        state("UPDATE event_digests SET summary = 'read from the digest'");
        let mut out = Vec::new();
        export_csv(&Session::open(&path).unwrap(), &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let changes = CSV_COLUMNS.iter().position(|c| *c == "changes").unwrap();
        let summaries: Vec<String> = reader
            .records()
            .map(|record| record.unwrap()[changes].to_owned())
            .collect();
        assert!(summaries.len() > 10, "{}", summaries.len());
        assert!(
            summaries.iter().all(|s| s == "read from the digest"),
            "{summaries:?}"
        );
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
