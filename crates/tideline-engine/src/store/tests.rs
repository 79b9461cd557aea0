//! Store tests on real session files: deduplication, stream position, asset state,
//! quarantine, and refusing files that are not ours.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::{Session, StoreError, TimelineQuery};
use crate::model::{Frame, PositionedFrame, QuarantineReason};
use crate::wire;

fn event_json(id: &str, change: &str, time: &str, asset: &str, config: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/cloudAccounts/A","type":"com.opshelm.asset.{change}","time":"{time}","data":{{"asset":{{"name":"{asset}","type":"network.firewall","display_name":"{asset}-display","account":"111","region":"us-east-1","provider":"aws"}},"attribution":{{"principal":"arn:aws:iam::111:user/jdoe","method":"console","source_ip":"198.51.100.23","action":"Act"}},"config":{config},"previous_config":null}}}}"#
    )
}

fn positioned(json: String) -> PositionedFrame {
    let sse_id = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|value| value["id"].as_str().map(str::to_owned));
    PositionedFrame {
        frame: wire::decode_frame(json),
        sse_id,
        received_at: Utc::now(),
    }
}

/// Stores one `create` event of asset `asset` with an empty config.
fn store_created(session: &mut Session, id: &str, time: &str, asset: &str) {
    session
        .write_batch(&[positioned(event_json(id, "create", time, asset, "{}"))])
        .unwrap();
}

fn new_session(dir: &TempDir) -> Session {
    Session::open_or_create(&dir.path().join("s.tideline")).unwrap()
}

#[test]
fn a_duplicate_delivery_is_counted_not_stored_twice() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let a = event_json("1", "create", "2024-05-05T10:00:00Z", "sg-1", "{}");
    let outcome = session
        .write_batch(&[positioned(a.clone()), positioned(a.clone())])
        .unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (1, 1));
    let outcome = session.write_batch(&[positioned(a)]).unwrap();
    assert_eq!((outcome.stored, outcome.duplicates), (0, 1));
    let summary = session.summary().unwrap();
    assert_eq!((summary.events, summary.duplicates), (1, 2));
}

#[test]
fn the_stream_position_commits_with_its_batch_and_survives_reopening() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    {
        let mut session = Session::open_or_create(&path).unwrap();
        assert_eq!(session.stream_position().unwrap(), None);
        session
            .write_batch(&[
                positioned(event_json("1", "create", "2024-05-05T10:00:00Z", "a", "{}")),
                positioned(event_json("2", "create", "2024-05-05T10:00:01Z", "b", "{}")),
            ])
            .unwrap();
    }
    let session = Session::open(&path).unwrap();
    assert_eq!(session.stream_position().unwrap().as_deref(), Some("2"));
    assert_eq!(session.event_keys().unwrap().len(), 2);
}

#[test]
fn a_quarantined_frame_keeps_its_reason_and_moves_the_position() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let bad = PositionedFrame {
        frame: wire::decode_frame("{not json".into()),
        sse_id: Some("bad-1".into()),
        received_at: Utc::now(),
    };
    session.write_batch(&[bad]).unwrap();
    let rows = session.quarantined().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].reason.starts_with("data is not JSON"),
        "{}",
        rows[0].reason
    );
    assert_eq!(rows[0].raw, b"{not json");
    assert_eq!(session.stream_position().unwrap().as_deref(), Some("bad-1"));
    assert_eq!(session.summary().unwrap().quarantined, 1);
}

