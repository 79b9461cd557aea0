//! auditlog::read: a file or folder of audit logs as one sequence of records in event-time
//! order — what an import stores and what `eventstream-sim --replay --from` serves.
//!
//! Two passes over the files: [`LogRecords::open`] splits each into records and notes their
//! order keys (keeping the records while they fit [`KEEP_FROM_SCAN_BYTES`], so a small input
//! is read once); iterating then merges them in time order ([`super::order`]), so each
//! change's previous configuration is the one before it in time, whatever file it was in.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::files::Damage;
use super::order::{FileTimes, Loader, TimeOrdered, order_key};
use super::{LogFile, LogFormat, RecordText, SkippedFile, read_log_file, walk};

/// Records kept from the first pass for the second, in bytes of text: 16 MiB (an import's
/// peak memory is this, the store's 64 MiB page cache and the records in flight).
const KEEP_FROM_SCAN_BYTES: usize = 16 << 20;

/// One record, where it came from and what log it is.
pub struct LogRecord {
    pub format: LogFormat,
    /// The file, as the user knows it (relative to the folder they named).
    pub location: String,
    /// The record's exact text.
    pub text: RecordText,
    /// Its place in time ([`super::order::order_key`], from the first pass): `>> 2` is its
    /// event time in microseconds.
    pub order_key: i64,
}

/// A part of a log file that could not be read as a record, to keep in quarantine.
pub struct DamagedPart {
    /// `file, line 3`.
    pub location: String,
    pub detail: String,
    pub raw: Vec<u8>,
}

/// The records of a file or folder, in event-time order, after a first pass over every file.
pub struct LogRecords {
    /// Files read as each log (`cloudtrail`: 36).
    pub files_by_format: BTreeMap<String, u64>,
    /// Files that are not logs, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Parts of log files that are not records.
    pub damaged: Vec<DamagedPart>,
    /// EventStream captures met on the way (read by [`crate::import`] as they are).
    pub eventstream_files: Vec<PathBuf>,
    /// Records the first pass counted.
    pub records: u64,
    locations: Vec<(String, LogFormat)>,
    merged: TimeOrdered<'static>,
}

impl LogRecords {
    /// Reads every file under `input` once. `from` forces the log the files are read as
    /// (`None`: recognised per file). `keep_going` is asked before each file; `false` stops
    /// with [`io::ErrorKind::Interrupted`].
    ///
    /// Errors: `input` or one of its files cannot be read.
    pub fn open(
        input: &Path,
        from: Option<LogFormat>,
        keep_going: &mut dyn FnMut() -> bool,
    ) -> io::Result<LogRecords> {
        let paths = walk(input)?;
        let mut files_by_format = BTreeMap::new();
        let mut skipped = Vec::new();
        let mut damaged = Vec::new();
        let mut eventstream_files = Vec::new();
        let mut records_seen = 0_u64;
        let mut log_files: Vec<(PathBuf, LogFormat)> = Vec::new();
        let mut locations = Vec::new();
        let mut times = Vec::new();
        let mut kept: Vec<Option<Vec<RecordText>>> = Vec::new();
        let mut kept_bytes = 0_usize;
        for path in paths {
            if !keep_going() {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
            }
            let shown = shown(input, &path);
            let file = read_log_file(&path, from)
                .map_err(|error| io::Error::new(error.kind(), format!("{shown}: {error}")))?;
            match file {
                LogFile::Skipped(reason) => skipped.push(SkippedFile {
                    path: shown,
                    reason,
                }),
                LogFile::Eventstream => eventstream_files.push(path),
                LogFile::Records {
                    format,
                    records,
                    damage,
                } => {
                    *files_by_format
                        .entry(format.as_str().to_owned())
                        .or_default() += 1;
                    damaged.extend(damage.into_iter().map(|part: Damage| DamagedPart {
                        location: format!("{shown}, {}", part.location),
                        detail: part.detail,
                        raw: part.raw,
                    }));
                    times.push(FileTimes {
                        file: log_files.len(),
                        times: records
                            .iter()
                            .map(|record| order_key(format, record))
                            .collect(),
                    });
                    records_seen += records.len() as u64;
                    let size: usize = records.iter().map(String::len).sum();
                    if kept_bytes + size <= KEEP_FROM_SCAN_BYTES {
                        kept_bytes += size;
                        kept.push(Some(records));
                    } else {
                        kept.push(None);
                    }
                    locations.push((shown, format));
                    log_files.push((path, format));
                }
            }
        }
        let load: Loader<'static> = Box::new(move |file: usize| -> Vec<RecordText> {
            if let Some(records) = kept.get_mut(file).and_then(Option::take) {
                return records;
            }
            let (path, format) = &log_files[file];
            match read_log_file(path, Some(*format)) {
                Ok(LogFile::Records { records, .. }) => records,
                // The file changed between the passes: the records missing from it show as a
                // count that does not add up, which the reader's caller reports.
                _ => Vec::new(),
            }
        });
        Ok(LogRecords {
            files_by_format,
            skipped,
            damaged,
            eventstream_files,
            records: records_seen,
            locations,
            merged: TimeOrdered::new(times, load),
        })
    }
}

impl Iterator for LogRecords {
    type Item = LogRecord;

    fn next(&mut self) -> Option<LogRecord> {
        let (file, order_key, text) = self.merged.next()?;
        let (location, format) = &self.locations[file];
        Some(LogRecord {
            format: *format,
            location: location.clone(),
            text,
            order_key,
        })
    }
}

/// A path as the user knows it: relative to the folder they named.
fn shown(input: &Path, path: &Path) -> String {
    path.strip_prefix(input)
        .ok()
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}
