//! findings: what the detection rules found, kept in the notes database together with the
//! watermark it covers, and read back. One row per finding (a grouped finding counts its
//! events), one link row per event behind a finding, the rules' own state, and the meta that
//! says which settings, rules version and events the rows are current for. `detect` converts
//! the rows to and from its types and decides when to rebuild; this module only stores.
//!
//! Invariant: a [`Session::commit_findings`] writes rows, links, rule state and watermark in
//! one transaction, so the stored findings always equal the rules' output over exactly the
//! events up to the watermark.

use std::collections::HashMap;

// Write transactions take the notes' lock alone (write_lock.rs): an immediate one would ask
// for a write lock on every attached database, the session file under review included.
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::events::{EVENT_COLUMNS, EVENTS_WITH_BODIES, StoredEvent, stored_events};
use super::values::{SEQ_LIST, seq_list};
use super::write_lock::{WriteLock, begin_writing};
use super::{Session, StoreError};

/// An event behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventRef {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    pub source: String,
    pub event_id: String,
}

/// An event behind a finding with its time in microseconds: a finding keeps its first events
/// in (time, arrival) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedEventRef {
    pub time_us: i64,
    #[serde(flatten)]
    pub event: EventRef,
}

/// A finding as the first stores kept it: the rule and severity by name, the time of its first
/// event in microseconds. Kept for callers that store or read findings whole
/// ([`Session::replace_stored_findings`], [`Session::stored_findings`]); the rules write
/// [`FindingRow`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    /// Unique per finding.
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub asset: Option<String>,
    pub principal: Option<String>,
    pub summary: String,
    pub time_us: i64,
    pub events: Vec<EventRef>,
    pub asset_label: Option<String>,
    pub principal_short: Option<String>,
}

/// One row of `notes.findings`: a finding, grouped or not. Times are microseconds since the
/// epoch (UTC); `(first_us, first_seq)` and `(last_us, last_seq)` are its first and last events
/// in (time, arrival) order.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// Assigned by the writer (from [`FindingsWatermark::next_id`]) and kept for the finding's
    /// life; links name their finding by it.
    pub id: i64,
    /// Unique per finding: the rule and what it groups by.
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub asset: Option<String>,
    pub asset_label: Option<String>,
    pub principal: Option<String>,
    pub principal_short: Option<String>,
    pub summary: String,
    pub first_us: i64,
    pub first_seq: i64,
    pub last_us: i64,
    pub last_seq: i64,
    /// How many events the finding covers (every one is linked).
    pub count: u64,
    /// Its first events in (time, arrival) order, at most as many as the rule keeps.
    pub events: Vec<TimedEventRef>,
    /// The rule's own JSON for a grouped finding (what it needs to update the summary).
    pub detail: Option<String>,
}

/// Which rules output the stored findings are, and up to which event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingsWatermark {
    /// Changes with every rebuild: a runner holding another epoch was replaced.
    pub epoch: u64,
    /// The settings and rules version the findings were made with.
    pub fingerprint: String,
    /// False from a rebuild's start until its last commit.
    pub complete: bool,
    /// Every event with an arrival number up to this one has been seen by the rules.
    pub seq: i64,
    /// The key of the event at `seq`, so that a notes database never follows other events.
    pub seq_event: Option<(String, String)>,
    /// Counts commits: a runner that did not make the last one is out of date.
    pub generation: u64,
    /// The secret the rules hash their keys with (fixed per rebuild).
    pub salt: u64,
    /// The next free finding id.
    pub next_id: i64,
}

/// What a commit moves the watermark to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkUpdate {
    pub seq: i64,
    pub seq_event: Option<(String, String)>,
    pub complete: bool,
}

/// A finding row to write, and how. The row is shared (the writer may keep it at hand while
/// another thread commits it).
#[derive(Debug, Clone, PartialEq)]
pub struct RowWrite {
    pub row: std::sync::Arc<FindingRow>,
    pub kind: WriteKind,
}

/// How a [`RowWrite`] changes the stored findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// A finding not stored yet: inserted, its events linked.
    Insert,
    /// A stored finding that grew: updated; its new links are in [`FindingsBatch::links`].
    Update,
    /// A stored finding written whole: updated, its links replaced by its events.
    Replace,
}