#[test]
fn the_asset_state_follows_event_time_not_arrival_and_keeps_deleted_assets() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let created = event_json("1", "create", "2024-05-05T10:00:00Z", "sg-1", r#"{"v":1}"#);
    let deleted = event_json("3", "delete", "2024-05-05T12:00:00Z", "sg-1", "null");
    let late_update = event_json("2", "update", "2024-05-05T11:00:00Z", "sg-1", r#"{"v":2}"#);
    session
        .write_batch(&[
            positioned(created),
            positioned(deleted),
            positioned(late_update),
        ])
        .unwrap();
    let (last_change, deleted, count, state_event): (String, bool, i64, String) = session
        .conn
        .query_row(
            "SELECT a.last_change, a.deleted, a.event_count, e.event_id FROM assets a \
             JOIN events e ON e.seq = a.state_seq WHERE a.name = 'sg-1'",
            [],
            |row| {
                Ok((
                    row.get("last_change")?,
                    row.get("deleted")?,
                    row.get("event_count")?,
                    row.get("event_id")?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        (last_change.as_str(), deleted, count, state_event.as_str()),
        ("delete", true, 3, "3")
    );
}

#[test]
fn events_are_read_back_in_time_order_verbatim() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let later = event_json("1", "create", "2024-05-05T10:00:00.5Z", "a", "{}");
    let earlier = event_json("2", "create", "2024-05-04T10:00:00Z", "b", "{}");
    session
        .write_batch(&[positioned(later.clone()), positioned(earlier.clone())])
        .unwrap();
    let mut seen = Vec::new();
    session
        .for_each_event(None, |event| {
            seen.push((event.event_id, event.body));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![("2".to_owned(), earlier), ("1".to_owned(), later)]
    );
    let summary = session.summary().unwrap();
    assert_eq!(summary.first_time.as_deref(), Some("2024-05-04T10:00:00Z"));
    assert_eq!(
        summary.last_time.as_deref(),
        Some("2024-05-05T10:00:00.500Z")
    );
}

#[test]
fn other_opshelm_events_are_stored_apart_from_asset_changes() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let cost = r#"{"id":"c1","source":"/s","type":"com.opshelm.cost.update","time":"2024-05-05T14:01:03Z","data":{}}"#;
    session.write_batch(&[positioned(cost.to_owned())]).unwrap();
    let summary = session.summary().unwrap();
    assert_eq!(
        (summary.events, summary.asset_events, summary.other_events),
        (1, 0, 1)
    );
}

fn unchanged_after_refusal(path: &std::path::Path, check: impl Fn(&StoreError) -> bool) {
    let before = std::fs::read(path).unwrap();
    let error = Session::open(path).err().expect("the file was accepted");
    assert!(check(&error), "unexpected error: {error}");
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "the refused file was changed"
    );
}

#[test]
fn files_that_are_not_sessions_are_refused_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    unchanged_after_refusal(&empty, |e| e.to_string().contains("the file is empty"));

    let random = dir.path().join("random");
    std::fs::write(
        &random,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    unchanged_after_refusal(&random, |e| {
        e.to_string().contains("not an SQLite database")
    });

    let other = dir.path().join("other.sqlite");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    unchanged_after_refusal(&other, |e| {
        e.to_string().contains("another application's SQLite")
    });
}

#[test]
fn a_session_from_a_newer_schema_is_refused_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("future.tideline");
    drop(Session::open_or_create(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    unchanged_after_refusal(&path, |e| {
        matches!(e, StoreError::SchemaTooNew { found: 99, .. })
    });
}

#[test]
fn quarantine_reasons_are_stored_as_plain_text() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    let frame = PositionedFrame {
        frame: wire::quarantine(
            QuarantineReason::UnexpectedSseEvent {
                name: "weird".into(),
            },
            b"x",
        ),
        sse_id: None,
        received_at: DateTime::from_timestamp(0, 0).unwrap(),
    };
    session.write_batch(&[frame]).unwrap();
    assert!(matches!(
        wire::decode_frame("[]".into()),
        Frame::Quarantined(_)
    ));
    assert_eq!(
        session.quarantined().unwrap()[0].reason,
        "unexpected SSE event name \"weird\" (expected `data` or none)"
    );
    assert_eq!(
        session.stream_position().unwrap(),
        None,
        "a frame without an id does not move the position"
    );
}

#[test]
fn a_copy_is_a_complete_session_and_meta_survives_it() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    session
        .set_meta(super::meta_keys::NAME, "prod breach")
        .unwrap();
    store_created(&mut session, "1", "2024-05-05T10:00:00Z", "a");
    let copy_path = dir.path().join("copy.tideline");
    session.save_copy(&copy_path).unwrap();
    assert!(
        session.save_copy(&copy_path).is_err(),
        "an existing file is never overwritten"
    );
    let copy = Session::open(&copy_path).unwrap();
    assert_eq!(
        copy.meta(super::meta_keys::NAME).unwrap().as_deref(),
        Some("prod breach")
    );
    assert_eq!(copy.event_keys().unwrap().len(), 1);
    assert!(copy.verify().unwrap().is_intact());
}

#[test]
fn a_second_writer_is_refused_naming_the_recording_process_and_the_chain_continues_after() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut first = Session::open_or_create(&path).unwrap();
    store_created(&mut first, "1", "2024-05-05T10:00:00Z", "a");
    let refused = Session::open_or_create(&path)
        .err()
        .expect("a second writer");
    match &refused {
        StoreError::BeingRecorded { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
        other => panic!("{other}"),
    }
    assert!(
        refused.to_string().contains("being recorded by process"),
        "{refused}"
    );
    // A reviewer may read beside the recorder, and sees what it committed.
    assert_eq!(Session::open(&path).unwrap().event_keys().unwrap().len(), 1);
    drop(first);
    let mut second = Session::open_or_create(&path).unwrap();
    store_created(&mut second, "2", "2024-05-05T10:00:01Z", "b");
    let verification = second.verify().unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.verified, 2);
}

