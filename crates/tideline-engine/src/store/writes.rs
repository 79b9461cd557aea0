//! writes: storing a batch of frames in one transaction, with the stream position it reaches:
//! each event's row, its verbatim body, its facet ids, its asset's day (`asset_days`), its
//! asset's state (the search index is kept apart: store/search.rs).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::facet_values::FacetIds;
use super::filter::DAY_US;
use super::query::Facet;
use super::write_lock::{WriteLock, begin_writing};
use super::{Session, StoreError, integrity};
use crate::model::{ChangeKind, EventRecord, Frame, PositionedFrame, QuarantinedFrame};

/// The most frames one write transaction takes, from the recorder's writer or an import.
///
/// A transaction dirties one leaf page of `event_facets_by_asset` for each asset whose history
/// it extends (likewise for the other facet indexes), however many of that asset's events it
/// holds, and every dirty page is written twice (to the WAL, then to the file). So the bytes
/// written per event fall as a batch grows, and they bound the recording rate. Measured on the
/// benchmark's session (BENCHMARKS.md §3, "Record rate"): with 2,000 frames a batch, 8.9 KB
/// written per event at the start and 24 KB at 1M events; with 10,000, 7.4 KB and 11.4 KB.
/// Larger batches spilled the writer's page cache ([`super::BULK_CACHE_KIB`]) and were slower.
pub const BATCH_MAX_FRAMES: usize = 10_000;

/// The most bytes of frame bodies one write transaction takes (32 MiB): what bounds a batch of
/// large events in memory, where [`BATCH_MAX_FRAMES`] bounds one of typical 2.6 KB events.
pub const BATCH_MAX_BYTES: usize = 32 << 20;

/// How full a batch being gathered is, against [`BATCH_MAX_FRAMES`] and [`BATCH_MAX_BYTES`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchFill {
    frames: usize,
    bytes: usize,
}

impl BatchFill {
    /// Counts one more frame: its body (an event's JSON, a quarantined frame's kept bytes).
    pub fn add(&mut self, frame: &PositionedFrame) {
        self.frames += 1;
        self.bytes += match &frame.frame {
            Frame::Event(event) => event.body.len(),
            Frame::Quarantined(quarantined) => quarantined.raw.len(),
        };
    }

    /// Whether the batch should be written now.
    pub fn is_full(&self) -> bool {
        self.frames >= BATCH_MAX_FRAMES || self.bytes >= BATCH_MAX_BYTES
    }
}

/// What one batch did to the session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    pub stored: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub newest_time: Option<DateTime<Utc>>,
    /// The stream position after this batch, if any frame in it carried an SSE id.
    pub position: Option<String>,
}

const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events (source, event_id, event_type, change, time_us, \
     asset_name, asset_type, asset_display, asset_provider, asset_account, asset_region, \
     principal, principal_id, assumed_role, method, source_ip, action, received_us, link) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

const INSERT_BODY: &str = "INSERT INTO event_bodies (seq, body) VALUES (?1, ?2)";

const INSERT_FACETS: &str = "INSERT INTO event_facets (time_us, seq, change, asset_type, method, \
     principal, region, account, asset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

// The day as `event_facets.day` computes it (`filter::DAY_US`).
const INSERT_ASSET_DAY: &str = "INSERT OR IGNORE INTO asset_days (asset, day) VALUES (?1, ?2)";

// The newest event (by its own time, then arrival) defines the asset's state; older events
// arriving late only count. Every SET expression sees the row as it was before the update.
const UPSERT_ASSET: &str = "INSERT INTO assets (name, asset_type, display_name, provider, account, region, \
     state_seq, state_time_us, last_change, deleted, event_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1) \
     ON CONFLICT (name) DO UPDATE SET \
       event_count   = event_count + 1, \
       asset_type    = CASE WHEN excluded.state_time_us >= state_time_us THEN coalesce(excluded.asset_type, asset_type) ELSE coalesce(asset_type, excluded.asset_type) END, \
       display_name  = CASE WHEN excluded.state_time_us >= state_time_us THEN coalesce(excluded.display_name, display_name) ELSE coalesce(display_name, excluded.display_name) END, \
       provider      = coalesce(provider, excluded.provider), \
       account       = coalesce(account, excluded.account), \
       region        = coalesce(region, excluded.region), \
       state_seq     = CASE WHEN excluded.state_time_us >= state_time_us THEN excluded.state_seq ELSE state_seq END, \
       last_change   = CASE WHEN excluded.state_time_us >= state_time_us THEN excluded.last_change ELSE last_change END, \
       deleted       = CASE WHEN excluded.state_time_us >= state_time_us THEN excluded.deleted ELSE deleted END, \
       state_time_us = max(state_time_us, excluded.state_time_us)";

const INSERT_QUARANTINE: &str = "INSERT INTO quarantine (received_us, reason, sse_id, raw, raw_len) VALUES (?1, ?2, ?3, ?4, ?5)";

const ADVANCE_STREAM: &str = "UPDATE stream_state SET last_event_id = coalesce(?1, last_event_id), \
     duplicates = duplicates + ?2 WHERE id = 1";

impl Session {
    /// Stores `frames` in one transaction: new events, their assets' state, quarantined frames,
    /// the duplicate count and the stream position all commit together or not at all.
    /// A full disk is [`StoreError::DiskFull`]; the batch is rolled back and the file stays valid.
    pub fn write_batch(&mut self, frames: &[PositionedFrame]) -> Result<BatchOutcome, StoreError> {
        let path = self.path.clone();
        let mut facet_ids = std::mem::take(&mut self.facet_ids);
        let result = self.write_batch_once(frames, &mut facet_ids);
        match result {
            Ok(_) => facet_ids.committed(),
            Err(_) => facet_ids.rolled_back(),
        }
        self.facet_ids = facet_ids;
        result.map_err(|error| error.on(&path))
    }

