//! tideline-cli: Tideline without a window — record an EventStream into a session file on a
//! jump box, inspect it and export it. Each subcommand is a thin call into the engine.

mod api_key;
mod progress;
mod record;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tideline_engine::export;
use tideline_engine::store::Session;

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
    /// Print a session's counts and extent.
    Info {
        #[arg(long)]
        session: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export a session's timeline.
    Export {
        #[arg(long)]
        session: PathBuf,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// A file, or `-` for standard output.
        #[arg(long)]
        out: PathBuf,
    },
    /// Store or delete the API key for an endpoint in the OS keyring (read from standard input).
    Key {
        #[command(subcommand)]
        action: api_key::KeyAction,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Record(args) => record::run(args),
        Command::Info { session, json } => info(session, json),
        Command::Export {
            session,
            format: ExportFormat::Csv,
            out,
        } => export_csv(session, out),
        Command::Key { action } => api_key::run(action),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tideline-cli: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn info(path: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let session = Session::open(&path)?;
    let summary = session.summary()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    let none = || "-".to_owned();
    println!("session        {}", path.display());
    println!(
        "events         {} ({} asset changes: {} create, {} update, {} delete; {} other)",
        summary.events,
        summary.asset_events,
        summary.by_change.create,
        summary.by_change.update,
        summary.by_change.delete,
        summary.other_events
    );
    println!("quarantined    {}", summary.quarantined);
    println!("duplicates     {}", summary.duplicates);
    println!("first event    {}", summary.first_time.unwrap_or_else(none));
    println!("last event     {}", summary.last_time.unwrap_or_else(none));
    println!(
        "stream at id   {}",
        summary.last_event_id.unwrap_or_else(none)
    );
    Ok(ExitCode::SUCCESS)
}

fn export_csv(path: PathBuf, out: PathBuf) -> anyhow::Result<ExitCode> {
    let session = Session::open(&path)?;
    let rows = if out.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        export::export_csv(&session, BufWriter::new(stdout))?
    } else {
        let file = std::fs::File::create(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;
        let mut writer = BufWriter::new(file);
        let rows = export::export_csv(&session, &mut writer)?;
        writer
            .flush()
            .with_context(|| format!("cannot write {}", out.display()))?;
        rows
    };
    if out.as_os_str() != "-" {
        eprintln!("exported {rows} events to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
