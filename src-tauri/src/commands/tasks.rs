//! Long jobs the page can watch and cancel: exports and imports. Progress arrives on a channel
//! at most every 100 ms; a cancelled export leaves no partial file behind.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tideline_engine::export::{self, ExportFormat};
use tideline_engine::import;
use tideline_engine::store::Session;
use tideline_engine::timeline::TimelineQuery;

use super::own_connection;
use crate::dialogs::{FileDialog, choose_file};
use crate::error::CommandError;
use crate::host::SessionHost;
use crate::menu::ExportKind;

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TaskProgress {
    /// "export" or "import".
    pub task: String,
    pub done: u64,
    pub total: u64,
    /// What `done` and `total` count: "events" or "bytes".
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TaskOutcome {
    pub path: String,
    /// One sentence for the user, e.g. "Exported 11 events".
    pub summary: String,
}

/// The cancel switch of the job that is running, if any.
#[derive(Default)]
pub struct RunningTask(Mutex<Option<Arc<AtomicBool>>>);

impl RunningTask {
    fn start(&self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(flag.clone());
        flag
    }
}

/// A progress callback for the engine: throttled sends, and `false` once cancelled.
fn reporter(
    task: &'static str,
    unit: &'static str,
    channel: Channel<TaskProgress>,
    cancelled: Arc<AtomicBool>,
) -> impl FnMut(u64, u64) -> bool {
    let mut last: Option<Instant> = None;
    move |done, total| {
        if last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) || done == total {
            last = Some(Instant::now());
            let _ = channel.send(TaskProgress {
                task: task.into(),
                done,
                total,
                unit: unit.into(),
            });
        }
        !cancelled.load(Ordering::SeqCst)
    }
}

/// What a file (or folder) of `kind` is suggested to be named after the session: `name.csv`,
/// `name-ocsf` (a folder).
fn suggested_name(stem: &str, kind: ExportKind) -> String {
    match kind {
        ExportKind::CsvView | ExportKind::CsvAll => format!("{stem}.csv"),
        ExportKind::Ndjson => format!("{stem}.ndjson"),
        ExportKind::Timesketch => format!("{stem}.timesketch.csv"),
        ExportKind::TimesketchJsonl => format!("{stem}.timesketch.jsonl"),
        ExportKind::OcsfJson => format!("{stem}.ocsf.json"),
        ExportKind::OcsfParquet => format!("{stem}-ocsf-parquet"),
        ExportKind::Findings => format!("{stem}.findings.csv"),
    }
}

/// Asks where to save, then exports; `None` if the user cancelled the dialog.
#[tauri::command]
pub async fn export_session(
    app: AppHandle,
    host: State<'_, SessionHost>,
    running: State<'_, RunningTask>,
    kind: ExportKind,
    query: Option<TimelineQuery>,
    on_progress: Channel<TaskProgress>,
) -> Result<Option<TaskOutcome>, CommandError> {
    let session_path = host.path()?;
    let stem = session_path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("tideline")
        .to_owned();
    let suggested = suggested_name(&stem, kind);
    let dialog = FileDialog::Save {
        title: if kind == ExportKind::OcsfParquet {
            "Export the timeline as OCSF Parquet: name a new folder"
        } else {
            "Export the timeline"
        },
        suggested,
        filter: None,
    };
    let Some(destination) = choose_file(app, dialog).await? else {
        return Ok(None);
    };
    if tideline_engine::store::would_overwrite_session(&session_path, &destination) {
        return Err(CommandError::WriteFile {
            path: destination,
            source: std::io::Error::other("it is the session itself: choose another file"),
        });
    }
    let (format, filter) = match kind {
        ExportKind::CsvView => (Some(ExportFormat::Csv), Some(query.unwrap_or_default())),
        ExportKind::CsvAll => (Some(ExportFormat::Csv), None),
        ExportKind::Ndjson => (Some(ExportFormat::Ndjson), None),
        ExportKind::Timesketch => (Some(ExportFormat::Timesketch), query),
        ExportKind::TimesketchJsonl => (Some(ExportFormat::TimesketchJsonl), query),
        ExportKind::OcsfJson => (Some(ExportFormat::OcsfJson), None),
        ExportKind::OcsfParquet => (Some(ExportFormat::OcsfParquet), None),
        ExportKind::Findings => (None, None),
    };
    let cancel = running.start();
    // At once, so the page can offer Cancel before the first rows are written.
    let _ = on_progress.send(TaskProgress {
        task: "export".into(),
        done: 0,
        total: 0,
        unit: "events".into(),
    });
    let mut progress = reporter("export", "events", on_progress, cancel);
    own_connection(&host, move |session| {
        let rows = match format {
            Some(format) => {
                export::export_to_path(
                    session,
                    format,
                    filter.as_ref(),
                    &destination,
                    &mut progress,
                )?
                .rows
            }
            None => write_findings(session, &destination)?,
        };
        Ok(Some(TaskOutcome {
            path: destination.display().to_string(),
            summary: format!(
                "Exported {rows} {} to {}",
                if format.is_some() {
                    "events"
                } else {
                    "findings"
                },
                destination.display()
            ),
        }))
    })
    .await
}