/// Everything one commit writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingsBatch {
    /// The epoch and generation the writer last saw; another's commit since refuses the batch.
    pub epoch: u64,
    pub generation: u64,
    pub rows: Vec<RowWrite>,
    /// Findings grown without being read back, in id order.
    pub grows: Vec<FindingGrow>,
    /// Finding ids to delete, with their links.
    pub removed: Vec<i64>,
    /// `(finding id, event seq)` links to add.
    pub links: Vec<(i64, i64)>,
    /// Rule state rows: a key and its JSON, or `None` to delete it.
    pub state: Vec<(String, Option<String>)>,
    /// (principal, address) pairs first seen or given another finding since the last commit:
    /// `(hash, finding id)`, 0 for none.
    pub pairs: Vec<(i64, i64)>,
    pub watermark: Option<WatermarkUpdate>,
}

/// Events added to a stored finding that was not read back (a rebuild's grouped findings,
/// each event later than all it had): its `count` grows by `added`, its last event becomes
/// (`last_us`, `last_seq`), and `listed` (the events it lists after those it lists now, up to
/// the rules' limit on listed events) is appended to its `events`. Their links are in
/// [`FindingsBatch::links`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingGrow {
    pub id: i64,
    pub added: u64,
    pub last_us: i64,
    pub last_seq: i64,
    pub listed: Vec<TimedEventRef>,
}

/// How a commit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Written; the new generation.
    Done(u64),
    /// Nothing written: another runner committed (or rebuilt) since this batch's generation.
    Superseded,
}

/// The stored findings' meta, in `notes.notes_meta`.
pub(super) mod meta {
    pub const EPOCH: &str = "findings_epoch";
    pub const FINGERPRINT: &str = "findings_fingerprint";
    pub const COMPLETE: &str = "findings_complete";
    pub const SEQ: &str = "findings_seq";
    pub const SEQ_EVENT: &str = "findings_seq_event";
    pub const GENERATION: &str = "findings_generation";
    pub const SALT: &str = "findings_salt";
    /// Above every id ever given (kept across rebuilds and layout changes: not in [`ALL`],
    /// which a rebuild rewrites).
    pub const NEXT_ID: &str = "findings_next_id";
    pub const ALL: [&str; 7] = [
        EPOCH,
        FINGERPRINT,
        COMPLETE,
        SEQ,
        SEQ_EVENT,
        GENERATION,
        SALT,
    ];
}

/// Separates source and event id in the stored key of the watermark's event.
const KEY_SEPARATOR: char = '\u{1f}';

/// Finds a finding by key (`key_hash = ? AND key = ?`). Dropped while a rebuild runs.
const FINDINGS_KEY_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS notes.findings_by_key ON findings (key_hash)";

/// Finds a (principal, address) pair's latest row by its hash (`Session::detect_pair`).
/// Dropped while a rebuild runs, made again by every commit of complete findings (a no-op once
/// there: at once from the whole log when a rebuild completes, as the key index), and made for
/// notes written before it had one (`Session::index_detect_pairs`).
const DETECT_PAIRS_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS notes.detect_pairs_by_hash ON detect_pairs (hash)";

/// The columns a [`FindingRow`] is read from ([`finding_row`] reads them by their places).
pub(super) const ROW_COLUMNS: &str = "id, key, rule, severity, asset, asset_label, principal, \
     principal_short, summary, time_us, first_seq, last_us, last_seq, count, events, detail";

/// The hash `notes.findings.key_hash` indexes a finding's key by (FNV-1a, 64 bits, as a signed
/// integer): stable across versions, so a query can look a key up as `key_hash = ? AND key = ?`.
pub fn finding_key_hash(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// A finding's listed events as the `events` column keeps them: a JSON array of
/// `[time_us, seq, source, event_id]`.
fn encode_events(events: &[TimedEventRef]) -> String {
    let tuples: Vec<(i64, i64, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.time_us,
                e.event.seq,
                e.event.source.as_str(),
                e.event.event_id.as_str(),
            )
        })
        .collect();
    serde_json::to_string(&tuples).unwrap_or_else(|_| "[]".into())
}

/// The `events` column read back (nothing if it cannot be read).
fn decode_events(text: &str) -> Vec<TimedEventRef> {
    let tuples: Vec<(i64, i64, String, String)> = serde_json::from_str(text).unwrap_or_default();
    tuples
        .into_iter()
        .map(|(time_us, seq, source, event_id)| TimedEventRef {
            time_us,
            event: EventRef {
                seq,
                source,
                event_id,
            },
        })
        .collect()
}

