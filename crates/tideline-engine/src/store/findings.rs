//! findings: storing what the detection rules found (in the notes database), and reading it
//! back. The store keeps findings as plain rows; `detect` converts them to and from its types.

use std::collections::HashMap;

// Deferred transactions: under review the session file is read-only, and an immediate one
// would ask for a write lock on every attached database, the evidence included.
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

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

/// A finding as stored, one row of `notes.findings`: the rule and severity by name, the time of
/// its first event in microseconds.
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

impl Session {
    /// Replaces every stored finding with `findings` (after a rebuild) and returns the new
    /// findings epoch: a number that changes with every replacement, so a runner can tell that
    /// another one (another process, a settings change) rebuilt the findings since its own.
    pub fn replace_stored_findings(
        &mut self,
        findings: &[StoredFinding],
    ) -> Result<u64, StoreError> {
        let epoch = rand::random::<u64>() >> 1;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        tx.execute("DELETE FROM notes.finding_events", [])?;
        tx.execute("DELETE FROM notes.findings", [])?;
        upsert(&tx, findings)?;
        tx.execute(
            "INSERT INTO notes.notes_meta (key, value) VALUES ('findings_epoch', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [epoch.to_string()],
        )?;
        tx.commit()?;
        Ok(epoch)
    }

    /// The epoch of the stored findings (see [`Session::replace_stored_findings`]); 0 before
    /// any rebuild.
    pub fn findings_epoch(&self) -> Result<u64, StoreError> {
        let epoch: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM notes.notes_meta WHERE key = 'findings_epoch'",
                [],
                |row| row.get("value"),
            )
            .optional()?;
        Ok(epoch.and_then(|text| text.parse().ok()).unwrap_or(0))
    }

    /// Adds findings, or replaces those with the same key (a grouped finding that grew).
    pub fn upsert_stored_findings(&mut self, findings: &[StoredFinding]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        upsert(&tx, findings)?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored finding, oldest first.
    pub fn stored_findings(&self) -> Result<Vec<StoredFinding>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT key, rule, severity, asset, principal, summary, time_us, events, asset_label, principal_short FROM notes.findings ORDER BY time_us, key",
        )?;
        let rows = statement.query_map([], |row| {
            let events: String = row.get("events")?;
            Ok(StoredFinding {
                key: row.get("key")?,
                rule: row.get("rule")?,
                severity: row.get("severity")?,
                asset: row.get("asset")?,
                principal: row.get("principal")?,
                summary: row.get("summary")?,
                time_us: row.get("time_us")?,
                events: serde_json::from_str(&events).unwrap_or_default(),
                asset_label: row.get("asset_label")?,
                principal_short: row.get("principal_short")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The rules that flagged each of `seqs`.
    pub fn finding_rules_of(&self, seqs: &[i64]) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT DISTINCT f.rule AS rule FROM notes.finding_events fe JOIN notes.findings f ON f.key = fe.key WHERE fe.seq = ?1 ORDER BY f.rule",
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

fn upsert(tx: &rusqlite::Transaction<'_>, findings: &[StoredFinding]) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO notes.findings (key, rule, severity, asset, principal, summary, time_us, events, asset_label, principal_short) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (key) DO UPDATE SET rule = excluded.rule, severity = excluded.severity, \
           asset = excluded.asset, principal = excluded.principal, summary = excluded.summary, \
           time_us = excluded.time_us, events = excluded.events, \
           asset_label = excluded.asset_label, principal_short = excluded.principal_short",
    )?;
    let mut link =
        tx.prepare_cached("INSERT OR IGNORE INTO notes.finding_events (key, seq) VALUES (?1, ?2)")?;
    for finding in findings {
        let events = serde_json::to_string(&finding.events).unwrap_or_else(|_| "[]".into());
        insert.execute(params![
            finding.key,
            finding.rule,
            finding.severity,
            finding.asset,
            finding.principal,
            finding.summary,
            finding.time_us,
            events,
            finding.asset_label,
            finding.principal_short
        ])?;
        for event in &finding.events {
            link.execute(params![finding.key, event.seq])?;
        }
    }
    Ok(())
}
