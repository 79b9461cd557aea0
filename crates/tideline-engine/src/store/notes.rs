//! notes: where the analyst's opinion lives — stars, tags, comments and detection findings —
//! apart from the evidence. A session file is evidence and is never written while reviewed, so
//! these live in a notes database of their own, one per session identity, in the notes folder
//! ([`notes_dir`]), attached to every connection of the session as the schema `notes`.
//!
//! Session files from before the notes folder kept their annotations in their own tables
//! (migration 0003); the first open copies them into the notes database (reading the session
//! only). A saved copy bundles the notes back into the copy's own tables, so they travel with it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::StoreError;
use super::write_lock::{WriteLock, begin_writing};

/// The notes schema: the annotation tables of migration 0003, without foreign keys to
/// `events` (which lives in another database file). The findings have a schema of their own
/// ([`FINDINGS_SCHEMA`]).
const NOTES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notes.notes_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes.event_stars (seq INTEGER PRIMARY KEY, starred_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS notes.event_tags (
    seq INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (seq, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notes.event_tags_by_tag ON event_tags (tag, seq);
CREATE TABLE IF NOT EXISTS notes.event_comments (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, created_us INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS notes.event_comments_by_seq ON event_comments (seq);
CREATE TABLE IF NOT EXISTS notes.forward_cursors (
    destination TEXT PRIMARY KEY, delivered_seq INTEGER NOT NULL, delivered_finding INTEGER NOT NULL,
    delivered INTEGER NOT NULL, failing_since_us INTEGER, last_error TEXT, stopped TEXT,
    updated_us INTEGER NOT NULL);
";

/// The layout of the findings tables below; a notes database with another (or none) has its
/// findings dropped and made again by the rules (they are derived from the events).
const FINDINGS_LAYOUT: &str = "3";

/// Findings (see `findings.rs`): one row per finding, found by key through `key_hash`; one
/// link per event behind a finding (`finding_events` reads them by key, as version 1's table
/// did); the rules' own state and the (principal, address) pairs they have seen (a log, the
/// latest row of a hash winning, found by hash), so that a later run catches up from the
/// watermark (kept in `notes_meta`) instead of starting again.
const FINDINGS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notes.findings (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, key_hash INTEGER NOT NULL, rule TEXT NOT NULL,
    severity TEXT NOT NULL, asset TEXT, asset_label TEXT, principal TEXT, principal_short TEXT,
    summary TEXT NOT NULL, time_us INTEGER NOT NULL, first_seq INTEGER NOT NULL,
    last_us INTEGER NOT NULL, last_seq INTEGER NOT NULL, count INTEGER NOT NULL,
    events TEXT NOT NULL, detail TEXT);
CREATE INDEX IF NOT EXISTS notes.findings_by_key ON findings (key_hash);
CREATE INDEX IF NOT EXISTS notes.findings_by_time ON findings (time_us);
CREATE TABLE IF NOT EXISTS notes.finding_links (
    finding INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (finding, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS notes.finding_links_by_seq ON finding_links (seq);
CREATE VIEW IF NOT EXISTS notes.finding_events AS
    SELECT f.key AS key, f.key_hash AS key_hash, l.seq AS seq
    FROM finding_links l JOIN findings f ON f.id = l.finding;
CREATE TABLE IF NOT EXISTS notes.detect_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes.detect_pairs (hash INTEGER NOT NULL, finding INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS notes.detect_pairs_by_hash ON detect_pairs (hash);
";

/// The Findings panel's reads (`Session::finding_rows_newest`, `finding_counts`): one range per
/// (severity, rule), newest first, and the counts from the index alone.
const FINDINGS_FOR_REVIEW_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS notes.findings_for_review ON findings (severity, rule, time_us);";

/// Creates the findings tables, first dropping those of another layout (and their watermark).
fn findings_schema(conn: &Connection) -> Result<(), StoreError> {
    if findings_layout(conn)?.as_deref() == Some(FINDINGS_LAYOUT) {
        // Added within the layout: notes written before it gain it here, once. Only a speed-up:
        // notes that cannot take it now (a read-only file, another connection writing) are
        // read without it, never refused.
        let _ = conn.execute_batch(FINDINGS_FOR_REVIEW_INDEX);
        return Ok(());
    }
    // It reads before it writes, beside other connections to the notes: see write_lock.rs.
    let tx = begin_writing(conn, WriteLock::Notes)?;
    if findings_layout(&tx)?.as_deref() == Some(FINDINGS_LAYOUT) {
        // Another connection changed the layout meanwhile.
        return Ok(());
    }
    // Finding ids keep growing across a layout change: the analyst's "seen up to" and the
    // forwarding cursors name ids of the old layout. (An old layout without ids has none.)
    let next_id = super::findings::next_finding_id(&tx).ok();
    let finding_events_is_a_table = has_table(&tx, "notes", "finding_events")?;
    let mut sql = String::new();
    if finding_events_is_a_table {
        sql.push_str("DROP TABLE notes.finding_events;");
    } else {
        sql.push_str("DROP VIEW IF EXISTS notes.finding_events;");
    }
    sql.push_str(
        "DROP TABLE IF EXISTS notes.finding_links; DROP TABLE IF EXISTS notes.findings; \
         DROP TABLE IF EXISTS notes.detect_state; DROP TABLE IF EXISTS notes.detect_pairs; \
         DELETE FROM notes.notes_meta WHERE key LIKE 'findings_%';",
    );
    sql.push_str(FINDINGS_SCHEMA);
    sql.push_str(FINDINGS_FOR_REVIEW_INDEX);
    if let Some(next_id) = next_id {
        sql.push_str(&format!(
            "INSERT INTO notes.notes_meta (key, value) VALUES ('{}', '{next_id}');",
            super::findings::meta::NEXT_ID
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO notes.notes_meta (key, value) VALUES ('findings_layout', '{FINDINGS_LAYOUT}');"
    ));
    tx.execute_batch(&sql)?;
    tx.commit()?;
    Ok(())
}

/// The findings layout the notes hold (`notes_meta` key `findings_layout`), or `None` when
/// they have none yet.
fn findings_layout(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT value FROM notes.notes_meta WHERE key = 'findings_layout'",
            [],
            |row| row.get(0),
        )
        .optional()?)
}

/// The annotation tables copied between a session file's own tables and its notes.
const ANNOTATION_TABLES: [&str; 3] = ["event_stars", "event_tags", "event_comments"];

static CHOSEN_NOTES_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Sets this process's notes folder (a test's temporary one), ahead of every other choice
/// [`notes_dir`] makes. The first call wins; returns whether it did.
pub fn use_notes_dir(dir: PathBuf) -> bool {
    CHOSEN_NOTES_DIR.set(dir).is_ok()
}

/// The folder of notes databases: the one given to [`use_notes_dir`], else
/// `$TIDELINE_NOTES_DIR`, else `$XDG_DATA_HOME/tideline/notes`,
/// else `$HOME/.local/share/tideline/notes` (the XDG Base Directory specification's default).
pub fn notes_dir() -> Option<PathBuf> {
    if let Some(dir) = CHOSEN_NOTES_DIR.get() {
        return Some(dir.clone());
    }
    if cfg!(test) {
        // The engine's own unit tests never write into the user's notes folder.
        let name = format!("tideline-test-notes-{}", std::process::id());
        return Some(std::env::temp_dir().join(name));
    }
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = from_env("TIDELINE_NOTES_DIR") {
        return Some(PathBuf::from(dir));
    }
    let data = from_env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| from_env("HOME").map(|home| Path::new(&home).join(".local/share")))?;
    Some(data.join("tideline").join("notes"))
}

/// The identity notes are keyed by: the session's `session_id` (written when it was created),
/// or, for an older file that has none, a hash of its canonical path.
pub(super) fn identity(conn: &Connection, path: &Path) -> Result<String, StoreError> {
    let has_meta: bool = conn
        .query_row(
            "SELECT 1 FROM main.sqlite_schema WHERE name = 'session_meta'",
            [],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if has_meta
        && let Some(id) = conn
            .query_row(
                "SELECT value FROM main.session_meta WHERE key = 'session_id'",
                [],
                |row| row.get::<_, String>(0),
            )
            .optional()?
        && !id.is_empty()
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
    {
        return Ok(id);
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("path-{hex}"))
}

/// Where the notes of a session live, or why they are only kept in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesLocation {
    File(PathBuf),
    /// No notes folder could be used; notes last as long as the session is open.
    Memory {
        why: String,
    },
}

/// Attaches the notes database of session `identity` as `notes`, creating its tables, and
/// copies a legacy session's own annotations into it once. A notes file that cannot be used
/// (corrupt, read-only, on a file system without WAL) never stops the session from opening:
/// the notes are then kept in memory, and [`NotesLocation::Memory`] says why.
pub(super) fn attach(conn: &Connection, identity: &str) -> Result<NotesLocation, StoreError> {
    let file = match notes_dir() {
        None => Err("no notes folder (set TIDELINE_NOTES_DIR or HOME)".to_owned()),
        Some(dir) => std::fs::create_dir_all(&dir)
            .map(|()| dir.join(format!("{identity}.notes.sqlite")))
            .map_err(|error| format!("cannot create {}: {error}", dir.display())),
    };
    let why = match file {
        Ok(file) => match attach_file(conn, &file) {
            Ok(()) => return Ok(NotesLocation::File(file)),
            Err(error) => {
                let _ = conn.execute("DETACH DATABASE notes", []);
                format!("cannot use {}: {error}", file.display())
            }
        },
        Err(why) => why,
    };
    conn.execute("ATTACH DATABASE ':memory:' AS notes", [])?;
    conn.execute_batch(NOTES_SCHEMA)?;
    findings_schema(conn)?;
    import_legacy(conn)?;
    Ok(NotesLocation::Memory { why })
}

fn attach_file(conn: &Connection, file: &Path) -> Result<(), StoreError> {
    // An absolute path, so that the connection's URI flag never reads it as a `file:` URI.
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    conn.execute(
        "ATTACH DATABASE ?1 AS notes",
        [absolute.to_string_lossy().as_ref()],
    )?;
    conn.query_row("PRAGMA notes.journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch(NOTES_SCHEMA)?;
    findings_schema(conn)?;
    import_legacy(conn)
}

fn has_table(conn: &Connection, schema: &str, table: &str) -> Result<bool, StoreError> {
    let sql = format!("SELECT 1 FROM {schema}.sqlite_schema WHERE type = 'table' AND name = ?1");
    Ok(conn
        .query_row(&sql, [table], |_| Ok(true))
        .optional()?
        .unwrap_or(false))
}

/// Copies annotations kept in the session file itself (schema 3–6 files, bundled copies) into
/// the notes, once per notes database. Reads the session only.
fn import_legacy(conn: &Connection) -> Result<(), StoreError> {
    let done: Option<String> = conn
        .query_row(
            "SELECT value FROM notes.notes_meta WHERE key = 'legacy_imported'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if done.is_some() || !has_table(conn, "main", "event_stars")? {
        return Ok(());
    }
    let mut sql = String::from("BEGIN;");
    for table in ANNOTATION_TABLES {
        sql.push_str(&format!(
            "INSERT OR IGNORE INTO notes.{table} SELECT * FROM main.{table};"
        ));
    }
    sql.push_str(
        "INSERT INTO notes.notes_meta (key, value) VALUES ('legacy_imported', '1') \
         ON CONFLICT (key) DO NOTHING; COMMIT;",
    );
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Gives a saved copy (a new file, not the evidence) an identity of its own and copies the
/// notes' annotations into its own annotation tables, so they travel with it.
pub(super) fn bundle_into(conn: &Connection, copy: &Path) -> Result<(), StoreError> {
    let absolute = std::path::absolute(copy).unwrap_or_else(|_| copy.to_owned());
    conn.execute(
        "ATTACH DATABASE ?1 AS copy",
        [absolute.to_string_lossy().as_ref()],
    )?;
    let result = (|| {
        // A copy is a session of its own: its own identity, so its notes (and, if it is ever
        // resumed, its own arrival numbers) never mix with the original's.
        if has_table(conn, "copy", "session_meta")? {
            conn.execute(
                "INSERT INTO copy.session_meta (key, value) VALUES ('session_id', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [format!("{:032x}", rand::random::<u128>())],
            )?;
        }
        if !has_table(conn, "copy", "event_stars")? {
            return Ok(());
        }
        let mut sql = String::from("BEGIN;");
        for table in ANNOTATION_TABLES {
            sql.push_str(&format!(
                "INSERT OR IGNORE INTO copy.{table} SELECT * FROM notes.{table};"
            ));
        }
        sql.push_str("COMMIT;");
        conn.execute_batch(&sql).map_err(StoreError::from)
    })();
    conn.execute("DETACH DATABASE copy", [])?;
    result
}