/// A row of a statement that selects [`ROW_COLUMNS`] first, each column read by its place
/// there ([`super::columns`]).
fn finding_row(row: &Row<'_>) -> rusqlite::Result<FindingRow> {
    macro_rules! at {
        ($name:literal) => {
            const { super::columns::column_at(ROW_COLUMNS, $name) }
        };
    }
    // As for events (`events::stored_event`): the names at the list's ends.
    debug_assert!(
        row.as_ref().column_name(0).is_ok_and(|name| name == "id")
            && row
                .as_ref()
                .column_name(at!("detail"))
                .is_ok_and(|name| name == "detail")
    );
    let count: i64 = row.get(at!("count"))?;
    let events = row.get_ref(at!("events"))?;
    let events = events.as_str().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            at!("events"),
            events.data_type(),
            Box::new(error),
        )
    })?;
    Ok(FindingRow {
        id: row.get(at!("id"))?,
        key: row.get(at!("key"))?,
        rule: row.get(at!("rule"))?,
        severity: row.get(at!("severity"))?,
        asset: row.get(at!("asset"))?,
        asset_label: row.get(at!("asset_label"))?,
        principal: row.get(at!("principal"))?,
        principal_short: row.get(at!("principal_short"))?,
        summary: row.get(at!("summary"))?,
        first_us: row.get(at!("time_us"))?,
        first_seq: row.get(at!("first_seq"))?,
        last_us: row.get(at!("last_us"))?,
        last_seq: row.get(at!("last_seq"))?,
        count: count.max(0) as u64,
        events: decode_events(events),
        detail: row.get(at!("detail"))?,
    })
}

impl From<&FindingRow> for StoredFinding {
    fn from(row: &FindingRow) -> StoredFinding {
        StoredFinding {
            key: row.key.clone(),
            rule: row.rule.clone(),
            severity: row.severity.clone(),
            asset: row.asset.clone(),
            principal: row.principal.clone(),
            summary: row.summary.clone(),
            time_us: row.first_us,
            events: row.events.iter().map(|e| e.event.clone()).collect(),
            asset_label: row.asset_label.clone(),
            principal_short: row.principal_short.clone(),
        }
    }
}

impl Session {
    /// The stored findings' watermark, or `None` when the rules never ran on this session (or
    /// its findings were made by a version without one).
    pub fn findings_watermark(&self) -> Result<Option<FindingsWatermark>, StoreError> {
        let mut values: HashMap<String, String> = HashMap::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT key, value FROM notes.notes_meta WHERE key LIKE 'findings_%'",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get("key")?, row.get("value")?)))?;
        for row in rows {
            let (key, value) = row?;
            values.insert(key, value);
        }
        let number = |key: &str| values.get(key).and_then(|text| text.parse::<u64>().ok());
        let (Some(epoch), Some(fingerprint), Some(seq), Some(generation), Some(salt)) = (
            number(meta::EPOCH),
            values.get(meta::FINGERPRINT),
            values
                .get(meta::SEQ)
                .and_then(|text| text.parse::<i64>().ok()),
            number(meta::GENERATION),
            number(meta::SALT),
        ) else {
            return Ok(None);
        };
        let next_id = next_finding_id(&self.conn)?;
        Ok(Some(FindingsWatermark {
            epoch,
            fingerprint: fingerprint.clone(),
            complete: values.get(meta::COMPLETE).is_some_and(|v| v == "1"),
            seq,
            seq_event: values
                .get(meta::SEQ_EVENT)
                .and_then(|text| text.split_once(KEY_SEPARATOR))
                .map(|(source, id)| (source.to_owned(), id.to_owned())),
            generation,
            salt,
            next_id,
        }))
    }

    /// The epoch of the stored findings (see [`FindingsWatermark::epoch`]); 0 before any
    /// rebuild.
    pub fn findings_epoch(&self) -> Result<u64, StoreError> {
        Ok(self.findings_watermark()?.map_or(0, |mark| mark.epoch))
    }

    /// Deletes every finding, link, rule state row and pair, and starts a rebuild with
    /// `fingerprint`: a new epoch and salt, the watermark at 0, not complete. Returns the
    /// watermark to commit against.
    pub fn begin_findings_rebuild(
        &self,
        fingerprint: &str,
    ) -> Result<FindingsWatermark, StoreError> {
        // It reads before it writes, beside other writers of the notes: see write_lock.rs.
        let tx = begin_writing(&self.conn, WriteLock::Notes)?;
        // Ids only grow, across rebuilds too: the app counts the findings made since the
        // analyst last looked as those with an id above the greatest then, and forwarding
        // sends those above its cursor. Read in the transaction that deletes them, and kept
        // in the meta, so that a rebuild that stops (or finds nothing) before its first commit
        // leaves the next id where it was.
        let next_id = next_finding_id(&tx)?;
        let mark = FindingsWatermark {
            epoch: rand::random::<u64>() >> 1,
            fingerprint: fingerprint.to_owned(),
            complete: false,
            seq: 0,
            seq_event: None,
            generation: 0,
            salt: rand::random::<u64>() >> 1,
            next_id,
        };
        // The key and pair indexes are made again at the end (from sorted keys: far cheaper
        // than random inserts); meanwhile the rules find their findings by id, and the
        // rebuild holds its pairs in memory.
        tx.execute_batch(
            "DELETE FROM notes.finding_links; DELETE FROM notes.findings; \
             DELETE FROM notes.detect_state; DELETE FROM notes.detect_pairs; \
             DROP INDEX IF EXISTS notes.findings_by_key; \
             DROP INDEX IF EXISTS notes.detect_pairs_by_hash;",
        )?;
        write_meta(&tx, &mark)?;
        set_meta(&tx, meta::NEXT_ID, &next_id.to_string())?;
        tx.commit()?;
        Ok(mark)
    }