/// The file's bytes and its folder's listing (names and sizes), to show a review wrote nothing.
fn fingerprint(folder: &std::path::Path) -> Vec<(String, u64, Vec<u8>)> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let bytes = std::fs::read(entry.path()).unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                bytes.len() as u64,
                bytes,
            )
        })
        .collect();
    entries.sort();
    entries
}

fn recorded_session(folder: &std::path::Path) -> std::path::PathBuf {
    let path = folder.join("evidence.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    session
        .write_batch(&[
            positioned(event_json("1", "create", "2024-05-05T10:00:00Z", "a", "{}")),
            positioned(event_json(
                "2",
                "update",
                "2024-05-05T10:00:01Z",
                "a",
                r#"{"x":1}"#,
            )),
        ])
        .unwrap();
    drop(session);
    std::fs::remove_file(super::lock_path(&path)).unwrap();
    path
}

#[test]
fn reviewing_a_session_writes_no_byte_and_creates_no_file_beside_it() {
    let dir = TempDir::new().unwrap();
    let path = recorded_session(dir.path());
    let before = fingerprint(dir.path());

    let mut review = Session::open(&path).unwrap();
    assert_eq!(review.summary().unwrap().events, 2);
    assert!(review.verify().unwrap().is_intact());
    // Findings and the analyst's notes are kept, in the notes database.
    let mut events = Vec::new();
    review
        .for_each_event(None, |event| {
            events.push(super::EventRef {
                seq: event.seq,
                source: event.source,
                event_id: event.event_id,
            });
            Ok::<(), StoreError>(())
        })
        .unwrap();
    let finding = super::StoredFinding {
        key: "off_hours:a".into(),
        rule: "off_hours".into(),
        severity: "low".into(),
        events,
        asset: None,
        asset_label: None,
        principal: None,
        principal_short: None,
        summary: "changes at night".into(),
        time_us: 0,
    };
    review
        .replace_stored_findings(std::slice::from_ref(&finding))
        .unwrap();
    review.set_starred(2, true, Utc::now()).unwrap();
    review.add_tag(1, "exfil").unwrap();
    let refused = review
        .write_batch(&[positioned(event_json(
            "3",
            "create",
            "2024-05-05T10:00:02Z",
            "c",
            "{}",
        ))])
        .expect_err("a review connection cannot add events");
    assert!(matches!(refused, StoreError::ReadOnly { .. }), "{refused}");
    drop(review);

    assert_eq!(
        fingerprint(dir.path()),
        before,
        "the evidence folder changed"
    );
    let again = Session::open(&path).unwrap();
    let starred = TimelineQuery {
        starred_only: true,
        ..TimelineQuery::default()
    };
    assert_eq!(again.count_changes(&starred).unwrap(), 1);
    assert_eq!(again.annotations(1).unwrap().tags, ["exfil"]);
    assert_eq!(again.stored_findings().unwrap(), [finding]);
    assert!(matches!(again.notes(), super::NotesLocation::File(_)));
    drop(again);
    assert_eq!(fingerprint(dir.path()), before);
}

#[test]
fn a_crashed_recorders_wal_is_read_from_a_private_copy_not_recovered_in_place() {
    let dir = TempDir::new().unwrap();
    let live = TempDir::new().unwrap();
    let path = live.path().join("s.tideline");
    let mut recorder = Session::open_or_create(&path).unwrap();
    store_created(&mut recorder, "1", "2024-05-05T10:00:00Z", "a");
    // What a kill -9 leaves: the file and a WAL holding committed events not yet checkpointed.
    let crashed = dir.path().join("s.tideline");
    std::fs::copy(&path, &crashed).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut crashed_wal = crashed.as_os_str().to_owned();
    crashed_wal.push("-wal");
    std::fs::copy(&wal, &crashed_wal).unwrap();
    drop(recorder);
    let before = fingerprint(dir.path());
    assert!(
        before
            .iter()
            .any(|(name, size, _)| name.ends_with("-wal") && *size > 0)
    );

    let review = Session::open(&crashed).unwrap();
    assert_eq!(
        review.event_keys().unwrap().len(),
        1,
        "the WAL's events are read"
    );
    assert!(review.verify().unwrap().is_intact());
    drop(review);
    assert_eq!(fingerprint(dir.path()), before);
}

#[test]
fn a_copy_bundles_the_analysts_notes() {
    let dir = TempDir::new().unwrap();
    let path = recorded_session(dir.path());
    let review = Session::open(&path).unwrap();
    review
        .add_comment(1, "opened to the attacker", Utc::now())
        .unwrap();
    let copy = dir.path().join("copy.tideline");
    review.save_copy(&copy).unwrap();
    let bundled: i64 = Connection::open(&copy)
        .unwrap()
        .query_row("SELECT count(*) AS n FROM event_comments", [], |row| {
            row.get("n")
        })
        .unwrap();
    assert_eq!(bundled, 1);
}

#[test]
fn a_session_file_that_could_not_be_created_is_not_left_behind() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("missing-folder").join("s.tideline");
    assert!(Session::open_or_create(&path).is_err());
    assert!(!path.exists());
    // A foreign file in the way is refused, left as it was, and no lock file stays beside it.
    let foreign = dir.path().join("foreign.tideline");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE other (x); PRAGMA application_id = 7;")
        .unwrap();
    let bytes = std::fs::read(&foreign).unwrap();
    assert!(Session::open_or_create(&foreign).is_err());
    assert_eq!(std::fs::read(&foreign).unwrap(), bytes);
}

