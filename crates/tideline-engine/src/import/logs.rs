//! import::logs: a file or folder of cloud audit logs into a session — found, recognised,
//! ordered by event time, normalized ([`crate::auditlog`]) and stored through the same
//! [`wire`] mapping, deduplication and quarantine as the live stream.
//!
//! The records come in event-time order from [`LogRecords`], are normalized on one thread and
//! written on another; the previous configuration of an asset the import has not met yet is
//! read from the session, as of the record's time.
//! EventStream files met on the way go through [`super::import_file`] unchanged.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::SyncSender;

use super::{ImportError, ImportOutcome, Progress};
use crate::auditlog::read::LogRecords;
use crate::auditlog::{self, Inventory, LogFormat, SkippedFile};
use crate::json::{self, Value};
use crate::model::{Frame, PositionedFrame, QuarantineReason};
use crate::store::{BatchFill, PageCursor, Session, StoreError};
use crate::wire;

/// Records between two progress reports (and chances to cancel).
const PROGRESS_EVERY: u64 = 2_000;

/// What an import of logs did. Every record read is in exactly one of `change_records`,
/// `activity_records` and `quarantined_records`; every event made is stored, a duplicate of
/// one already in the session, or quarantined.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogImportReport {
    /// Files read as each log (`cloudtrail`: 36), recognised or as `--from` said.
    pub files_by_format: BTreeMap<String, u64>,
    /// Files that are not logs, with the reason.
    pub skipped: Vec<SkippedFile>,
    /// Audit-log records read.
    pub records: u64,
    /// Records that changed at least one asset.
    pub change_records: u64,
    /// Records kept as activity (sign-ins, role assumptions, reads, refused calls).
    pub activity_records: u64,
    /// Records (and unreadable parts of log files) quarantined with a reason.
    pub quarantined_records: u64,
    /// Asset changes made from the records (one record can change several assets).
    pub changes: u64,
    /// Activity events made.
    pub activity: u64,
    /// Events newly stored, events already in the session, and quarantined parts.
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    /// Frames of EventStream files imported on the way.
    pub eventstream: ImportOutcome,
}

/// Imports `input` (a file, or a folder walked recursively) into `session`: the one import
/// every caller uses. `from` says which log the files are (`Eventstream`: captures and
/// contract NDJSON); `None` recognises each file by its records. `progress` gets
/// `(records done, records in all)` (`(0, 0)` while the files are first read).
///
/// Errors: `input` or one of its files cannot be read; the session cannot be written;
/// cancelled (what was stored stays).
pub fn import_path(
    session: &mut Session,
    input: &Path,
    from: Option<LogFormat>,
    progress: Progress<'_>,
) -> Result<LogImportReport, ImportError> {
    let read_error = |source| ImportError::Read {
        path: input.display().to_string(),
        source,
    };
    let mut records = LogRecords::open(input, from, &mut || progress(0, 0)).map_err(|error| {
        if error.kind() == std::io::ErrorKind::Interrupted {
            ImportError::Cancelled(0)
        } else {
            read_error(error)
        }
    })?;
    session.tune_for_log_import()?;
    let mut report = LogImportReport {
        files_by_format: records.files_by_format.clone(),
        skipped: std::mem::take(&mut records.skipped),
        records: records.records,
        ..LogImportReport::default()
    };
    let mut writer = BatchWriter::default();
    for part in std::mem::take(&mut records.damaged) {
        report.quarantined_records += 1;
        let reason = QuarantineReason::UnreadableLogRecord {
            location: part.location,
            detail: part.detail,
        };
        writer.push(wire::quarantine(reason, &part.raw), session, &mut report)?;
    }
    let eventstream_files = std::mem::take(&mut records.eventstream_files);

    let total = report.records;
    let mut done = 0_u64;
    // Two threads: one reads and normalizes records (and decodes their frames), the other —
    // this one — writes them; a bounded channel between them keeps memory flat.
    let prior = Session::open(session.path())?;
    let cancelled = std::thread::scope(|scope| -> Result<bool, ImportError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Normalized>>(8);
        scope.spawn(move || normalize_records(records, prior, &sender));
        while let Ok(chunk) = receiver.recv() {
            for normalized in chunk {
                done += 1;
                report.change_records += u64::from(normalized.changes > 0);
                report.activity_records +=
                    u64::from(normalized.changes == 0 && !normalized.quarantined);
                report.quarantined_records += u64::from(normalized.quarantined);
                report.changes += normalized.changes;
                report.activity += normalized.activity;
                for frame in normalized.frames {
                    writer.push(frame, session, &mut report)?;
                }
                if done.is_multiple_of(PROGRESS_EVERY) && !progress(done, total) {
                    // Dropping the receiver stops the reading thread at its next send.
                    return Ok(true);
                }
            }
        }
        Ok(false)
    })?;
    if cancelled {
        writer.flush(session, &mut report)?;
        return Err(ImportError::Cancelled(done));
    }
    writer.flush(session, &mut report)?;
    if done != total {
        // A file changed between the passes: say so rather than report counts that do not add up.
        return Err(read_error(std::io::Error::other(format!(
            "the files changed while being imported: {total} records on the first read, {done} on the second"
        ))));
    }
    for path in eventstream_files {
        let outcome = super::import_file(session, &path, progress)?;
        report.eventstream.frames += outcome.frames;
        report.eventstream.stored += outcome.stored;
        report.eventstream.duplicates += outcome.duplicates;
        report.eventstream.quarantined += outcome.quarantined;
        *report
            .files_by_format
            .entry(LogFormat::Eventstream.as_str().to_owned())
            .or_default() += 1;
    }
    progress(total, total);
    Ok(report)
}