    /// Writes `batch` in one transaction, unless another runner committed since its epoch
    /// and generation ([`Committed::Superseded`], nothing written).
    pub fn commit_findings(&self, batch: &FindingsBatch) -> Result<Committed, StoreError> {
        commit(&self.conn, batch)
    }

    /// A connection of its own to this session's notes database, for committing findings
    /// from another thread ([`FindingsWriter`]); `None` when the notes are kept in memory
    /// (then only this connection can reach them).
    pub fn findings_writer(&self) -> Result<Option<FindingsWriter>, StoreError> {
        let super::NotesLocation::File(file) = self.notes() else {
            return Ok(None);
        };
        let conn = rusqlite::Connection::open_in_memory()?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.clone());
        conn.execute(
            "ATTACH DATABASE ?1 AS notes",
            [absolute.to_string_lossy().as_ref()],
        )?;
        // A WAL of some 64 MiB between checkpoints: pages rewritten by many commits are
        // copied once, and finding a page in the WAL stays cheap.
        conn.execute_batch(
            "PRAGMA notes.synchronous = NORMAL; PRAGMA notes.cache_size = -8192; \
             PRAGMA wal_autocheckpoint = 16384;",
        )?;
        Ok(Some(FindingsWriter { conn }))
    }
}

/// A connection to a session's notes database alone, that commits findings batches (from
/// a thread of their own while the rules run: see [`Session::findings_writer`]). Checkpoints
/// what it can of its WAL when dropped (without waiting for readers).
pub struct FindingsWriter {
    conn: rusqlite::Connection,
}

impl FindingsWriter {
    /// As [`Session::commit_findings`].
    pub fn commit(&self, batch: &FindingsBatch) -> Result<Committed, StoreError> {
        commit(&self.conn, batch)
    }
}

