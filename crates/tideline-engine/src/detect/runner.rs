//! runner: keeps a session's stored findings current from a watermark. Opening resumes from
//! the stored rule state and catches up the events stored since ([`DetectionRunner::open`]);
//! it rebuilds from every event only when the findings are not current — other settings or
//! rules version, a rebuild that never finished, a watermark that does not name this
//! session's event, or none at all.
//!
//! Memory stays bounded however many events there are: the rules keep state per principal,
//! asset, account and hour (a rebuild also 12 bytes per (principal, address) pair for
//! `new_source_ip`, which a resumed run looks up in the store instead: see `pairs.rs`),
//! findings go to the store in batches as they are found (held only until stored), and events
//! are read one at a time (a rebuild: in time order, by a reader thread with its own connection,
//! through a bounded queue, while a writer thread commits the batches) or in chunks (a
//! catch-up, in arrival order).
//!
//! **Exactness under late events.** A catch-up takes events in arrival order, and streams
//! deliver some minutes late. Catch-up findings equal a rebuild's:
//! - always, for `new_source_ip`, `unexpected_principal`, `console_where_iac`,
//!   `unexpected_region` and `off_hours` (per day): they depend only on which events exist, and
//!   a late event updates just its own subject's finding (a principal's first address may move
//!   to it; a late first Terraform change re-reads that asset's history);
//! - for `reverted_change`, `short_lived_asset`, `impossible_travel` and off-hours bursts, for
//!   events at most [`super::LATENESS_TOLERANCE_US`] (15 minutes) older than the newest event
//!   seen: their per-asset and per-principal state replays the recent steps. An event later
//!   than that is replayed as if it came right after the settled past, and a burst it
//!   completes lists only it — the documented bound. Links of a principal's first address
//!   made a finding by such an event cover only the events of the tolerance window.
//! - An event earlier than the session's first change moves the learning period: that alone
//!   rebuilds (it happens only in the first minutes of a recording, or on importing older
//!   events).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};

use super::body::{self, BodyFields};
use super::detector::{Detector, Observed};
use super::{
    DetectionSettings, Finding, FindingsOverview, FindingsQuery, RuleCount, RuleId, RuleStatus,
    Severity, SeverityCount,
};
use crate::store::{
    Committed, FindingsBatch, FindingsWatermark, FindingsWriter, Session, StoreError, StoredEvent,
    WatermarkUpdate,
};

/// A catch-up reads this many events at a time.
const CATCH_UP_CHUNK: usize = 5_000;
/// A rebuild commits once this many findings changed.
const REBUILD_COMMIT_ROWS: usize = 20_000;
/// The notes database's page cache during a rebuild, in KiB.
const REBUILD_CACHE_KIB: u32 = 8 * 1024;
/// SQLite's soft heap limit during a rebuild, in bytes (store/heap_limit.rs; not while a bulk
/// writer is open in the process). Without it SQLite held 47 MB at 1M events, mostly the
/// rebuild's three connections' page caches; with it 16 MB, no slower within the noise.
const REBUILD_SQLITE_HEAP_BYTES: i64 = 16 << 20;
/// A rebuild's reader hands events over this many at a time …
const READ_CHUNK: usize = 64;
/// … and reads at most this many chunks ahead of the rules.
const READ_AHEAD_CHUNKS: usize = 16;