impl LogImportReport {
    /// What the import did, in lines a person reads: what was recognised, what was skipped,
    /// and where every record went (the counts add up). The CLI prints them; the app shows them.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let recognised: Vec<String> = self
            .files_by_format
            .iter()
            .map(|(format, files)| {
                let title =
                    LogFormat::parse(format).map_or(format.as_str(), |format| format.title());
                format!(
                    "{title} ({files} file{})",
                    if *files == 1 { "" } else { "s" }
                )
            })
            .collect();
        lines.push(if recognised.is_empty() {
            "Found nothing Tideline reads".to_owned()
        } else {
            format!("Read as {}", recognised.join(", "))
        });
        if !self.skipped.is_empty() {
            lines.push(format!(
                "Skipped {} file{} that {} not logs:",
                self.skipped.len(),
                if self.skipped.len() == 1 { "" } else { "s" },
                if self.skipped.len() == 1 { "is" } else { "are" }
            ));
            // One line per reason, naming the first file (thousands of digest files are one
            // line, not thousands); the report keeps every path.
            let mut by_reason: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
            for skipped in &self.skipped {
                by_reason
                    .entry(&skipped.reason)
                    .or_insert((0, &skipped.path))
                    .0 += 1;
            }
            for (reason, (count, first)) in by_reason {
                lines.push(if count == 1 {
                    format!("  {first}: {reason}")
                } else {
                    format!("  {count} files: {reason} (the first: {first})")
                });
            }
        }
        if self.records > 0 || self.quarantined_records > 0 {
            lines.push(format!(
                "{} audit-log records: {} changed assets ({} asset changes), {} kept as activity, {} quarantined",
                self.records,
                self.change_records,
                self.changes,
                self.activity_records,
                self.quarantined_records
            ));
        }
        let frames = &self.eventstream;
        if frames.frames > 0 {
            lines.push(format!("{} EventStream frames", frames.frames));
        }
        lines.push(format!(
            "{} events stored, {} already in the session, {} quarantined",
            self.stored + frames.stored,
            self.duplicates + frames.duplicates,
            self.quarantined + frames.quarantined
        ));
        lines
    }
}

/// One record, normalized: its frames (events, or the record in quarantine) and what it was.
struct Normalized {
    frames: Vec<Frame>,
    changes: u64,
    activity: u64,
    quarantined: bool,
}

/// Records per message between the threads.
const CHUNK: usize = 256;

/// The reading thread: normalizes every record in order, asking `prior` (a read-only view of
/// the session) for an asset's configuration as of the record's time the first time it meets
/// the asset — the assets this import already changed are in the inventory, so the writer
/// lagging behind is never read as the state.
fn normalize_records(records: LogRecords, prior: Session, sender: &SyncSender<Vec<Normalized>>) {
    let now_us = Cell::new(i64::MAX);
    let mut inventory =
        Inventory::with_prior(Box::new(|asset| latest_config(&prior, asset, now_us.get())));
    let mut chunk = Vec::with_capacity(CHUNK);
    for record in records {
        now_us.set(record.order_key >> 2);
        if record.format == LogFormat::Ocsf {
            chunk.push(match auditlog::ocsf::contract_event(&record.text) {
                Ok((event, is_change)) => Normalized {
                    frames: vec![wire::decode_frame(event)],
                    changes: u64::from(is_change),
                    activity: u64::from(!is_change),
                    quarantined: false,
                },
                Err(error) => quarantined(record.location, error, &record.text),
            });
            if chunk.len() == CHUNK && sender.send(std::mem::take(&mut chunk)).is_err() {
                return;
            }
            continue;
        }
        let normalized = match auditlog::normalize_text(record.format, &record.text, &mut inventory)
        {
            Ok(events) => {
                let changes = events
                    .iter()
                    .filter(|event| matches!(event.kind, auditlog::EventKind::Change(_)))
                    .count() as u64;
                Normalized {
                    activity: events.len() as u64 - changes,
                    changes,
                    frames: events
                        .into_iter()
                        .map(|event| wire::decode_frame(event.to_contract_json(&record.text)))
                        .collect(),
                    quarantined: false,
                }
            }
            Err(error) => quarantined(record.location, error, &record.text),
        };
        chunk.push(normalized);
        if chunk.len() == CHUNK && sender.send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(chunk);
    }
}