impl Drop for FindingsWriter {
    fn drop(&mut self) {
        // What a reader still needs is checkpointed later.
        let _ = self
            .conn
            .query_row("PRAGMA notes.wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// Writes `batch` in one transaction on `conn` (see [`Session::commit_findings`]).
fn commit(conn: &rusqlite::Connection, batch: &FindingsBatch) -> Result<Committed, StoreError> {
    // It reads before it writes, beside other writers of the notes: see write_lock.rs.
    let tx = begin_writing(conn, WriteLock::Notes)?;
    let stored = read_meta_numbers(&tx)?;
    if stored != Some((batch.epoch, batch.generation)) {
        return Ok(Committed::Superseded);
    }
    {
        let mut unlink = tx.prepare_cached("DELETE FROM notes.finding_links WHERE finding = ?1")?;
        let mut delete = tx.prepare_cached("DELETE FROM notes.findings WHERE id = ?1")?;
        for id in &batch.removed {
            unlink.execute([id])?;
            delete.execute([id])?;
        }
        if let Some(greatest) = batch.removed.iter().max() {
            // A runner started later numbers from the stored ids: were the greatest gone, it
            // would give that id again, and a new finding would pass for one already seen.
            let above = greatest.saturating_add(1).max(next_finding_id(&tx)?);
            set_meta(&tx, meta::NEXT_ID, &above.to_string())?;
        }
        let mut insert = tx.prepare_cached(
            "INSERT INTO notes.findings (id, key, key_hash, rule, severity, asset, asset_label, \
               principal, principal_short, summary, time_us, first_seq, last_us, last_seq, \
               count, events, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        // A grown finding is written in two steps: the columns no index holds, always; the
        // indexed ones (`findings_by_time`, `findings_for_review`) only when one differs.
        // SQLite rewrites the entries of every index whose column an UPDATE sets, equal or
        // not, and a grown finding is an old row: its index entries sit on pages no other
        // write of the commit touches (at 1M events, ~290,000 such updates dirtied two
        // more pages each).
        let mut update = tx.prepare_cached(
            "UPDATE notes.findings SET asset = ?2, asset_label = ?3, principal = ?4, \
               principal_short = ?5, summary = ?6, first_seq = ?7, last_us = ?8, \
               last_seq = ?9, count = ?10, events = ?11, detail = ?12 \
             WHERE id = ?1",
        )?;
        let mut update_indexed = tx.prepare_cached(
            "UPDATE notes.findings SET rule = ?2, severity = ?3, time_us = ?4 \
             WHERE id = ?1 AND (rule IS NOT ?2 OR severity IS NOT ?3 OR time_us IS NOT ?4)",
        )?;
        let mut link = tx.prepare_cached(
            "INSERT OR IGNORE INTO notes.finding_links (finding, seq) VALUES (?1, ?2)",
        )?;
        for RowWrite { row, kind } in &batch.rows {
            let events = encode_events(&row.events);
            let count = row.count.min(i64::MAX as u64) as i64;
            if *kind == WriteKind::Insert {
                insert.execute(params![
                    row.id,
                    row.key,
                    finding_key_hash(&row.key),
                    row.rule,
                    row.severity,
                    row.asset,
                    row.asset_label,
                    row.principal,
                    row.principal_short,
                    row.summary,
                    row.first_us,
                    row.first_seq,
                    row.last_us,
                    row.last_seq,
                    count,
                    events,
                    row.detail,
                ])?;
            } else {
                update.execute(params![
                    row.id,
                    row.asset,
                    row.asset_label,
                    row.principal,
                    row.principal_short,
                    row.summary,
                    row.first_seq,
                    row.last_us,
                    row.last_seq,
                    count,
                    events,
                    row.detail,
                ])?;
                update_indexed.execute(params![row.id, row.rule, row.severity, row.first_us])?;
            }
            if *kind == WriteKind::Replace {
                unlink.execute([row.id])?;
            }
            if *kind != WriteKind::Update {
                for event in &row.events {
                    link.execute([row.id, event.event.seq])?;
                }
            }
        }
        // `events` is compact JSON (`encode_events`): the listed events appended to its array
        // are the bytes the whole list would encode to.
        let mut grow = tx.prepare_cached(
            "UPDATE notes.findings SET count = count + ?2, last_us = ?3, last_seq = ?4, \
               events = CASE WHEN ?5 IS NULL THEN events \
                             WHEN events = '[]' THEN ?5 \
                             ELSE substr(events, 1, length(events) - 1) || ',' || substr(?5, 2) END \
             WHERE id = ?1",
        )?;
        for FindingGrow {
            id,
            added,
            last_us,
            last_seq,
            listed,
        } in &batch.grows
        {
            let listed = (!listed.is_empty()).then(|| encode_events(listed));
            let added = (*added).min(i64::MAX as u64) as i64;
            grow.execute(params![id, added, last_us, last_seq, listed])?;
        }
        for (finding, seq) in &batch.links {
            link.execute([finding, seq])?;
        }
        let mut put_state = tx.prepare_cached(
            "INSERT INTO notes.detect_state (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?;
        let mut delete_state =
            tx.prepare_cached("DELETE FROM notes.detect_state WHERE key = ?1")?;
        for (key, value) in &batch.state {
            match value {
                Some(value) => put_state.execute([key, value])?,
                None => delete_state.execute([key])?,
            };
        }
        let mut pair =
            tx.prepare_cached("INSERT INTO notes.detect_pairs (hash, finding) VALUES (?1, ?2)")?;
        for (hash, finding) in &batch.pairs {
            pair.execute([hash, finding])?;
        }
    }
    let generation = batch.generation + 1;
    set_meta(&tx, meta::GENERATION, &generation.to_string())?;
    if let Some(mark) = &batch.watermark {
        set_meta(&tx, meta::SEQ, &mark.seq.to_string())?;
        set_meta(
            &tx,
            meta::SEQ_EVENT,
            &mark
                .seq_event
                .as_ref()
                .map(|(source, id)| format!("{source}{KEY_SEPARATOR}{id}"))
                .unwrap_or_default(),
        )?;
        set_meta(&tx, meta::COMPLETE, if mark.complete { "1" } else { "0" })?;
        if mark.complete {
            tx.execute_batch(FINDINGS_KEY_INDEX)?;
            tx.execute_batch(DETECT_PAIRS_INDEX)?;
        }
    }
    tx.commit()?;
    Ok(Committed::Done(generation))
}

impl Session {
    /// The finding with `key`, if one is stored (a scan while a rebuild runs: its key index is
    /// made at its end).
    pub fn finding_row(&self, key: &str) -> Result<Option<FindingRow>, StoreError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM notes.findings WHERE key_hash = ?1 AND key = ?2 LIMIT 1"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(statement
            .query_row(params![finding_key_hash(key), key], finding_row)
            .optional()?)
    }

    /// Calls `visit` for every stored finding, oldest first (by first event), one row at a
    /// time, so any number of findings can be read in constant memory.
    pub fn for_each_finding_row<E>(
        &self,
        mut visit: impl FnMut(FindingRow) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let sql = format!("SELECT {ROW_COLUMNS} FROM notes.findings ORDER BY time_us, key");
        let mut statement = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let mut rows = statement.query([]).map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            visit(finding_row(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// How many findings there are of each (severity, rule), as stored (texts this version may
    /// not know included), in no particular order. Read from `findings_for_review` alone where
    /// the notes have it (a read-only notes file may not).
    pub fn finding_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT severity, rule, count(*) AS n FROM notes.findings GROUP BY severity, rule",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get("severity")?,
                row.get("rule")?,
                row.get::<_, i64>("n")?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `limit` findings of one severity and rule (by first event, then by key): one
    /// range of `findings_for_review`, read backwards (where the notes have it).
    pub fn finding_rows_newest(
        &self,
        severity: &str,
        rule: &str,
        limit: u64,
    ) -> Result<Vec<FindingRow>, StoreError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM notes.findings \
             WHERE severity = ?1 AND rule = ?2 ORDER BY time_us DESC, key LIMIT ?3"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(
            params![severity, rule, limit.min(i64::MAX as u64) as i64],
            finding_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The greatest finding id stored (0 when there is none): ids only grow, so the findings
    /// made after a look are those above the greatest id then.
    pub fn finding_id_max(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(id), 0) AS id FROM notes.findings",
            [],
            |row| row.get("id"),
        )?)
    }

    /// How many findings have an id above `id`.
    pub fn findings_above_id(&self, id: i64) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) AS n FROM notes.findings WHERE id > ?1",
            [id],
            |row| row.get("n"),
        )?;
        Ok(count.max(0) as u64)
    }

