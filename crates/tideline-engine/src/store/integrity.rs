//! integrity: the SHA-256 chain over stored events, like CloudTrail's log-file validation.
//!
//! Each event's `link` is SHA-256(previous link || the event's verbatim bytes), in arrival
//! order, from [`GENESIS`]. Changing, removing or reordering a stored event breaks the chain
//! at that event (or the one after it). Truncating the newest events cannot be seen from the
//! file alone: compare [`Verification::head`] with a copy kept elsewhere.

use rusqlite::OptionalExtension;
use rusqlite::params;
use sha2::{Digest, Sha256};

use super::write_lock::{WriteLock, begin_writing};
use super::{Session, StoreError};

/// The link before the first event.
pub const GENESIS: [u8; 32] = [0; 32];

pub(super) fn link(previous: &[u8; 32], body: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(body.as_bytes());
    hasher.finalize().into()
}

/// The first event where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChainBreak {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    pub source: String,
    pub event_id: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub reason: &'static str,
}

/// The result of checking a whole session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verification {
    /// Events checked before the first break (all of them when intact).
    pub verified: u64,
    pub broken: Option<ChainBreak>,
    /// The newest event's link, hex: keep it elsewhere to detect truncation later.
    pub head: String,
    /// The arrival number of the last event verified: what "N events" covers.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_seq: Option<i64>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Session {
    /// Recomputes the chain over every event in arrival order.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        self.verify_after(None)
    }

    /// Verifies only the events stored after an intact `earlier` verification (the chain
    /// continues from its head), counting them on top of it: what a growing session needs every
    /// few seconds. Events before `earlier.last_seq` are taken as `earlier` found them; a full
    /// [`Session::verify`] rechecks everything. An `earlier` that was broken, or whose head no
    /// longer matches the stored link of its last event, is ignored (a full check runs).
    pub fn verify_after(&self, earlier: Option<&Verification>) -> Result<Verification, StoreError> {
        let start = match earlier {
            Some(earlier) if earlier.is_intact() => match earlier.last_seq {
                None => Some((0, GENESIS, 0)),
                Some(seq) => self
                    .stored_link(seq)?
                    .filter(|link| hex(link) == earlier.head)
                    .map(|link| (seq, link, earlier.verified)),
            },
            _ => None,
        };
        let (after, mut previous, mut verified) = start.unwrap_or((0, GENESIS, 0));
        let mut statement = self.conn.prepare(
            "SELECT e.seq AS seq, e.source AS source, e.event_id AS event_id, b.body AS body, \
             e.link AS link FROM events e LEFT JOIN event_bodies b ON b.seq = e.seq \
             WHERE e.seq > ?1 ORDER BY e.seq",
        )?;
        let mut rows = statement.query([after])?;
        let mut previous_seq = after;
        let last_seq = |seq: i64| (seq > 0).then_some(seq);
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get("seq")?;
            let body: Option<String> = row.get("body")?;
            let stored: Option<Vec<u8>> = row.get("link")?;
            let expected = body.as_deref().map(|body| link(&previous, body));
            if let Some(expected) = expected
                && stored.as_deref() == Some(expected.as_slice())
            {
                previous = expected;
                previous_seq = seq;
                verified += 1;
                continue;
            }
            // Arrival numbers are dense, so a gap before a break means events were removed.
            let reason = if stored.is_none() {
                "the event has no integrity link"
            } else if body.is_none() {
                "the event's stored bytes are missing: they were removed"
            } else if seq != previous_seq + 1 {
                "the chain is cut before this event: an earlier event was removed"
            } else {
                "the event's stored bytes do not match its integrity link: it was altered"
            };
            let broken = ChainBreak {
                seq,
                source: row.get("source")?,
                event_id: row.get("event_id")?,
                reason,
            };
            return Ok(Verification {
                verified,
                broken: Some(broken),
                head: hex(&previous),
                last_seq: last_seq(previous_seq),
            });
        }
        Ok(Verification {
            verified,
            broken: None,
            head: hex(&previous),
            last_seq: last_seq(previous_seq),
        })
    }

    /// The stored link of event `seq`, if it exists and has one.
    fn stored_link(&self, seq: i64) -> Result<Option<[u8; 32]>, StoreError> {
        let link: Option<Option<Vec<u8>>> = self
            .conn
            .query_row("SELECT link FROM events WHERE seq = ?1", [seq], |row| {
                row.get("link")
            })
            .optional()?;
        Ok(link
            .flatten()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok()))
    }

    /// Links events stored before the chain existed (a session from schema version 1).
    pub(super) fn fill_missing_links(&mut self) -> Result<(), StoreError> {
        let missing: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM events WHERE link IS NULL) AS missing",
            [],
            |row| row.get("missing"),
        )?;
        if !missing {
            return Ok(());
        }
        // It reads before it writes: see write_lock.rs.
        let tx = begin_writing(&self.conn, WriteLock::Session)?;
        {
            let mut read = tx.prepare(
                "SELECT e.seq AS seq, b.body AS body FROM events e \
                 JOIN event_bodies b ON b.seq = e.seq ORDER BY e.seq",
            )?;
            let mut write = tx.prepare("UPDATE events SET link = ?1 WHERE seq = ?2")?;
            let mut rows = read.query([])?;
            let mut previous = GENESIS;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get("seq")?;
                let body: String = row.get("body")?;
                previous = link(&previous, &body);
                write.execute(params![previous.as_slice(), seq])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The link of the newest stored event, read in `tx` (so it is what is committed).
pub(super) fn chain_head_in(tx: &rusqlite::Transaction<'_>) -> Result<[u8; 32], StoreError> {
    let head: Option<Vec<u8>> = tx
        .query_row(
            "SELECT link FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get("link"),
        )
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })?;
    Ok(head
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .unwrap_or(GENESIS))
}
