//! timeline_page: what an analyst waits for on a large session (issue 10), as one JSON object.
//!
//! ```text
//! cargo build --release -p tideline-cli      # the subprocess cases run it (scripts/bench does this)
//! CARGO_TARGET_DIR=target/bench cargo bench -p tideline-engine --bench timeline_page -- \
//!     --session FILE --events N --json OUT [--cli PATH] [--min-runs 3] [--max-runs 15] \
//!     [--budget 10] [--export-runs 2] [--detect-runs 1] [--os-cold] [--cases NAME,NAME]
//! ```
//!
//! The session at `--session` is reused when this build's writer made it with `--events` events;
//! otherwise it is built through the real write path (`timeline_page/generate.rs`). OUT gets
//! `{"events": N, "session_bytes": B, "cases": {NAME: {"median_ms": X, "p95_ms": Y}, …}}`; the
//! subprocess cases add `peak_rss_mb`; a run that built the session adds `record_rate_first_100k`
//! and `record_rate_overall` as `{"events_per_s": X}`. A table of the same figures (with the
//! issue's targets) goes to standard output.
//!
//! The cases (warm OS file cache throughout; the session file fits in RAM):
//!
//! - `open`: a fresh [`Session::open`] and the first page of the change list: what the app does
//!   before the first page is on screen.
//! - `first_page`: the unfiltered change list's first page of 200 (`timeline::list_changes`).
//! - `filter_two_facets`: type `network.firewall` and region `us-east-1`, first page.
//! - `filter_rare`: change `delete` and one principal, first page.
//! - `filter_time_range`: one UTC day in the middle of the session, first page.
//! - `search_common`: free text "payments" (a team in every eighth asset's name), first page.
//! - `search_indicator`: free text of a source IP (that of an event in the middle of the list,
//!   found before timing; it occurs in a few events), first page.
//! - `search_arn_fragment`: free text "assumed-role/BreakGlass" (part of a principal ARN).
//! - `search_changed_value`: free text "10.17.42.0/24", a CIDR that only the configurations
//!   hold (a value updates change).
//! - `facets`: `timeline::facets` of the default query; `facets_filtered`: of type + region;
//!   `facets_search`: of the free text "payments" (the counts beside `search_common`'s page).
//! - `page_deep`: the page after the middle row of the list, by its key ([`later_page`]).
//! - `asset_history`: the busiest asset's history, first page of 200 ([`asset_history_page`]).
//! - `histogram`: the insights view's change histogram of the default query ([`histogram`]).
//! - `export_csv`: `tideline-cli export --format csv` of every event to a file, as a subprocess:
//!   wall time and peak RSS (`peak_rss_mb`).
//! - `export_ocsf_parquet`: `tideline-cli export --format ocsf-parquet` of every event into a
//!   new folder (issue 14: ≤ 20 s at 1M), as a subprocess: wall time and peak RSS.
//! - `detect_rebuild`: `tideline-cli findings` (every detection rebuilt from scratch), as a
//!   subprocess: wall time and peak RSS.
//! - `record_rate_first_100k` / `record_rate_overall`: `Session::write_batch`'s events per second
//!   over the first 100,000 events of the build, and over the whole build (with the writer's
//!   bulk pragmas, as the recorder's writer runs); `search_index`: events per second indexed
//!   for search and digested (`Session::index_idle`) after the build (the writer does both when
//!   idle, outside `write_batch`).
//!
//! In-process cases run on one connection, as the app holds one: one untimed call, then at least
//! `--min-runs` calls, until `--budget` seconds or `--max-runs`; the JSON has their median and
//! p95 (nearest rank: with few runs, close to the maximum). The table also shows them "cold": a
//! fresh connection before every call (SQLite's page cache empty, the open itself not counted).
//! Subprocess cases run `--export-runs` / `--detect-runs` times, with `TIDELINE_NOTES_DIR` set to
//! a fresh folder so the user's notes are never touched; so does this process's own session.
//! `--os-cold` also times `open` with the session file dropped from the OS page cache (table only).
//! `--cases` times only the cases named (comma-separated), e.g. under a profiler.
//!
//! The cases use the engine's API only, through the wrappers below where it is about to change;
//! the facts they need are read by the engine too, except the busiest asset: the one table this
//! benchmark reads itself is `assets` ([`busiest_asset`]).

