//! annotations: the analyst's stars, tags and comments on events. Not evidence: they are kept
//! apart from `events` and outside the integrity chain.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::values::{SEQ_LIST, count, format_time, micros_to_time, seq_list};
use super::{Session, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Comment {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub body: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// Everything the analyst said about one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Annotations {
    pub starred: bool,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

/// The longest tag and comment accepted, in bytes: notes, not documents.
pub const TAG_MAX: usize = 100;
pub const COMMENT_MAX: usize = 10_000;

impl Session {
    fn require_event(&self, seq: i64) -> Result<(), StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT seq FROM events WHERE seq = ?1", [seq], |row| {
                row.get("seq")
            })
            .optional()?;
        exists
            .map(|_| ())
            .ok_or_else(|| StoreError::BadQuery(format!("there is no event #{seq}")))
    }

    pub fn set_starred(
        &self,
        seq: i64,
        starred: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.require_event(seq)?;
        if starred {
            self.conn.execute(
                "INSERT OR IGNORE INTO notes.event_stars (seq, starred_us) VALUES (?1, ?2)",
                params![seq, now.timestamp_micros()],
            )?;
        } else {
            self.conn
                .execute("DELETE FROM notes.event_stars WHERE seq = ?1", [seq])?;
        }
        Ok(())
    }

    /// Adds `tag` (trimmed; empty or over [`TAG_MAX`] bytes is refused) to an event.
    pub fn add_tag(&self, seq: i64, tag: &str) -> Result<(), StoreError> {
        let tag = tag.trim();
        if tag.is_empty() || tag.len() > TAG_MAX || tag.chars().any(char::is_control) {
            return Err(StoreError::BadQuery(format!(
                "a tag is 1 to {TAG_MAX} bytes of text without control characters"
            )));
        }
        self.require_event(seq)?;
        self.conn.execute(
            "INSERT OR IGNORE INTO notes.event_tags (seq, tag) VALUES (?1, ?2)",
            params![seq, tag],
        )?;
        Ok(())
    }

    pub fn remove_tag(&self, seq: i64, tag: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM notes.event_tags WHERE seq = ?1 AND tag = ?2",
            params![seq, tag],
        )?;
        Ok(())
    }

    pub fn add_comment(&self, seq: i64, body: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let body = body.trim();
        if body.is_empty() || body.len() > COMMENT_MAX {
            return Err(StoreError::BadQuery(format!(
                "a comment is 1 to {COMMENT_MAX} bytes of text"
            )));
        }
        self.require_event(seq)?;
        self.conn.execute(
            "INSERT INTO notes.event_comments (seq, body, created_us) VALUES (?1, ?2, ?3)",
            params![seq, body, now.timestamp_micros()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Deletes comment `comment_id` of event `seq` (both must match).
    pub fn delete_comment(&self, seq: i64, comment_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM notes.event_comments WHERE id = ?1 AND seq = ?2",
            params![comment_id, seq],
        )?;
        Ok(())
    }

    pub fn annotations(&self, seq: i64) -> Result<Annotations, StoreError> {
        Ok(self
            .annotations_of(&[seq])?
            .remove(&seq)
            .unwrap_or_default())
    }

    /// The annotations of several events at once (for a page of rows or an export batch): one
    /// query per kind of note for all of them, not one per event.
    pub fn annotations_of(&self, seqs: &[i64]) -> Result<HashMap<i64, Annotations>, StoreError> {
        let mut found: HashMap<i64, Annotations> = HashMap::new();
        if seqs.is_empty() {
            return Ok(found);
        }
        let list = seq_list(seqs);
        let mut star = self.conn.prepare_cached(&format!(
            "SELECT seq FROM notes.event_stars WHERE seq IN {SEQ_LIST}"
        ))?;
        let mut rows = star.query([&list])?;
        while let Some(row) = rows.next()? {
            found.entry(row.get("seq")?).or_default().starred = true;
        }
        let mut tags = self.conn.prepare_cached(&format!(
            "SELECT seq, tag FROM notes.event_tags WHERE seq IN {SEQ_LIST} ORDER BY seq, tag"
        ))?;
        let mut rows = tags.query([&list])?;
        while let Some(row) = rows.next()? {
            found
                .entry(row.get("seq")?)
                .or_default()
                .tags
                .push(row.get("tag")?);
        }
        let mut comments = self.conn.prepare_cached(&format!(
            "SELECT seq, id, body, created_us FROM notes.event_comments \
             WHERE seq IN {SEQ_LIST} ORDER BY seq, id"
        ))?;
        let mut rows = comments.query([&list])?;
        while let Some(row) = rows.next()? {
            found
                .entry(row.get("seq")?)
                .or_default()
                .comments
                .push(Comment {
                    id: row.get("id")?,
                    body: row.get("body")?,
                    created_at: format_time(micros_to_time(row.get("created_us")?)),
                });
        }
        Ok(found)
    }

    pub fn starred_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) AS n FROM notes.event_stars", [], |row| {
                count(row, "n")
            })?)
    }

    /// Every tag in use, with how many events carry it.
    pub fn tag_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT tag, count(*) AS n FROM notes.event_tags GROUP BY tag ORDER BY n DESC, tag",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get("tag")?, count(row, "n")?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
