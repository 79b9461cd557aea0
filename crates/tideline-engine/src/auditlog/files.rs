//! auditlog::files: finding log files and splitting each into records, every record its exact
//! text. gzip is read transparently (by its magic bytes, not its name).
//!
//! Shapes, by provider documentation:
//! - AWS CloudTrail: S3 delivery files `{"Records": [...]}` (CloudTrail User Guide, "CloudTrail
//!   log file examples"), a JSON array, one record per line, `aws cloudtrail lookup-events`
//!   output (`{"Events": [{"CloudTrailEvent": "<the record as a JSON string>"}]}`), and the
//!   EventBridge envelope (`{"detail-type": "AWS API Call via CloudTrail", "detail": {...}}`).
//! - GCP: `gcloud logging read --format=json` (a JSON array of LogEntry), log-sink NDJSON, the
//!   Logging API's `{"entries": [...]}`.
//! - Azure: Activity Log `PT1H.json` (one record per line), Event Hub `{"records": [...]}`,
//!   `az monitor activity-log list` (a JSON array).
//! - EventStream: `.sse` captures and NDJSON of contract events, left to [`crate::import`].
//!
//! A file that holds no record of a known log (a README, a CloudTrail digest, an image) is
//! skipped with its reason, not quarantined. A log file cut short or with a line that is not
//! JSON keeps every record it could read; the rest is returned as damage, to be quarantined.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json_lenient::value::RawValue;

use super::LogFormat;
use crate::json;

/// Files larger than this (after decompression) are not read whole: 4 GiB.
const MAX_FILE_BYTES: u64 = 4 << 30;

/// One record, its exact text as the file holds it (for `lookup-events`, the decoded string).
pub type RecordText = String;

/// Every regular file under `path` (or `path` itself), in path order. Links are not followed.
///
/// Errors: `path` cannot be read.
pub fn walk(path: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// A file that was not read as a log, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

/// What one file holds.
#[derive(Debug)]
pub enum LogFile {
    /// Audit-log records of one log, in file order, plus what could not be read.
    Records {
        format: LogFormat,
        records: Vec<RecordText>,
        damage: Vec<Damage>,
    },
    /// EventStream frames (an `.sse` capture or contract-event NDJSON).
    Eventstream,
    /// Not a log.
    Skipped(String),
}

/// A part of a log file that could not be read as records: kept in quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where: `line 12`, `after record 40`.
    pub location: String,
    pub detail: String,
    pub raw: Vec<u8>,
}

/// Lists of log files read one by one (for progress: their sizes on disk).
#[derive(Debug, Default)]
pub struct LogFiles {
    pub paths: Vec<PathBuf>,
    pub bytes: u64,
}

/// Reads one file: decompresses it if it is gzip, then splits it into records. `from` forces
/// the log a file is read as (records not recognised as it are still read as it, and then
/// quarantined by its normalizer if they are not); `None` recognises each file by its records.
///
/// Errors: the file cannot be opened or read (a gzip stream that breaks off is damage, not an
/// error).
pub fn read_log_file(path: &Path, from: Option<LogFormat>) -> io::Result<LogFile> {
    // An EventStream capture is streamed by `crate::import`, never read whole here: decide
    // that from its first line.
    match (first_line(path)?, from) {
        (Head::Eventstream, _) | (Head::Json, Some(LogFormat::Eventstream)) => {
            return Ok(LogFile::Eventstream);
        }
        (Head::Other, Some(LogFormat::Eventstream)) => {
            return Ok(LogFile::Skipped(
                "not an EventStream capture (neither SSE nor JSON)".to_owned(),
            ));
        }
        _ => {}
    }
    let (bytes, broken) = read_decompressed(path)?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            if valid == 0 {
                return Ok(LogFile::Skipped("not a text file".to_owned()));
            }
            // A log with a bad byte: read what is text before it, keep the rest as damage.
            let bytes = error.into_bytes();
            let mut file = split(String::from_utf8_lossy(&bytes[..valid]).into_owned(), from);
            if let LogFile::Records { damage, .. } = &mut file {
                damage.push(Damage {
                    location: format!("byte {valid}"),
                    detail: "the file is not UTF-8 from here on".to_owned(),
                    raw: bytes[valid..].to_vec(),
                });
            }
            return Ok(file);
        }
    };
    let mut file = split(text, from);
    if let (LogFile::Records { damage, .. }, Some(detail)) = (&mut file, broken) {
        damage.push(Damage {
            location: "end of file".to_owned(),
            detail,
            raw: Vec::new(),
        });
    }
    Ok(file)
}

