//! Tauri's build step: the config lives at the top of the repository, and every app command
//! gets an allow-/deny- permission so the capability file can grant exactly those.

fn main() {
    let commands = &[
        "start_demo",
        "connect_stream",
        "open_session",
        "current_session",
        "resume_recording",
        "close_session",
        "save_copy",
        "verify_session",
        "watch_live",
        "watch_menu",
        "list_changes",
        "facets",
        "change_detail",
        "asset_history",
        "quarantined",
        "set_starred",
        "add_tag",
        "remove_tag",
        "add_comment",
        "delete_comment",
        "export_session",
        "import_events",
        "cancel_task",
        "findings",
        "rule_statuses",
        "detection_settings",
        "save_detection_settings",
        "insights",
        "change_rate",
        "forwarding_rules",
        "save_forwarding_rules",
        "forwarding_status",
        "recent_sessions",
        "show_in_folder",
        "asset_state",
        "compare_asset_states",
    ];
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