/// A session's findings in the rules' types. The store keeps them as plain rows; these convert,
/// so every caller reads [`Finding`]s.
impl Session {
    /// Every stored finding, oldest first.
    pub fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        let mut all = Vec::new();
        self.for_each_finding(|finding| {
            all.push(finding);
            Ok::<(), StoreError>(())
        })?;
        Ok(all)
    }

    /// What the Findings panel shows: the first `query.limit` findings of its rule and severity
    /// in review order, and the counts, in a few index range reads whatever the number of
    /// findings (a million at the benchmark's size: the panel never holds them all).
    pub fn findings_overview(&self, query: &FindingsQuery) -> Result<FindingsOverview, StoreError> {
        // One read snapshot: a runner may commit findings meanwhile on its own connection.
        let _snapshot = self.read_snapshot()?;
        let mut by_rule: Vec<RuleCount> = RuleId::ALL
            .into_iter()
            .map(|rule| RuleCount { rule, count: 0 })
            .collect();
        let mut by_severity: Vec<SeverityCount> = [Severity::High, Severity::Medium, Severity::Low]
            .into_iter()
            .map(|severity| SeverityCount { severity, count: 0 })
            .collect();
        let (mut total, mut matching) = (0, 0);
        let mut ranges = Vec::new();
        for (severity_text, rule_text, count) in self.finding_counts()? {
            // As `Finding::from` reads them, so the counts and the list agree.
            let severity = Severity::parse(&severity_text).unwrap_or(Severity::Low);
            let rule = RuleId::parse(&rule_text).unwrap_or(RuleId::OffHours);
            total += count;
            by_rule
                .iter_mut()
                .filter(|c| c.rule == rule)
                .for_each(|c| c.count += count);
            by_severity
                .iter_mut()
                .filter(|c| c.severity == severity)
                .for_each(|c| c.count += count);
            if query.rule.is_none_or(|wanted| wanted == rule)
                && query.severity.is_none_or(|wanted| wanted == severity)
            {
                matching += count;
                ranges.push((severity_text, rule_text));
            }
        }
        let limit = u64::from(query.limit);
        let mut findings = Vec::new();
        for (severity, rule) in &ranges {
            findings.extend(
                self.finding_rows_newest(severity, rule, limit)?
                    .into_iter()
                    .map(Finding::from),
            );
        }
        findings.sort_by(review_order);
        findings.truncate(query.limit as usize);
        let unseen = match query.seen_up_to {
            Some(id) => self.findings_above_id(id)?,
            None => 0,
        };
        Ok(FindingsOverview {
            findings,
            matching,
            total,
            by_rule,
            by_severity,
            newest_id: self.finding_id_max()?,
            unseen,
        })
    }

    /// The findings that include the event `seq`, in review order.
    pub fn findings_of_event(&self, seq: i64) -> Result<Vec<Finding>, StoreError> {
        let mut findings: Vec<Finding> = self
            .finding_rows_of_event(seq)?
            .into_iter()
            .map(Finding::from)
            .collect();
        findings.sort_by(review_order);
        Ok(findings)
    }

    /// Calls `visit` with every stored finding, oldest first, one at a time.
    pub fn for_each_finding<E>(
        &self,
        mut visit: impl FnMut(Finding) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        self.for_each_finding_row(|row| visit(Finding::from(row)))
    }
}

/// Most severe first, then newest first, then by key.
pub fn review_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then(b.time_us.cmp(&a.time_us))
        .then_with(|| a.key.cmp(&b.key))
}

/// Why a runner rebuilt the findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildReason {
    /// The session has no findings yet (or only those of an older layout).
    Missing,
    /// They were made with other settings or another rules version.
    Settings,
    /// Their watermark names an event this session does not have there.
    OtherEvents,
    /// The caller asked for one.
    Asked,
}

/// How [`DetectionRunner::open`] found the stored findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Current: resumed from the watermark, then `caught_up` events stored since were read.
    Resumed {
        caught_up: u64,
    },
    Rebuilt(RebuildReason),
    /// A rebuild is unfinished (another process may be running it, or one died): this runner
    /// stores nothing until [`DetectionRunner::catch_up`] finds it finished (then resumes it)
    /// or not moved on since the last look (then redoes it).
    Waiting,
}

/// Stops a rebuild's scan early.
enum Stop {
    Store(StoreError),
    Superseded,
    /// The findings writer's thread ended unasked (it panicked: joining it passes that on).
    WriterGone,
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Stop {
        Stop::Store(error)
    }
}

/// How far a runner's rebuild has read: the events fed to the rules so far, of the session's
/// events when it began. Shared (an `Arc`) with whoever shows it, read at any time from any
/// thread; both are 0 until a rebuild begins, and they stay at its last figures after it
/// until [`RebuildProgress::reset`].
#[derive(Debug, Default)]
pub struct RebuildProgress {
    read: AtomicU64,
    of: AtomicU64,
}