/// What a file's first line is.
enum Head {
    /// An SSE field or comment, or a contract event: an EventStream capture.
    Eventstream,
    /// A JSON line of something else (or gzip, or a JSON document spread over lines).
    Json,
    Other,
}

/// Reads at most 64 KiB of a file to tell what its first line is.
fn first_line(path: &Path) -> io::Result<Head> {
    let mut head = Vec::with_capacity(1 << 16);
    File::open(path)?.take(1 << 16).read_to_end(&mut head)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Head::Json);
    }
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if looks_like_sse(text) {
        return Ok(Head::Eventstream);
    }
    if !text.starts_with(['{', '[']) {
        return Ok(Head::Other);
    }
    let first = text.lines().next().unwrap_or_default();
    let contract = json::parse(first)
        .ok()
        .and_then(|value| LogFormat::recognise(&value))
        == Some(LogFormat::Eventstream);
    Ok(if contract {
        Head::Eventstream
    } else {
        Head::Json
    })
}

/// The file's bytes, gunzipped if they start with gzip's magic; a gzip stream that breaks off,
/// or a file past [`MAX_FILE_BYTES`], gives what was read and why it stopped (kept as damage, so
/// the import says what it did not read).
fn read_decompressed(path: &Path) -> io::Result<(Vec<u8>, Option<String>)> {
    let mut file = File::open(path)?;
    let mut magic = [0_u8; 2];
    let n = file.read(&mut magic)?;
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    if n == 2 && magic == [0x1f, 0x8b] {
        let mut decoder = flate2::read::MultiGzDecoder::new(file).take(MAX_FILE_BYTES + 1);
        if let Err(error) = decoder.read_to_end(&mut bytes) {
            return Ok((bytes, Some(format!("the gzip stream is damaged: {error}"))));
        }
    } else {
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bytes.truncate(MAX_FILE_BYTES as usize);
        return Ok((
            bytes,
            Some(format!(
                "the file is larger than {} GiB: what follows was not read (split it into smaller files)",
                MAX_FILE_BYTES >> 30
            )),
        ));
    }
    Ok((bytes, None))
}

/// The top-level object of a log file, by the keys that hold records.
/// Each part is kept raw and read again as what it should be, so a file whose `records` is a
/// number (a tool's own summary) is "no known log", not a JSON error.
#[derive(Deserialize)]
struct Outline<'a> {
    #[serde(borrow, rename = "Records")]
    records_upper: Option<&'a RawValue>,
    #[serde(borrow)]
    records: Option<&'a RawValue>,
    #[serde(borrow)]
    entries: Option<&'a RawValue>,
    #[serde(borrow, rename = "Events")]
    lookup_events: Option<&'a RawValue>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    #[serde(rename = "digestStartTime")]
    digest_start_time: Option<String>,
}

/// One entry of `aws cloudtrail lookup-events` output.
#[derive(Deserialize)]
struct LookupEvent {
    #[serde(rename = "CloudTrailEvent")]
    cloudtrail_event: Option<String>,
}