    /// The findings that include the event `seq` (through `finding_links_by_seq`), by id.
    pub fn finding_rows_of_event(&self, seq: i64) -> Result<Vec<FindingRow>, StoreError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM notes.findings \
             WHERE id IN (SELECT finding FROM notes.finding_links WHERE seq = ?1) ORDER BY id"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map([seq], finding_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many findings are stored.
    pub fn finding_count(&self) -> Result<u64, StoreError> {
        let count: i64 =
            self.conn
                .query_row("SELECT count(*) AS n FROM notes.findings", [], |row| {
                    row.get("n")
                })?;
        Ok(count.max(0) as u64)
    }

    /// Every rule state row: its key and JSON.
    pub fn detect_state(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT key, value FROM notes.detect_state ORDER BY key")?;
        let rows = statement.query_map([], |row| Ok((row.get("key")?, row.get("value")?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The finding id of the stored (principal, address) pair `hash` (0: none), the latest
    /// written for it; `None` if it was never stored. Reads the pair index only: fails (an
    /// SQLite error) when it is missing, as while another runner rebuilds the findings, rather
    /// than scan every pair.
    pub fn detect_pair(&self, hash: i64) -> Result<Option<i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT finding FROM notes.detect_pairs INDEXED BY detect_pairs_by_hash \
             WHERE hash = ?1 ORDER BY rowid DESC LIMIT 1",
        )?;
        Ok(statement.query_row([hash], |row| row.get(0)).optional()?)
    }

    /// Makes sure the pairs of the complete findings `mark` can be found by hash
    /// ([`Session::detect_pair`]): makes their index if notes written before it lack it.
    /// False when it is not made now (another connection holds the notes' write lock, another
    /// runner has committed or begun a rebuild since `mark`, or SQLite failed to make it):
    /// read the pairs whole instead ([`Session::for_each_detect_pair`]). Errors: reading
    /// whether the index exists.
    pub fn index_detect_pairs(&self, mark: &FindingsWatermark) -> Result<bool, StoreError> {
        let indexed = |conn: &rusqlite::Connection| -> Result<bool, StoreError> {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM notes.sqlite_master \
                     WHERE type = 'index' AND name = 'detect_pairs_by_hash'",
                    [],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        };
        if indexed(&self.conn)? {
            return Ok(true);
        }
        // It reads before it writes, beside other writers of the notes: see write_lock.rs.
        let made = (|| -> Result<bool, StoreError> {
            let tx = begin_writing(&self.conn, WriteLock::Notes)?;
            // Not over a rebuild that began since (it makes the index when it completes).
            if read_meta_numbers(&tx)? != Some((mark.epoch, mark.generation)) {
                return Ok(false);
            }
            tx.execute_batch(DETECT_PAIRS_INDEX)?;
            tx.commit()?;
            Ok(true)
        })();
        Ok(made.unwrap_or(false) && indexed(&self.conn)?)
    }

    /// How many (principal, address) pairs are stored (an upper bound: counts rewrites too).
    pub fn detect_pair_rows(&self) -> Result<u64, StoreError> {
        let count: i64 =
            self.conn
                .query_row("SELECT count(*) AS n FROM notes.detect_pairs", [], |row| {
                    row.get("n")
                })?;
        Ok(count.max(0) as u64)
    }

    /// Calls `visit` with every stored (principal, address) pair: its hash and the id of its
    /// finding (0: none), the latest written for each, in ascending order of the hash read as
    /// unsigned.
    pub fn for_each_detect_pair(&self, mut visit: impl FnMut(i64, i64)) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT hash, finding FROM notes.detect_pairs WHERE rowid IN \
               (SELECT max(rowid) FROM notes.detect_pairs GROUP BY hash) \
             ORDER BY hash < 0, hash",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            visit(row.get("hash")?, row.get("finding")?);
        }
        Ok(())
    }

