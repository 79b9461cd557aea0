//! The analyst's care (issue 12 point 10): Close (Ctrl+W) on a live recording asks first —
//! "Keep recording" keeps it going, "Stop recording and close" stops it cleanly (the session's
//! lock released, its chain intact) — while a reviewed session closes at once; and a comment
//! half-typed on one change is still there after selecting another and coming back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Desktop, STEP_TIMEOUT, record_seed_scenario};

async fn list_total(desktop: &Desktop) -> u64 {
    desktop
        .script(r#"return Number(document.querySelector('[data-testid="list-total"]')?.dataset.total ?? 0)"#)
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Whether the one-writer lock beside `session` is free (nobody records into it).
fn lock_is_free(session: &Path) -> bool {
    let real = std::fs::canonicalize(session).unwrap();
    let mut lock = real.into_os_string();
    lock.push(".lock");
    match std::fs::File::open(PathBuf::from(lock)) {
        Ok(file) => file.try_lock().is_ok(),
        // A lock file is only ever made by a writer; none means nobody holds it.
        Err(_) => true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_w_asks_before_stopping_a_live_recording_and_closes_a_review_at_once() {
    let mut desktop = Desktop::launch("close_recording", &[]).await;
    desktop.click(r#"[data-testid="start-demo"]"#).await;
    desktop
        .find(r#"[data-testid="change-row"]:nth-of-type(3)"#)
        .await;
    desktop
        .find(r#"[data-testid="status-connection"][data-state="live"]"#)
        .await;

    // Ctrl+W while recording: the question, with "Keep recording" focused.
    desktop.press_on_window("ctrl+w");
    let asked = desktop
        .text_when(r#"[data-testid="close-confirm-dialog"]"#, |t| {
            t.contains("Stop recording and close?")
        })
        .await;
    assert!(asked.contains("Closing stops the recording"), "{asked}");
    let focused = desktop
        .script("return document.activeElement?.dataset.testid ?? null")
        .await;
    assert_eq!(focused, Value::String("close-cancel".into()));
    let session = PathBuf::from(
        desktop
            .text_when(r#"[data-testid="close-session-path"]"#, |t| !t.is_empty())
            .await,
    );
    desktop.screenshot("ctrl-w-asks").await;

    // Keep recording: the dialog goes, the workspace stays, and changes keep arriving.
    desktop.click(r#"[data-testid="close-cancel"]"#).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !desktop
        .find_all(r#"[data-testid="close-confirm-dialog"]"#)
        .await
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the question stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = list_total(&desktop).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while list_total(&desktop).await <= before {
        assert!(
            Instant::now() < deadline,
            "nothing was recorded after Keep recording ({before} changes)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!lock_is_free(&session), "the recording let go of its lock");
    desktop
        .find(r#"[data-testid="status-connection"][data-state="live"]"#)
        .await;

    // Ctrl+W again, and stop: the start screen; the recorder lets go of the session and what
    // it stored verifies.
    desktop.press_on_window("ctrl+w");
    desktop.click(r#"[data-testid="close-confirm"]"#).await;
    desktop.find(r#"[data-testid="start-screen"]"#).await;
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !lock_is_free(&session) {
        assert!(Instant::now() < deadline, "the recording never stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    let verified = Command::new(&cli)
        .args(["verify", "--session"])
        .arg(&session)
        .output()
        .expect("tideline-cli runs (cargo test --workspace builds it)");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    desktop.screenshot("closed").await;

    // The same session reviewed (the app started on it): Ctrl+W closes it at once, nothing asked.
    let mut desktop = desktop
        .restart_with(vec!["--open".into(), session.display().to_string()])
        .await;
    desktop
        .find(r#"[data-testid="status-connection"][data-state="offline"]"#)
        .await;
    desktop.find(r#"[data-testid="change-row"]"#).await;
    desktop.press_on_window("ctrl+w");
    desktop.find(r#"[data-testid="start-screen"]"#).await;
    assert!(
        desktop
            .find_all(r#"[data-testid="close-confirm-dialog"]"#)
            .await
            .is_empty()
    );
    desktop.screenshot("review-closed-without-asking").await;
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_typed_comment_stays_with_its_change_when_another_is_selected() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("seed-incident.tideline");
    record_seed_scenario(&session).await;
    let mut desktop =
        Desktop::launch("comment_drafts", &["--open", session.to_str().unwrap()]).await;
    let rows = r#"[data-testid="change-row"]"#;
    desktop.find(&format!("{rows}:nth-of-type(3)")).await;
    let seqs = desktop
        .script(r#"return [...document.querySelectorAll('[data-testid="change-row"]')].map((r) => r.dataset.seq)"#)
        .await;
    let (a, b) = (
        seqs[0].as_str().unwrap().to_owned(),
        seqs[1].as_str().unwrap().to_owned(),
    );
    let row = |seq: &str| format!(r#"[data-testid="change-row"][data-seq="{seq}"]"#);
    let shown = |seq: &str| format!(r#"[data-testid="detail-panel"][data-seq="{seq}"]"#);
    let comment = r#"[data-testid="comment-input"]"#;
    let text_of_box = format!("return document.querySelector('{comment}')?.value ?? null");

    desktop.click(&row(&a)).await;
    desktop.find(&shown(&a)).await;
    desktop.find(comment).await;
    desktop
        .type_into(comment, "Half-typed: the firewall was opened from")
        .await;
    desktop
        .text_when(r#"[data-testid="comment-draft-note"]"#, |t| {
            t.contains("not saved")
        })
        .await;
    desktop
        .scroll_to(r#"[data-testid="comment-draft-note"]"#)
        .await;
    desktop.screenshot("draft-on-a").await;

    // Another change: its own, empty box.
    desktop.click(&row(&b)).await;
    desktop.find(&shown(&b)).await;
    assert_eq!(
        desktop.script(&text_of_box).await,
        Value::String(String::new())
    );
    assert!(
        desktop
            .find_all(r#"[data-testid="comment-draft-note"]"#)
            .await
            .is_empty()
    );
    desktop.scroll_to(comment).await;
    desktop.screenshot("b-has-its-own-box").await;

    // Back on the first: the draft is there, and nothing was added to either change.
    desktop.click(&row(&a)).await;
    desktop.find(&shown(&a)).await;
    assert_eq!(
        desktop.script(&text_of_box).await,
        Value::String("Half-typed: the firewall was opened from".into())
    );
    assert!(
        desktop
            .find_all(r#"[data-testid="comment"]"#)
            .await
            .is_empty()
    );
    desktop
        .scroll_to(r#"[data-testid="comment-draft-note"]"#)
        .await;
    desktop.screenshot("draft-back-on-a").await;
    desktop.close().await;
}