    fn write_batch_once(
        &mut self,
        frames: &[PositionedFrame],
        facet_ids: &mut FacetIds,
    ) -> Result<BatchOutcome, StoreError> {
        // The session file's lock alone (not the attached notes', where findings are committed
        // meanwhile): see write_lock.rs.
        let tx = begin_writing(&self.conn, WriteLock::Session)?;
        let mut outcome = BatchOutcome::default();
        // Read inside the write transaction: any connection may write (the recorder's writer,
        // an import, a copy), and the chain must continue from what is committed.
        let mut head = integrity::chain_head_in(&tx)?;
        {
            let mut insert_event = tx.prepare_cached(INSERT_EVENT)?;
            let mut upsert_asset = tx.prepare_cached(UPSERT_ASSET)?;
            let mut insert_quarantine = tx.prepare_cached(INSERT_QUARANTINE)?;
            let mut insert_body = tx.prepare_cached(INSERT_BODY)?;
            let mut insert_facets = tx.prepare_cached(INSERT_FACETS)?;
            let mut insert_asset_day = tx.prepare_cached(INSERT_ASSET_DAY)?;
            // The (asset, day) pairs this batch has listed already.
            let mut asset_days: HashSet<(i64, i64)> = HashSet::new();
            for positioned in frames {
                let received_us = positioned.received_at.timestamp_micros();
                match &positioned.frame {
                    Frame::Event(event) => {
                        let link = integrity::link(&head, &event.body);
                        if insert_event_row(&mut insert_event, event, received_us, &link)? == 0 {
                            outcome.duplicates += 1;
                        } else {
                            head = link;
                            outcome.stored += 1;
                            outcome.newest_time = outcome.newest_time.max(Some(event.time));
                            let seq = tx.last_insert_rowid();
                            insert_body.execute(params![seq, event.body])?;
                            let ids = facet_row(&tx, facet_ids, event)?;
                            insert_facets.execute(params![
                                event.time.timestamp_micros(),
                                seq,
                                ids[0],
                                ids[1],
                                ids[2],
                                ids[3],
                                ids[4],
                                ids[5],
                                ids[6],
                            ])?;
                            if let Some(asset) = ids[6] {
                                let day = event.time.timestamp_micros() / DAY_US;
                                if asset_days.insert((asset, day)) {
                                    insert_asset_day.execute(params![asset, day])?;
                                }
                            }
                            if event.change.is_some() {
                                facet_ids.count_change(ids.into_iter().flatten());
                            }
                            if let (Some(change), Some(name)) = (event.change, &event.asset.name) {
                                upsert_asset.execute(params![
                                    name,
                                    event.asset.asset_type,
                                    event.asset.display_name,
                                    event.asset.provider,
                                    event.asset.account,
                                    event.asset.region,
                                    seq,
                                    event.time.timestamp_micros(),
                                    change.as_str(),
                                    change == ChangeKind::Delete,
                                ])?;
                            }
                        }
                    }
                    Frame::Quarantined(QuarantinedFrame {
                        reason,
                        raw,
                        raw_len,
                    }) => {
                        insert_quarantine.execute(params![
                            received_us,
                            reason.to_string(),
                            positioned.sse_id,
                            raw,
                            *raw_len as i64,
                        ])?;
                        outcome.quarantined += 1;
                    }
                }
                if let Some(id) = &positioned.sse_id {
                    outcome.position = Some(id.clone());
                }
            }
            facet_ids.write_counts(&tx)?;
            tx.execute(
                ADVANCE_STREAM,
                params![outcome.position, outcome.duplicates as i64],
            )?;
        }
        tx.commit()?;
        Ok(outcome)
    }
}

/// The event's facet ids, in [`Facet::ALL`] order (the `event_facets` columns).
fn facet_row(
    tx: &rusqlite::Transaction<'_>,
    facet_ids: &mut FacetIds,
    event: &EventRecord,
) -> Result<[Option<i64>; 7], StoreError> {
    let mut ids = [None; 7];
    for (slot, facet) in ids.iter_mut().zip(Facet::ALL) {
        let value = match facet {
            Facet::Change => event.change.map(ChangeKind::as_str),
            Facet::AssetType => event.asset.asset_type.as_deref(),
            Facet::Method => event.attribution.method.as_deref(),
            Facet::Principal => event.attribution.principal.as_deref(),
            Facet::Region => event.asset.region.as_deref(),
            Facet::Account => event.asset.account.as_deref(),
            Facet::Asset => event.asset.name.as_deref(),
        };
        if let Some(value) = value {
            *slot = Some(facet_ids.id(tx, facet, value)?);
        }
    }
    Ok(ids)
}

fn insert_event_row(
    statement: &mut rusqlite::CachedStatement<'_>,
    event: &EventRecord,
    received_us: i64,
    link: &[u8; 32],
) -> rusqlite::Result<usize> {
    statement.execute(params![
        event.source,
        event.event_id,
        event.event_type,
        event.change.map(ChangeKind::as_str),
        event.time.timestamp_micros(),
        event.asset.name,
        event.asset.asset_type,
        event.asset.display_name,
        event.asset.provider,
        event.asset.account,
        event.asset.region,
        event.attribution.principal,
        event.attribution.principal_id,
        event.attribution.assumed_role,
        event.attribution.method,
        event.attribution.source_ip,
        event.attribution.action,
        received_us,
        link.as_slice(),
    ])
}
