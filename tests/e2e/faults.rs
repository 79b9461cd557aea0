//! Faults are named: a session file that cannot be opened at launch, and a stream that cannot
//! be reached, are said in words on screen, never a panic or a silent "live".

use std::net::TcpListener;

use crate::harness::Desktop;

#[tokio::test(flavor = "multi_thread")]
async fn open_of_a_missing_or_foreign_file_shows_the_start_screen_with_the_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let missing = dir.path().join("no-such.tideline");
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "not a session\n").unwrap();
    for (name, file, expected) in [
        ("open_missing", &missing, "no such session file"),
        ("open_foreign", &foreign, "not a Tideline session"),
    ] {
        let mut desktop = Desktop::launch(name, &["--open", file.to_str().unwrap()]).await;
        desktop.find(r#"[data-testid="start-screen"]"#).await;
        desktop
            .text_when(r#"[data-testid="start-error"]"#, |text| {
                text.contains(expected)
            })
            .await;
        desktop.screenshot("start-screen-with-error").await;
        desktop.close().await;
    }
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not a session\n");
    assert!(!missing.exists(), "opening a missing file created it");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_is_named_in_words_in_the_status_bar() {
    // A port nothing listens on: bound, then released.
    let port = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut desktop = Desktop::launch("unreachable_endpoint", &[]).await;
    desktop
        .connect_stream(
            &format!("http://127.0.0.1:{port}/v1/consume/stream"),
            "e2e-unreachable-key",
        )
        .await;
    let said = desktop
        .text_when(
            r#"[data-testid="status-connection"][data-state="reconnecting"]"#,
            |text| text.contains("refused"),
        )
        .await;
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    // Nothing claims "live" while the stream is down.
    let badge = desktop
        .text_when(r#"[data-testid="session-mode"]"#, |text| !text.is_empty())
        .await;
    assert_eq!(badge.trim(), "reconnecting");
    assert!(
        desktop
            .find_all(r#"[data-testid="follow-live"]"#)
            .await
            .is_empty(),
        "\"Following live\" is offered while not connected"
    );
    let empty = desktop
        .text_when(r#"[data-testid="list-empty"]"#, |text| !text.is_empty())
        .await;
    assert!(empty.contains("not connected"), "{empty}");
    desktop.screenshot("refused-named").await;

    // Closed without ever storing anything, the session it created is not left behind.
    let title = desktop
        .script(r#"return document.querySelector('[data-testid="status-session"]').parentElement.title"#)
        .await;
    let path = std::path::PathBuf::from(title.as_str().unwrap().lines().next().unwrap());
    assert!(path.exists(), "{}", path.display());
    desktop.click(r#"[data-testid="close-session"]"#).await;
    desktop.find(r#"[data-testid="start-screen"]"#).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the empty session {} was left behind",
            path.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    desktop.close().await;
}

const KEY: &str = "e2e-retry-key-2291";

async fn seed_stream() -> eventstream_sim::RunningSim {
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-incident.sse");
    eventstream_sim::start(
        eventstream_sim::SimConfig::new(KEY, eventstream_sim::StreamSource::Replay(fixture)),
        0,
    )
    .await
    .expect("the stream server starts")
}

/// Waits until the status bar counts at least one stored event while the stream is live.
async fn records(desktop: &Desktop) {
    desktop
        .find(r#"[data-testid="status-connection"][data-state="live"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="status-stored"]"#, |text| {
            text.trim() != "0"
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_key_is_re_entered_in_place_and_the_session_records() {
    let sim = seed_stream().await;
    let mut desktop = Desktop::launch("rejected_key", &[]).await;
    desktop.connect_stream(&sim.url(), "not-the-key").await;
    desktop
        .find(r#"[data-testid="stopped-banner"][data-cause="api_key_rejected"]"#)
        .await;
    desktop.screenshot("key-rejected").await;
    desktop.click(r#"[data-testid="retry-key"]"#).await;
    desktop
        .type_into(r#"[data-testid="resume-key"]"#, KEY)
        .await;
    desktop.click(r#"[data-testid="resume-key-submit"]"#).await;
    records(&desktop).await;
    desktop.screenshot("recording-after-new-key").await;
    desktop.close().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_is_edited_and_retried_once_the_server_is_up() {
    let port = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut desktop = Desktop::launch("unreachable_then_retry", &[]).await;
    desktop
        .connect_stream(&format!("http://127.0.0.1:{port}/v1/consume/stream"), KEY)
        .await;
    desktop.find(r#"[data-testid="unreachable-banner"]"#).await;
    let sim = seed_stream().await;
    desktop.click(r#"[data-testid="retry-endpoint"]"#).await;
    let field = desktop.find(r#"[data-testid="resume-endpoint"]"#).await;
    field.clear().await.unwrap();
    desktop
        .type_into(r#"[data-testid="resume-endpoint"]"#, &sim.url())
        .await;
    desktop
        .type_into(r#"[data-testid="resume-key"]"#, KEY)
        .await;
    desktop.screenshot("endpoint-edited").await;
    desktop.click(r#"[data-testid="resume-key-submit"]"#).await;
    records(&desktop).await;
    desktop.screenshot("recording-after-retry").await;
    desktop.close().await;
    sim.shutdown().await;
}