    /// The finding with id `id`, if one is stored.
    pub fn finding_row_by_id(&self, id: i64) -> Result<Option<FindingRow>, StoreError> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM notes.findings WHERE id = ?1");
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(statement.query_row([id], finding_row).optional()?)
    }

    /// At most `limit` events with an arrival number above `seq`, in arrival order: the
    /// detections' catch-up reads what was stored since its watermark in bounded chunks.
    pub fn events_after_limited(
        &self,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES} WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        Ok(stored_events(
            &mut statement,
            params![seq, limit.min(i64::MAX as usize) as i64],
        )?)
    }

    /// At most `limit` findings with an id above `id`, in id order (the order they were first
    /// found): what a forwarding destination has not been sent yet.
    pub fn findings_after_id(&self, id: i64, limit: usize) -> Result<Vec<FindingRow>, StoreError> {
        let sql =
            format!("SELECT {ROW_COLUMNS} FROM notes.findings WHERE id > ?1 ORDER BY id LIMIT ?2");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(
            params![id, limit.min(i64::MAX as usize) as i64],
            finding_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Readies this connection to write all of a session's findings: room for `kib` KiB of
    /// the notes database's pages, WAL commits synced at checkpoints only (`NORMAL`: a power
    /// cut may lose the last commits, never the database), and checkpoints every 64 MiB of
    /// WAL until [`Session::end_findings_bulk`] (pages rewritten by many commits are copied
    /// once).
    pub fn begin_findings_bulk(&self, kib: u32) -> Result<(), StoreError> {
        self.conn.execute_batch(&format!(
            "PRAGMA notes.cache_size = -{kib}; PRAGMA notes.synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = 16384;"
        ))?;
        Ok(())
    }

    /// Checkpoints the notes database's WAL into it (truncating the WAL) and turns automatic
    /// checkpoints back on (SQLite's default, every 1000 pages).
    pub fn end_findings_bulk(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA notes.wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 1000;")?;
        Ok(())
    }

    /// Replaces every stored finding with `findings` and returns the new epoch. The findings
    /// are then not current for any settings: the next runner rebuilds them.
    pub fn replace_stored_findings(
        &mut self,
        findings: &[StoredFinding],
    ) -> Result<u64, StoreError> {
        let mark = self.begin_findings_rebuild("")?;
        let rows = findings
            .iter()
            .enumerate()
            .map(|(index, finding)| RowWrite {
                row: std::sync::Arc::new(row_of(mark.next_id + index as i64, finding)),
                kind: WriteKind::Insert,
            })
            .collect();
        self.commit_findings(&FindingsBatch {
            epoch: mark.epoch,
            generation: mark.generation,
            rows,
            ..FindingsBatch::default()
        })?;
        Ok(mark.epoch)
    }

    /// Every stored finding, oldest first, as [`StoredFinding`]s.
    pub fn stored_findings(&self) -> Result<Vec<StoredFinding>, StoreError> {
        let mut all = Vec::new();
        self.for_each_finding_row(|row| {
            all.push(StoredFinding::from(&row));
            Ok::<(), StoreError>(())
        })?;
        Ok(all)
    }

    /// The findings that flagged each of `seqs` (those flagged only): each rule once, with the
    /// most severe of its findings on that event, by rule id; one query for all of them.
    pub fn finding_marks_of(
        &self,
        seqs: &[i64],
    ) -> Result<HashMap<i64, Vec<FindingMark>>, StoreError> {
        let mut marks: HashMap<i64, Vec<FindingMark>> = HashMap::new();
        if seqs.is_empty() {
            return Ok(marks);
        }
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT l.seq AS seq, f.rule AS rule, \
             max(CASE f.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END) AS rank \
             FROM notes.finding_links l JOIN notes.findings f ON f.id = l.finding \
             WHERE l.seq IN {SEQ_LIST} GROUP BY l.seq, f.rule ORDER BY l.seq, f.rule"
        ))?;
        let mut rows = statement.query([seq_list(seqs)])?;
        while let Some(row) = rows.next()? {
            let severity = match row.get::<_, i64>("rank")? {
                3 => "high",
                2 => "medium",
                _ => "low",
            };
            marks.entry(row.get("seq")?).or_default().push(FindingMark {
                rule: row.get("rule")?,
                severity: severity.to_owned(),
            });
        }
        Ok(marks)
    }

    /// The rules that flagged each of `seqs`.
    pub fn finding_rules_of(&self, seqs: &[i64]) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT DISTINCT f.rule AS rule FROM notes.finding_links l \
             JOIN notes.findings f ON f.id = l.finding WHERE l.seq = ?1 ORDER BY f.rule",
        )?;
        let mut found = HashMap::new();
        for &seq in seqs {
            let rules: Vec<String> = statement
                .query_map([seq], |row| row.get("rule"))?
                .collect::<Result<_, _>>()?;
            if !rules.is_empty() {
                found.insert(seq, rules);
            }
        }
        Ok(found)
    }
}