/// A record that gave no event, kept in quarantine with where it was and why.
fn quarantined(location: String, error: auditlog::RecordError, text: &str) -> Normalized {
    let reason = QuarantineReason::UnreadableLogRecord {
        location,
        detail: error.0,
    };
    Normalized {
        frames: vec![wire::quarantine(reason, text.as_bytes())],
        changes: 0,
        activity: 0,
        quarantined: true,
    }
}

/// Frames gathered into batches, each written in one transaction.
#[derive(Default)]
struct BatchWriter {
    batch: Vec<PositionedFrame>,
    fill: BatchFill,
}

impl BatchWriter {
    fn push(
        &mut self,
        frame: Frame,
        session: &mut Session,
        report: &mut LogImportReport,
    ) -> Result<(), StoreError> {
        let frame = super::positioned(frame);
        self.fill.add(&frame);
        self.batch.push(frame);
        if self.fill.is_full() {
            self.flush(session, report)?;
        }
        Ok(())
    }

    fn flush(
        &mut self,
        session: &mut Session,
        report: &mut LogImportReport,
    ) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let outcome = super::store_batch(session, &mut self.batch)?;
        self.fill = BatchFill::default();
        report.stored += outcome.stored;
        report.duplicates += outcome.duplicates;
        report.quarantined += outcome.quarantined;
        Ok(())
    }
}

