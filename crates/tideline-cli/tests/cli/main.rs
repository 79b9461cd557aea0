//! End-to-end tests of `tideline-cli` on real session files: recording from a real EventStream
//! server (eventstream-sim) on loopback, and the session round trips (import, export, verify).
//! The CLI runs as its own process, so it can be killed; the server runs in the test process so
//! its manifest can be read directly. Shared helpers live here.

mod auditlogs;
mod detections;
mod evidence;
mod forwarding;
mod hostile_streams;
mod interop;
mod record;
mod sessions;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eventstream_sim::{RunningSim, SimConfig, StreamSource};
use tempfile::TempDir;
use tideline_engine::store::Session;

pub(crate) const KEY: &str = "test-key-0123";

pub(crate) fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tideline-cli"));
    command
        .env_remove("TIDELINE_API_KEY")
        .env("TIDELINE_NOTES_DIR", test_notes_dir());
    command
}

/// The notes folder of this test run, for the CLI's processes and this one's own reads: the
/// tests never write into the user's notes folder.
pub(crate) fn test_notes_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tideline-cli-tests-{}", std::process::id()));
    tideline_engine::store::use_notes_dir(dir.clone());
    dir
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

pub(crate) async fn serve(source: StreamSource, adjust: impl FnOnce(&mut SimConfig)) -> RunningSim {
    let mut config = SimConfig::new(KEY, source);
    config.retry_ms = 50;
    adjust(&mut config);
    eventstream_sim::start(config, 0)
        .await
        .expect("the stream server starts")
}

/// Runs `record … --until-idle SECS` to completion.
pub(crate) async fn record(url: &str, session: &Path, until_idle: &str, extra: &[&str]) -> Output {
    let mut command = cli();
    command
        .args(["record", "--endpoint", url, "--session"])
        .arg(session)
        .args(["--until-idle", until_idle])
        .args(extra)
        .env("TIDELINE_API_KEY", KEY);
    tokio::task::spawn_blocking(move || command.output().expect("tideline-cli runs"))
        .await
        .unwrap()
}

pub(crate) fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "tideline-cli failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

pub(crate) fn info_json(session: &Path) -> serde_json::Value {
    let output = cli()
        .args(["info", "--json", "--session"])
        .arg(session)
        .output()
        .unwrap();
    assert_success(&output);
    serde_json::from_slice(&output.stdout).expect("info --json prints JSON")
}

pub(crate) fn export_rows(session: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let output = cli()
        .args(["export", "--format", "csv", "--out", "-", "--session"])
        .arg(session)
        .output()
        .unwrap();
    assert_success(&output);
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("the CSV parses back");
    (header, rows)
}

pub(crate) fn stored_keys(session: &Path) -> Vec<(String, String)> {
    test_notes_dir();
    Session::open(session).unwrap().event_keys().unwrap()
}

pub(crate) fn assert_stored_exactly(session: &Path, sent: &[(String, String)]) {
    let stored = stored_keys(session);
    let distinct: HashSet<_> = stored.iter().cloned().collect();
    assert_eq!(distinct.len(), stored.len(), "a key was stored twice");
    let sent: HashSet<_> = sent.iter().cloned().collect();
    let missing = sent.difference(&distinct).count();
    let extra = distinct.difference(&sent).count();
    assert!(
        missing == 0 && extra == 0,
        "{missing} sent events missing, {extra} stored events never sent"
    );
}

pub(crate) fn ndjson(dir: &TempDir, name: &str, events: &[String]) -> PathBuf {
    let path = dir.path().join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    for event in events {
        writeln!(file, "{event}").unwrap();
    }
    path
}

pub(crate) fn event(id: &str, principal: &str, user_agent: &str, pad: usize) -> String {
    serde_json::json!({
        "specversion": "1.0", "id": id, "source": "/cloudAccounts/T", "type": "com.opshelm.asset.update",
        "time": format!("2024-05-05T14:00:{:02}Z", id.len() % 60),
        "subject": "ohn:aws:1:us-east-1:network-firewall:sg-1",
        "data": {
            "asset": {"name": "ohn:aws:1:us-east-1:network-firewall:sg-1", "type": "network.firewall", "display_name": "sg-1"},
            "attribution": {"principal": principal, "user_agent": user_agent, "method": "console", "source_ip": "198.51.100.23"},
            "config": {"pad": "x".repeat(pad)}, "previous_config": {"pad": ""}
        }
    })
    .to_string()
}