impl RebuildProgress {
    /// `(events read, events to read)` of the last rebuild begun; `(0, 0)` before one. The
    /// events stored while it reads are read too, but not counted in: `read` stops at `of`.
    pub fn get(&self) -> (u64, u64) {
        let of = self.of.load(Ordering::Relaxed);
        (self.read.load(Ordering::Relaxed).min(of), of)
    }

    /// Back to `(0, 0)`, as before any rebuild.
    pub fn reset(&self) {
        self.begin(0);
    }

    fn begin(&self, events: u64) {
        self.read.store(0, Ordering::Relaxed);
        self.of.store(events, Ordering::Relaxed);
    }

    fn add(&self, read: usize) {
        self.read.fetch_add(read as u64, Ordering::Relaxed);
    }
}

pub struct DetectionRunner {
    settings: DetectionSettings,
    /// Where its rebuilds (and those of the runners that replace it) report how far they read.
    progress: Arc<RebuildProgress>,
    fingerprint: String,
    detector: Detector,
    epoch: u64,
    generation: u64,
    /// Every event with an arrival number up to this one has been fed to the rules.
    seq: i64,
    seq_event: Option<(String, String)>,
    /// The watermark of the last commit.
    committed_seq: i64,
    /// Waiting for another process's rebuild: the generation it had when last looked at.
    waiting: Option<u64>,
}

impl DetectionRunner {
    /// Resumes the stored findings when they are current for `settings` and catches up the
    /// events stored since; otherwise rebuilds them. Says which it did.
    pub fn open(
        session: &mut Session,
        settings: DetectionSettings,
    ) -> Result<(DetectionRunner, Opened), StoreError> {
        DetectionRunner::open_on(session, settings, Arc::default())
    }

    /// [`DetectionRunner::open`], reporting how far any rebuild it (or a later catch-up) runs
    /// has read to `progress`.
    pub fn open_reporting(
        session: &mut Session,
        settings: DetectionSettings,
        progress: Arc<RebuildProgress>,
    ) -> Result<(DetectionRunner, Opened), StoreError> {
        DetectionRunner::open_on(session, settings, progress)
    }

    fn open_on(
        session: &Session,
        settings: DetectionSettings,
        progress: Arc<RebuildProgress>,
    ) -> Result<(DetectionRunner, Opened), StoreError> {
        let fingerprint = settings.fingerprint();
        let reason = match session.findings_watermark()? {
            None => RebuildReason::Missing,
            Some(mark) if mark.fingerprint != fingerprint => RebuildReason::Settings,
            // Another process may be rebuilding them: look again later (a stalled or crashed
            // rebuild is then taken over).
            Some(mark) if !mark.complete => {
                let mut runner = DetectionRunner::fresh(settings, &mark, false, progress);
                runner.waiting = Some(mark.generation);
                return Ok((runner, Opened::Waiting));
            }
            Some(mark) if !names_its_event(session, &mark)? => RebuildReason::OtherEvents,
            Some(mark) => {
                let mut runner = DetectionRunner::fresh(settings, &mark, false, progress);
                runner.detector.restore(session, &mark)?;
                let before = runner.seq;
                runner.catch_up_from(session)?;
                let opened = match runner.waiting {
                    Some(_) => Opened::Waiting,
                    None => Opened::Resumed {
                        caught_up: runner.seq.saturating_sub(before).max(0) as u64,
                    },
                };
                return Ok((runner, opened));
            }
        };
        let runner = DetectionRunner::rebuild_from(session, settings, progress)?;
        Ok((runner, Opened::Rebuilt(reason)))
    }

    /// Runs every rule over the whole session, in time order, and stores the findings
    /// (replacing any), committing as they are found.
    pub fn rebuild(
        session: &mut Session,
        settings: DetectionSettings,
    ) -> Result<DetectionRunner, StoreError> {
        DetectionRunner::rebuild_from(session, settings, Arc::default())
    }