/// A finding as one of its events carries it: the rule's id (`new_source_ip`) and the
/// finding's severity (`low`, `medium`, `high`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingMark {
    pub rule: String,
    pub severity: String,
}

/// A whole finding as a row with id `id`: every event linked, its time its first.
fn row_of(id: i64, finding: &StoredFinding) -> FindingRow {
    let seqs = finding.events.iter().map(|e| e.seq);
    FindingRow {
        id,
        key: finding.key.clone(),
        rule: finding.rule.clone(),
        severity: finding.severity.clone(),
        asset: finding.asset.clone(),
        asset_label: finding.asset_label.clone(),
        principal: finding.principal.clone(),
        principal_short: finding.principal_short.clone(),
        summary: finding.summary.clone(),
        first_us: finding.time_us,
        first_seq: seqs.clone().min().unwrap_or(0),
        last_us: finding.time_us,
        last_seq: seqs.max().unwrap_or(0),
        count: finding.events.len() as u64,
        events: finding
            .events
            .iter()
            .map(|event| TimedEventRef {
                time_us: finding.time_us,
                event: event.clone(),
            })
            .collect(),
        detail: None,
    }
}

/// The id the next new finding gets: above every stored one and every one ever removed.
pub(super) fn next_finding_id(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT max(coalesce((SELECT max(id) FROM notes.findings), 0) + 1, \
           coalesce((SELECT CAST(value AS INTEGER) FROM notes.notes_meta WHERE key = ?1), 1)) \
           AS next",
        [meta::NEXT_ID],
        |row| row.get("next"),
    )?)
}

fn set_meta(tx: &rusqlite::Transaction<'_>, key: &str, value: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO notes.notes_meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn write_meta(tx: &rusqlite::Transaction<'_>, mark: &FindingsWatermark) -> Result<(), StoreError> {
    for key in meta::ALL {
        tx.execute("DELETE FROM notes.notes_meta WHERE key = ?1", [key])?;
    }
    set_meta(tx, meta::EPOCH, &mark.epoch.to_string())?;
    set_meta(tx, meta::FINGERPRINT, &mark.fingerprint)?;
    set_meta(tx, meta::COMPLETE, if mark.complete { "1" } else { "0" })?;
    set_meta(tx, meta::SEQ, &mark.seq.to_string())?;
    set_meta(tx, meta::GENERATION, &mark.generation.to_string())?;
    set_meta(tx, meta::SALT, &mark.salt.to_string())?;
    Ok(())
}

/// The stored epoch and generation, if a rebuild ever started.
fn read_meta_numbers(tx: &rusqlite::Transaction<'_>) -> Result<Option<(u64, u64)>, StoreError> {
    let mut read = tx.prepare_cached("SELECT value FROM notes.notes_meta WHERE key = ?1")?;
    let mut number = |key: &str| -> Result<Option<u64>, StoreError> {
        Ok(read
            .query_row([key], |row| row.get::<_, String>("value"))
            .optional()?
            .and_then(|text| text.parse().ok()))
    };
    Ok(number(meta::EPOCH)?.zip(number(meta::GENERATION)?))
}
