//! Forwarding in the app: a session that forwarded (here by `tideline-cli forward`, a
//! backfill to a syslog collector over UDP) shows what was delivered in the status bar; the
//! Forwarding dialog lists the destination and refuses a forwarding file it cannot use, naming
//! the field.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Desktop;

fn cli(args: &[&str], paths: &[&Path]) {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    let mut command = Command::new(cli);
    command.args(args);
    for path in paths {
        command.arg(path);
    }
    let output = command.output().expect("tideline-cli runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_session_shows_its_destination_and_the_dialog_names_a_bad_field() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("forwarded.tideline");
    let story =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/auditlog/cloudtrail/seed-story");
    cli(
        &["import", "--session"],
        &[&session, Path::new("--input"), &story],
    );
    // A collector's socket: the datagrams wait in its buffer (they are checked elsewhere).
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = collector.local_addr().unwrap().port();
    let rules = dir.path().join("forwarding.json");
    std::fs::write(
        &rules,
        format!(
            r#"{{"routes": [{{"match": {{"asset_type": ["network.firewall"]}},
                 "to": [{{"kind": "syslog", "transport": "udp", "address": "127.0.0.1:{port}"}}]}}]}}"#
        ),
    )
    .unwrap();
    // The notes (where the cursors are) live in the app's data folder: point the CLI there too.
    let notes = dir.path().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    let cli_path = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    let output = Command::new(cli_path)
        .args(["forward", "--session"])
        .arg(&session)
        .arg("--forward")
        .arg(&rules)
        .env("TIDELINE_NOTES_DIR", &notes)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut desktop = Desktop::launch_with_env(
        "forwarding",
        &["--open", session.to_str().unwrap()],
        &[("TIDELINE_NOTES_DIR", notes.to_str().unwrap())],
    )
    .await;
    desktop
        .text_when(r#"[data-testid="status-forwarding"]"#, |text| {
            text.contains("forwarded") && text.contains('6')
        })
        .await;
    desktop.click(r#"[data-testid="status-forwarding"]"#).await;
    desktop
        .text_when(r#"[data-testid="forwarding-destination"]"#, |text| {
            text.contains(&format!("syslog udp 127.0.0.1:{port}")) && text.contains("6 delivered")
        })
        .await;
    desktop.screenshot("forwarding-dialog").await;

    desktop
        .type_into(
            r#"[data-testid="forwarding-text"]"#,
            r#"{"routes": [{"to": []}]}"#,
        )
        .await;
    desktop.click(r#"[data-testid="forwarding-save"]"#).await;
    desktop
        .text_when(r#"[data-testid="forwarding-save-error"]"#, |text| {
            text.contains("routes[0].to")
        })
        .await;
    desktop.screenshot("forwarding-bad-field").await;
    desktop.close().await;
    drop(collector);
}