/// The findings CSV, written under `<destination>.partial` and renamed when complete.
fn write_findings(session: &Session, destination: &std::path::Path) -> Result<u64, CommandError> {
    let partial = PathBuf::from(format!("{}.partial", destination.display()));
    let write_error = |path: &PathBuf| {
        let path = path.clone();
        move |source| CommandError::WriteFile { path, source }
    };
    let written = std::fs::File::create(&partial)
        .map_err(write_error(&partial))
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            let rows = export::export_findings_csv(session, &mut out)?;
            std::io::Write::flush(&mut out).map_err(write_error(&partial))?;
            Ok(rows)
        });
    match written {
        Ok(rows) => {
            std::fs::rename(&partial, destination).map_err(write_error(&partial))?;
            Ok(rows)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// Asks for a file (`folder: false`) or a folder and imports it into the open session: cloud
/// audit logs (CloudTrail, GCP, Azure; gzip and the providers' export layouts) or EventStream
/// captures, recognised by their records. The outcome's summary says what was recognised,
/// what was skipped and where every record went.
#[tauri::command]
pub async fn import_events(
    app: AppHandle,
    host: State<'_, SessionHost>,
    running: State<'_, RunningTask>,
    folder: bool,
    on_progress: Channel<TaskProgress>,
) -> Result<Option<TaskOutcome>, CommandError> {
    host.path()?;
    let dialog = if folder {
        FileDialog::OpenFolder {
            title: "Import a folder of cloud audit logs into this session",
        }
    } else {
        FileDialog::Open {
            title: "Import a cloud audit log or an event capture into this session",
            filter: (
                "Audit logs and captures",
                &["json", "gz", "ndjson", "jsonl", "log", "sse", "txt"],
            ),
            folder: None,
        }
    };
    let Some(input) = choose_file(app, dialog).await? else {
        return Ok(None);
    };
    let cancel = running.start();
    let _ = on_progress.send(TaskProgress {
        task: "import".into(),
        done: 0,
        total: 0,
        unit: "records".into(),
    });
    let mut progress = reporter("import", "records", on_progress, cancel);
    // An import writes events: it takes the session's recording lock like a recorder does, and
    // is refused while the session is being recorded.
    let path = host.path()?;
    let outcome = tauri::async_runtime::spawn_blocking(move || {
        let session = &mut Session::open_or_create(&path)?;
        let report = import::import_path(session, &input, None, &mut progress)?;
        Ok(TaskOutcome {
            path: input.display().to_string(),
            summary: report.summary_lines().join("\n"),
        })
    })
    .await
    .map_err(CommandError::Background)?;
    host.refresh().await?;
    outcome.map(Some)
}

/// Cancels the running export or import.
#[tauri::command]
pub fn cancel_task(running: State<'_, RunningTask>) {
    if let Some(flag) = running
        .0
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .as_ref()
    {
        flag.store(true, Ordering::SeqCst);
    }
}
