//! bare_insert: the ceiling for `tideline-cli record` — how fast the same rows go into the same
//! schema with nothing in the way (no SSE, no JSON parsing, no channel, no async runtime).
//!
//! It reads every event of a session that `tideline-cli record` just wrote (`--from`), then, for
//! each variant, creates a fresh session with [`Session::open_or_create`] (so the schema and the
//! file's pragmas are the real ones), and stores the rows in transactions of
//! `store::BATCH_MAX_FRAMES` (10,000):
//!
//! - `events`: a plain `rusqlite::Connection` to that file, with the SAME pragmas as the
//!   recorder's writer connection (`store/open.rs`: WAL, synchronous = NORMAL, foreign_keys =
//!   ON, busy timeout, and `tune_for_bulk_writes`'s 64 MiB WAL checkpoint and page cache from
//!   `store::BULK_WAL_BYTES` / `BULK_CACHE_KIB`, the checkpoint run on a thread of its own by
//!   the writer's `store::Checkpointer`), and per row one prepared
//!   `INSERT OR IGNORE INTO events` of every column (as the session's schema has them, `link`
//!   included, copied from the recorded session) and the body's row in `event_bodies`: a floor.
//! - `events+link+assets` (**the limit: the same rows**): the same, plus everything else
//!   `store/writes.rs` writes per event and per batch: the integrity link computed (SHA-256 of
//!   the previous link and the body), the event's `event_facets` row (with the recorded
//!   session's facet ids: its `facet_values` dictionary is copied in before the clock starts),
//!   its `asset_days` pair when new, the per-batch `facet_values.changes` updates, the `assets` upsert for every asset change,
//!   and the `stream_state` update once per transaction. The search index is not written by
//!   `write_batch` (the writer indexes when idle: store/search.rs), so not here either.
//! - `write_batch`: the engine's own [`Session::write_batch`] on frames decoded beforehand: the
//!   real store code without the SSE client, the parse or the queue.
//! - `decode`: [`wire::decode_frame`] alone over the same bodies, on one thread: the parse cost.
//!
//! With `--what-if` it also times `events+link+assets` on a file set up differently (SQLite's
//! default WAL auto-checkpoint, in the commits, and page cache), to show what those settings
//! buy together. These files are not what the engine creates today.
//!
//! It prints the recorder's own rate (first to last arrival, from `received_us`) and its ratio
//! to each figure, and for each variant the bytes passed to write(2) and read(2) during the
//! run (`/proc/self/io` wchar / rchar: WAL appends, checkpoint copies, page reads).
//!
//! ```text
//! CARGO_TARGET_DIR=target/bench cargo bench -p tideline-engine --bench bare_insert -- \
//!     --from /tmp/tideline-bench/record.tideline [--dir /tmp/tideline-bench] [--runs 3] [--what-if]
//!     [--stats-only: print the recorder's figures and stop]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::DateTime;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params, params_from_iter};
use sha2::{Digest, Sha256};
use tideline_engine::model::PositionedFrame;
use tideline_engine::store::{self, Session};
use tideline_engine::wire;

/// Rows per transaction: the recorder's writer's most (a limit must write as it does).
const BATCH: usize = store::BATCH_MAX_FRAMES;

// Copies of the statements in `store/writes.rs` (private there); keep them in step. The events
// INSERT is built from the session's own columns, so it follows schema changes.
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

const ADVANCE_STREAM: &str = "UPDATE stream_state SET last_event_id = coalesce(?1, last_event_id), \
     duplicates = duplicates + ?2 WHERE id = 1";

/// The events table's columns (all but `seq`) and where the ones the upsert needs are. A
/// [`Row`] holds them, then the body, then the event's seven facet ids ([`FACET_COLUMNS`]).
struct Columns {
    names: Vec<String>,
    change: usize,
    time_us: usize,
    asset_name: usize,
    asset: [usize; 5],
    event_id: usize,
    body: usize,
    received_us: usize,
    link: Option<usize>,
}