    /// Reads the events stored since the last call and stores what they change; returns how
    /// many findings changed. After an error, open a new runner: what this one holds may no
    /// longer match the store. Findings another runner replaced since are taken over (or, while
    /// it is still rebuilding them, waited for).
    pub fn catch_up(&mut self, session: &mut Session) -> Result<usize, StoreError> {
        self.catch_up_from(session)
    }

    /// The settings the findings are made with.
    pub fn settings(&self) -> &DetectionSettings {
        &self.settings
    }

    pub fn statuses(&self) -> &[RuleStatus] {
        self.detector.statuses()
    }

    /// How many (principal, address) pairs it holds in memory.
    #[cfg(test)]
    pub(crate) fn pairs_held(&self) -> usize {
        self.detector.pairs_held()
    }

    /// Whether it waits for another process's rebuild (then it stores nothing).
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// A runner for the findings `mark` describes; `rebuilding` if it is to make them all.
    fn fresh(
        settings: DetectionSettings,
        mark: &FindingsWatermark,
        rebuilding: bool,
        progress: Arc<RebuildProgress>,
    ) -> DetectionRunner {
        DetectionRunner {
            progress,
            fingerprint: settings.fingerprint(),
            detector: Detector::new(settings.clone(), mark.salt, mark.next_id, rebuilding),
            settings,
            epoch: mark.epoch,
            generation: mark.generation,
            seq: mark.seq,
            seq_event: mark.seq_event.clone(),
            committed_seq: mark.seq,
            waiting: None,
        }
    }

    /// The rebuild: a reader thread reads the events in time order (and the parts of their
    /// bodies the rules read) through a connection of its own, while this one runs the rules
    /// and commits; a bounded queue between them keeps memory flat.
    fn rebuild_from(
        session: &Session,
        settings: DetectionSettings,
        progress: Arc<RebuildProgress>,
    ) -> Result<DetectionRunner, StoreError> {
        let _bound = crate::store::bound_sqlite_heap(REBUILD_SQLITE_HEAP_BYTES);
        session.begin_findings_bulk(REBUILD_CACHE_KIB)?;
        let rebuilt = DetectionRunner::rebuild_in_bulk(session, settings, progress);
        // A checkpoint that cannot run now (a reader holds an old snapshot) runs later.
        let _ = session.end_findings_bulk();
        rebuilt
    }

    fn rebuild_in_bulk(
        session: &Session,
        settings: DetectionSettings,
        progress: Arc<RebuildProgress>,
    ) -> Result<DetectionRunner, StoreError> {
        // Only for showing how far it read: a count that fails shows none (0).
        progress.begin(session.count_events(None).unwrap_or(0));
        let mark = session.begin_findings_rebuild(&settings.fingerprint())?;
        let mut runner = DetectionRunner::fresh(settings, &mark, true, progress);
        let writer = session.findings_writer()?;
        let path = session.path().to_owned();
        let fed = std::thread::scope(|scope| {
            let (chunks, arriving) = mpsc::sync_channel::<Vec<ReadEvent>>(READ_AHEAD_CHUNKS);
            // Read chunks go back to the reader, which frees their strings on its own thread
            // (a free from another thread contends for the reader's allocator).
            let (used, returned) = mpsc::channel::<Vec<ReadEvent>>();
            let reader = scope.spawn(move || read_in_time_order(&path, chunks, returned));
            let mut committer = Committer::start(scope, writer);
            let fed = arriving.iter().try_for_each(|mut chunk| {
                let fed = chunk
                    .iter_mut()
                    .try_for_each(|read| runner.feed(read, session, &mut committer));
                runner.progress.add(chunk.len());
                let _ = used.send(chunk);
                fed
            });
            // Stops the reader if this side stopped first.
            drop(arriving);
            drop(used);
            let read = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let fed = fed.and(read.map_err(Stop::Store)).and_then(|()| {
                runner.detector.settle(session)?;
                runner.commit(session, true, &mut committer)
            });
            let closed = committer.close(&mut runner);
            fed.and(closed)
        });
        // Later events are caught up, and may be late.
        runner.detector.end_rebuild();
        match fed {
            Ok(()) => Ok(runner),
            Err(Stop::Store(error)) => Err(error),
            Err(Stop::Superseded) => runner.wait(session),
            Err(Stop::WriterGone) => Err(StoreError::WriterStopped {
                cause: "the findings writer stopped".to_owned(),
            }),
        }
    }

