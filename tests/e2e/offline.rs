//! A saved session reviewed offline: recorded with the CLI, opened with `tideline --open`, with
//! no stream server running. Everything works, and nothing tries to connect.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::harness::{Desktop, record_seed_scenario};

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_session_opens_offline_with_list_diff_and_history_and_never_connects() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("seed-incident.tideline");

    // Record the seed-incident scenario with the CLI, then stop the stream server.
    let port = record_seed_scenario(&session).await;

    // Anything that tries the recorded endpoint now knocks here.
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the stream's port is free again");
    listener.set_nonblocking(true).unwrap();
    let knocks = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let knocks = knocks.clone();
        std::thread::spawn(move || {
            for _ in 0..1_200 {
                if listener.accept().is_ok() {
                    knocks.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let evidence_before = folder_bytes(dir.path());
    let mut desktop =
        Desktop::launch("offline_review", &["--open", session.to_str().unwrap()]).await;
    desktop
        .find(r#"[data-testid="status-connection"][data-state="offline"]"#)
        .await;
    desktop.screenshot("opened-offline").await;

    // The list, the diff and the history all work from the file alone.
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "prod-db-sg")
        .await;
    let opened = r#"[data-testid="change-row"][data-asset-label="prod-db-sg"][data-action="AuthorizeSecurityGroupIngress"]"#;
    desktop.click(opened).await;
    desktop
        .text_when(r#"[data-testid="diff-changes"]"#, |text| {
            text.contains("203.0.113.66/32")
        })
        .await;
    desktop
        .text_when(r#"[data-testid="who-source-ip"]"#, |text| {
            text.contains("198.51.100.23")
        })
        .await;
    desktop.screenshot("diff-offline").await;
    desktop.click(r#"[data-testid="history-open"]"#).await;
    desktop
        .find(r#"[data-testid="history-entry"][data-action="RevokeSecurityGroupIngress"]"#)
        .await;
    desktop
        .scroll_to(r#"[data-testid="history-entry"][data-current="true"]"#)
        .await;
    desktop.screenshot("history-offline").await;

    desktop
        .find(r#"[data-testid="status-connection"][data-state="offline"]"#)
        .await;
    desktop.close().await;
    assert_eq!(
        knocks.load(Ordering::SeqCst),
        0,
        "the offline app tried to connect to the recorded endpoint"
    );
    drop(watcher);
    assert!(
        folder_bytes(dir.path()) == evidence_before,
        "reviewing the session (findings ran on it) changed its folder"
    );
}

/// Every file of `folder` with its bytes: a review must leave them all as they were.
pub fn folder_bytes(folder: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name(), std::fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}
