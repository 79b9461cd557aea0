//! menu: the native File menu. Choosing an entry sends a [`MenuAction`] to the page, which
//! knows what is on screen (the current filter, whether to ask for a name first).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::menu::{Menu, MenuBuilder, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, Manager, Runtime};

use crate::recent::RecentSessions;

/// What an export contains and how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// CSV of the change list as currently filtered.
    CsvView,
    /// CSV of every event.
    CsvAll,
    /// The verbatim events, one JSON per line (re-importable).
    Ndjson,
    /// CSV for Timesketch's importer.
    Timesketch,
    /// JSON lines for Timesketch's importer (tags and findings as its tags).
    TimesketchJsonl,
    /// OCSF 1.1.0 events, one per line (re-importable).
    OcsfJson,
    /// OCSF 1.1.0 as Hive-partitioned Parquet files in a new folder.
    OcsfParquet,
    /// CSV of the findings, one row each.
    Findings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MenuAction {
    NewSession,
    Open,
    OpenPath {
        path: String,
    },
    SaveCopy,
    Close,
    Export {
        kind: ExportKind,
    },
    /// Import a file (`folder: false`) or a folder of cloud audit logs or EventStream captures.
    Import {
        folder: bool,
    },
}

/// Where menu choices go: the page's channel, once it asked for them.
#[derive(Default)]
pub struct MenuBridge(Mutex<Option<Channel<MenuAction>>>);

impl MenuBridge {
    pub fn connect(&self, channel: Channel<MenuAction>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(channel);
    }

    fn send(&self, action: MenuAction) {
        if let Some(channel) = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
        {
            let _ = channel.send(action);
        }
    }
}

const RECENT_PREFIX: &str = "recent:";

pub fn build<R: Runtime>(app: &AppHandle<R>, recent: &[String]) -> tauri::Result<Menu<R>> {
    let mut open_recent = SubmenuBuilder::new(app, "Open Recent");
    if recent.is_empty() {
        open_recent = open_recent.item(
            &MenuItemBuilder::with_id("recent:none", "No recent sessions")
                .enabled(false)
                .build(app)?,
        );
    }
    for (index, path) in recent.iter().enumerate() {
        open_recent = open_recent
            .item(&MenuItemBuilder::with_id(format!("{RECENT_PREFIX}{index}"), path).build(app)?);
    }
    let export = SubmenuBuilder::new(app, "Export")
        .item(
            &MenuItemBuilder::with_id("export:csv_view", "CSV of the Current View…")
                .accelerator("CmdOrCtrl+E")
                .build(app)?,
        )
        .item(&MenuItemBuilder::with_id("export:csv_all", "CSV of Everything…").build(app)?)
        .item(&MenuItemBuilder::with_id("export:ndjson", "NDJSON of the Raw Events…").build(app)?)
        .item(&MenuItemBuilder::with_id("export:timesketch", "Timesketch CSV…").build(app)?)
        .item(&MenuItemBuilder::with_id("export:timesketch_jsonl", "Timesketch JSONL…").build(app)?)
        .separator()
        .item(&MenuItemBuilder::with_id("export:ocsf_json", "OCSF JSON…").build(app)?)
        .item(
            &MenuItemBuilder::with_id("export:ocsf_parquet", "OCSF Parquet (a Folder)…")
                .build(app)?,
        )
        .separator()
        .item(&MenuItemBuilder::with_id("export:findings", "Findings CSV…").build(app)?)
        .build()?;
    let import = SubmenuBuilder::new(app, "Import")
        .item(
            &MenuItemBuilder::with_id("import", "Cloud Audit Log or Capture File…")
                .accelerator("CmdOrCtrl+I")
                .build(app)?,
        )
        .item(
            &MenuItemBuilder::with_id("import_folder", "Folder of Cloud Audit Logs…")
                .accelerator("CmdOrCtrl+Shift+I")
                .build(app)?,
        )
        .build()?;
    let file = SubmenuBuilder::new(app, "File")
        .item(
            &MenuItemBuilder::with_id("new_session", "New Session…")
                .accelerator("CmdOrCtrl+N")
                .build(app)?,
        )
        .item(
            &MenuItemBuilder::with_id("open", "Open…")
                .accelerator("CmdOrCtrl+O")
                .build(app)?,
        )
        .item(&open_recent.build()?)
        .separator()
        .item(
            &MenuItemBuilder::with_id("save_copy", "Save a Copy As…")
                .accelerator("CmdOrCtrl+Shift+S")
                .build(app)?,
        )
        .item(
            &MenuItemBuilder::with_id("close", "Close")
                .accelerator("CmdOrCtrl+W")
                .build(app)?,
        )
        .separator()
        .item(&export)
        .item(&import)
        .build()?;
    MenuBuilder::new(app).item(&file).build()
}

/// Rebuilds the menu after the recent list changed.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let recent = app.state::<RecentSessions>().list();
    if let Ok(menu) = build(app, &recent) {
        let _ = app.set_menu(menu);
    }
}

pub fn handle<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let action = match id {
        "new_session" => MenuAction::NewSession,
        "open" => MenuAction::Open,
        "save_copy" => MenuAction::SaveCopy,
        "close" => MenuAction::Close,
        "import" => MenuAction::Import { folder: false },
        "import_folder" => MenuAction::Import { folder: true },
        "export:csv_view" => MenuAction::Export {
            kind: ExportKind::CsvView,
        },
        "export:csv_all" => MenuAction::Export {
            kind: ExportKind::CsvAll,
        },
        "export:ndjson" => MenuAction::Export {
            kind: ExportKind::Ndjson,
        },
        "export:timesketch" => MenuAction::Export {
            kind: ExportKind::Timesketch,
        },
        "export:timesketch_jsonl" => MenuAction::Export {
            kind: ExportKind::TimesketchJsonl,
        },
        "export:ocsf_json" => MenuAction::Export {
            kind: ExportKind::OcsfJson,
        },
        "export:ocsf_parquet" => MenuAction::Export {
            kind: ExportKind::OcsfParquet,
        },
        "export:findings" => MenuAction::Export {
            kind: ExportKind::Findings,
        },
        other => {
            let Some(index) = other
                .strip_prefix(RECENT_PREFIX)
                .and_then(|i| i.parse::<usize>().ok())
            else {
                return;
            };
            match app.state::<RecentSessions>().list().get(index) {
                Some(path) => MenuAction::OpenPath { path: path.clone() },
                None => return,
            }
        }
    };
    app.state::<MenuBridge>().send(action);
}