#[path = "timeline_page/generate.rs"]
mod generate;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use chrono::{DateTime, Days, Utc};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value, json};
use tideline_engine::model::ChangeKind;
use tideline_engine::store::{SCHEMA_VERSION, Session};
use tideline_engine::timeline::{self, PageCursor, PageStart, TimelineQuery};

const PAGE: u64 = 200;

// ---------------------------------------------------------------------------------------------
// The engine calls whose signatures are changing (issue 10): each case calls these, so the
// switch to keyset paging is made here once.

/// The first page of `query`, as the change list shows it first.
fn first_page(session: &Session, query: &TimelineQuery) -> usize {
    timeline::list_changes(session, query, PageStart::Offset(0), PAGE)
        .expect("list_changes")
        .rows
        .len()
}

/// Where a later page starts: the middle row of the change list, by its position and by its key
/// (keyset paging: the page is read after it, `PageStart::After(PageCursor { time_us, seq })`).
#[derive(Debug, Clone)]
struct PageMark {
    #[allow(dead_code)] // printed with the case; the page itself is read by key
    offset: u64,
    time_us: i64,
    seq: i64,
}

/// The page of `query` after `mark`, by key.
fn later_page(session: &Session, query: &TimelineQuery, mark: &PageMark) -> usize {
    let cursor = PageCursor {
        time_us: mark.time_us,
        seq: mark.seq,
    };
    timeline::list_changes(session, query, PageStart::After(cursor), PAGE)
        .expect("list_changes")
        .rows
        .len()
}

/// The first page (newest 200) of an asset's history.
fn asset_history_page(session: &Session, asset_name: &str) -> usize {
    timeline::asset_history(session, asset_name, None, PAGE)
        .expect("asset_history")
        .len()
}

/// The insights view's change histogram of `query`: the changes' time extent, then their counts
/// per bucket and change, with the bucket width `insights` picks (the first of its widths that
/// gives at most 200 buckets).
fn histogram(session: &Session, query: &TimelineQuery) -> usize {
    const WIDTHS_S: [i64; 8] = [60, 300, 900, 3_600, 21_600, 86_400, 604_800, 2_592_000];
    let Some((oldest, newest)) = session.time_extent(query).expect("time_extent") else {
        return 0;
    };
    let width_us = WIDTHS_S
        .iter()
        .map(|s| s * 1_000_000)
        .find(|width| (newest - oldest) / width < 200)
        .unwrap_or(WIDTHS_S[WIDTHS_S.len() - 1] * 1_000_000);
    session
        .change_histogram(query, width_us)
        .expect("change_histogram")
        .len()
}

/// The asset with the most events, and how many. The one fact read with SQL (the engine's facet
/// count would scan every event): the `assets` table's running count.
fn busiest_asset(path: &Path) -> (String, u64) {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    conn.query_row(
        "SELECT name, event_count FROM assets ORDER BY event_count DESC, name LIMIT 1",
        [],
        |row| Ok((row.get(0)?, row.get::<_, i64>(1)?.max(0) as u64)),
    )
    .expect("the busiest asset")
}

// ---------------------------------------------------------------------------------------------
// Arguments.

struct Args {
    session: PathBuf,
    events: u64,
    json: Option<PathBuf>,
    cli: Option<PathBuf>,
    min_runs: usize,
    max_runs: usize,
    budget: f64,
    export_runs: usize,
    detect_runs: usize,
    os_cold: bool,
    /// The cases to time (`--cases`); every case when empty.
    only: Vec<String>,
}

