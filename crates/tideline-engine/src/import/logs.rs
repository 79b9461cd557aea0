//! import::logs: a file or folder of cloud audit logs into a session — found, recognised,
//! ordered by event time, normalized ([`crate::auditlog`]) and stored through the same
//! [`wire`] mapping, deduplication and quarantine as the live stream.
//!
//! The records come in event-time order from [`LogRecords`]; the previous configuration of an
//! asset the import has not met yet is read from the session, as of the record's time.
//! EventStream files met on the way go through [`super::import_file`] unchanged.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;

use super::{ImportError, ImportOutcome, Progress};
use crate::auditlog::order::order_key;
use crate::auditlog::read::LogRecords;
use crate::auditlog::{self, Inventory, LogFormat, SkippedFile};
use crate::json::{self, Value};
use crate::model::{Frame, PositionedFrame, QuarantineReason};
use crate::store::{PageCursor, Session, StoreError};
use crate::wire;

const BATCH: usize = 2_000;

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
    session.tune_for_bulk_writes()?;
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
    {
        // The inventory reads the session between writes; the two never overlap in time.
        let shared = RefCell::new(&mut *session);
        let now_us = Cell::new(i64::MAX);
        let mut inventory = Inventory::with_prior(Box::new(|asset| {
            latest_config(&shared.borrow(), asset, now_us.get())
        }));
        for record in records {
            done += 1;
            now_us.set(order_key(record.format, &record.text) >> 2);
            match auditlog::normalize_text(record.format, &record.text, &mut inventory) {
                Ok(events) => {
                    let changes = events
                        .iter()
                        .filter(|event| matches!(event.kind, auditlog::EventKind::Change(_)))
                        .count() as u64;
                    if changes > 0 {
                        report.change_records += 1;
                    } else {
                        report.activity_records += 1;
                    }
                    report.changes += changes;
                    report.activity += events.len() as u64 - changes;
                    for event in events {
                        let frame = wire::decode_frame(event.to_contract_json(&record.text));
                        writer.push(frame, &mut shared.borrow_mut(), &mut report)?;
                    }
                }
                Err(error) => {
                    report.quarantined_records += 1;
                    let reason = QuarantineReason::UnreadableLogRecord {
                        location: record.location,
                        detail: error.0,
                    };
                    writer.push(
                        wire::quarantine(reason, record.text.as_bytes()),
                        &mut shared.borrow_mut(),
                        &mut report,
                    )?;
                }
            }
            if done.is_multiple_of(BATCH as u64) && !progress(done, total) {
                writer.flush(&mut shared.borrow_mut(), &mut report)?;
                return Err(ImportError::Cancelled(done));
            }
        }
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
            for skipped in &self.skipped {
                lines.push(format!("  {}: {}", skipped.path, skipped.reason));
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

/// Frames gathered into batches, each written in one transaction.
#[derive(Default)]
struct BatchWriter {
    batch: Vec<PositionedFrame>,
}

impl BatchWriter {
    fn push(
        &mut self,
        frame: Frame,
        session: &mut Session,
        report: &mut LogImportReport,
    ) -> Result<(), StoreError> {
        self.batch.push(PositionedFrame {
            frame,
            sse_id: None,
            received_at: Utc::now(),
        });
        if self.batch.len() >= BATCH {
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
        let outcome = session.write_batch(&self.batch)?;
        report.stored += outcome.stored;
        report.duplicates += outcome.duplicates;
        report.quarantined += outcome.quarantined;
        session.index_for_search(u64::MAX)?;
        self.batch.clear();
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
}