    /// One event of a rebuild, committing when enough changed.
    fn feed(
        &mut self,
        read: &mut ReadEvent,
        session: &Session,
        committer: &mut Committer<'_>,
    ) -> Result<(), Stop> {
        let event = &read.event;
        if event.seq > self.seq {
            self.seq = event.seq;
            self.seq_event = Some((event.source.clone(), event.event_id.clone()));
        }
        // In time order no event comes before the first: `NeedsRebuild` cannot happen.
        self.detector
            .observe_read(event, read.fields.take(), session)?;
        if self.detector.has_much_to_commit(REBUILD_COMMIT_ROWS) {
            self.commit(session, false, committer)?;
            self.detector.settle(session)?;
        }
        Ok(())
    }

    /// Another runner wrote the findings since this one's last commit: wait for it.
    fn wait(mut self, session: &Session) -> Result<DetectionRunner, StoreError> {
        let mark = session.findings_watermark()?;
        self.waiting = Some(mark.map_or(0, |mark| mark.generation));
        Ok(self)
    }

    /// Whether `mark` is this runner's: no other runner committed or began a rebuild since.
    fn owns(&self, mark: Option<&FindingsWatermark>) -> bool {
        mark.is_some_and(|mark| mark.epoch == self.epoch && mark.generation == self.generation)
    }

    fn catch_up_from(&mut self, session: &Session) -> Result<usize, StoreError> {
        let mark = session.findings_watermark()?;
        if self.waiting.is_some() || !self.owns(mark.as_ref()) {
            return self.take_over(session, mark);
        }
        let mut changed = 0;
        loop {
            let mut chunk = session.events_after_limited(self.seq, CATCH_UP_CHUNK)?;
            let Some(newest) = chunk.iter().max_by_key(|event| event.seq) else {
                break;
            };
            let (seq, key) = (newest.seq, (newest.source.clone(), newest.event_id.clone()));
            // In time order within the chunk: fewer events are late.
            chunk.sort_by_key(|event| (event.time.timestamp_micros(), event.seq));
            for event in &chunk {
                let observed = match self.detector.observe(event, session) {
                    Ok(observed) => observed,
                    Err(error) => {
                        // Another runner began a rebuild meanwhile (it drops the pair index a
                        // resumed run reads): wait for it, as a superseded commit does.
                        let mark = session.findings_watermark()?;
                        if !self.owns(mark.as_ref()) {
                            return self.take_over(session, mark);
                        }
                        return Err(error);
                    }
                };
                if observed == Observed::NeedsRebuild {
                    *self = DetectionRunner::rebuild_from(
                        session,
                        self.settings.clone(),
                        self.progress.clone(),
                    )?;
                    return Ok(session.finding_count()? as usize);
                }
            }
            self.seq = seq;
            self.seq_event = Some(key);
            if self.detector.has_much_to_commit(CATCH_UP_CHUNK) {
                match self.commit_here(session) {
                    Ok(count) => changed += count,
                    Err(Stop::Superseded) => {
                        return self.take_over(session, session.findings_watermark()?);
                    }
                    Err(Stop::Store(error)) => return Err(error),
                    Err(Stop::WriterGone) => unreachable!("catch-up commits here"),
                }
            }
        }
        match self.commit_here(session) {
            Ok(count) => Ok(changed + count),
            Err(Stop::Superseded) => self.take_over(session, session.findings_watermark()?),
            Err(Stop::Store(error)) => Err(error),
            Err(Stop::WriterGone) => unreachable!("catch-up commits here"),
        }
    }