impl Args {
    /// Whether case `name` is to be timed.
    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == name)
    }

    /// The runs of subprocess case `name`: `runs`, or none when `--cases` leaves it out.
    fn runs_of(&self, name: &str, runs: usize) -> usize {
        if self.wants(name) { runs } else { 0 }
    }
}

fn parse_args() -> Args {
    let mut parsed = Args {
        session: std::env::temp_dir().join("tideline-bench/timeline-1000000.tideline"),
        events: 1_000_000,
        json: None,
        cli: std::env::var_os("TIDELINE_CLI").map(PathBuf::from),
        min_runs: 3,
        max_runs: 15,
        budget: 10.0,
        export_runs: 2,
        detect_runs: 1,
        os_cold: false,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--session" => parsed.session = PathBuf::from(value()),
            "--events" => parsed.events = value().parse().expect("--events N"),
            "--json" => parsed.json = Some(PathBuf::from(value())),
            "--cli" => parsed.cli = Some(PathBuf::from(value())),
            "--min-runs" => parsed.min_runs = value().parse().expect("--min-runs N"),
            "--max-runs" => parsed.max_runs = value().parse().expect("--max-runs N"),
            "--budget" => parsed.budget = value().parse().expect("--budget SECS"),
            "--export-runs" => parsed.export_runs = value().parse().expect("--export-runs N"),
            "--detect-runs" => parsed.detect_runs = value().parse().expect("--detect-runs N"),
            "--os-cold" => parsed.os_cold = true,
            "--cases" => parsed.only = value().split(',').map(str::to_owned).collect(),
            "--bench" => {}
            other => panic!("unknown argument {other:?}"),
        }
    }
    parsed.min_runs = parsed.min_runs.max(1);
    parsed.max_runs = parsed.max_runs.max(parsed.min_runs);
    parsed
}

/// The bytes of every file under `folder`.
fn folder_bytes(folder: &Path) -> u64 {
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_bytes(&entry.path()),
            _ => entry.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// `tideline-cli` beside this benchmark's binary (`target/<profile>/deps/timeline_page-…` →
/// `target/<profile>/tideline-cli`), unless `--cli` or `TIDELINE_CLI` names one.
fn cli_path(args: &Args) -> Option<PathBuf> {
    let path = args.cli.clone().or_else(|| {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.parent()?.join("tideline-cli"))
    })?;
    path.is_file().then_some(path)
}

// ---------------------------------------------------------------------------------------------
// Timing.