impl Columns {
    fn of(conn: &Connection) -> Columns {
        let mut statement = conn
            .prepare("SELECT name FROM pragma_table_info('events') ORDER BY cid")
            .expect("table_info");
        let names: Vec<String> = statement
            .query_map([], |r| r.get(0))
            .expect("columns")
            .collect::<Result<Vec<String>, _>>()
            .expect("columns")
            .into_iter()
            .filter(|name| name != "seq")
            .collect();
        let at = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .unwrap_or_else(|| panic!("events has no column {name}"))
        };
        Columns {
            change: at("change"),
            time_us: at("time_us"),
            asset_name: at("asset_name"),
            asset: [
                at("asset_type"),
                at("asset_display"),
                at("asset_provider"),
                at("asset_account"),
                at("asset_region"),
            ],
            event_id: at("event_id"),
            body: names.len(),
            received_us: at("received_us"),
            link: names.iter().position(|n| n == "link"),
            names,
        }
    }

    fn insert_sql(&self) -> String {
        let marks: Vec<String> = (1..=self.names.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT OR IGNORE INTO events ({}) VALUES ({})",
            self.names.join(", "),
            marks.join(", ")
        )
    }
}

/// One stored event: every column but `seq`, in [`Columns`] order, then its body and its facet
/// ids.
type Row = Vec<Value>;

/// The `event_facets` columns after `time_us, seq`, as `store/writes.rs` inserts them.
const FACET_COLUMNS: [&str; 7] = [
    "change",
    "asset_type",
    "method",
    "principal",
    "region",
    "account",
    "asset",
];
const INSERT_BODY: &str = "INSERT INTO event_bodies (seq, body) VALUES (?1, ?2)";
const INSERT_FACETS: &str = "INSERT INTO event_facets (time_us, seq, change, asset_type, method, \
     principal, region, account, asset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const INSERT_ASSET_DAY: &str =
    "INSERT OR IGNORE INTO asset_days (asset, day) VALUES (?1, ?2 / 86400000000)";
const DAY_US: i64 = 86_400_000_000;
const ADD_CHANGES: &str = "UPDATE facet_values SET changes = changes + ?2 WHERE id = ?1";

fn text(row: &Row, index: usize) -> Option<&str> {
    match &row[index] {
        Value::Text(text) => Some(text),
        _ => None,
    }
}

fn integer(row: &Row, index: usize) -> i64 {
    match row[index] {
        Value::Integer(n) => n,
        _ => 0,
    }
}

struct Args {
    from: PathBuf,
    dir: PathBuf,
    runs: usize,
    what_if: bool,
    stats_only: bool,
}

fn parse_args() -> Args {
    let mut from = None;
    let mut dir = std::env::temp_dir().join("tideline-bench");
    let mut runs = 3;
    let mut what_if = false;
    let mut stats_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--from" => from = args.next().map(PathBuf::from),
            "--dir" => dir = PathBuf::from(args.next().expect("--dir DIR")),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--what-if" => what_if = true,
            "--stats-only" => stats_only = true,
            // `cargo bench` passes --bench to every bench target.
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    Args {
        from: from.expect("--from RECORDED_SESSION is required"),
        dir,
        runs: runs.max(1),
        what_if,
        stats_only,
    }
}