#[test]
fn annotations_are_kept_per_event_and_filter_the_timeline() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    session
        .write_batch(&[
            positioned(event_json("1", "create", "2024-05-05T10:00:00Z", "a", "{}")),
            positioned(event_json("2", "create", "2024-05-05T10:00:01Z", "b", "{}")),
        ])
        .unwrap();
    let now = Utc::now();
    session.set_starred(1, true, now).unwrap();
    session.add_tag(2, " exfil ").unwrap();
    session.add_comment(2, "<b>not html</b>", now).unwrap();
    assert!(session.add_tag(2, "").is_err());
    assert!(session.add_comment(99, "no such event", now).is_err());

    let starred = TimelineQuery {
        starred_only: true,
        ..TimelineQuery::default()
    };
    let page = session.page_changes(&starred, 0, 10).unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    let tagged = TimelineQuery {
        tags: vec!["exfil".into()],
        ..TimelineQuery::default()
    };
    assert_eq!(session.count_changes(&tagged).unwrap(), 1);
    let page = session.page_changes(&tagged, 0, 10).unwrap();
    let notes = session.annotations(page[0].seq).unwrap();
    assert_eq!(
        (notes.tags, notes.comments.len()),
        (vec!["exfil".to_owned()], 1)
    );
    assert_eq!(
        session.annotations(2).unwrap().comments[0].body,
        "<b>not html</b>"
    );
    assert!(
        session.verify().unwrap().is_intact(),
        "annotations are outside the chain"
    );
    session.set_starred(1, false, now).unwrap();
    assert_eq!(session.count_changes(&starred).unwrap(), 0);
}

