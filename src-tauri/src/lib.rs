//! Tideline's Tauri shell: the window, the commands the page may call, and the live bridge
//! from the engine to the page. The only crate that imports tauri; it stays thin.

#[cfg(test)]
mod bindings;
mod commands;
mod error;
mod host;
mod keystore;

use std::path::PathBuf;

use clap::Parser;
use tauri::Manager;

use crate::host::SessionHost;

/// `tideline [--demo | --open FILE]`
#[derive(Parser, Debug)]
#[command(
    name = "tideline",
    version,
    about = "Tideline: the incident timeline of your cloud's changes"
)]
struct Args {
    /// Start on the built-in demo stream.
    #[arg(long, conflicts_with = "open")]
    demo: bool,
    /// Open a saved session for review.
    #[arg(long, value_name = "FILE")]
    open: Option<PathBuf>,
}

pub fn run() {
    let args = Args::parse();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let sessions_dir = app.path().app_data_dir()?.join("sessions");
            let host = SessionHost::new(sessions_dir);
            // Before the page loads, so its first `current_session` call already sees it.
            if args.demo {
                tauri::async_runtime::block_on(host.start_demo())?;
            } else if let Some(path) = &args.open {
                host.open(path)?;
            }
            app.manage(host);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::start_demo,
            commands::connect_stream,
            commands::open_session,
            commands::current_session,
            commands::list_changes,
            commands::facets,
            commands::change_detail,
            commands::asset_history,
            commands::quarantined,
            commands::watch_live,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .unwrap_or_else(|error| {
            eprintln!("tideline: {error}");
            std::process::exit(1);
        });
}
