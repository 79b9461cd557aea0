//! Tideline's Tauri shell: the window and its File menu, the commands the page may call, and
//! the live bridge from the engine to the page. The only crate that imports tauri; it stays thin.

#[cfg(test)]
mod bindings;
#[cfg(test)]
mod command_list;
mod commands;
mod detections;
mod dialogs;
mod error;
mod forwarding;
mod host;
mod keystore;
mod menu;
mod recent;

use std::path::PathBuf;

use clap::Parser;
use tauri::Manager;

use std::sync::Arc;

use crate::commands::{
    annotations, detections as findings, forwarding as forward, session, tasks, timeline,
};
use crate::detections::Detections;
use crate::host::SessionHost;
use crate::recent::RecentSessions;

/// `tideline [--demo | --open FILE | FILE]`
#[derive(Parser, Debug)]
#[command(
    name = "tideline",
    version,
    about = "Tideline: the incident timeline of your cloud's changes"
)]
struct Args {
    /// Start on the built-in demo stream.
    #[arg(long, conflicts_with_all = ["open", "file"])]
    demo: bool,
    /// Open a saved session for review (nothing connects until you resume recording).
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    open: Option<PathBuf>,
    /// A saved session to review, as `--open FILE` (how the file manager opens a .tideline file).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

impl Args {
    /// The session to review, given either way.
    fn session_to_review(&self) -> Option<&PathBuf> {
        self.open.as_ref().or(self.file.as_ref())
    }
}

/// WebKitGTK's variable that turns its accelerated compositing off (any value but `0`).
const WEBKIT_DISABLE_COMPOSITING_MODE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Has WebKitGTK paint the page without accelerated compositing, unless the user set
/// `WEBKIT_DISABLE_COMPOSITING_MODE` (`0` turns compositing back on). Under Xvfb, with no GPU,
/// WebKit composites with Mesa's software GL, and on the 1,000,000-event session the web
/// process then held 147–155 MiB more at its peak and painted a live stream later (one run
/// each; BENCHMARKS.md §3, thirteenth and fourteenth passes). It applies on every machine, with
/// a GPU too (unmeasured there).
/// Runs first in [`run`]: WebKit reads the variable when the web view starts, and its web
/// process inherits the app's environment.
fn paint_without_compositing() {
    if std::env::var_os(WEBKIT_DISABLE_COMPOSITING_MODE).is_none() {
        // SAFETY: called first thing in `run`, which `main` calls before any thread of the app
        // exists (its contract), so nothing reads the environment while it changes.
        unsafe { std::env::set_var(WEBKIT_DISABLE_COMPOSITING_MODE, "1") };
    }
}

/// The desktop app: parses the arguments, opens the window and runs until it closes. Call it
/// from `main` before any thread exists: it sets an environment variable first
/// ([`paint_without_compositing`]).
pub fn run() {
    paint_without_compositing();
    let args = Args::parse();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(menu::MenuBridge::default())
        .manage(tasks::RunningTask::default())
        .setup(move |app| {
            let recent = RecentSessions::load(app.path().app_config_dir()?.join("recent.json"));
            let (detections, problem) =
                Detections::load(app.path().app_config_dir()?.join("detections.json"));
            if let Some(problem) = problem {
                eprintln!("tideline: {problem}");
            }
            let detections = Arc::new(detections);
            let forwarding = Arc::new(crate::forwarding::ForwardingFile::new(
                app.path().app_config_dir()?.join("forwarding.json"),
            ));
            let host = SessionHost::new(
                app.path().app_data_dir()?.join("sessions"),
                detections.clone(),
                forwarding.clone(),
            );
            app.manage(detections);
            app.manage(forwarding);
            // Before the page loads, so its first `current_session` call already sees it.
            let opened = if args.demo {
                Some(tauri::async_runtime::block_on(host.start_demo())?)
            } else if let Some(path) = args.session_to_review() {
                // A missing or foreign file opens the start screen with the error, never a panic.
                tauri::async_runtime::block_on(host.open(path))
                    .inspect_err(|error| eprintln!("tideline: {error}"))
                    .map_err(|error| host.keep_launch_error(error))
                    .ok()
            } else {
                None
            };
            if let Some(info) = opened {
                recent.add(&PathBuf::from(info.path));
            }
            app.set_menu(menu::build(app.handle(), &recent.list())?)?;
            app.manage(recent);
            app.manage(host);
            Ok(())
        })
        .on_menu_event(|app, event| menu::handle(app, event.id().as_ref()))
        .invoke_handler(tauri::generate_handler![
            session::start_demo,
            session::connect_stream,
            session::open_session,
            session::current_session,
            session::resume_recording,
            session::close_session,
            session::save_copy,
            session::verify_session,
            session::watch_live,
            session::watch_menu,
            timeline::list_changes,
            timeline::facets,
            timeline::change_detail,
            timeline::asset_history,
            timeline::quarantined,
            annotations::set_starred,
            annotations::add_tag,
            annotations::remove_tag,
            annotations::add_comment,
            annotations::delete_comment,
            tasks::export_session,
            tasks::import_events,
            tasks::cancel_task,
            findings::findings,
            findings::rule_statuses,
            findings::detection_settings,
            findings::save_detection_settings,
            findings::insights,
            findings::change_rate,
            forward::forwarding_rules,
            forward::save_forwarding_rules,
            forward::forwarding_status,
            session::recent_sessions,
            session::show_in_folder,
            timeline::asset_state,
            timeline::compare_asset_states,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .unwrap_or_else(|error| {
            eprintln!("tideline: {error}");
            std::process::exit(1);
        });
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("tideline").chain(argv.iter().copied()))
    }

    #[test]
    fn a_file_given_alone_is_reviewed_like_open() {
        let positional = parse(&["/evidence/incident.tideline"]).unwrap();
        let flagged = parse(&["--open", "/evidence/incident.tideline"]).unwrap();
        assert_eq!(positional.session_to_review(), flagged.session_to_review());
        assert_eq!(
            positional.session_to_review().unwrap().to_str(),
            Some("/evidence/incident.tideline")
        );
        assert_eq!(parse(&[]).unwrap().session_to_review(), None);
    }

    #[test]
    fn a_file_with_open_or_demo_is_refused_naming_both() {
        for argv in [
            &["--open", "a.tideline", "b.tideline"][..],
            &["--demo", "b.tideline"],
        ] {
            let error = parse(argv).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
            assert!(error.to_string().contains("[FILE]"), "{error}");
        }
    }
}