fn load_rows(path: &Path, columns: &Columns) -> Vec<Row> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the recorded session");
    let mut facets: std::collections::HashMap<i64, Vec<Value>> = std::collections::HashMap::new();
    {
        let mut statement = conn
            .prepare(&format!(
                "SELECT seq, {} FROM event_facets",
                FACET_COLUMNS.join(", ")
            ))
            .expect("prepare facets");
        let mut rows = statement.query([]).expect("facets");
        while let Some(row) = rows.next().expect("facet row") {
            let ids = (1..=FACET_COLUMNS.len())
                .map(|i| row.get::<_, Value>(i))
                .collect::<Result<_, _>>()
                .expect("facet ids");
            facets.insert(row.get(0).expect("seq"), ids);
        }
    }
    let sql = format!(
        "SELECT e.seq, {}, b.body FROM events e JOIN event_bodies b ON b.seq = e.seq ORDER BY e.seq",
        columns
            .names
            .iter()
            .map(|name| format!("e.{name}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut statement = conn.prepare(&sql).expect("prepare");
    let n = columns.names.len() + 1;
    let rows = statement
        .query_map([], |r| {
            let seq: i64 = r.get(0)?;
            let mut row: Row = (1..=n)
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<_, _>>()?;
            row.extend(facets.remove(&seq).expect("every event has a facet row"));
            Ok(row)
        })
        .expect("query");
    rows.collect::<Result<_, _>>().expect("read rows")
}

/// Copies the recorded session's facet dictionary (ids and values, no counts) into the fresh
/// file at `path`, before the clock starts: the ids the copied facet rows point at.
fn copy_dictionary(conn: &Connection, from: &Path) {
    conn.execute("ATTACH DATABASE ?1 AS recorded", [from.to_string_lossy()])
        .expect("attach the recorded session");
    conn.execute_batch(
        "INSERT INTO facet_values (id, facet, value) SELECT id, facet, value FROM recorded.facet_values; \
         DETACH DATABASE recorded;",
    )
    .expect("copy the facet dictionary");
}

fn remove_session(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// How a what-if file differs from what the engine creates.
#[derive(Clone, Copy)]
struct Setup {
    page_size: Option<u32>,
    wal_autocheckpoint: Option<u32>,
    /// `PRAGMA cache_size` in KiB (the default is 2,000).
    cache_kib: Option<u32>,
    /// Schema added after the engine's migrations.
    extra_schema: Option<&'static str>,
    /// Checkpoints on a thread of their own ([`store::Checkpointer`]), as the recorder's
    /// writer runs them; else in the commits (`wal_autocheckpoint`).
    checkpoint_thread: bool,
}

/// What the recorder's writer connection runs with (`Session::tune_for_bulk_writes`, and the
/// writer's [`store::Checkpointer`]): the same WAL checkpoint size, on a thread of its own, and
/// page cache, so the limit is a real one (16 KiB pages come from the engine's own new file).
const REAL: Setup = Setup {
    page_size: None,
    wal_autocheckpoint: Some((store::BULK_WAL_BYTES / 16_384) as u32),
    cache_kib: Some(store::BULK_CACHE_KIB as u32),
    extra_schema: None,
    checkpoint_thread: true,
};

/// A fresh session made by the engine itself, after an optional page size on the empty file.
fn fresh_session(path: &Path, setup: Setup) {
    remove_session(path);
    if let Some(page_size) = setup.page_size {
        // An SQLite file with no schema and application_id 0 is what the engine accepts as new.
        let conn = Connection::open(path).expect("create file");
        conn.execute_batch(&format!(
            "PRAGMA page_size = {page_size}; CREATE TABLE t (x); DROP TABLE t; VACUUM;"
        ))
        .expect("set page size");
    }
    drop(Session::open_or_create(path).expect("open_or_create"));
    if let Some(sql) = setup.extra_schema {
        Connection::open(path)
            .and_then(|conn| conn.execute_batch(sql))
            .expect("extra schema");
    }
}

/// A plain connection with the connection settings of `store/open.rs`.
fn plain_connection(path: &Path, setup: Setup) -> Connection {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open plain connection");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(mode, "wal", "the engine's session should be in WAL mode");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("foreign_keys");
    if let Some(kib) = setup.cache_kib {
        conn.pragma_update(None, "cache_size", -i64::from(kib))
            .expect("cache_size");
    }
    if let Some(pages) = setup.wal_autocheckpoint {
        conn.pragma_update(None, "wal_autocheckpoint", pages)
            .expect("wal_autocheckpoint");
    }
    conn
}

/// Stores `rows` in transactions of [`BATCH`]; returns the seconds from the first BEGIN to the
/// last COMMIT.
fn bare_insert(conn: &mut Connection, columns: &Columns, rows: &[Row], with_assets: bool) -> f64 {
    let insert_sql = columns.insert_sql();
    let event_columns = columns.names.len();
    let facets = columns.body + 1;
    let mut change_counts: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    let mut head = [0u8; 32];
    let mut row_buffer: Row = Vec::new();
    let start = Instant::now();
    for chunk in rows.chunks(BATCH) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        {
            let mut insert = tx.prepare_cached(&insert_sql).expect("prepare insert");
            let mut upsert = tx.prepare_cached(UPSERT_ASSET).expect("prepare upsert");
            let mut insert_body = tx.prepare_cached(INSERT_BODY).expect("prepare body");
            let mut insert_facets = tx.prepare_cached(INSERT_FACETS).expect("prepare facets");
            let mut insert_asset_day = tx.prepare_cached(INSERT_ASSET_DAY).expect("prepare day");
            let mut asset_days = std::collections::HashSet::new();
            for row in chunk {
                let inserted = match (with_assets, columns.link) {
                    (true, Some(link)) => {
                        // The integrity chain, as store/integrity.rs computes it.
                        let mut hasher = Sha256::new();
                        hasher.update(head);
                        hasher.update(text(row, columns.body).unwrap_or_default().as_bytes());
                        head = hasher.finalize().into();
                        row_buffer.clear();
                        row_buffer.extend_from_slice(&row[..event_columns]);
                        row_buffer[link] = Value::Blob(head.to_vec());
                        insert.execute(params_from_iter(row_buffer.iter()))
                    }
                    _ => insert.execute(params_from_iter(row[..event_columns].iter())),
                }
                .expect("insert");
                if inserted == 0 {
                    continue;
                }
                let seq = tx.last_insert_rowid();
                insert_body
                    .execute(params![seq, &row[columns.body]])
                    .expect("insert body");
                if !with_assets {
                    continue;
                }
                let ids = &row[facets..facets + FACET_COLUMNS.len()];
                insert_facets
                    .execute(params![
                        integer(row, columns.time_us),
                        seq,
                        ids[0],
                        ids[1],
                        ids[2],
                        ids[3],
                        ids[4],
                        ids[5],
                        ids[6]
                    ])
                    .expect("insert facets");
                if let Value::Integer(asset) = ids[6] {
                    let time_us = integer(row, columns.time_us);
                    if asset_days.insert((asset, time_us / DAY_US)) {
                        insert_asset_day
                            .execute(params![asset, time_us])
                            .expect("insert asset day");
                    }
                }
                if text(row, columns.change).is_some() {
                    for id in ids {
                        if let Value::Integer(id) = id {
                            *change_counts.entry(*id).or_default() += 1;
                        }
                    }
                }
                if let (Some(change), Some(name)) =
                    (text(row, columns.change), text(row, columns.asset_name))
                {
                    let [kind, display, provider, account, region] = columns.asset.map(|i| &row[i]);
                    upsert
                        .execute(params![
                            name,
                            kind,
                            display,
                            provider,
                            account,
                            region,
                            seq,
                            integer(row, columns.time_us),
                            change,
                            change == "delete",
                        ])
                        .expect("upsert asset");
                }
            }
            if with_assets {
                let mut add = tx.prepare_cached(ADD_CHANGES).expect("prepare counts");
                for (id, n) in change_counts.drain() {
                    add.execute(params![id, n]).expect("add change counts");
                }
                let last = chunk.last().and_then(|row| text(row, columns.event_id));
                tx.execute(ADVANCE_STREAM, params![last, 0i64])
                    .expect("advance stream");
            }
        }
        tx.commit().expect("commit");
    }
    start.elapsed().as_secs_f64()
}

fn to_frames(columns: &Columns, rows: &[Row]) -> Vec<PositionedFrame> {
    rows.iter()
        .map(|row| PositionedFrame {
            frame: wire::decode_frame(text(row, columns.body).expect("body").to_owned()),
            sse_id: text(row, columns.event_id).map(str::to_owned),
            received_at: DateTime::from_timestamp_micros(integer(row, columns.received_us))
                .expect("time"),
        })
        .collect()
}

struct Figure {
    name: String,
    seconds: Vec<f64>,
    rows: usize,
    file_bytes: u64,
    /// CPU seconds (user + system) of each run: less sensitive than wall time to other load.
    cpu: Vec<f64>,
    /// Bytes this process passed to write(2) / read(2) during the last run (/proc/self/io).
    io: Io,
}

/// This process's CPU time so far, in seconds (/proc/self/stat utime + stime, USER_HZ = 100).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

#[derive(Clone, Copy, Default)]
struct Io {
    read: u64,
    written: u64,
}

impl Io {
    fn now() -> Io {
        let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0)
        };
        Io {
            read: field("rchar:"),
            written: field("wchar:"),
        }
    }

    fn since(self, before: Io) -> Io {
        Io {
            read: self.read.saturating_sub(before.read),
            written: self.written.saturating_sub(before.written),
        }
    }
}

