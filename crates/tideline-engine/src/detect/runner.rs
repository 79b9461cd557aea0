//! runner: keeps a session's stored findings up to date — a full rebuild when a session opens
//! (or the settings change), then only the events stored since, in time order. An event older
//! than one already processed (streams can be minutes out of order) triggers a rebuild, so the
//! findings always equal a rebuild from scratch.

use super::{DetectionSettings, Detector, Finding, RuleStatus};
use crate::store::{Session, StoreError, StoredFinding};

/// A session's findings in the rules' types. The store keeps them as plain rows
/// ([`StoredFinding`]); these convert, so every caller reads and writes [`Finding`]s.
impl Session {
    /// Every stored finding, oldest first.
    pub fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        Ok(self
            .stored_findings()?
            .into_iter()
            .map(Finding::from)
            .collect())
    }

    /// Replaces every stored finding with `findings` (after a rebuild); returns the new epoch.
    pub fn replace_findings(&mut self, findings: &[Finding]) -> Result<u64, StoreError> {
        self.replace_stored_findings(&stored(findings))
    }

    /// Adds findings, or replaces those with the same key (a grouped finding that grew).
    pub fn upsert_findings(&mut self, findings: &[Finding]) -> Result<(), StoreError> {
        self.upsert_stored_findings(&stored(findings))
    }
}

fn stored(findings: &[Finding]) -> Vec<StoredFinding> {
    findings.iter().map(StoredFinding::from).collect()
}

pub struct DetectionRunner {
    settings: DetectionSettings,
    detector: Detector,
    /// The newest (time, arrival) processed, and the highest arrival number seen.
    watermark: (i64, i64),
    processed_seq: i64,
    /// The findings epoch this runner's rebuild wrote: if the stored one differs, another
    /// runner (another process, a session opened twice) replaced the findings since, and this
    /// one rebuilds rather than add to a set it did not write.
    epoch: u64,
}

impl DetectionRunner {
    /// Runs every rule over the whole session and stores the findings.
    pub fn rebuild(
        session: &mut Session,
        settings: DetectionSettings,
    ) -> Result<DetectionRunner, StoreError> {
        let mut runner = DetectionRunner {
            detector: Detector::new(settings.clone()),
            settings,
            watermark: (i64::MIN, i64::MIN),
            processed_seq: 0,
            epoch: 0,
        };
        session.for_each_event(None, |event| {
            runner.watermark = runner
                .watermark
                .max((event.time.timestamp_micros(), event.seq));
            runner.processed_seq = runner.processed_seq.max(event.seq);
            runner.detector.observe(&event);
            Ok::<(), StoreError>(())
        })?;
        runner.detector.take_changed();
        runner.epoch = session.replace_findings(&runner.detector.findings())?;
        Ok(runner)
    }

    /// Processes the events stored since the last call; returns how many findings changed.
    pub fn catch_up(&mut self, session: &mut Session) -> Result<usize, StoreError> {
        let replaced_by_another = session.findings_epoch()? != self.epoch;
        let mut fresh = session.events_after(self.processed_seq)?;
        if fresh.is_empty() && !replaced_by_another {
            return Ok(0);
        }
        fresh.sort_by_key(|event| (event.time.timestamp_micros(), event.seq));
        let out_of_order = fresh
            .first()
            .is_some_and(|event| (event.time.timestamp_micros(), event.seq) < self.watermark);
        if out_of_order || replaced_by_another {
            let rebuilt = DetectionRunner::rebuild(session, self.settings.clone())?;
            let count = rebuilt.detector.findings().len();
            *self = rebuilt;
            return Ok(count);
        }
        for event in &fresh {
            self.watermark = self
                .watermark
                .max((event.time.timestamp_micros(), event.seq));
            self.processed_seq = self.processed_seq.max(event.seq);
            self.detector.observe(event);
        }
        let changed = self.detector.take_changed();
        session.upsert_findings(&changed)?;
        Ok(changed.len())
    }

    pub fn findings(&self) -> Vec<Finding> {
        self.detector.findings()
    }

    pub fn statuses(&self) -> &[RuleStatus] {
        self.detector.statuses()
    }
}