/// Records found in one JSON value (a whole file, or one line of NDJSON).
enum Found {
    Records(Vec<RecordText>),
    /// Valid JSON that holds no records (a digest, a config file), and what it is.
    NotRecords(&'static str),
}

fn split(text: String, from: Option<LogFormat>) -> LogFile {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if looks_like_sse(trimmed) {
        return LogFile::Eventstream;
    }
    let mut records = Vec::new();
    let mut damage = Vec::new();
    let mut not_records = None;
    match find_records(trimmed) {
        Ok(Found::Records(found)) => records = found,
        Ok(Found::NotRecords(what)) => not_records = Some(what),
        // Not one JSON value: one per line (NDJSON, PT1H.json, log sinks), or not JSON at all.
        Err(whole_error) => {
            let mut json_lines = 0_usize;
            for (number, line) in trimmed.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match find_records(line) {
                    Ok(Found::Records(found)) => {
                        json_lines += 1;
                        records.extend(found);
                    }
                    Ok(Found::NotRecords(what)) => {
                        json_lines += 1;
                        damage.push(Damage {
                            location: format!("line {}", number + 1),
                            detail: format!("the line is {what}, not a log record"),
                            raw: line.as_bytes().to_vec(),
                        });
                    }
                    Err(error) => damage.push(Damage {
                        location: format!("line {}", number + 1),
                        detail: format!("the line is not JSON: {error}"),
                        raw: line.as_bytes().to_vec(),
                    }),
                }
            }
            if json_lines == 0 {
                return LogFile::Skipped(if trimmed.starts_with(['{', '[']) {
                    format!("not valid JSON: {whole_error}")
                } else {
                    "not JSON".to_owned()
                });
            }
        }
    }
    if let Some(what) = not_records {
        return LogFile::Skipped(format!("{what}, not a log"));
    }
    let format = from.or_else(|| recognise(&records));
    match format {
        Some(LogFormat::Eventstream) => LogFile::Eventstream,
        Some(format) => LogFile::Records {
            format,
            records,
            damage,
        },
        None if records.is_empty() && damage.is_empty() => {
            LogFile::Skipped("holds no records".to_owned())
        }
        None => LogFile::Skipped("holds no records of a known log".to_owned()),
    }
}

/// The log of a file's records: the first record that any log recognises.
fn recognise(records: &[RecordText]) -> Option<LogFormat> {
    records
        .iter()
        .take(32)
        .filter_map(|record| json::parse(record).ok())
        .find_map(|value| LogFormat::recognise(&value))
}

fn find_records(text: &str) -> Result<Found, json::JsonError> {
    if text.starts_with('[') {
        let items: Vec<&RawValue> = json::parse_outline(text)?;
        // `aws cloudtrail lookup-events --output json` may also be a bare array of entries.
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            match lookup_event(item.get()) {
                Some(record) => records.push(record),
                None => records.push(item.get().to_owned()),
            }
        }
        return Ok(Found::Records(records));
    }
    let outline: Outline<'_> = json::parse_outline(text)?;
    let list = |raw: Option<&RawValue>| -> Option<Vec<RecordText>> {
        let items: Vec<&RawValue> = json::parse_outline(raw?.get()).ok()?;
        Some(items.iter().map(|item| item.get().to_owned()).collect())
    };
    let lists = [outline.records_upper, outline.records, outline.entries];
    if let Some(items) = lists.into_iter().find_map(list) {
        return Ok(Found::Records(items));
    }
    let lookup = |raw: &RawValue| json::parse_outline::<Vec<LookupEvent>>(raw.get()).ok();
    if let Some(events) = outline.lookup_events.and_then(lookup) {
        return Ok(Found::Records(
            events
                .into_iter()
                .filter_map(|event| event.cloudtrail_event)
                .collect(),
        ));
    }
    if let (Some(detail), Some(_)) = (outline.detail, outline.detail_type) {
        return Ok(Found::Records(vec![detail.get().to_owned()]));
    }
    if outline.digest_start_time.is_some() {
        return Ok(Found::NotRecords("a CloudTrail digest file"));
    }
    // One record on its own (a line of NDJSON, or a file holding one record).
    let value = json::parse(text)?;
    if LogFormat::recognise(&value).is_some() {
        return Ok(Found::Records(vec![text.to_owned()]));
    }
    Ok(Found::NotRecords("a JSON object of no known log"))
}