/// The last configuration the session holds for `asset` at or before `at_us`: what an import
/// of older logs into a session of newer ones must not mistake for the state before.
fn latest_config(session: &Session, asset: &str, at_us: i64) -> Option<Value> {
    let before = PageCursor {
        time_us: at_us.saturating_add(1),
        seq: i64::MIN,
    };
    let newest = session
        .asset_events(asset, Some(before), 1)
        .ok()?
        .into_iter()
        .next()?;
    if newest.change == Some(crate::model::ChangeKind::Delete) {
        return None;
    }
    let body = json::parse(&newest.body).ok()?;
    Some(body["data"]["config"].clone()).filter(|config| !config.is_null())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::timeline;

    fn fixture(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/auditlog/cloudtrail")
            .join(path)
    }

    /// The session's event whose body's action is `action`, with its detail.
    fn detail_of(session: &Session, action: &str) -> timeline::ChangeDetail {
        let newest = session.newest_seq().unwrap().unwrap();
        (1..=newest)
            .filter_map(|seq| timeline::change_detail(session, seq).unwrap())
            .find(|detail| detail.row.action.as_deref() == Some(action))
            .unwrap_or_else(|| panic!("no {action}"))
    }

    #[test]
    fn a_change_of_unknown_configuration_shows_the_part_the_call_proves_or_what_it_requested() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let folder = fixture("stratus-red-team");
        let report = import_path(&mut session, &folder, None, &mut |_, _| true).unwrap();
        assert_eq!(report.records, 310);
        assert_eq!(report.files_by_format.get("cloudtrail"), Some(&35));

        let opened = detail_of(&session, "AuthorizeSecurityGroupIngress");
        assert_eq!(opened.changes.len(), 1, "{:?}", opened.changes);
        assert_eq!(opened.changes[0].path, "IpPermissions[0]");
        assert_eq!(opened.changes[0].op, crate::diff::ChangeOp::Added);
        assert!(
            opened
                .diff_note
                .unwrap()
                .contains("only the part the call changed")
        );

        let reset = detail_of(&session, "UpdateLoginProfile");
        let requested = reset.config.expect("the requested change");
        assert_eq!(requested.label, "requested");
        assert!(
            requested
                .text
                .contains("stratus-red-team-update-login-profile-user")
        );
    }

    #[test]
    fn older_logs_imported_into_a_session_of_newer_ones_do_not_take_the_newer_state_as_previous() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        import_path(&mut session, &fixture("seed-story"), None, &mut |_, _| true).unwrap();
        // A record from the Thursday before: the session knows prod-db-sg's configuration only
        // from Friday on, so the state before this call is unknown, not Sunday's.
        let thursday = dir.path().join("thursday.json");
        std::fs::write(
            &thursday,
            r#"{"Records":[{"eventVersion":"1.09","eventTime":"2024-05-02T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"CreateTags","awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"thu-1","readOnly":false,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/kpatel"},"requestParameters":{"resourcesSet":{"items":[{"resourceId":"sg-0db5e1c2a3b4c5d6e"}]},"tagSet":{"items":[{"key":"owner","value":"kpatel"}]}}}]}"#,
        )
        .unwrap();
        import_path(&mut session, &thursday, None, &mut |_, _| true).unwrap();
        let tagged = (1..=session.newest_seq().unwrap().unwrap())
            .filter_map(|seq| timeline::change_detail(&session, seq).unwrap())
            .find(|detail| detail.row.time.starts_with("2024-05-02"))
            .unwrap();
        assert_eq!(tagged.row.action.as_deref(), Some("CreateTags"));
        assert!(tagged.changes.is_empty(), "{:?}", tagged.changes);
        assert_eq!(tagged.config.map(|c| c.label), Some("requested"));

        // A record after Sunday does take Sunday's configuration as the state before it.
        let monday = dir.path().join("monday.json");
        std::fs::write(
            &monday,
            std::fs::read_to_string(&thursday)
                .unwrap()
                .replace("2024-05-02", "2024-05-06")
                .replace("thu-1", "mon-1"),
        )
        .unwrap();
        import_path(&mut session, &monday, None, &mut |_, _| true).unwrap();
        let tagged = (1..=session.newest_seq().unwrap().unwrap())
            .filter_map(|seq| timeline::change_detail(&session, seq).unwrap())
            .find(|detail| detail.row.time.starts_with("2024-05-06"))
            .unwrap();
        assert_eq!(tagged.changes.len(), 1, "{:?}", tagged.changes);
        assert_eq!(tagged.changes[0].path, "Tags[Key=owner]");
    }

    #[test]
    fn activity_is_listed_apart_from_the_changes_with_what_each_event_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        import_path(&mut session, &fixture("seed-story"), None, &mut |_, _| true).unwrap();
        let page = |activity: bool, text: Option<&str>| {
            let query = timeline::TimelineQuery {
                activity,
                text: text.map(str::to_owned),
                ..Default::default()
            };
            timeline::list_changes(&session, &query, crate::store::PageStart::Offset(0), 500)
                .unwrap()
        };
        let changes = page(false, None);
        assert_eq!(changes.total, 31);
        assert!(changes.rows.iter().all(|row| row.change.is_some()));
        let activity = page(true, None);
        assert_eq!(activity.total, 50);
        assert!(activity.rows.iter().all(|row| row.change.is_none()));
        let login = activity
            .rows
            .iter()
            .find(|row| {
                row.principal_short.as_deref() == Some("jdoe")
                    && row.action.as_deref() == Some("ConsoleLogin")
            })
            .expect("jdoe's console login");
        assert_eq!(login.event_type, "com.opshelm.activity.sign_in");
        assert_eq!(login.summary, "ConsoleLogin: Success, MFA used: No");
        assert_eq!(login.source_ip.as_deref(), Some("198.51.100.23"));
        // The stolen key's use from the attacker's address is found by searching activity.
        let used = page(true, Some("203.0.113.66"));
        let actions: Vec<_> = used
            .rows
            .iter()
            .filter_map(|row| row.action.as_deref())
            .collect();
        assert_eq!(actions, ["DescribeDBInstances", "GetCallerIdentity"]);
        let refused = page(true, Some("AccessDenied"));
        assert_eq!(refused.total, 1);
        assert_eq!(refused.rows[0].event_type, "com.opshelm.activity.denied");
    }

    #[test]
    fn hidden_facet_values_leave_out_their_events_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        import_path(&mut session, &fixture("seed-story"), None, &mut |_, _| true).unwrap();
        let page = |query: timeline::TimelineQuery| {
            timeline::list_changes(&session, &query, crate::store::PageStart::Offset(0), 500)
                .unwrap()
        };
        let all = page(timeline::TimelineQuery::default());
        let provider = all
            .rows
            .iter()
            .filter(|r| r.method.as_deref() == Some("provider"))
            .count();
        assert_eq!(provider, 7, "the autoscaling launches and terminations");
        let hidden = page(timeline::TimelineQuery {
            exclude_methods: vec!["provider".into()],
            ..Default::default()
        });
        assert_eq!(hidden.total, all.total - 7);
        assert!(
            hidden
                .rows
                .iter()
                .all(|r| r.method.as_deref() != Some("provider"))
        );
        // Two hidden facets at once, and a value the session never saw hides nothing.
        let both = page(timeline::TimelineQuery {
            exclude_methods: vec!["provider".into(), "no-such-method".into()],
            exclude_changes: vec![crate::model::ChangeKind::Update],
            ..Default::default()
        });
        let expected = all
            .rows
            .iter()
            .filter(|r| r.method.as_deref() != Some("provider"))
            .filter(|r| r.change != Some(crate::model::ChangeKind::Update))
            .count() as u64;
        assert_eq!(both.total, expected);
    }
}
