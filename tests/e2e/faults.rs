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
        .type_into(
            r#"[data-testid="connect-endpoint"]"#,
            &format!("http://127.0.0.1:{port}/v1/consume/stream"),
        )
        .await;
    desktop
        .type_into(r#"[data-testid="connect-key"]"#, "e2e-unreachable-key")
        .await;
    desktop.click(r#"[data-testid="connect-submit"]"#).await;
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
    desktop.close().await;
}
