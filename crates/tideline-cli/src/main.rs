//! tideline-cli: Tideline without a window — record an EventStream into a session file on a
//! jump box, inspect it and export it. Each subcommand is a thin call into the engine.

/// Prints a line on standard output, returning the write error (a closed pipe included) to the
/// caller instead of panicking as `println!` does.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

mod api_key;
mod forward;
mod progress;
mod record;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tideline_engine::detect::keeper::LOOK_AGAIN_EVERY;
use tideline_engine::detect::{DetectionRunner, DetectionSettings, Opened, RebuildReason};
use tideline_engine::export;
use tideline_engine::store::{MigrationProgress, Session};
use tideline_engine::timeline::TimelineQuery;

/// mimalloc instead of glibc's malloc: the bulk commands (detections rebuilt, exports) allocate
/// and free many small strings across threads, where glibc spent ~18 % of a rebuild's CPU
/// (BENCHMARKS.md, "Scale").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tideline-cli",
    version,
    about = "Record, inspect and export Tideline sessions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Record an EventStream into a session file (created if missing, resumed if not).
    /// The API key comes from TIDELINE_API_KEY or the OS keyring (`tideline-cli key set`).
    Record(record::RecordArgs),
    /// Forward a session's stored changes and findings by a forwarding file (a backfill from
    /// `--since`), or show each destination's state (`status`), or keep a destination's secret
    /// in the OS keyring (`secret set NAME`, from standard input).
    Forward(forward::ForwardArgs),
    /// Print a session's counts and extent (with `--json`, also by account and by UTC date).
    Info {
        #[arg(long)]
        session: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export a session's timeline: CSV, NDJSON of the verbatim events, Timesketch CSV or
    /// JSONL, or OCSF 1.1.0 as JSON lines or as Hive-partitioned Parquet files.
    Export {
        #[arg(long)]
        session: PathBuf,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// A file, or `-` for standard output; for `ocsf-parquet` a new (or empty) folder.
        #[arg(long)]
        out: PathBuf,
        /// Only the events the analyst starred.
        #[arg(long)]
        starred: bool,
    },
    /// Import a file or a folder (walked recursively, gzip read transparently) into a session
    /// (created if missing): cloud audit logs (AWS CloudTrail, GCP Cloud Audit Logs, Azure
    /// Activity Log), normalized to the EventStream's events, EventStream captures (`.sse`,
    /// NDJSON), or Tideline's own OCSF export (`ocsf-json`), read back into its events. Records are stored in event-time order through the same validation and
    /// quarantine as a live stream; files that are not logs are skipped and listed.
    Import {
        #[arg(long)]
        session: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// What the files are: `auto` recognises each file by its records.
        #[arg(long, default_value = "auto", value_parser = ["auto", "cloudtrail", "gcp-audit", "azure-activity", "eventstream", "ocsf"])]
        from: String,
        /// Print the import's report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print what the detection rules find in a session. Findings are kept in the session's
    /// notes database and caught up from where the last run stopped (the session file is not
    /// changed); a repeated finding is one line with its count and first and last times.
    Findings {
        #[arg(long)]
        session: PathBuf,
        #[arg(long)]
        json: bool,
        /// A JSON detection settings file (see the README); defaults apply to what it omits.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Run every rule over every event again, even if the kept findings are current.
        #[arg(long)]
        rebuild: bool,
    },
    /// Bring a session written by an older Tideline to this version's layout, in place, with
    /// progress (recording or importing into it does the same; a review never changes it).
    Migrate {
        #[arg(long)]
        session: PathBuf,
    },
    /// Check the session's integrity chain: exits 0 when intact, 1 naming the first altered event.
    Verify {
        #[arg(long)]
        session: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Store or delete the API key for an endpoint in the OS keyring (read from standard input).
    Key {
        #[command(subcommand)]
        action: api_key::KeyAction,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// RFC 4180 CSV of the change list's columns and the analyst's notes.
    Csv,
    /// The verbatim events, one JSON per line (re-importable).
    Ndjson,
    /// CSV for Timesketch's importer.
    Timesketch,
    /// JSON lines for Timesketch's importer (tags and findings as its `tag` list).
    TimesketchJsonl,
    /// OCSF 1.1.0 events, one per line (re-importable).
    OcsfJson,
    /// OCSF 1.1.0 as zstd Parquet, `account=…/date=…/` partitions, into a folder.
    OcsfParquet,
}

impl From<ExportFormat> for export::ExportFormat {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => export::ExportFormat::Csv,
            ExportFormat::Ndjson => export::ExportFormat::Ndjson,
            ExportFormat::Timesketch => export::ExportFormat::Timesketch,
            ExportFormat::TimesketchJsonl => export::ExportFormat::TimesketchJsonl,
            ExportFormat::OcsfJson => export::ExportFormat::OcsfJson,
            ExportFormat::OcsfParquet => export::ExportFormat::OcsfParquet,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Record(args) => record::run(args),
        Command::Info { session, json } => info(session, json),
        Command::Export {
            session,
            format,
            out,
            starred,
        } => export_to(session, format, out, starred),
        Command::Import {
            session,
            input,
            from,
            json,
        } => import(session, input, &from, json),
        Command::Verify { session, json } => verify(session, json),
        Command::Migrate { session } => migrate(session),
        Command::Findings {
            session,
            json,
            settings,
            rebuild,
        } => findings(session, json, settings, rebuild),
        Command::Key { action } => api_key::run(action),
        Command::Forward(args) => forward::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`| head`): stop quietly, as Unix tools do.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tideline-cli: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn info(path: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let session = Session::open(&path)?;
    let summary = session.summary()?;
    if json {
        // The summary's members, then the counts by account and date (what an export's
        // partitions hold).
        let mut printed = serde_json::to_value(&summary)?;
        let breakdown = serde_json::to_value(session.breakdown()?)?;
        if let (Some(printed), serde_json::Value::Object(breakdown)) =
            (printed.as_object_mut(), breakdown)
        {
            printed.extend(breakdown);
        }
        out!("{}", serde_json::to_string_pretty(&printed)?);
        return Ok(ExitCode::SUCCESS);
    }
    let none = || "-".to_owned();
    out!("session        {}", path.display());
    out!(
        "events         {} ({} asset changes: {} create, {} update, {} delete; {} other)",
        summary.events,
        summary.asset_events,
        summary.by_change.create,
        summary.by_change.update,
        summary.by_change.delete,
        summary.other_events
    );
    out!("quarantined    {}", summary.quarantined);
    out!("duplicates     {}", summary.duplicates);
    out!("first event    {}", summary.first_time.unwrap_or_else(none));
    out!("last event     {}", summary.last_time.unwrap_or_else(none));
    out!(
        "stream at id   {}",
        summary.last_event_id.unwrap_or_else(none)
    );
    Ok(ExitCode::SUCCESS)
}

fn export_to(
    path: PathBuf,
    format: ExportFormat,
    out: PathBuf,
    starred: bool,
) -> anyhow::Result<ExitCode> {
    let session = Session::open(&path)?;
    let filter = starred.then(|| TimelineQuery {
        starred_only: true,
        ..TimelineQuery::default()
    });
    let format = export::ExportFormat::from(format);
    let mut no_progress = |_, _| true;
    if out.as_os_str() == "-" {
        export::export(
            &session,
            format,
            filter.as_ref(),
            std::io::stdout().lock(),
            &mut no_progress,
        )?;
    } else {
        if tideline_engine::store::would_overwrite_session(&path, &out) {
            anyhow::bail!(
                "{} is the session itself (or one of its files): choose another output",
                out.display()
            );
        }
        let report =
            export::export_to_path(&session, format, filter.as_ref(), &out, &mut no_progress)
                .with_context(|| format!("cannot export to {}", out.display()))?;
        match report.files.len() {
            0 => eprintln!("exported {} events to {}", report.rows, out.display()),
            files => eprintln!(
                "exported {} events to {} ({files} files)",
                report.rows,
                out.display()
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a migration's progress on standard error: each step, then every tenth of it.
fn print_migration(path: &Path) -> impl FnMut(MigrationProgress) + '_ {
    let mut shown: Option<(&'static str, u64)> = None;
    move |progress: MigrationProgress| {
        // A new or empty session migrates nothing: nothing to say.
        if progress.total == 0 {
            return;
        }
        let tenth = (progress.done * 10)
            .checked_div(progress.total)
            .unwrap_or(10);
        if shown != Some((progress.step, tenth)) {
            shown = Some((progress.step, tenth));
            eprintln!(
                "migrating {}: {} ({} of {} events)",
                path.display(),
                progress.step,
                progress.done,
                progress.total
            );
        }
    }
}

fn migrate(path: PathBuf) -> anyhow::Result<ExitCode> {
    if !path.exists() {
        anyhow::bail!("{}: no such session file", path.display());
    }
    let session = Session::open_or_create_reporting(&path, &mut print_migration(&path))?;
    let verification = session.verify()?;
    eprintln!(
        "{} is at schema version {}: {} events verified, chain head {}",
        path.display(),
        tideline_engine::store::SCHEMA_VERSION,
        verification.verified,
        verification.head
    );
    if let Some(broken) = &verification.broken {
        eprintln!(
            "the chain is broken at event {}: {}",
            broken.seq, broken.reason
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn import(path: PathBuf, input: PathBuf, from: &str, json: bool) -> anyhow::Result<ExitCode> {
    let from = tideline_engine::auditlog::LogFormat::parse(from);
    let mut session = Session::open_or_create_reporting(&path, &mut print_migration(&path))?;
    let mut last_report = std::time::Instant::now();
    let mut progress = |done: u64, total: u64| {
        if total > 0 && last_report.elapsed().as_secs() >= 2 {
            eprintln!("importing: {done} of {total} records");
            last_report = std::time::Instant::now();
        }
        true
    };
    let report = tideline_engine::import::import_path(&mut session, &input, from, &mut progress)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    eprintln!("imported {} into {}:", input.display(), path.display());
    for line in report.summary_lines() {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The detection settings in `file` (JSON; defaults for what it omits), or the defaults.
pub(crate) fn detection_settings(
    file: Option<&std::path::Path>,
) -> anyhow::Result<DetectionSettings> {
    let Some(file) = file else {
        return Ok(DetectionSettings::default());
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid detection settings", file.display()))
}

/// Brings the session's kept findings up to date (resumed, or rebuilt when not current or when
/// asked), then prints them one at a time: any number in constant memory.
fn findings(
    path: PathBuf,
    json: bool,
    settings: Option<PathBuf>,
    rebuild: bool,
) -> anyhow::Result<ExitCode> {
    let settings = detection_settings(settings.as_deref())?;
    let mut session = Session::open(&path)?;
    let (mut runner, opened) = if rebuild {
        let runner = DetectionRunner::rebuild(&mut session, settings)?;
        (runner, Opened::Rebuilt(RebuildReason::Asked))
    } else {
        DetectionRunner::open(&mut session, settings)?
    };
    while runner.is_waiting() {
        if !json {
            eprintln!("another process is rebuilding these findings: waiting for it");
        }
        std::thread::sleep(LOOK_AGAIN_EVERY);
        runner.catch_up(&mut session)?;
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut count = 0u64;
    if json {
        writeln!(out, "[")?;
        session.for_each_finding(|f| {
            let finding = serde_json::json!({
                "rule": f.rule,
                "severity": f.severity,
                "events": f.events.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
                "asset": f.asset,
                "principal": f.principal,
                "summary": f.summary,
                "time": f.time,
                "count": f.count,
                "first_time": f.first_time,
                "last_time": f.last_time,
                "event_keys": f.events.iter().map(|e| [&e.source, &e.event_id]).collect::<Vec<_>>(),
            });
            let separator = if count == 0 { "" } else { ",\n" };
            write!(out, "{separator}{}", serde_json::to_string(&finding)?)?;
            count += 1;
            Ok::<(), anyhow::Error>(())
        })?;
        writeln!(out, "\n]")?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    for status in runner
        .statuses()
        .iter()
        .filter(|status| status.note.is_some())
    {
        eprintln!(
            "{}: {}",
            status.rule.as_str(),
            status.note.as_deref().unwrap_or_default()
        );
    }
    session.for_each_finding(|f| {
        write!(
            out,
            "{} [{}] {} {}",
            f.time,
            f.severity.as_str(),
            f.rule.as_str(),
            f.summary
        )?;
        if f.count > 1 {
            write!(
                out,
                " (×{}, first {}, last {})",
                f.count, f.first_time, f.last_time
            )?;
        }
        writeln!(out)?;
        count += 1;
        Ok::<(), anyhow::Error>(())
    })?;
    out.flush()?;
    let how = match opened {
        Opened::Resumed { caught_up } => {
            format!("kept in the session's notes; {caught_up} events read since the last run")
        }
        Opened::Rebuilt(reason) => {
            format!("rebuilt from every event ({})", rebuilt_because(reason))
        }
        Opened::Waiting => "after an unfinished rebuild (finished or redone)".to_owned(),
    };
    eprintln!("{count} findings, {how}");
    Ok(ExitCode::SUCCESS)
}

fn rebuilt_because(reason: RebuildReason) -> &'static str {
    match reason {
        RebuildReason::Missing => "none were kept",
        RebuildReason::Settings => "other settings or rules",
        RebuildReason::OtherEvents => "they were made from other events",
        RebuildReason::Asked => "--rebuild",
    }
}

fn verify(path: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let session = Session::open(&path)?;
    let verification = session.verify()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&verification)?);
    } else if let Some(broken) = &verification.broken {
        out!(
            "BROKEN at event #{} (source {}, id {}): {}; {} events before it verified",
            broken.seq,
            broken.source,
            broken.event_id,
            broken.reason,
            verification.verified
        );
    } else {
        out!(
            "intact: {} events verified; chain head {}",
            verification.verified,
            verification.head
        );
    }
    Ok(if verification.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
