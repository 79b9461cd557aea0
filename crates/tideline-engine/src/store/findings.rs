//! findings: storing what the detection rules found, and reading it back.

// Deferred transactions: under review the session file is read-only, and an immediate one
// would ask for a write lock on every attached database, the evidence included.
use rusqlite::{TransactionBehavior, params};

use super::reads::{EVENT_COLUMNS, stored_event};
use super::{Session, StoreError, StoredEvent};
use crate::detect::{EventRef, Finding, RuleId, Severity};

impl Session {
    /// Replaces every stored finding with `findings` (after a rebuild).
    pub fn replace_findings(&mut self, findings: &[Finding]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        tx.execute("DELETE FROM notes.finding_events", [])?;
        tx.execute("DELETE FROM notes.findings", [])?;
        upsert(&tx, findings)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds findings, or replaces those with the same key (a grouped finding that grew).
    pub fn upsert_findings(&mut self, findings: &[Finding]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        upsert(&tx, findings)?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored finding, oldest first.
    pub fn findings(&self) -> Result<Vec<Finding>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT key, rule, severity, asset, principal, summary, time_us, events, asset_label, principal_short FROM notes.findings ORDER BY time_us, key",
        )?;
        let rows = statement.query_map([], |row| {
            let rule: String = row.get(1)?;
            let severity: String = row.get(2)?;
            let events: String = row.get(7)?;
            let time_us: i64 = row.get(6)?;
            Ok(Finding {
                key: row.get(0)?,
                rule: RuleId::parse(&rule).unwrap_or(RuleId::OffHours),
                severity: Severity::parse(&severity).unwrap_or(Severity::Low),
                asset: row.get(3)?,
                asset_label: row.get(8)?,
                principal: row.get(4)?,
                principal_short: row.get(9)?,
                summary: row.get(5)?,
                time: chrono::DateTime::from_timestamp_micros(time_us)
                    .map(super::format_time)
                    .unwrap_or_default(),
                time_us,
                events: serde_json::from_str::<Vec<EventRef>>(&events).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The rules that flagged each of `seqs`.
    pub fn finding_rules_of(
        &self,
        seqs: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<String>>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT DISTINCT f.rule FROM notes.finding_events fe JOIN notes.findings f ON f.key = fe.key WHERE fe.seq = ?1 ORDER BY f.rule",
        )?;
        let mut found = std::collections::HashMap::new();
        for &seq in seqs {
            let rules: Vec<String> = statement
                .query_map([seq], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            if !rules.is_empty() {
                found.insert(seq, rules);
            }
        }
        Ok(found)
    }

    /// Events with an arrival number above `seq`, in arrival order (for incremental detection).
    pub fn events_after(&self, seq: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map([seq], stored_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn upsert(tx: &rusqlite::Transaction<'_>, findings: &[Finding]) -> Result<(), StoreError> {
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
            finding.rule.as_str(),
            finding.severity.as_str(),
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