impl Figure {
    fn median(&self) -> f64 {
        median(&self.seconds)
    }
    fn cpu_us_per_event(&self) -> f64 {
        median(&self.cpu) * 1e6 / self.rows as f64
    }
    fn best(&self) -> f64 {
        self.seconds.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn rate(&self) -> f64 {
        self.rows as f64 / self.median()
    }
}

/// What one variant stores, and how.
enum Variant {
    /// A plain connection and prepared statements.
    Bare { setup: Setup, with_assets: bool },
    /// The engine's `Session::write_batch` on frames decoded beforehand.
    WriteBatch,
    /// `wire::decode_frame` alone.
    Decode,
}

struct Run {
    seconds: f64,
    cpu: f64,
    io: Io,
    file_bytes: u64,
}

fn run_once(
    variant: &Variant,
    from: &Path,
    path: &Path,
    columns: &Columns,
    rows: &[Row],
    frames: &[PositionedFrame],
) -> Run {
    match variant {
        Variant::Bare { setup, with_assets } => {
            fresh_session(path, *setup);
            let mut conn = plain_connection(path, *setup);
            copy_dictionary(&conn, from);
            let checkpointer = setup.checkpoint_thread.then(|| {
                store::Checkpointer::start(&conn, plain_connection(path, *setup))
                    .expect("checkpointer")
            });
            let (io, cpu) = (Io::now(), cpu_seconds());
            let seconds = bare_insert(&mut conn, columns, rows, *with_assets);
            let (io, cpu) = (Io::now().since(io), cpu_seconds() - cpu);
            if let Some(checkpointer) = checkpointer {
                checkpointer.stop(&conn).expect("checkpointer stop");
            }
            drop(conn);
            let file_bytes = file_size(path);
            remove_session(path);
            Run {
                seconds,
                cpu,
                io,
                file_bytes,
            }
        }
        Variant::WriteBatch => {
            remove_session(path);
            let mut session = Session::open_or_create(path).expect("open_or_create");
            // As the recorder's writer does (SessionWriter::spawn), its checkpointer included.
            session
                .tune_for_bulk_writes()
                .expect("tune_for_bulk_writes");
            let checkpointer = session.start_checkpointer().expect("checkpointer");
            let (io, cpu) = (Io::now(), cpu_seconds());
            let start = Instant::now();
            for chunk in frames.chunks(BATCH) {
                session.write_batch(chunk).expect("write_batch");
            }
            let seconds = start.elapsed().as_secs_f64();
            let (io, cpu) = (Io::now().since(io), cpu_seconds() - cpu);
            session
                .stop_checkpointer(checkpointer)
                .expect("checkpointer stop");
            drop(session);
            let file_bytes = file_size(path);
            remove_session(path);
            Run {
                seconds,
                cpu,
                io,
                file_bytes,
            }
        }
        Variant::Decode => {
            let bodies: Vec<String> = rows
                .iter()
                .map(|r| text(r, columns.body).unwrap_or_default().to_owned())
                .collect();
            let cpu = cpu_seconds();
            let start = Instant::now();
            let decoded = bodies
                .into_iter()
                .map(|body| std::hint::black_box(wire::decode_frame(body)))
                .filter(|frame| matches!(frame, tideline_engine::model::Frame::Event(_)))
                .count();
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(decoded, rows.len());
            Run {
                seconds,
                cpu: cpu_seconds() - cpu,
                io: Io::default(),
                file_bytes: 0,
            }
        }
    }
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).expect("create --dir");
    let columns = Columns::of(
        &Connection::open_with_flags(&args.from, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the recorded session"),
    );
    let rows = load_rows(&args.from, &columns);
    assert!(!rows.is_empty(), "the recorded session has no events");
    let n = rows.len();
    let received = || rows.iter().map(|r| integer(r, columns.received_us));
    let first = received().min().unwrap_or(0);
    let last = received().max().unwrap_or(0);
    let active = (last - first) as f64 / 1e6;
    let recorder = n as f64 / active;
    let mean_body = rows
        .iter()
        .map(|r| text(r, columns.body).map_or(0, str::len))
        .sum::<usize>() as f64
        / n as f64;
    let asset_changes = rows
        .iter()
        .filter(|r| text(r, columns.change).is_some() && text(r, columns.asset_name).is_some())
        .count();
    println!(
        "recorded session: {n} events ({asset_changes} asset changes), mean body {mean_body:.0} B, \
         first to last arrival {active:.3} s"
    );
    println!("recorder: {recorder:.0} events/s over its active period");
    if args.stats_only {
        return;
    }
    eprintln!(
        "bare_insert: {} runs per variant, batches of {BATCH}",
        args.runs
    );

    // The recorder writes from one fresh connection with its tuned pragmas; the limit below has
    // exactly those (REAL), on a file the engine created (same schema, same page size).
    let mut variants: Vec<(&str, Variant)> = vec![
        (
            "events (limit)",
            Variant::Bare {
                setup: REAL,
                with_assets: false,
            },
        ),
        (
            "events+link+assets",
            Variant::Bare {
                setup: REAL,
                with_assets: true,
            },
        ),
        ("engine write_batch", Variant::WriteBatch),
        ("decode_frame only", Variant::Decode),
    ];
    if args.what_if {
        let what_ifs = [(
            "what-if: SQLite's default checkpoint and cache",
            Setup {
                wal_autocheckpoint: None,
                cache_kib: None,
                checkpoint_thread: false,
                ..REAL
            },
        )];
        variants.extend(what_ifs.map(|(name, setup)| {
            (
                name,
                Variant::Bare {
                    setup,
                    with_assets: true,
                },
            )
        }));
    }

    // Round-robin: each round runs every variant once, so load from elsewhere on the machine
    // falls on all of them alike rather than on whichever ran at a bad moment.
    let frames = to_frames(&columns, &rows);
    let path = args.dir.join("bare-insert.tideline");
    let mut figures: Vec<Figure> = variants
        .iter()
        .map(|(name, _)| Figure {
            name: (*name).to_owned(),
            seconds: Vec::new(),
            rows: n,
            file_bytes: 0,
            cpu: Vec::new(),
            io: Io::default(),
        })
        .collect();
    for round in 1..=args.runs {
        for ((name, variant), figure) in variants.iter().zip(&mut figures) {
            let run = run_once(variant, &args.from, &path, &columns, &rows, &frames);
            eprintln!(
                "  round {round}: {name}: {:.3} s wall, {:.2} s CPU",
                run.seconds, run.cpu
            );
            figure.seconds.push(run.seconds);
            figure.cpu.push(run.cpu);
            figure.io = run.io;
            figure.file_bytes = run.file_bytes;
        }
    }
    drop(frames);

    println!();
    println!(
        "{:<48} {:>4} {:>8} {:>8} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>9}",
        "variant",
        "runs",
        "median s",
        "best s",
        "events/s",
        "CPU s",
        "CPU us/ev",
        "file MB",
        "write MB",
        "read MB",
        "recorder"
    );
    for figure in &figures {
        println!(
            "{:<48} {:>4} {:>8.3} {:>8.3} {:>9.0} {:>8.2} {:>10.1} {:>8.1} {:>8.0} {:>8.0} {:>8.1}%",
            figure.name,
            figure.seconds.len(),
            figure.median(),
            figure.best(),
            figure.rate(),
            median(&figure.cpu),
            figure.cpu_us_per_event(),
            figure.file_bytes as f64 / 1e6,
            figure.io.written as f64 / 1e6,
            figure.io.read as f64 / 1e6,
            100.0 * recorder / figure.rate()
        );
    }
    let limit = figures[0].rate();
    println!();
    println!(
        "RESULT recorder_events_per_s={recorder:.0} limit_events_per_s={limit:.0} \
         limit_with_assets_events_per_s={:.0} ratio_to_limit={:.3} ratio_to_limit_with_assets={:.3}",
        figures[1].rate(),
        recorder / limit,
        recorder / figures[1].rate()
    );
}