    /// The stored findings are not this runner's (another runner committed or rebuilt since,
    /// or this one waits for another's rebuild): wait while that rebuild progresses, rebuild
    /// when it stalled (no commit since the last look), else resume what is stored (or
    /// rebuild if it is not current).
    fn take_over(
        &mut self,
        session: &Session,
        mark: Option<FindingsWatermark>,
    ) -> Result<usize, StoreError> {
        let settings = self.settings.clone();
        if let Some(mark) = &mark
            && !mark.complete
            && mark.fingerprint == self.fingerprint
        {
            if self.waiting != Some(mark.generation) {
                self.waiting = Some(mark.generation);
                return Ok(0);
            }
            *self = DetectionRunner::rebuild_from(session, settings, self.progress.clone())?;
        } else {
            *self = DetectionRunner::open_on(session, settings, self.progress.clone())?.0;
        }
        Ok(session.finding_count()?.max(1) as usize)
    }

    /// Commits on this connection what changed since the last commit, caught up (see
    /// [`DetectionRunner::commit`]); returns how many findings changed.
    fn commit_here(&mut self, session: &Session) -> Result<usize, Stop> {
        let mut here = Committer::Here;
        let count = self.commit(session, true, &mut here)?;
        here.close(self)?;
        Ok(count)
    }

    /// Hands `committer` what changed since the last commit, with the watermark (and, if
    /// `complete`, the rules' state: the watermark then counts as caught up). Returns how
    /// many findings changed; [`Stop::Superseded`] when another runner committed since.
    fn commit(
        &mut self,
        session: &Session,
        complete: bool,
        committer: &mut Committer<'_>,
    ) -> Result<usize, Stop> {
        let findings = self.detector.take_findings();
        let pairs = self.detector.take_pairs();
        let state = if complete {
            self.detector.settle(session)?;
            self.detector.take_state()
        } else {
            Vec::new()
        };
        let count = findings.count();
        if count == 0
            && pairs.is_empty()
            && state.is_empty()
            && findings.links.is_empty()
            && self.seq == self.committed_seq
            && !complete
        {
            return Ok(0);
        }
        let batch = FindingsBatch {
            epoch: self.epoch,
            generation: self.generation,
            rows: findings.rows,
            grows: findings.grows,
            removed: findings.removed,
            links: findings.links,
            state,
            pairs,
            watermark: Some(WatermarkUpdate {
                seq: self.seq,
                seq_event: self.seq_event.clone(),
                complete,
            }),
        };
        // Commits go in order: the next batch expects the generation this one makes.
        self.generation += 1;
        self.committed_seq = self.seq;
        committer.send(batch, session, self)?;
        Ok(count)
    }
}

/// Batches a writer thread may have that it has not stored yet.
const IN_FLIGHT: usize = 1;

/// Where a runner's batches are committed: on its own connection, or on a thread of their own
/// with the notes database's own connection (a rebuild: writing overlaps reading and the
/// rules). [`IN_FLIGHT`] batches are in flight at most; findings they wrote stay held until
/// they are stored.
enum Committer<'scope> {
    Here,
    Thread {
        batches: SyncSender<FindingsBatch>,
        acks: mpsc::Receiver<Result<Committed, StoreError>>,
        in_flight: usize,
        thread: std::thread::ScopedJoinHandle<'scope, ()>,
    },
}