#[test]
fn the_change_list_is_counted_and_paged_from_its_partial_index() {
    let dir = TempDir::new().unwrap();
    let session = new_session(&dir);
    let plan = |sql: &str| -> String {
        let mut statement = session
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = statement
            .query_map([], |row| row.get::<_, String>("detail"))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let count = plan("SELECT count(*) FROM events WHERE change IS NOT NULL");
    assert!(count.contains("events_changes_by_time"), "{count}");
    let page = plan(
        "SELECT seq FROM events WHERE change IS NOT NULL ORDER BY time_us DESC, seq DESC LIMIT 200",
    );
    assert!(
        page.contains("events_changes_by_time") && !page.contains("TEMP B-TREE"),
        "{page}"
    );
}

#[test]
fn new_sessions_use_16_kib_pages_and_the_writer_a_large_wal() {
    let dir = TempDir::new().unwrap();
    let session = new_session(&dir);
    let pragma = |name: &str| -> i64 {
        session
            .conn
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get(name))
            .unwrap()
    };
    assert_eq!(pragma("page_size"), 16_384);
    session.tune_for_bulk_writes().unwrap();
    assert_eq!(
        pragma("wal_autocheckpoint"),
        4_096,
        "64 MiB of 16 KiB pages"
    );
    assert_eq!(pragma("cache_size"), -65_536);
}

#[test]
fn a_schema_1_session_is_reviewed_from_a_migrated_private_copy_and_left_unchanged() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("old.tideline");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(include_str!("migrations/0001_timeline.sql"))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {}; PRAGMA user_version = 1;",
        super::APPLICATION_ID
    ))
    .unwrap();
    let body = event_json("1", "create", "2024-05-05T10:00:00Z", "a", "{}");
    conn.execute(
        "INSERT INTO events (source, event_id, event_type, change, time_us, received_us, body) \
         VALUES ('/cloudAccounts/A', '1', 'com.opshelm.asset.create', 'create', 1, 1, ?1)",
        [&body],
    )
    .unwrap();
    drop(conn);
    let before = fingerprint(dir.path());

    let review = Session::open(&path).unwrap();
    assert_eq!(review.event_keys().unwrap().len(), 1);
    let verification = review.verify().unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    drop(review);
    assert_eq!(fingerprint(dir.path()), before);
}

mod killed_and_redelivered {
    //! Property: however a recording is cut by kills (the files as a SIGKILL leaves them: the
    //! session and its WAL, nothing uncommitted) and however often the stream redelivers, the
    //! session verifies and holds each event exactly once.

    use proptest::prelude::*;

    use super::*;