/// The record inside one `lookup-events` entry, if `item` is one.
fn lookup_event(item: &str) -> Option<RecordText> {
    if !item.contains("CloudTrailEvent") {
        return None;
    }
    let event: LookupEvent = json::parse_outline(item).ok()?;
    event.cloudtrail_event
}

/// An `.sse` capture starts with an SSE field or comment line.
fn looks_like_sse(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    ["id:", "event:", "data:", "retry:", ":"]
        .iter()
        .any(|field| first.starts_with(field))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn records(text: &str) -> (Option<LogFormat>, Vec<String>, usize) {
        match split(text.to_owned(), None) {
            LogFile::Records {
                format,
                records,
                damage,
            } => (Some(format), records, damage.len()),
            LogFile::Eventstream => (Some(LogFormat::Eventstream), vec![], 0),
            LogFile::Skipped(reason) => (None, vec![reason], 0),
        }
    }

    const CT: &str = r#"{"eventVersion":"1.09","eventTime":"2024-05-05T14:01:03Z","eventSource":"ec2.amazonaws.com","eventName":"X","n":1.10}"#;

    #[test]
    fn every_cloudtrail_shape_gives_its_records_verbatim() {
        let escaped = CT.replace('"', "\\\"");
        let shapes = [
            format!(r#"{{"Records":[{CT},{CT}]}}"#),
            format!("[{CT}, {CT}]"),
            format!("{CT}\n\n{CT}\n"),
            format!(
                r#"{{"Events":[{{"EventId":"1","CloudTrailEvent":"{escaped}"}},{{"CloudTrailEvent":"{escaped}"}}]}}"#
            ),
            format!(
                "{{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{CT}}}\n{{\"detail-type\":\"x\",\"detail\":{CT}}}"
            ),
        ];
        for shape in shapes {
            let (format, found, damage) = records(&shape);
            assert_eq!(format, Some(LogFormat::Cloudtrail), "{shape}");
            assert_eq!(found, vec![CT.to_owned(), CT.to_owned()], "{shape}");
            assert_eq!(damage, 0);
        }
    }

    #[test]
    fn files_that_are_not_logs_are_skipped_with_a_reason() {
        let digest = r#"{"awsAccountId":"123456789012","digestStartTime":"2024-05-05T13:55:09Z","logFiles":[]}"#;
        for (text, reason) in [
            ("# The story\nA README.", "not JSON"),
            (digest, "a CloudTrail digest file, not a log"),
            (
                r#"{"name":"x"}"#,
                "a JSON object of no known log, not a log",
            ),
            ("[]", "holds no records"),
        ] {
            assert_eq!(records(text), (None, vec![reason.to_owned()], 0), "{text}");
        }
        assert_eq!(
            records(": hi\n\nid: 1\ndata: {}\n\n").0,
            Some(LogFormat::Eventstream)
        );
    }

    #[test]
    fn a_bad_line_in_a_log_is_damage_and_the_other_lines_are_read() {
        let text = format!("{CT}\n{{not json\n{CT}\n");
        let LogFile::Records {
            records, damage, ..
        } = split(text, None)
        else {
            panic!("not records")
        };
        assert_eq!(records.len(), 2);
        assert_eq!(damage.len(), 1);
        assert_eq!(damage[0].location, "line 2");
        assert_eq!(damage[0].raw, b"{not json");
    }

    #[test]
    fn gzip_is_read_by_its_magic_and_a_broken_stream_keeps_what_it_gave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(format!("{CT}\n{CT}\n").as_bytes())
            .unwrap();
        let gz = encoder.finish().unwrap();
        std::fs::write(&path, &gz).unwrap();
        let LogFile::Records { records, .. } = read_log_file(&path, None).unwrap() else {
            panic!("not records")
        };
        assert_eq!(records.len(), 2);
        // Cut off inside the deflate stream: an error, never a panic or a silent success.
        std::fs::write(&path, &gz[..gz.len() - 12]).unwrap();
        match read_log_file(&path, None).unwrap() {
            LogFile::Records { damage, .. } => {
                assert_eq!(damage.last().unwrap().location, "end of file");
            }
            LogFile::Skipped(reason) => assert!(!reason.is_empty()),
            LogFile::Eventstream => panic!("read as a capture"),
        }
    }

    #[test]
    fn a_record_with_an_unpaired_surrogate_is_split_verbatim() {
        let record = r#"{"eventVersion":"1.0","eventName":"X","userAgent":"a\ud800b"}"#;
        let (_, found, _) = records(&format!(r#"{{"Records":[{record}]}}"#));
        assert_eq!(found, vec![record.to_owned()]);
    }

    /// Two records of a fixture folder, each on one line.
    fn two_records(folder: &str, names: [&str; 2]) -> [String; 2] {
        names.map(|name| {
            let path = format!(
                "{}/../../tests/fixtures/auditlog/{folder}/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let value = json::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
            serde_json_lenient::to_string(&value).unwrap()
        })
    }

    #[test]
    fn every_gcp_and_azure_file_shape_is_recognised_and_split() {
        let [g1, g2] = two_records(
            "gcp",
            [
                "images-insert-gcloud-first.json",
                "instances-stop-last.json",
            ],
        );
        let [a1, a2] = two_records(
            "azure",
            [
                "nsg-rule-write-started.json",
                "pt1h-nsg-rule-write-success.json",
            ],
        );
        let shapes = [
            // gcloud logging read --format=json; a log sink's NDJSON; the Logging API's entries.
            (format!("[{g1},\n{g2}]"), LogFormat::GcpAudit),
            (format!("{g1}\n{g2}\n"), LogFormat::GcpAudit),
            (
                format!(r#"{{"entries":[{g1},{g2}],"nextPageToken":"x"}}"#),
                LogFormat::GcpAudit,
            ),
            // az monitor activity-log list; an Event Hub batch; a PT1H.json line file.
            (format!("[{a1},{a2}]"), LogFormat::AzureActivity),
            (
                format!(r#"{{"records":[{a1},{a2}]}}"#),
                LogFormat::AzureActivity,
            ),
            (format!("{a1}\r\n{a2}\r\n"), LogFormat::AzureActivity),
        ];
        for (text, expected) in shapes {
            let (format, found, damage) = records(&text);
            assert_eq!(format, Some(expected), "{text:.80}");
            assert_eq!(found.len(), 2, "{text:.80}");
            assert_eq!(damage, 0);
        }
    }

    #[test]
    fn eventstream_captures_are_told_from_their_first_line_and_not_read_here() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let contract = r#"{"specversion":"1.0","id":"1","source":"s","type":"com.opshelm.asset.create","time":"2024-05-05T14:00:00Z"}"#;
        let ndjson = write("events.ndjson", &format!("{contract}\n{contract}\n"));
        let sse = write("capture.sse", "id: 1\nevent: data\ndata: {}\n\n");
        let readme = write("README.md", "# notes\n");
        let cloudtrail = write("ct.json", &format!(r#"{{"Records":[{CT}]}}"#));
        let is = |path: &Path, from| match read_log_file(path, from).unwrap() {
            LogFile::Eventstream => "eventstream".to_owned(),
            LogFile::Skipped(reason) => format!("skipped: {reason}"),
            LogFile::Records { format, .. } => format.as_str().to_owned(),
        };
        assert_eq!(is(&ndjson, None), "eventstream");
        assert_eq!(is(&sse, None), "eventstream");
        assert_eq!(is(&cloudtrail, None), "cloudtrail");
        assert_eq!(is(&readme, None), "skipped: not JSON");
        // Told to read EventStream: JSON is handed over, a README is not.
        assert_eq!(is(&cloudtrail, Some(LogFormat::Eventstream)), "eventstream");
        assert_eq!(
            is(&readme, Some(LogFormat::Eventstream)),
            "skipped: not an EventStream capture (neither SSE nor JSON)"
        );
    }
}