impl<'scope> Committer<'scope> {
    /// Commits on a thread of `scope` through `writer`, or here when there is none.
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        writer: Option<FindingsWriter>,
    ) -> Committer<'scope> {
        let Some(writer) = writer else {
            return Committer::Here;
        };
        let (batches, arriving) = mpsc::sync_channel::<FindingsBatch>(IN_FLIGHT);
        let (sent, acks) = mpsc::channel();
        let thread = scope.spawn(move || {
            for batch in arriving {
                let committed = writer.commit(&batch);
                let stop = !matches!(committed, Ok(Committed::Done(_)));
                if sent.send(committed).is_err() || stop {
                    return;
                }
            }
        });
        Committer::Thread {
            batches,
            acks,
            in_flight: 0,
            thread,
        }
    }

    /// Waits until at most `left` batches are in flight, then lets go of the findings the
    /// stored ones wrote.
    fn settle(&mut self, left: usize, runner: &mut DetectionRunner) -> Result<(), Stop> {
        if let Committer::Thread {
            acks, in_flight, ..
        } = self
        {
            while *in_flight > left {
                *in_flight -= 1;
                match acks.recv() {
                    Ok(Ok(Committed::Done(_))) => {}
                    Ok(Ok(Committed::Superseded)) => return Err(Stop::Superseded),
                    Ok(Err(error)) => return Err(Stop::Store(error)),
                    // It stopped without a word: it panicked, which `close` passes on.
                    Err(_) => return Err(Stop::WriterGone),
                }
            }
        }
        runner.detector.let_go(IN_FLIGHT as u64);
        Ok(())
    }

    fn send(
        &mut self,
        batch: FindingsBatch,
        session: &Session,
        runner: &mut DetectionRunner,
    ) -> Result<(), Stop> {
        self.settle(IN_FLIGHT - 1, runner)?;
        match self {
            Committer::Here => match session.commit_findings(&batch)? {
                Committed::Done(_) => {
                    runner.detector.let_go(1);
                    runner.detector.stored_every_take();
                    Ok(())
                }
                Committed::Superseded => Err(Stop::Superseded),
            },
            Committer::Thread {
                batches, in_flight, ..
            } => {
                if batches.send(batch).is_err() {
                    return Err(Stop::WriterGone);
                }
                *in_flight += 1;
                Ok(())
            }
        }
    }

    /// Waits for the last batch and the writer's end.
    fn close(mut self, runner: &mut DetectionRunner) -> Result<(), Stop> {
        let settled = self.settle(0, runner);
        if let Committer::Thread {
            batches, thread, ..
        } = self
        {
            drop(batches);
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        settled
    }
}

/// An event as the reader hands it over: its body already read (and dropped).
struct ReadEvent {
    event: StoredEvent,
    fields: Option<BodyFields>,
}

/// Why the reader stopped before the end.
enum ReadStop {
    Store(StoreError),
    /// Nobody takes the events any more.
    Gone,
}

impl From<StoreError> for ReadStop {
    fn from(error: StoreError) -> ReadStop {
        ReadStop::Store(error)
    }
}

/// Reads every event of the session at `path` in time order through a connection of its
/// own, reads the parts of their bodies the rules use, and hands them over in chunks (freeing
/// the chunks that come back).
fn read_in_time_order(
    path: &Path,
    chunks: SyncSender<Vec<ReadEvent>>,
    returned: mpsc::Receiver<Vec<ReadEvent>>,
) -> Result<(), StoreError> {
    let session = Session::open(path)?;
    let mut chunk = Vec::with_capacity(READ_CHUNK);
    let read = session.for_each_event(None, |mut event| {
        let fields = event.change.map(|_| body::read(&event.body));
        event.body = String::new();
        chunk.push(ReadEvent { event, fields });
        if chunk.len() == READ_CHUNK {
            let next = match returned.try_recv() {
                Ok(mut used) => {
                    used.clear();
                    used
                }
                Err(_) => Vec::with_capacity(READ_CHUNK),
            };
            let full = std::mem::replace(&mut chunk, next);
            chunks.send(full).map_err(|_| ReadStop::Gone)?;
        }
        Ok::<(), ReadStop>(())
    });
    match read {
        Ok(()) => {
            // The last, partly filled chunk (nobody may take it: then there is nothing to do).
            let _ = chunks.send(chunk);
            drop(chunks);
            // Free what comes back until the rules are done with it.
            for used in returned {
                drop(used);
            }
            Ok(())
        }
        Err(ReadStop::Gone) => Ok(()),
        Err(ReadStop::Store(error)) => Err(error),
    }
}

/// Whether the event at the watermark is the one it names (so the findings follow this
/// session's events, not another's that shares its notes).
fn names_its_event(session: &Session, mark: &FindingsWatermark) -> Result<bool, StoreError> {
    if mark.seq == 0 {
        return Ok(true);
    }
    Ok(session
        .event_by_seq(mark.seq)?
        .is_some_and(|event| mark.seq_event == Some((event.source, event.event_id))))
}