    /// Copies the session and its WAL as they are on disk right now: what a kill -9 leaves.
    fn crash_copy(from: &std::path::Path, to: &std::path::Path) {
        for suffix in ["", "-wal"] {
            let mut source = from.as_os_str().to_owned();
            source.push(suffix);
            let mut target = to.as_os_str().to_owned();
            target.push(suffix);
            let _ = std::fs::remove_file(&target);
            if std::path::Path::new(&source).exists() {
                std::fs::copy(&source, &target).unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        #[test]
        fn a_session_written_with_kills_and_duplicates_verifies_and_holds_each_event_once(
            deliveries in prop::collection::vec(0u32..40, 1..160),
            batch in 1usize..25,
            kills in prop::collection::vec(0usize..160, 0..4),
        ) {
            let dir = TempDir::new().unwrap();
            let mut path = dir.path().join("run-0.tideline");
            let frames: Vec<PositionedFrame> = deliveries
                .iter()
                .map(|n| positioned(event_json(
                    &format!("e{n}"),
                    "update",
                    &format!("2024-05-05T10:{:02}:{:02}Z", n / 60, n % 60),
                    &format!("asset-{}", n % 7),
                    &format!(r#"{{"n":{n}}}"#),
                )))
                .collect();
            let mut session = Session::open_or_create(&path).unwrap();
            let mut written = 0;
            for (run, chunk) in frames.chunks(batch).enumerate() {
                session.write_batch(chunk).unwrap();
                written += chunk.len();
                if kills.contains(&written) {
                    // Killed: the next recorder starts from the files as they were, and the
                    // stream redelivers everything from the start (a position lost or never
                    // committed): deduplication must absorb it.
                    let next = dir.path().join(format!("run-{}.tideline", run + 1));
                    crash_copy(&path, &next);
                    drop(session);
                    path = next;
                    session = Session::open_or_create(&path).unwrap();
                    for again in frames[..written].chunks(batch) {
                        session.write_batch(again).unwrap();
                    }
                }
            }
            drop(session);
            let review = Session::open(&path).unwrap();
            let verification = review.verify().unwrap();
            prop_assert!(verification.is_intact(), "{verification:?}");
            let mut keys = review.event_keys().unwrap();
            let stored = keys.len();
            keys.sort();
            keys.dedup();
            prop_assert_eq!(keys.len(), stored, "an event was stored twice");
            let distinct: std::collections::BTreeSet<_> = deliveries.iter().collect();
            prop_assert_eq!(stored, distinct.len());
        }
    }
}

#[test]
fn a_session_from_before_session_ids_keeps_its_notes_when_it_is_first_resumed() {
    let dir = TempDir::new().unwrap();
    let path = recorded_session(dir.path());
    // What an older Tideline wrote: no session id.
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM session_meta WHERE key = 'session_id'", [])
        .unwrap();
    Session::open(&path)
        .unwrap()
        .set_starred(1, true, Utc::now())
        .unwrap();
    let mut resumed = Session::open_or_create(&path).unwrap();
    store_created(&mut resumed, "3", "2024-05-05T10:00:03Z", "c");
    drop(resumed);
    assert!(
        Session::open(&path)
            .unwrap()
            .annotations(1)
            .unwrap()
            .starred,
        "the star made before the session had an id was lost"
    );
}

#[test]
fn a_saved_copy_is_a_session_of_its_own_with_the_annotations_bundled() {
    let dir = TempDir::new().unwrap();
    let path = recorded_session(dir.path());
    let review = Session::open(&path).unwrap();
    review.add_tag(2, "exfil").unwrap();
    let copy = dir.path().join("copy.tideline");
    review.save_copy(&copy).unwrap();
    let copied = Session::open(&copy).unwrap();
    assert_ne!(
        copied.meta(super::meta_keys::SESSION_ID).unwrap(),
        review.meta(super::meta_keys::SESSION_ID).unwrap()
    );
    assert_ne!(
        copied.notes(),
        review.notes(),
        "the copy shares the original's notes"
    );
    assert_eq!(copied.annotations(2).unwrap().tags, ["exfil"]);
}

#[test]
fn an_unusable_notes_file_keeps_notes_in_memory_and_the_session_opens() {
    let dir = TempDir::new().unwrap();
    let path = recorded_session(dir.path());
    let notes = match Session::open(&path).unwrap().notes() {
        super::NotesLocation::File(file) => file.clone(),
        other => panic!("{other:?}"),
    };
    std::fs::write(&notes, b"this is not a database, and never was: 0123456789").unwrap();
    let review = Session::open(&path).unwrap();
    assert!(
        matches!(review.notes(), super::NotesLocation::Memory { why } if why.contains("cannot use")),
        "{:?}",
        review.notes()
    );
    assert_eq!(review.summary().unwrap().events, 2);
    review.set_starred(1, true, Utc::now()).unwrap();
}

#[test]
fn a_growing_session_is_verified_incrementally_from_the_last_intact_head() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    store_created(&mut session, "1", "2024-05-05T10:00:00Z", "a");
    store_created(&mut session, "2", "2024-05-05T10:00:01Z", "b");
    let first = session.verify().unwrap();
    store_created(&mut session, "3", "2024-05-05T10:00:02Z", "c");
    let grown = session.verify_after(Some(&first)).unwrap();
    assert!(grown.is_intact());
    assert_eq!((grown.verified, grown.last_seq), (3, Some(3)));
    assert_eq!(grown, session.verify().unwrap(), "incremental equals full");
    drop(session);

    // A change after the checkpoint is found by the incremental check …
    let raw = Connection::open(&path).unwrap();
    raw.execute("UPDATE events SET body = body || ' ' WHERE seq = 3", [])
        .unwrap();
    let broken_after_first = || {
        let review = Session::open(&path).unwrap();
        review
            .verify_after(Some(&first))
            .unwrap()
            .broken
            .unwrap()
            .seq
    };
    assert_eq!(broken_after_first(), 3);
    // … one before it only by the full one, which the badge's button runs.
    raw.execute("UPDATE events SET body = body || ' ' WHERE seq = 1", [])
        .unwrap();
    let review = Session::open(&path).unwrap();
    assert_eq!(review.verify().unwrap().broken.unwrap().seq, 1);
    // A checkpoint whose head no longer matches the stored link is not trusted.
    raw.execute("UPDATE events SET link = zeroblob(32) WHERE seq = 2", [])
        .unwrap();
    assert_eq!(broken_after_first(), 1);
}