struct Stats {
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let p95 = ((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1;
    Stats {
        runs: n,
        median_ms: if n % 2 == 1 {
            ms[n / 2]
        } else {
            (ms[n / 2 - 1] + ms[n / 2]) / 2.0
        },
        p95_ms: ms[p95],
    }
}

/// Runs `op` until the budget or run limits say stop; returns milliseconds per run.
fn repeat(args: &Args, mut op: impl FnMut() -> f64) -> Vec<f64> {
    let started = Instant::now();
    let mut ms = Vec::new();
    while ms.len() < args.max_runs
        && (ms.len() < args.min_runs || started.elapsed().as_secs_f64() < args.budget)
    {
        ms.push(op());
    }
    ms
}

/// One in-process case: its JSON name, what it does, and the call (returning the rows it got).
struct Case {
    name: &'static str,
    what: String,
    op: Box<dyn Fn(&Session) -> usize>,
}

/// The issue's targets in milliseconds (at 1M events, at 10M), by case name.
fn target_ms(name: &str, events: u64) -> Option<f64> {
    let (at_1m, at_10m) = match name {
        "open" => (300.0, 500.0),
        "first_page" | "first_page_shown" | "filter_two_facets" | "filter_rare"
        | "filter_time_range" => (50.0, 100.0),
        n if n.starts_with("search_") => (100.0, 300.0),
        "facets" | "facets_shown" | "facets_filtered" | "facets_search" | "histogram" => {
            (200.0, 1_000.0)
        }
        "page_deep" | "asset_history" => (50.0, 50.0),
        "export_csv" => (5_000.0, 60_000.0),
        "export_ocsf_parquet" => (20_000.0, 200_000.0),
        "detect_rebuild" => (30_000.0, 300_000.0),
        _ => return None,
    };
    Some(if events <= 1_000_000 { at_1m } else { at_10m })
}

/// The figures of a run, as they go to the JSON and the table.
struct Report {
    events: u64,
    cases: Map<String, Value>,
}

impl Report {
    fn new(events: u64) -> Report {
        println!();
        println!(
            "{:<22} {:<46} {:>6} {:>9} {:>9} {:>9} {:>9} {:>5}  target",
            "case", "what", "rows", "cold med", "cold p95", "med ms", "p95 ms", "runs"
        );
        Report {
            events,
            cases: Map::new(),
        }
    }

    fn verdict(&self, name: &str, median_ms: f64) -> String {
        match target_ms(name, self.events) {
            Some(target) if median_ms <= target => format!("<= {target} ms: met"),
            Some(target) => format!("<= {target} ms: MISSED x{:.1}", median_ms / target),
            None => String::new(),
        }
    }

    fn timed(&mut self, name: &str, what: &str, rows: &str, cold: Option<&Stats>, warm: &Stats) {
        let cold_text = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.1}"));
        let line = format!(
            "{name:<22} {what:<46} {rows:>6} {:>9} {:>9} {:>9.1} {:>9.1} {:>5}  {}",
            cold_text(cold.map(|s| s.median_ms)),
            cold_text(cold.map(|s| s.p95_ms)),
            warm.median_ms,
            warm.p95_ms,
            warm.runs,
            self.verdict(name, warm.median_ms)
        );
        println!("{line}");
        self.cases.insert(
            name.to_owned(),
            json!({"median_ms": round(warm.median_ms), "p95_ms": round(warm.p95_ms)}),
        );
    }

    fn peak_rss(&mut self, name: &str, peak_rss_mb: f64) {
        println!("{:<22} peak RSS {peak_rss_mb:.0} MB", "");
        if let Some(Value::Object(case)) = self.cases.get_mut(name) {
            case.insert("peak_rss_mb".into(), json!(round(peak_rss_mb)));
        }
    }

    fn rate(&mut self, name: &str, what: &str, events_per_s: f64) {
        println!("{name:<22} {what:<46} {events_per_s:>9.0} events/s");
        self.cases.insert(
            name.to_owned(),
            json!({"events_per_s": events_per_s.round()}),
        );
    }
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn time_case(args: &Args, report: &mut Report, path: &Path, case: &Case) {
    if !args.wants(case.name) {
        return;
    }
    // Cold: a fresh connection (empty SQLite page cache) before every call.
    let mut rows = 0;
    let cold = stats(repeat(args, || {
        let session = Session::open(path).expect("open");
        let t = Instant::now();
        rows = std::hint::black_box((case.op)(&session));
        t.elapsed().as_secs_f64() * 1e3
    }));
    // Warm: one connection, one untimed call first.
    let session = Session::open(path).expect("open");
    (case.op)(&session);
    let warm = stats(repeat(args, || {
        let t = Instant::now();
        std::hint::black_box((case.op)(&session));
        t.elapsed().as_secs_f64() * 1e3
    }));
    report.timed(case.name, &case.what, &rows.to_string(), Some(&cold), &warm);
}

// ---------------------------------------------------------------------------------------------
// Subprocesses: wall time and peak RSS.

/// Runs `command` to its end under `/usr/bin/time`; returns its wall time in ms and its peak
/// RSS in MB (`time`'s `%M`: `wait4`'s `ru_maxrss` of a process `time` forked).
///
/// Not this process's own `wait4`: a child spawned from here starts as a copy of this process
/// (Rust spawns with `vfork` semantics), and Linux keeps the largest RSS a process had across
/// `exec`, so the child's figure would be at least this benchmark's own RSS (272 MB after it
/// digested the kept session, which every subprocess case then reported).
fn run_measured(command: &mut Command) -> (f64, f64) {
    let report = tempfile::NamedTempFile::new().expect("a file for /usr/bin/time's report");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(name, value),
            None => timed.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    // The commands' own output is not kept (a failure shows in the status).
    let status = timed
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start /usr/bin/time (Debian: apt-get install time)");
    let wall_ms = started.elapsed().as_secs_f64() * 1e3;
    assert!(status.success(), "{command:?} failed ({status})");
    let kib: f64 = std::fs::read_to_string(report.path())
        .expect("/usr/bin/time's report")
        .trim()
        .parse()
        .expect("/usr/bin/time -f %M prints kilobytes");
    (wall_ms, kib / 1024.0)
}

fn subprocess_case(
    report: &mut Report,
    name: &str,
    what: &str,
    runs: usize,
    mut command: impl FnMut() -> Command,
) {
    if runs == 0 {
        println!("{name:<22} {what}: skipped (0 runs asked)");
        return;
    }
    let mut ms = Vec::new();
    let mut peak_mb = 0.0f64;
    for _ in 0..runs {
        let (wall, peak) = run_measured(&mut command());
        ms.push(wall);
        peak_mb = peak_mb.max(peak);
    }
    report.timed(name, what, "", None, &stats(ms));
    report.peak_rss(name, peak_mb);
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args = parse_args();
    let path = args.session.clone();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the session's directory");
    }
    // Every notes database this run opens (its own and the CLI's) lives in a folder of its own.
    let scratch = tempfile::Builder::new()
        .prefix("timeline-page-")
        .tempdir_in(path.parent().unwrap_or(Path::new(".")))
        .expect("a scratch folder beside the session");
    let notes = scratch.path().join("notes");
    assert!(tideline_engine::store::use_notes_dir(notes.clone()));

    // A kept session whose search index or digests a killed run (or an older schema) left
    // unfinished is finished first (as its recorder would have before closing), so review
    // reads it in place.
    if path.exists() {
        let mut session = Session::open_or_create(&path).expect("open the kept session");
        let indexed = generate::finish_idle_indexes(&mut session);
        if indexed > 0 {
            println!("indexed or digested {indexed} events the kept session lacked");
        }
    }
    let build = if reusable(&path, args.events) {
        println!(
            "reusing {} ({} events, {:.2} GB)",
            path.display(),
            args.events,
            generate::session_bytes(&path) as f64 / 1e9
        );
        None
    } else {
        eprintln!(
            "building {} with {} events (once; reused until deleted)",
            path.display(),
            args.events
        );
        Some(generate::build(&path, args.events))
    };

    // Facts the cases need, outside any timing.
    let session = Session::open(&path).expect("open");
    let summary = session.summary().expect("summary");
    let (busiest, busiest_events) = busiest_asset(&path);
    let default = TimelineQuery::default();
    let middle = middle_of_list(&session, summary.asset_events);
    let indicator = source_ip_near(&session, &middle);
    let day = middle_day(summary.first_time.as_deref(), summary.last_time.as_deref());
    drop(session);
    println!(
        "session: {} events ({} asset changes: {} create, {} update, {} delete), {} to {}; \
         busiest asset {busiest} with {busiest_events} events; {:.2} GB ({:.0} B per event)",
        summary.events,
        summary.asset_events,
        summary.by_change.create,
        summary.by_change.update,
        summary.by_change.delete,
        summary.first_time.as_deref().unwrap_or("-"),
        summary.last_time.as_deref().unwrap_or("-"),
        generate::session_bytes(&path) as f64 / 1e9,
        generate::session_bytes(&path) as f64 / summary.events.max(1) as f64
    );

    let mut report = Report::new(args.events);
    if args.wants("open") {
        let open = stats(repeat(&args, || {
            let t = Instant::now();
            let session = Session::open(&path).expect("open");
            std::hint::black_box(first_page(&session, &default));
            t.elapsed().as_secs_f64() * 1e3
        }));
        report.timed(
            "open",
            "Session::open + first page",
            &PAGE.to_string(),
            None,
            &open,
        );
    }
    if args.os_cold {
        os_cold_open(&args, &path, &default);
    }
    // The benchmark's sessions have no gaps in arrival numbers: the newest is the count.
    let newest_seq = summary.events as i64;
    for case in cases(&middle, &busiest, indicator.as_deref(), day, newest_seq) {
        time_case(&args, &mut report, &path, &case);
    }

    match cli_path(&args) {
        Some(cli) => {
            println!("{:<22} ({})", "", cli.display());
            let csv = scratch.path().join("export.csv");
            subprocess_case(
                &mut report,
                "export_csv",
                "tideline-cli export --format csv (all events)",
                args.runs_of("export_csv", args.export_runs),
                || {
                    let mut command = Command::new(&cli);
                    command
                        .args(["export", "--format", "csv", "--session"])
                        .arg(&path)
                        .arg("--out")
                        .arg(&csv)
                        .env("TIDELINE_NOTES_DIR", &notes)
                        .stderr(Stdio::null());
                    command
                },
            );
            println!(
                "{:<22} ({:.0} MB of CSV)",
                "",
                std::fs::metadata(&csv).map_or(0, |m| m.len()) as f64 / 1e6
            );
            let _ = std::fs::remove_file(&csv);
            // The data-lake export (issue 14): a folder per run, removed after it.
            let lake = scratch.path().join("lake");
            subprocess_case(
                &mut report,
                "export_ocsf_parquet",
                "tideline-cli export --format ocsf-parquet",
                args.runs_of("export_ocsf_parquet", args.export_runs),
                || {
                    let _ = std::fs::remove_dir_all(&lake);
                    let mut command = Command::new(&cli);
                    command
                        .args(["export", "--format", "ocsf-parquet", "--session"])
                        .arg(&path)
                        .arg("--out")
                        .arg(&lake)
                        .env("TIDELINE_NOTES_DIR", &notes)
                        .stderr(Stdio::null());
                    command
                },
            );
            println!(
                "{:<22} ({:.0} MB of Parquet)",
                "",
                folder_bytes(&lake) as f64 / 1e6
            );
            let _ = std::fs::remove_dir_all(&lake);
            let mut run = 0;
            subprocess_case(
                &mut report,
                "detect_rebuild",
                "tideline-cli findings (from scratch)",
                args.runs_of("detect_rebuild", args.detect_runs),
                || {
                    // A fresh notes folder per run: nothing carried over.
                    run += 1;
                    let mut command = Command::new(&cli);
                    command
                        .args(["findings", "--session"])
                        .arg(&path)
                        .env(
                            "TIDELINE_NOTES_DIR",
                            scratch.path().join(format!("detect-notes-{run}")),
                        )
                        .stdout(Stdio::null())
                        .stderr(Stdio::null());
                    command
                },
            );
        }
        None => println!(
            "(no tideline-cli: export_csv and detect_rebuild skipped; build it with \
             `cargo build --release -p tideline-cli` in the same target dir, or pass --cli PATH)"
        ),
    }

    if let Some(build) = &build {
        report.rate(
            "record_rate_first_100k",
            "write_batch over the first 100,000 events",
            build.first_rate,
        );
        report.rate(
            "record_rate_overall",
            "write_batch over the whole build",
            build.overall_rate,
        );
        report.rate(
            "search_index",
            "index_idle (search index, digests) after the build",
            build.index_rate,
        );
        let share = build.overall_rate / build.first_rate;
        let need = if args.events <= 1_000_000 { 0.8 } else { 0.7 };
        println!(
            "{:<22} overall / first 100k = {:.0} % (target >= {:.0} %: {})",
            "",
            100.0 * share,
            100.0 * need,
            if share >= need { "met" } else { "MISSED" }
        );
    }

    let json = json!({
        "events": args.events,
        "session_bytes": generate::session_bytes(&path),
        "cases": report.cases,
    });
    if let Some(out) = &args.json {
        std::fs::write(out, format!("{json}\n")).expect("write the JSON");
        println!();
        println!("wrote {}", out.display());
    }
}

/// Whether the session at `path` is this build's writer's, with `events` events (an older
/// schema would be migrated on open, which is not the file today's writer makes).
fn reusable(path: &Path, events: u64) -> bool {
    if !path.exists() {
        return false;
    }
    let version: i64 = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .unwrap_or(-1);
    version == SCHEMA_VERSION
        && Session::open(path)
            .and_then(|s| s.summary())
            .is_ok_and(|s| s.events == events)
}

/// The middle row of the unfiltered change list: its position and key.
fn middle_of_list(session: &Session, changes: u64) -> PageMark {
    let offset = changes / 2;
    let page = timeline::list_changes(
        session,
        &TimelineQuery::default(),
        PageStart::Offset(offset),
        1,
    )
    .expect("list_changes");
    let row = page.rows.first().expect("a row in the middle");
    PageMark {
        offset,
        time_us: row.cursor.time_us,
        seq: row.cursor.seq,
    }
}

/// A source IP address (not a service name) of a change at or after `mark`.
fn source_ip_near(session: &Session, mark: &PageMark) -> Option<String> {
    timeline::list_changes(
        session,
        &TimelineQuery::default(),
        PageStart::Offset(mark.offset),
        PAGE,
    )
    .expect("list_changes")
    .rows
    .into_iter()
    .filter_map(|row| row.source_ip)
    .find(|ip| ip.parse::<std::net::IpAddr>().is_ok())
}

/// The UTC day in the middle of the session: (its first instant, its last), RFC 3339.
fn middle_day(first: Option<&str>, last: Option<&str>) -> Option<(String, String)> {
    let time = |text: Option<&str>| {
        DateTime::parse_from_rfc3339(text?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let (first, last) = (time(first)?, time(last)?);
    let start = (first + (last - first) / 2)
        .date_naive()
        .and_hms_opt(0, 0, 0)?
        .and_utc();
    let end = start.checked_add_days(Days::new(1))? - chrono::Duration::microseconds(1);
    let text = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Some((text(start), text(end)))
}

fn cases(
    middle: &PageMark,
    busiest: &str,
    indicator: Option<&str>,
    day: Option<(String, String)>,
    newest_seq: i64,
) -> Vec<Case> {
    let query = |edit: &dyn Fn(&mut TimelineQuery)| {
        let mut query = TimelineQuery::default();
        edit(&mut query);
        query
    };
    let page = |name: &'static str, what: String, query: TimelineQuery| Case {
        name,
        what,
        op: Box::new(move |s| first_page(s, &query)),
    };
    let search = |name: &'static str, text: &str| {
        page(
            name,
            format!("free text {text:?}, first page"),
            query(&|q| q.text = Some(text.to_owned())),
        )
    };
    let two_facets = query(&|q| {
        q.asset_types = vec!["network.firewall".into()];
        q.regions = vec!["us-east-1".into()];
    });
    let mut cases = vec![
        page(
            "first_page",
            "list_changes, no filter".into(),
            TimelineQuery::default(),
        ),
        page(
            "filter_two_facets",
            "type network.firewall + region us-east-1".into(),
            two_facets.clone(),
        ),
        page(
            "filter_rare",
            "change delete + one principal".into(),
            query(&|q| {
                q.changes = vec![ChangeKind::Delete];
                q.principals = vec![generate::RARE_PRINCIPAL.into()];
            }),
        ),
    ];
    if let Some((from, to)) = day {
        cases.push(page(
            "filter_time_range",
            format!("one day, {}", &from[..10]),
            query(&|q| {
                q.time_from = Some(from.clone());
                q.time_to = Some(to.clone());
            }),
        ));
    }
    cases.push(search("search_common", generate::COMMON_TEXT));
    match indicator {
        Some(ip) => cases.push(search("search_indicator", ip)),
        None => {
            println!("(no source IP found in the middle of the list: search_indicator skipped)")
        }
    }
    cases.push(search("search_arn_fragment", generate::ARN_FRAGMENT));
    cases.push(search("search_changed_value", generate::CHANGED_CIDR));
    // As the app asks: every read of its list is bounded by the arrivals it has shown.
    let shown = query(&|q| q.max_seq = Some(newest_seq));
    cases.push(page(
        "first_page_shown",
        "list_changes, no filter, up to the newest arrival (the app's read)".into(),
        shown.clone(),
    ));
    cases.push(Case {
        name: "facets_shown",
        what: "timeline::facets, up to the newest arrival (the app's read)".into(),
        op: Box::new(move |s| {
            let facets = timeline::facets(s, &shown).expect("facets");
            facets.asset_type.len()
        }),
    });
    cases.push(Case {
        name: "facets",
        what: "timeline::facets, no filter".into(),
        op: Box::new(|s| {
            let facets = timeline::facets(s, &TimelineQuery::default()).expect("facets");
            facets.asset_type.len()
        }),
    });
    cases.push(Case {
        name: "facets_filtered",
        what: "timeline::facets, type + region".into(),
        op: Box::new(move |s| {
            let facets = timeline::facets(s, &two_facets).expect("facets");
            facets.asset_type.len()
        }),
    });
    let common = query(&|q| q.text = Some(generate::COMMON_TEXT.to_owned()));
    cases.push(Case {
        name: "facets_search",
        what: format!("timeline::facets, free text {:?}", generate::COMMON_TEXT),
        op: Box::new(move |s| {
            let facets = timeline::facets(s, &common).expect("facets");
            facets.asset_type.len()
        }),
    });
    let mark = middle.clone();
    cases.push(Case {
        name: "page_deep",
        what: format!("the page after row {} (seq {})", mark.offset, mark.seq),
        op: Box::new(move |s| later_page(s, &TimelineQuery::default(), &mark)),
    });
    let asset = busiest.to_owned();
    cases.push(Case {
        name: "asset_history",
        what: "the busiest asset's history, first page".into(),
        op: Box::new(move |s| asset_history_page(s, &asset)),
    });
    cases.push(Case {
        name: "histogram",
        what: "insights' change histogram, no filter".into(),
        op: Box::new(|s| histogram(s, &TimelineQuery::default())),
    });
    cases
}

/// Evicts the session file from the operating system's page cache (its clean pages only; no
/// other file is touched): an fsync, then GNU dd's `iflag=nocache count=0`.
fn drop_file_cache(path: &Path) -> bool {
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.sync_all();
    }
    Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .is_ok_and(|status| status.success())
}

/// `open` with the session file out of the OS page cache first (table only).
fn os_cold_open(args: &Args, path: &Path, query: &TimelineQuery) {
    let mut ms = Vec::new();
    for _ in 0..args.min_runs {
        if !drop_file_cache(path) {
            println!("  (dd iflag=nocache failed; OS-cold open skipped)");
            return;
        }
        let t = Instant::now();
        let session = Session::open(path).expect("open");
        std::hint::black_box(first_page(&session, query));
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let s = stats(ms);
    println!(
        "{:<22} {:<46} {:>6} {:>9} {:>9} {:>9.1} {:>9.1} {:>5}",
        "  (OS-cold)",
        "open, session file dropped from the OS cache",
        PAGE,
        "-",
        "-",
        s.median_ms,
        s.p95_ms,
        s.runs
    );
}
