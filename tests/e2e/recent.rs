//! The start screen's recent sessions: each listed with its events, size, time span and folder,
//! a gone file said in words, and a click opening it for review without changing a byte.

use crate::harness::{Desktop, record_seed_scenario};
use crate::offline::folder_bytes;

#[tokio::test(flavor = "multi_thread")]
async fn recent_sessions_show_size_span_and_folder_and_open_for_review_untouched() {
    let dir = tempfile::TempDir::new().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let session = evidence.join("seed-incident.tideline");
    record_seed_scenario(&session).await;
    let gone = evidence.join("deleted-since.tideline");

    // The app's own recent list (File ▸ Open Recent), newest first.
    let config = dir.path().join("config");
    let app_config = config.join("dev.tideline.desktop");
    std::fs::create_dir_all(&app_config).unwrap();
    std::fs::write(
        app_config.join("recent.json"),
        serde_json::to_vec(&[session.to_str().unwrap(), gone.to_str().unwrap()]).unwrap(),
    )
    .unwrap();
    let before = folder_bytes(&evidence);

    let mut desktop = Desktop::launch_with_env(
        "recent_sessions",
        &[],
        &[("XDG_CONFIG_HOME", config.to_str().unwrap())],
    )
    .await;
    let rows = r#"[data-testid="recent-session"]"#;
    desktop.find(rows).await;
    let facts = desktop
        .text_when(r#"[data-testid="recent-facts"]"#, |text| !text.is_empty())
        .await;
    // What the session holds, as its own summary says.
    let summary = tideline_engine::store::Session::open(&session)
        .unwrap()
        .summary()
        .unwrap();
    let day = |time: Option<String>| time.unwrap()[..10].to_owned();
    assert!(
        facts.starts_with(&format!("{} events · ", summary.events)),
        "{facts}"
    );
    assert!(
        facts.contains(" MiB · ") || facts.contains(" KiB · "),
        "{facts}"
    );
    assert!(
        facts.contains(&format!("{} ", day(summary.first_time)))
            && facts.contains(&format!("→ {} ", day(summary.last_time))),
        "{facts}"
    );
    assert!(facts.ends_with("UTC"), "{facts}");
    let place = desktop
        .text_when(r#"[data-testid="recent-where"]"#, |text| !text.is_empty())
        .await;
    assert_eq!(
        place,
        format!("{}/seed-incident.tideline", evidence.display())
    );
    let problem = desktop
        .text_when(r#"[data-testid="recent-problem"]"#, |text| !text.is_empty())
        .await;
    assert_eq!(problem, "the file is gone");
    desktop.screenshot("recent-sessions").await;

    // No file manager on this display (no session bus): said in words, nothing else happens.
    desktop
        .click(
            r#"[data-testid="recent-session"]:first-child [data-testid="recent-show-in-folder"]"#,
        )
        .await;
    let said = desktop
        .text_when(r#"[data-testid="recent-folder-error"]"#, |text| {
            !text.is_empty()
        })
        .await;
    assert!(said.contains("file manager"), "{said}");

    // A click opens it for review.
    desktop
        .click(r#"[data-testid="recent-session"]:first-child .open"#)
        .await;
    desktop
        .find(r#"[data-testid="status-connection"][data-state="offline"]"#)
        .await;
    // The status bar offers the same, and says when there is no file manager.
    desktop
        .click(r#"[data-testid="status-show-in-folder"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="status-show-in-folder"]"#, |text| {
            text == "no file manager"
        })
        .await;
    desktop.screenshot("opened").await;
    desktop.close().await;
    assert_eq!(folder_bytes(&evidence), before, "the evidence changed");
}
