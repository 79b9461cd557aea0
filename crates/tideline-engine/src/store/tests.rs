//! Store tests on real session files: deduplication, stream position, asset state,
//! quarantine, and refusing files that are not ours.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::{PageCursor, PageStart, Session, StoreError, TimelineQuery};
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
    let page = session
        .page_changes(&starred, PageStart::Offset(0), 10)
        .unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    let tagged = TimelineQuery {
        tags: vec!["exfil".into()],
        ..TimelineQuery::default()
    };
    assert_eq!(session.count_changes(&tagged).unwrap(), 1);
    let page = session
        .page_changes(&tagged, PageStart::Offset(0), 10)
        .unwrap();
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

/// An event of `principal` from `ip` changing `asset`, with `config`.
fn event_by(id: &str, time: &str, principal: &str, ip: &str, asset: &str, config: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/cloudAccounts/A","type":"com.opshelm.asset.update","time":"{time}","data":{{"asset":{{"name":"{asset}","type":"network.firewall","account":"111","region":"us-east-1","provider":"aws"}},"attribution":{{"principal":"{principal}","method":"cli","source_ip":"{ip}"}},"config":{config},"previous_config":{{}}}}}}"#
    )
}

/// 200 changes by a busy automation role and 2 by a person, over 200 minutes.
fn busy_and_rare(session: &mut Session) {
    let frames: Vec<PositionedFrame> = (0..202)
        .map(|i| {
            let (principal, ip) = if i % 100 == 7 {
                ("arn:aws:iam::111:user/mallory", "203.0.113.66")
            } else {
                ("arn:aws:sts::111:assumed-role/terraform/ci", "10.0.0.5")
            };
            let time = format!("2024-05-05T{:02}:{:02}:00Z", 10 + i / 60, i % 60);
            let config = format!(r#"{{"Rules":[{{"Cidr":"10.17.{i}.0/24"}}]}}"#);
            positioned(event_by(
                &format!("e{i}"),
                &time,
                principal,
                ip,
                &format!("sg-{}", i % 9),
                &config,
            ))
        })
        .collect();
    session.write_batch(&frames).unwrap();
}

fn query_plan(session: &Session, sql: &str, params: Vec<rusqlite::types::Value>) -> String {
    let mut statement = session
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let rows = statement
        .query_map(rusqlite::params_from_iter(params), |row| {
            row.get::<_, String>("detail")
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
}

/// The plan of a page of `query` (after `cursor`), read as the store reads it.
fn page_plan(session: &Session, query: &TimelineQuery, cursor: Option<PageCursor>) -> String {
    let mut rows = super::filter::Filter::changes(&session.conn, &session.search_sets, query)
        .unwrap()
        .page();
    if let Some(cursor) = cursor {
        rows.before(cursor);
    }
    query_plan(
        session,
        &format!(
            "SELECT f.seq FROM {} WHERE {} ORDER BY {} LIMIT 200",
            rows.source, rows.condition, rows.newest_first
        ),
        rows.params,
    )
}

#[test]
fn a_page_walks_time_order_or_a_rare_filters_own_index_never_sorting_the_whole_list() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    busy_and_rare(&mut session);
    let page_plan = |query: &TimelineQuery| page_plan(&session, query, None);
    let every = page_plan(&TimelineQuery::default());
    assert!(
        !every.contains("TEMP B-TREE") && !every.contains("events"),
        "{every}"
    );
    // The app's reads carry the arrivals they have shown; the page still walks time order
    // (the seq index would mean sorting every row).
    let shown = page_plan(&TimelineQuery {
        max_seq: Some(150),
        ..TimelineQuery::default()
    });
    assert!(
        !shown.contains("TEMP B-TREE") && !shown.contains("by_seq"),
        "{shown}"
    );
    // What arrived since (the "N new" count) is read from the seq index.
    let arrived = page_plan(&TimelineQuery {
        after_seq: Some(150),
        max_seq: Some(202),
        ..TimelineQuery::default()
    });
    assert!(arrived.contains("by_seq"), "{arrived}");
    let rare = page_plan(&TimelineQuery {
        principals: vec!["arn:aws:iam::111:user/mallory".into()],
        ..TimelineQuery::default()
    });
    assert!(rare.contains("event_facets_by_principal"), "{rare}");
    // Its count (a pass over every match) reads the same index, not every row.
    let rare_count = {
        let rows = super::filter::Filter::changes(
            &session.conn,
            &session.search_sets,
            &TimelineQuery {
                principals: vec!["arn:aws:iam::111:user/mallory".into()],
                ..TimelineQuery::default()
            },
        )
        .unwrap()
        .pass();
        query_plan(
            &session,
            &format!(
                "SELECT count(*) FROM {} WHERE {}",
                rows.source, rows.condition
            ),
            rows.params,
        )
    };
    assert!(
        rare_count.contains("event_facets_by_principal"),
        "{rare_count}"
    );
    let common = page_plan(&TimelineQuery {
        principals: vec!["arn:aws:sts::111:assumed-role/terraform/ci".into()],
        ..TimelineQuery::default()
    });
    assert!(
        !common.contains("by_principal") && !common.contains("TEMP B-TREE"),
        "{common}"
    );

    // Keyset pages: the page after a cursor continues exactly where the last one ended.
    let all = session
        .page_changes(&TimelineQuery::default(), PageStart::Offset(0), 1_000)
        .unwrap();
    assert_eq!(all.len(), 202);
    let first = session
        .page_changes(&TimelineQuery::default(), PageStart::Offset(0), 50)
        .unwrap();
    let second = session
        .page_changes(
            &TimelineQuery::default(),
            PageStart::After(first.last().unwrap().cursor()),
            50,
        )
        .unwrap();
    let seqs = |events: &[super::StoredEvent]| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&second), seqs(&all[50..100]));
}

#[test]
fn free_text_finds_an_ip_an_arn_fragment_and_a_changed_value_and_nothing_else() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    busy_and_rare(&mut session);
    let found = |text: &str| {
        session
            .count_changes(&TimelineQuery {
                text: Some(text.into()),
                ..TimelineQuery::default()
            })
            .unwrap()
    };
    assert_eq!(found("203.0.113.66"), 2);
    assert_eq!(found("user/mallory"), 2);
    assert_eq!(found("assumed-role/terraform"), 200);
    assert_eq!(found("10.17.107.0/24"), 1);
    // A prefix of the last word matches; a different address does not.
    assert_eq!(found("10.17.10"), 11);
    assert_eq!(found("203.0.113.67"), 0);
    // FTS5 syntax in the text is only text.
    assert_eq!(found("NEAR(mallory)"), 0);
    assert_eq!(found("::"), 0);
    // Two terms must both match.
    assert_eq!(found("mallory 10.17.7.0/24"), 1);
    // The query language: fields, NOT, OR, time.
    assert_eq!(found("principal:mallory"), 2);
    assert_eq!(found("-principal:mallory"), 200);
    assert_eq!(found("principal:MALLORY OR 10.17.201.0/24"), 3);
    assert_eq!(found("time>=2024-05-05T13:00 time<2024-05-05T13:10"), 10);
    assert_eq!(found("time:2024-05-05 NOT terraform"), 2);
    assert_eq!(found("\"user mallory\""), 2);
    // A malformed query is an error naming where, not an empty list.
    let error = session
        .count_changes(&TimelineQuery {
            text: Some("mallory \"open".into()),
            ..TimelineQuery::default()
        })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid query: search, at column 9: this quote is never closed"
    );
}

#[test]
fn facets_in_one_pass_equal_counting_each_facet_without_its_own_filter() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    busy_and_rare(&mut session);
    store_created(&mut session, "c1", "2024-05-06T00:00:00Z", "sg-new");
    let query = TimelineQuery {
        principals: vec!["arn:aws:iam::111:user/mallory".into()],
        methods: vec!["cli".into()],
        ..TimelineQuery::default()
    };
    let counts = session
        .facets_counts(&query, &super::Facet::ALL, 50)
        .unwrap();
    // Principal without its own filter: every principal among the cli changes.
    assert_eq!(
        counts[&super::Facet::Principal],
        vec![
            ("arn:aws:sts::111:assumed-role/terraform/ci".to_owned(), 200),
            ("arn:aws:iam::111:user/mallory".to_owned(), 2),
        ]
    );
    // Method without its own filter: mallory's changes are all cli.
    assert_eq!(counts[&super::Facet::Method], vec![("cli".to_owned(), 2)]);
    assert_eq!(
        counts[&super::Facet::Change],
        vec![("update".to_owned(), 2)]
    );
    // Unfiltered: read from the dictionary, the same as counting.
    let every = session
        .facets_counts(&TimelineQuery::default(), &[super::Facet::Method], 50)
        .unwrap();
    assert_eq!(
        every[&super::Facet::Method],
        vec![("cli".to_owned(), 202), ("console".to_owned(), 1)]
    );
    assert_eq!(
        session.count_changes(&TimelineQuery::default()).unwrap(),
        203
    );
    assert_eq!(session.count_changes(&query).unwrap(), 2);
}

#[test]
fn a_rolled_back_batch_leaves_no_facet_ids_behind_in_the_writers_cache() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    // The second frame's insert fails (a trigger stands in for a full disk); the first frame's
    // new facet values are rolled back with it.
    session
        .conn
        .execute_batch(
            "CREATE TRIGGER fail AFTER INSERT ON event_bodies WHEN NEW.seq = 2 \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let batch = [
        positioned(event_by(
            "a",
            "2024-05-05T10:00:00Z",
            "p-new",
            "1.2.3.4",
            "sg-a",
            "{}",
        )),
        positioned(event_by(
            "b",
            "2024-05-05T10:01:00Z",
            "p-new",
            "1.2.3.4",
            "sg-b",
            "{}",
        )),
    ];
    assert!(session.write_batch(&batch).is_err());
    session.conn.execute_batch("DROP TRIGGER fail").unwrap();
    session.write_batch(&batch).unwrap();
    let principals = session
        .facet_counts(&TimelineQuery::default(), super::Facet::Principal, 10)
        .unwrap();
    assert_eq!(principals, vec![("p-new".to_owned(), 2)]);
    let page = session
        .page_changes(
            &TimelineQuery {
                principals: vec!["p-new".into()],
                ..TimelineQuery::default()
            },
            PageStart::Offset(0),
            10,
        )
        .unwrap();
    assert_eq!(page.len(), 2);
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
    raw.execute(
        "UPDATE event_bodies SET body = body || ' ' WHERE seq = 3",
        [],
    )
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
    raw.execute(
        "UPDATE event_bodies SET body = body || ' ' WHERE seq = 1",
        [],
    )
    .unwrap();
    let review = Session::open(&path).unwrap();
    assert_eq!(review.verify().unwrap().broken.unwrap().seq, 1);
    // A checkpoint whose head no longer matches the stored link is not trusted.
    raw.execute("UPDATE events SET link = zeroblob(32) WHERE seq = 2", [])
        .unwrap();
    assert_eq!(broken_after_first(), 1);
}

/// A session written by the previous release (schema 5: bodies inside `events`): the seed
/// incident and one quarantined frame, imported by `tideline-cli import` at 4cc9b01. Its chain
/// head then was d22a86…
const SCHEMA_5_SESSION: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/sessions/schema-5-seed-incident.tideline"
);
const SCHEMA_5_HEAD: &str = "d22a8613a74f85dc5a68b3b2d859d4a1920f9a15080947c46b076710de90d59b";

#[test]
fn a_schema_5_session_is_migrated_in_place_with_progress_keeping_its_chain() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("old.tideline");
    std::fs::copy(SCHEMA_5_SESSION, &path).unwrap();

    // Review reads a migrated private copy and leaves the file as it was.
    let before = fingerprint(dir.path());
    let review = Session::open(&path).unwrap();
    let verification = review.verify().unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(
        (verification.verified, verification.head.as_str()),
        (12, SCHEMA_5_HEAD)
    );
    drop(review);
    assert_eq!(fingerprint(dir.path()), before);

    // Recording into it migrates it in place, reporting each step.
    let mut steps = Vec::new();
    let session = Session::open_or_create_reporting(&path, &mut |progress| {
        if steps.last() != Some(&progress.step) {
            steps.push(progress.step);
        }
        assert!(progress.done <= progress.total, "{progress:?}");
    })
    .unwrap();
    assert_eq!(
        steps,
        [
            "collecting facet values",
            "indexing events by facet",
            "indexing events for search",
            "counting facet values",
            "indexing addresses and ARNs for search",
            "indexing events by asset and day"
        ]
    );
    let verification = session.verify().unwrap();
    assert_eq!(
        (verification.verified, verification.head.as_str()),
        (12, SCHEMA_5_HEAD)
    );
    assert!(verification.is_intact());
    let summary = session.summary().unwrap();
    assert_eq!(
        (summary.events, summary.quarantined),
        (12, 1),
        "{summary:?}"
    );
    assert_eq!(
        (
            summary.by_change.create,
            summary.by_change.update,
            summary.by_change.delete
        ),
        (3, 7, 2)
    );
    // The new layout answers: the counts the dictionary keeps equal counting the rows, and the
    // search index holds the old events.
    let counted = session
        .facets_counts(
            &TimelineQuery {
                time_from: Some("2000-01-01T00:00:00Z".into()),
                ..TimelineQuery::default()
            },
            &super::Facet::ALL,
            50,
        )
        .unwrap();
    let read = session
        .facets_counts(&TimelineQuery::default(), &super::Facet::ALL, 50)
        .unwrap();
    assert_eq!(counted, read);
    let searched = session
        .count_changes(&TimelineQuery {
            text: Some("203.0.113.66".into()),
            ..TimelineQuery::default()
        })
        .unwrap();
    assert!(
        searched >= 1,
        "the attacker's address is found after migration"
    );
    drop(session);
    let again = Session::open(&path).unwrap();
    assert_eq!(again.verify().unwrap().head, SCHEMA_5_HEAD);
}

fn indexed_to(session: &Session) -> i64 {
    session
        .conn
        .query_row("SELECT indexed_to FROM search_state", [], |row| row.get(0))
        .unwrap()
}

/// How many changes each of `texts` finds, searched alone.
fn search_counts(session: &Session, texts: &[&str]) -> Vec<u64> {
    texts
        .iter()
        .map(|text| {
            session
                .count_changes(&TimelineQuery {
                    text: Some((*text).into()),
                    ..TimelineQuery::default()
                })
                .unwrap()
        })
        .collect()
}

#[test]
fn a_search_finds_the_same_on_either_side_of_the_index_mark_and_review_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    busy_and_rare(&mut session);
    let counts = |session: &Session| {
        search_counts(
            session,
            &["203.0.113.66", "terraform", "10.17.10", "10.17.201.0/24"],
        )
    };
    let expected = vec![2, 200, 11, 1];
    assert_eq!(
        indexed_to(&session),
        0,
        "write_batch leaves indexing to the writer"
    );
    assert_eq!(
        counts(&session),
        expected,
        "nothing indexed: all from the tail"
    );
    assert_eq!(session.index_for_search(100).unwrap(), 100);
    assert_eq!(counts(&session), expected, "half indexed");
    drop(session);

    // A review of the half-indexed file: the tail is indexed in memory, the file is untouched.
    let before = fingerprint(dir.path());
    let review = Session::open(&path).unwrap();
    assert_eq!(counts(&review), expected);
    drop(review);
    assert_eq!(fingerprint(dir.path()), before);

    let mut session = Session::open_or_create(&path).unwrap();
    assert_eq!(session.index_for_search(u64::MAX).unwrap(), 102);
    assert_eq!(session.index_for_search(u64::MAX).unwrap(), 0);
    assert_eq!(counts(&session), expected, "all indexed");
}

#[tokio::test]
async fn the_writer_indexes_for_search_when_idle_and_before_it_closes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let writer = super::SessionWriter::spawn(Session::open_or_create(&path).unwrap()).unwrap();
    for i in 0..30 {
        let time = format!("2024-05-05T10:00:{i:02}Z");
        writer
            .send(positioned(event_by(
                &format!("w{i}"),
                &time,
                "p",
                "192.0.2.9",
                "sg-w",
                "{}",
            )))
            .await
            .unwrap();
    }
    writer.flush().await.unwrap();
    let session = writer.close().await.unwrap();
    assert_eq!(indexed_to(&session), 30);
}

#[test]
fn a_capped_count_says_it_is_a_lower_bound_and_the_facet_pass_gives_the_exact_total() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    busy_and_rare(&mut session);
    let busy = TimelineQuery {
        principals: vec!["arn:aws:sts::111:assumed-role/terraform/ci".into()],
        ..TimelineQuery::default()
    };
    assert_eq!(session.count_changes_up_to(&busy, 50).unwrap(), (50, false));
    assert_eq!(
        session.count_changes_up_to(&busy, 200).unwrap(),
        (200, true)
    );
    let (_, total) = session
        .facets_and_total(&busy, &[super::Facet::Method], 10)
        .unwrap();
    assert_eq!(total, 200);
    // The unfiltered total is exact whatever the cap: it is read, not counted.
    assert_eq!(
        session
            .count_changes_up_to(&TimelineQuery::default(), 1)
            .unwrap(),
        (202, true)
    );
    // What arrived after a paused view: counted from its arrival number.
    let since = TimelineQuery {
        after_seq: Some(190),
        ..busy
    };
    assert_eq!(session.count_changes(&since).unwrap(), 12);
}

/// Counts the changes a search finds, with the compound index (schema 7) and — in a copy of the
/// file without it, as a schema-6 file reviewed in place — with phrases of the word index only.
fn counts_with_and_without_compounds(dir: &TempDir, words: &[&str]) -> (Vec<u64>, Vec<u64>) {
    let path = dir.path().join("s.tideline");
    let count = |session: &Session, word: &str| {
        session
            .count_changes(&TimelineQuery {
                text: Some(word.into()),
                ..TimelineQuery::default()
            })
            .unwrap()
    };
    let session = Session::open(&path).unwrap();
    let with: Vec<u64> = words.iter().map(|word| count(&session, word)).collect();
    drop(session);
    let copy = dir.path().join("words-only.tideline");
    std::fs::copy(&path, &copy).unwrap();
    let raw = Connection::open(&copy).unwrap();
    raw.execute_batch("DROP TABLE event_compounds").unwrap();
    drop(raw);
    let session = Session::open(&copy).unwrap();
    let without = words.iter().map(|word| count(&session, word)).collect();
    (with, without)
}

#[test]
fn an_indicator_is_found_by_the_compound_index_exactly_as_by_the_word_index() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    // Indicators in every place and spelling a body can hold them: a config value, an escaped
    // slash, a duplicate name's hidden first value, a name, a number, a source address, an
    // object named like the parser's number marker, and one buried in a body too large for
    // the compound index (its event is checked with the word index).
    let configs = [
        r#"{"Cidr":"10.17.42.0\/24"}"#,
        r#"{"Cidr":"10.17.42.0/25","Cidr":"172.16.0.0/12"}"#,
        r#"{"198.51.100.7":{"Owner":"alice@example.com"}}"#,
        r#"{"Version":1.25,"Role":"arn:aws:iam::111:role/BreakGlass"}"#,
        r#"{"$serde_json_lenient::private::Number":{"Peer":"192.0.2.44"}}"#,
    ];
    let blob = format!(r#"{{"Blob":"{}","Peer":"192.0.2.77"}}"#, "ab/".repeat(300));
    let mut frames: Vec<PositionedFrame> = configs
        .iter()
        .chain([&blob.as_str()])
        .enumerate()
        .map(|(i, config)| {
            positioned(event_by(
                &format!("c{i}"),
                &format!("2024-05-05T10:00:{i:02}Z"),
                "arn:aws:sts::111:assumed-role/BreakGlass/alice",
                "2001:db8::5",
                &format!("sg-{i}"),
                config,
            ))
        })
        .collect();
    frames.push(positioned(event_by(
        "plain",
        "2024-05-05T11:00:00Z",
        "arn:aws:iam::111:user/bob",
        "203.0.113.9",
        "sg-9",
        r#"{"Port":443}"#,
    )));
    session.write_batch(&frames).unwrap();
    // Half the events indexed, half in the in-memory tail.
    session.index_for_search(3).unwrap();
    drop(session);
    let words = [
        "10.17.42.0/24",
        "10.17.42",
        "172.16.0.0/12",
        "198.51.100.7",
        "alice@example.com",
        "1.25",
        "assumed-role/BreakGlass",
        "role/breakglass",
        "arn:aws:iam::111:role/BreakGlass",
        "192.0.2.44",
        "192.0.2.77",
        "2001:db8::5",
        "203.0.113.9",
        "10.17.99",
    ];
    let (with, without) = counts_with_and_without_compounds(&dir, &words);
    assert_eq!(with, without, "{words:?}");
    assert_eq!(with, vec![1, 2, 1, 1, 1, 1, 6, 6, 1, 1, 1, 6, 1, 0]);

    // All indexed: the same again.
    let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
    session.index_for_search(u64::MAX).unwrap();
    drop(session);
    let (all_indexed, _) = counts_with_and_without_compounds(&dir, &words);
    assert_eq!(all_indexed, with);
}

#[test]
fn a_search_with_few_matches_reads_them_by_seq_and_a_common_one_walks_time_order() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    // 4,100 changes by one automation role (more than a page reads from its matches), 3 of
    // them from a rare address, spread over the day out of arrival order.
    let frames: Vec<PositionedFrame> = (0..4_100)
        .map(|i| {
            let ip = if i % 1_500 == 11 {
                "198.51.100.23"
            } else {
                "10.0.0.5"
            };
            let minute = (i * 7) % 1_440;
            positioned(event_by(
                &format!("e{i}"),
                &format!(
                    "2024-05-05T{:02}:{:02}:{:02}Z",
                    minute / 60,
                    minute % 60,
                    i % 60
                ),
                "arn:aws:sts::111:assumed-role/terraform/ci",
                ip,
                &format!("sg-{}", i % 50),
                "{}",
            ))
        })
        .collect();
    session.write_batch(&frames).unwrap();
    session.index_for_search(2_000).unwrap();
    let plan = |text: &str, pass: bool| {
        let query = TimelineQuery {
            text: Some(text.into()),
            ..TimelineQuery::default()
        };
        let filter =
            super::filter::Filter::changes(&session.conn, &session.search_sets, &query).unwrap();
        let rows = if pass { filter.pass() } else { filter.page() };
        query_plan(
            &session,
            &format!(
                "SELECT f.seq FROM {} WHERE {} ORDER BY {} LIMIT 200",
                rows.source, rows.condition, rows.newest_first
            ),
            rows.params,
        )
    };
    let rare = plan("198.51.100.23", false);
    assert!(rare.contains("event_facets_by_seq"), "{rare}");
    let common_page = plan("terraform", false);
    assert!(
        !common_page.contains("by_seq") && !common_page.contains("TEMP B-TREE"),
        "{common_page}"
    );
    // A walk checks each row against the term's set of matches (no list of them is built by
    // SQLite in the statement).
    let page_rows = |text: &str| {
        let query = TimelineQuery {
            text: Some(text.into()),
            ..TimelineQuery::default()
        };
        super::filter::Filter::changes(&session.conn, &session.search_sets, &query)
            .unwrap()
            .page()
    };
    let common_rows = page_rows("terraform");
    assert!(
        common_rows.condition.contains("tl_search_hit(?, f.seq)")
            && !common_rows.condition.contains("MATCH"),
        "{}",
        common_rows.condition
    );
    // The next read of the same search names the same set: its matches were read once.
    let common_again = page_rows("terraform");
    assert_eq!(common_again.params, common_rows.params);
    // A full pass (counts, facets) of 4,100 matches reads them by seq: fewer than the pass's
    // limit.
    assert!(plan("terraform", true).contains("event_facets_by_seq"));

    // Whichever way the rows are reached, the answers are those of a walk in time order.
    let page = |session: &Session, text: &str| {
        session
            .page_changes(
                &TimelineQuery {
                    text: Some(text.into()),
                    ..TimelineQuery::default()
                },
                PageStart::Offset(0),
                5_000,
            )
            .unwrap()
            .iter()
            .map(|event| (event.time, event.seq))
            .collect::<Vec<_>>()
    };
    let rare_page = page(&session, "198.51.100.23");
    assert_eq!(rare_page.len(), 3);
    let everything = page(&session, "");
    let expected: Vec<_> = everything
        .iter()
        .filter(|(_, seq)| (seq - 1) % 1_500 == 11)
        .cloned()
        .collect();
    assert_eq!(rare_page, expected);
    assert_eq!(page(&session, "terraform"), everything);
    // Terms walked as sets compose as the query says: OR, NOT, and a set per term.
    assert_eq!(page(&session, "terraform OR 198.51.100.23"), everything);
    let not_rare: Vec<_> = everything
        .iter()
        .filter(|row| !expected.contains(row))
        .cloned()
        .collect();
    assert_eq!(page(&session, "-198.51.100.23"), not_rare);
    assert_eq!(page(&session, "terraform -198.51.100.23"), not_rare);
    assert!(page(&session, "-terraform").is_empty());
    // A set is read again once the session changes: the next page holds a new match.
    session
        .write_batch(&[positioned(event_by(
            "late",
            "2024-05-05T23:59:59Z",
            "arn:aws:sts::111:assumed-role/terraform/ci",
            "10.0.0.5",
            "sg-late",
            "{}",
        ))])
        .unwrap();
    let with_late = page(&session, "terraform");
    assert_eq!(with_late.len(), everything.len() + 1);
    assert_eq!(page(&session, "-terraform"), Vec::new());
    assert_eq!(
        page(&session, "terraform -198.51.100.23").len(),
        not_rare.len() + 1
    );
    let counts = session
        .facets_and_total(
            &TimelineQuery {
                text: Some("198.51.100.23".into()),
                ..TimelineQuery::default()
            },
            &[super::Facet::Asset],
            10,
        )
        .unwrap();
    assert_eq!(counts.1, 3);
}

/// A review beside a recorder: the review's search sets are read again once the recorder
/// commits (indexed or not), and a search walked as sets (OR, NOT) counts what a fresh
/// connection counts.
#[test]
fn a_search_beside_a_recorder_sees_its_new_events_through_its_sets() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut recorder = Session::open_or_create(&path).unwrap();
    let event = |i: usize, principal: &str| {
        positioned(event_by(
            &format!("e{i}"),
            &format!("2024-05-05T10:{:02}:00Z", i % 60),
            principal,
            "10.0.0.5",
            &format!("sg-{i}"),
            "{}",
        ))
    };
    let frames: Vec<PositionedFrame> = (0..30)
        .map(|i| event(i, if i % 3 == 0 { "terraform" } else { "alice" }))
        .collect();
    recorder.write_batch(&frames).unwrap();
    recorder.index_for_search(u64::MAX).unwrap();
    let review = Session::open(&path).unwrap();
    let counts = |session: &Session| {
        search_counts(
            session,
            &["terraform OR nobody", "-terraform", "alice -terraform"],
        )
    };
    assert_eq!(counts(&review), [10, 20, 20]);
    // Committed, not indexed: the review reads it from its tail.
    recorder.write_batch(&[event(30, "terraform")]).unwrap();
    assert_eq!(counts(&review), [11, 20, 20]);
    // Indexed: from the file's index.
    recorder.write_batch(&[event(31, "alice")]).unwrap();
    recorder.index_for_search(u64::MAX).unwrap();
    assert_eq!(counts(&review), [11, 21, 21]);
    assert_eq!(counts(&review), counts(&Session::open(&path).unwrap()));
}

/// Run in a child process of this test binary with `TZ` set (the zone is process-wide state):
/// the heatmap in local time and a cell filter in local time agree, and both differ from UTC
/// by the zone's offset.
#[test]
fn a_heatmap_cell_in_local_time_counts_and_filters_the_same_changes() {
    const CHILD: &str = "TIDELINE_TEST_LOCAL_TIME_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::a_heatmap_cell_in_local_time_counts_and_filters_the_same_changes",
                "--nocapture",
            ])
            .env(CHILD, "1")
            // UTC+05:30 as a POSIX rule (no tz database needed): a UTC hour splits across two local hours.
            .env("TZ", "IST-5:30")
            .status()
            .unwrap();
        assert!(status.success(), "the child run failed");
        return;
    }
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    // Sunday 2024-05-05 20:00–20:59 UTC is Monday 01:30–02:29 at UTC+05:30.
    let frames: Vec<PositionedFrame> = (0..60)
        .map(|minute| {
            positioned(event_by(
                &format!("e{minute}"),
                &format!("2024-05-05T20:{minute:02}:00Z"),
                "p",
                "192.0.2.1",
                "sg-1",
                "{}",
            ))
        })
        .collect();
    session.write_batch(&frames).unwrap();
    let local = TimelineQuery {
        local_time: true,
        ..TimelineQuery::default()
    };
    let utc_cells = session
        .weekday_hour_counts(&TimelineQuery::default())
        .unwrap();
    assert_eq!(utc_cells, vec![(6, 20, 60)], "Sunday 20:00 UTC");
    let local_cells = session.weekday_hour_counts(&local).unwrap();
    assert_eq!(
        local_cells,
        vec![(0, 1, 30), (0, 2, 30)],
        "Monday 01:xx and 02:xx local"
    );
    for (weekday, hour, count) in local_cells {
        let cell = TimelineQuery {
            weekday: Some(weekday),
            hour: Some(hour),
            ..local.clone()
        };
        assert_eq!(session.count_changes(&cell).unwrap(), count);
    }
}

#[test]
fn a_batch_is_full_at_its_frame_count_or_its_bytes_whichever_comes_first() {
    use super::{BATCH_MAX_BYTES, BATCH_MAX_FRAMES, BatchFill};
    let small = positioned(event_json(
        "e1",
        "create",
        "2024-05-01T00:00:00Z",
        "asset-1",
        "{}",
    ));
    let mut fill = BatchFill::default();
    for _ in 1..BATCH_MAX_FRAMES {
        fill.add(&small);
    }
    assert!(!fill.is_full(), "one frame short of the count");
    fill.add(&small);
    assert!(fill.is_full(), "at the count");

    // A quarantined frame counts the bytes it keeps.
    let large = PositionedFrame {
        frame: Frame::Quarantined(crate::model::QuarantinedFrame {
            reason: QuarantineReason::NotAnObject,
            raw: vec![b'x'; BATCH_MAX_BYTES / 4],
            raw_len: BATCH_MAX_BYTES / 4,
        }),
        sse_id: None,
        received_at: Utc::now(),
    };
    let mut fill = BatchFill::default();
    for _ in 0..3 {
        fill.add(&large);
    }
    assert!(!fill.is_full(), "three quarters of the bytes in 3 frames");
    fill.add(&large);
    assert!(fill.is_full(), "all the bytes in 4 frames");
}

#[test]
fn a_jump_to_any_offset_reads_the_rows_there_with_or_without_a_filter() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    busy_and_rare(&mut session);
    // Events sharing one time, so the order's second key (arrival) decides.
    let same_time: Vec<PositionedFrame> = (0..5)
        .map(|i| {
            positioned(event_json(
                &format!("tie{i}"),
                "update",
                "2024-05-05T11:00:00Z",
                "sg-tie",
                "{}",
            ))
        })
        .collect();
    session.write_batch(&same_time).unwrap();
    let seqs = |events: &[super::StoredEvent]| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    for query in [
        TimelineQuery::default(),
        TimelineQuery {
            principals: vec!["arn:aws:iam::111:user/mallory".into()],
            ..TimelineQuery::default()
        },
        TimelineQuery {
            asset_name: Some("sg-tie".into()),
            ..TimelineQuery::default()
        },
    ] {
        let all = seqs(
            &session
                .page_changes(&query, PageStart::Offset(0), 1_000)
                .unwrap(),
        );
        for offset in [1, 2, 3, 50, 58, 59, 60, 200, 206, all.len() as u64] {
            let page = seqs(
                &session
                    .page_changes(&query, PageStart::Offset(offset), 7)
                    .unwrap(),
            );
            let from = (offset as usize).min(all.len());
            let to = (from + 7).min(all.len());
            assert_eq!(page, all[from..to], "offset {offset} of {query:?}");
        }
        assert!(
            session
                .page_changes(&query, PageStart::Offset(all.len() as u64 + 10), 7)
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn the_whole_list_up_to_an_arrival_is_counted_from_the_dictionary_exactly_as_by_a_pass() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    // 2,000 changes, then a few arrivals past the bound, some of new values.
    let frames: Vec<PositionedFrame> = (0..2_010)
        .map(|i| {
            let principal = if i >= 2_000 && i % 2 == 0 {
                "arn:aws:iam::111:user/latecomer"
            } else {
                "arn:aws:sts::111:assumed-role/terraform/ci"
            };
            positioned(event_by(
                &format!("e{i}"),
                &format!(
                    "2024-05-05T{:02}:{:02}:{:02}Z",
                    10 + i / 3600,
                    i / 60 % 60,
                    i % 60
                ),
                principal,
                "10.0.0.5",
                &format!("sg-{}", i % 13),
                "{}",
            ))
        })
        .collect();
    session.write_batch(&frames).unwrap();
    let bound = 2_000;
    let shown = TimelineQuery {
        max_seq: Some(bound),
        ..TimelineQuery::default()
    };
    // The same rows, asked in a shape only a pass answers.
    let passed = TimelineQuery {
        after_seq: Some(0),
        ..shown.clone()
    };
    use super::Facet;
    let facets = [Facet::Principal, Facet::Asset, Facet::Change, Facet::Region];
    for limit in [1, 3, 100] {
        let (by_dictionary, total) = session.facets_and_total(&shown, &facets, limit).unwrap();
        let (by_pass, pass_total) = session.facets_and_total(&passed, &facets, limit).unwrap();
        assert_eq!(total, 2_000);
        assert_eq!(total, pass_total);
        for facet in facets {
            assert_eq!(
                by_dictionary[&facet], by_pass[&facet],
                "{facet:?} limit {limit}"
            );
        }
    }
    assert!(
        !session.facets_and_total(&shown, &facets, 100).unwrap().0[&Facet::Principal]
            .iter()
            .any(|(value, _)| value.contains("latecomer")),
        "a value only past the bound is not counted"
    );
    assert_eq!(
        session.count_changes_up_to(&shown, 10).unwrap(),
        (2_000, true)
    );
}

/// 600 changes to 150 assets on four days around the epoch (times before 1970 included: an
/// event's time is the sender's to choose), with equal times, in three batches.
fn assets_over_days(session: &mut Session) {
    const DAYS: [&str; 4] = [
        "1969-12-30T12:00",
        "1969-12-31T23:00",
        "1970-01-01T01:00",
        "2024-05-05T10:00",
    ];
    let frames: Vec<PositionedFrame> = (0..600)
        .map(|i| {
            let time = format!("{}:{:02}Z", DAYS[i % 4], i % 7);
            positioned(event_by(
                &format!("e{i}"),
                &time,
                "arn:aws:iam::111:user/alice",
                "10.0.0.5",
                &format!("sg-{}", i % 150),
                "{}",
            ))
        })
        .collect();
    for batch in frames.chunks(200) {
        session.write_batch(batch).unwrap();
    }
}

/// Every read of one asset's changes, in the order the list shows them: its history page by
/// page, the change list filtered to it page by page and by offset, its count and extent.
fn asset_reads(session: &Session, asset: &str) -> (Vec<i64>, Vec<i64>, Vec<i64>, u64, String) {
    let query = TimelineQuery {
        asset_name: Some(asset.into()),
        ..TimelineQuery::default()
    };
    let mut history = Vec::new();
    let mut cursor = None;
    while let [event] = session.asset_events(asset, cursor, 1).unwrap().as_slice() {
        history.push(event.seq);
        cursor = Some(PageCursor {
            time_us: event.time.timestamp_micros(),
            seq: event.seq,
        });
    }
    let mut paged = Vec::new();
    let mut start = PageStart::Offset(0);
    while let [event] = session.page_changes(&query, start, 1).unwrap().as_slice() {
        paged.push(event.seq);
        start = PageStart::After(PageCursor {
            time_us: event.time.timestamp_micros(),
            seq: event.seq,
        });
    }
    let jumped = (0..paged.len() as u64 + 1)
        .flat_map(|n| {
            session
                .page_changes(&query, PageStart::Offset(n), 1)
                .unwrap()
        })
        .map(|event| event.seq)
        .collect();
    // A time range across the epoch's two-day "day 0" (SQLite's division truncates).
    let ranged = TimelineQuery {
        time_from: Some("1969-12-31T00:00:00Z".into()),
        time_to: Some("1970-01-01T01:00:03Z".into()),
        ..query.clone()
    };
    let in_range: Vec<i64> = session
        .page_changes(&ranged, PageStart::Offset(0), 100)
        .unwrap()
        .iter()
        .map(|event| event.seq)
        .collect();
    let extent = format!(
        "{:?} {:?} {in_range:?} {}",
        session.time_extent(&query).unwrap(),
        session.time_extent(&ranged).unwrap(),
        session.count_changes(&ranged).unwrap()
    );
    (
        history,
        paged,
        jumped,
        session.count_changes(&query).unwrap(),
        extent,
    )
}

#[test]
fn an_assets_changes_are_read_day_by_day_in_time_order_in_either_layout() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    assets_over_days(&mut session);
    let all = session
        .page_changes(&TimelineQuery::default(), PageStart::Offset(0), 1_000)
        .unwrap();
    assert_eq!(all.len(), 600);
    let assets: Vec<String> = (0..150).map(|i| format!("sg-{i}")).collect();
    let expected = |asset: &str| -> Vec<i64> {
        all.iter()
            .filter(|event| event.asset_name.as_deref() == Some(asset))
            .map(|event| event.seq)
            .collect()
    };
    let by_day: Vec<_> = assets.iter().map(|a| asset_reads(&session, a)).collect();
    let from = DateTime::parse_from_rfc3339("1969-12-31T00:00:00Z").unwrap();
    let to = DateTime::parse_from_rfc3339("1970-01-01T01:00:03Z").unwrap();
    for (asset, (history, paged, jumped, count, extent)) in assets.iter().zip(&by_day) {
        let expected = expected(asset);
        assert_eq!(expected.len(), 4, "{asset}");
        assert_eq!(history, &expected, "{asset}: history");
        assert_eq!(paged, &expected, "{asset}: pages");
        assert_eq!(jumped, &expected, "{asset}: offsets");
        assert_eq!(*count, 4, "{asset}");
        let in_range: Vec<i64> = all
            .iter()
            .filter(|e| e.asset_name.as_deref() == Some(asset.as_str()))
            .filter(|e| e.time >= from && e.time < to)
            .map(|e| e.seq)
            .collect();
        assert!(
            extent.ends_with(&format!(" {in_range:?} {}", in_range.len())),
            "{asset}: {extent} against {in_range:?}"
        );
    }
    assert!(
        by_day.iter().any(|reads| !reads.4.ends_with(" [] 0")),
        "the range holds some asset's changes"
    );
    // The writer lists each (asset, day) once, as the migration would from the rows.
    let pairs = |session: &Session, sql: &str| -> Vec<(i64, i64)> {
        let mut statement = session.conn.prepare(sql).unwrap();
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    let listed = |session: &Session| {
        pairs(
            session,
            "SELECT asset, day FROM asset_days ORDER BY asset, day",
        )
    };
    let written = listed(&session);
    let derived = pairs(
        &session,
        "SELECT DISTINCT asset, time_us / 86400000000 AS day FROM event_facets \
         WHERE asset IS NOT NULL ORDER BY 1, 2",
    );
    assert_eq!(written, derived);
    // A page of one asset walks its days and their index ranges in order: no sort.
    let one_asset = TimelineQuery {
        asset_name: Some("sg-7".into()),
        ..TimelineQuery::default()
    };
    let plan = page_plan(&session, &one_asset, None);
    assert!(
        plan.starts_with("SEARCH d USING PRIMARY KEY (asset=?)")
            && plan.contains("event_facets_by_asset_day (day=? AND asset=?)")
            && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
    // The next page, and a time range, skip the days outside them.
    let since = TimelineQuery {
        time_from: Some("1969-12-31T00:00:00Z".into()),
        ..one_asset
    };
    let cursor = PageCursor {
        time_us: 0,
        seq: 100,
    };
    let plan = page_plan(&session, &since, Some(cursor));
    assert!(
        plan.starts_with("SEARCH d USING PRIMARY KEY (asset=? AND day>? AND day<?)")
            && plan.contains("(day=? AND asset=? AND time_us>? AND (time_us,seq)<(?,?))")
            && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
    let verification = session.verify().unwrap();
    drop(session);

    // The same file as schema 7 wrote it (one asset index keyed by asset and time) …
    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    let old_path = old.join("s.tideline");
    std::fs::copy(&path, &old_path).unwrap();
    let raw = Connection::open(&old_path).unwrap();
    raw.execute_batch(
        "DROP TABLE event_digests; DROP TABLE digest_state; \
         DROP TABLE asset_days; DROP INDEX event_facets_by_asset_day; \
         ALTER TABLE event_facets DROP COLUMN day; \
         CREATE INDEX event_facets_by_asset ON event_facets (asset); PRAGMA user_version = 7;",
    )
    .unwrap();
    drop(raw);
    // … is reviewed in place, unchanged, with the same answers …
    let before = fingerprint(&old);
    let review = Session::open(&old_path).unwrap();
    let reviewed: Vec<_> = assets.iter().map(|a| asset_reads(&review, a)).collect();
    assert_eq!(reviewed, by_day);
    drop(review);
    assert_eq!(fingerprint(&old), before);
    // … and recording into it migrates it, with the same answers, asset days and chain.
    let mut steps = Vec::new();
    let migrated = Session::open_or_create_reporting(&old_path, &mut |progress| {
        steps.push(progress.step);
    })
    .unwrap();
    assert!(
        steps.contains(&"indexing events by asset and day"),
        "{steps:?}"
    );
    let after: Vec<_> = assets.iter().map(|a| asset_reads(&migrated, a)).collect();
    assert_eq!(after, by_day);
    assert_eq!(listed(&migrated), written);
    assert_eq!(migrated.verify().unwrap(), verification);
}

/// An `off_hours` finding with no events.
fn finding(key: &str) -> super::StoredFinding {
    super::StoredFinding {
        key: key.into(),
        rule: "off_hours".into(),
        severity: "low".into(),
        events: Vec::new(),
        asset: None,
        asset_label: None,
        principal: None,
        principal_short: None,
        summary: "changes at night".into(),
        time_us: 0,
    }
}

#[test]
fn a_finding_id_is_never_given_twice_even_after_the_greatest_is_removed() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    session
        .replace_stored_findings(&[finding("off_hours:a"), finding("off_hours:b")])
        .unwrap();
    let mark = session.findings_watermark().unwrap().unwrap();
    assert_eq!(mark.next_id, 3);
    // A catch-up withdraws the newest finding.
    let committed = session
        .commit_findings(&super::FindingsBatch {
            epoch: mark.epoch,
            generation: mark.generation,
            removed: vec![2],
            ..super::FindingsBatch::default()
        })
        .unwrap();
    assert!(matches!(committed, super::Committed::Done(_)));
    assert_eq!(session.finding_count().unwrap(), 1);
    // A runner resumed later (the app's keeper, a restart) does not give id 2 again: the
    // analyst who saw it would not be told of the new finding.
    assert_eq!(session.findings_watermark().unwrap().unwrap().next_id, 3);
    // Nor does a rebuild, nor one after a rebuild that stored nothing (stopped, or found
    // nothing), nor findings stored whole.
    assert_eq!(session.begin_findings_rebuild("").unwrap().next_id, 3);
    assert_eq!(session.findings_watermark().unwrap().unwrap().next_id, 3);
    assert_eq!(session.begin_findings_rebuild("").unwrap().next_id, 3);
    session
        .replace_stored_findings(&[finding("off_hours:c")])
        .unwrap();
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        session
            .for_each_finding_row(|row| {
                ids.push(row.id);
                Ok::<(), StoreError>(())
            })
            .unwrap();
        ids
    };
    assert_eq!(ids, [3]);
    assert_eq!(session.findings_watermark().unwrap().unwrap().next_id, 4);
}

#[test]
fn a_notes_layout_change_keeps_finding_ids_growing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    session
        .replace_stored_findings(&[finding("off_hours:a"), finding("off_hours:b")])
        .unwrap();
    let super::NotesLocation::File(notes) = session.notes().clone() else {
        panic!("notes in a file")
    };
    drop(session);
    // Notes of another findings layout (an older Tideline's) are dropped when opened …
    let raw = Connection::open(&notes).unwrap();
    raw.execute(
        "UPDATE notes_meta SET value = 'an older layout' WHERE key = 'findings_layout'",
        [],
    )
    .unwrap();
    drop(raw);
    let session = Session::open_or_create(&path).unwrap();
    assert_eq!(session.finding_count().unwrap(), 0);
    // … but the ids the analyst and the forwarding cursors have seen are not given again.
    assert_eq!(session.begin_findings_rebuild("").unwrap().next_id, 3);
}

/// 600 changes of assorted types, regions, principals, methods and kinds, over a week of 2024
/// (ties included), and a few far before 1970 and far after today.
fn assorted_changes(session: &mut Session) {
    let types = [
        "network.firewall",
        "storage.bucket",
        "iam.role",
        "compute.instance",
    ];
    let regions = ["us-east-1", "eu-west-1", "ap-south-1"];
    let methods = ["cli", "console", "terraform", "sdk", "provider"];
    let frames: Vec<PositionedFrame> = (0..600u32)
        .map(|i| {
            let time = match i {
                0..=2 => format!("1901-0{}-01T00:00:00Z", i + 1),
                3..=5 => format!("2250-0{}-01T00:00:00Z", i - 2),
                // Events 2k and 2k + 1 share a second.
                _ => format!(
                    "2024-05-0{}T{:02}:{:02}:00Z",
                    1 + (i / 2) % 7,
                    (i / 14) % 24,
                    (i / 2) % 60
                ),
            };
            let change = ["create", "update", "update", "delete"][(i % 4) as usize];
            positioned(format!(
                r#"{{"specversion":"1.0","id":"a{i}","source":"/cloudAccounts/A","type":"com.opshelm.asset.{change}","time":"{time}","data":{{"asset":{{"name":"asset-{}","type":"{}","account":"{}","region":"{}","provider":"aws"}},"attribution":{{"principal":"arn:aws:iam::111:user/p{}","method":"{}","source_ip":"10.0.0.{}"}},"config":{{"n":{i}}},"previous_config":{{}}}}}}"#,
                i % 37,
                types[(i % 4) as usize],
                ["111", "222"][(i % 2) as usize],
                regions[(i % 3) as usize],
                i % 11,
                methods[(i % 5) as usize],
                i % 250,
            ))
        })
        .collect();
    session.write_batch(&frames).unwrap();
}

#[test]
fn a_facet_pass_shared_between_two_connections_counts_what_one_pass_counts() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("s.tideline");
    let mut session = Session::open_or_create(&path).unwrap();
    assorted_changes(&mut session);
    let queries = [
        TimelineQuery {
            asset_types: vec!["network.firewall".into()],
            regions: vec!["us-east-1".into()],
            ..TimelineQuery::default()
        },
        TimelineQuery {
            principals: vec!["arn:aws:iam::111:user/p3".into()],
            ..TimelineQuery::default()
        },
        TimelineQuery {
            asset_types: vec!["iam.role".into(), "storage.bucket".into()],
            regions: vec!["eu-west-1".into()],
            methods: vec!["cli".into(), "sdk".into()],
            ..TimelineQuery::default()
        },
        TimelineQuery {
            changes: vec![crate::model::ChangeKind::Update],
            exclude_regions: vec!["ap-south-1".into()],
            ..TimelineQuery::default()
        },
        TimelineQuery {
            accounts: vec!["222".into()],
            time_from: Some("2024-05-02T00:00:00Z".into()),
            time_to: Some("2024-05-05T12:00:00Z".into()),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            methods: vec!["console".into()],
            max_seq: Some(400),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            regions: vec!["us-east-1".into()],
            hour: Some(5),
            ..TimelineQuery::default()
        },
        // The week of 2024 alone: its slices are hours long, with ties at their edges.
        TimelineQuery {
            asset_types: vec!["network.firewall".into(), "iam.role".into()],
            time_from: Some("2024-05-01T00:00:00Z".into()),
            time_to: Some("2024-05-08T00:00:00Z".into()),
            ..TimelineQuery::default()
        },
        // Before the first row or after the last: the extent is empty.
        TimelineQuery {
            regions: vec!["us-east-1".into()],
            time_from: Some("2300-01-01T00:00:00Z".into()),
            ..TimelineQuery::default()
        },
        // Searches with no term every match must hold are walked, each row checked against
        // the terms' sets, which the second connection reads too; a facet or time term reads
        // the session file alone.
        TimelineQuery {
            text: Some("asset-5 OR asset-7".into()),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            regions: vec!["eu-west-1".into()],
            text: Some("NOT p3".into()),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            text: Some("principal:p3 OR time>=2024-05-04".into()),
            ..TimelineQuery::default()
        },
    ];
    let every = super::Facet::ALL;
    let check = |session: &Session| {
        for query in &queries {
            let filter =
                super::filter::Filter::changes(&session.conn, &session.search_sets, query).unwrap();
            if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
                assert!(session.splits_pass(&filter, 0).unwrap(), "{query:?}");
            }
            let one = session
                .facets_and_total_with(query, &every, 50, u64::MAX)
                .unwrap();
            let shared = session.facets_and_total_with(query, &every, 50, 0).unwrap();
            assert_eq!(shared, one, "{query:?}");
            assert_eq!(one.1, session.count_changes(query).unwrap(), "{query:?}");
        }
    };
    check(&session);
    // The first query's figures, counted by hand: firewalls are every fourth change (i % 4 ==
    // 0, creates), us-east-1 every third: both, every twelfth.
    let (counts, total) = session
        .facets_and_total_with(&queries[0], &every, 50, 0)
        .unwrap();
    assert_eq!(total, 50);
    assert_eq!(
        counts[&super::Facet::Region],
        vec![
            ("ap-south-1".to_owned(), 50),
            ("eu-west-1".to_owned(), 50),
            ("us-east-1".to_owned(), 50)
        ]
    );
    // Tallies grow to the highest id they met: compared without trailing zeros.
    let trimmed = |mut tally: super::timeline::FacetTally| {
        for column in &mut tally.columns {
            column.truncate(column.iter().rposition(|n| *n > 0).map_or(0, |at| at + 1));
        }
        tally
    };
    // Each slice counts the same on either connection, and the slices add up to the pass.
    let every_slice = |session: &Session| {
        for query in &queries {
            let filter =
                super::filter::Filter::changes(&session.conn, &session.search_sets, query).unwrap();
            let pass = super::timeline::FacetPass::new(&filter, &every);
            let whole = pass.tally_all(&session.conn).unwrap();
            let Some(slices) = session.pass_slices(&filter).unwrap() else {
                assert_eq!(whole.total, 0, "{query:?}");
                continue;
            };
            let reader = session.reader_for_pass(slices[0].max_seq).unwrap();
            let mut added = super::timeline::FacetTally::empty();
            for slice in slices {
                let mut mine = super::timeline::FacetTally::empty();
                let mut theirs = super::timeline::FacetTally::empty();
                pass.tally(&session.conn, Some(slice), &mut mine).unwrap();
                pass.tally(&reader, Some(slice), &mut theirs).unwrap();
                assert_eq!(mine, theirs, "{query:?} {slice:?}");
                added.add(mine);
            }
            assert_eq!(trimmed(added), trimmed(whole), "{query:?}");
        }
    };
    every_slice(&session);
    // A review reads the file as immutable; its second connection too.
    drop(session);
    let review = Session::open(&path).unwrap();
    assert!(review.opened_immutable());
    check(&review);
    every_slice(&review);
    // Notes are attached to one connection, a search of few matches reads them by seq from
    // the free-text indexes and its temporary tail: those passes stay on one.
    for query in [
        TimelineQuery {
            regions: vec!["us-east-1".into()],
            starred_only: true,
            ..TimelineQuery::default()
        },
        TimelineQuery {
            regions: vec!["us-east-1".into()],
            text: Some("p3".into()),
            ..TimelineQuery::default()
        },
    ] {
        let filter =
            super::filter::Filter::changes(&review.conn, &review.search_sets, &query).unwrap();
        assert!(!review.splits_pass(&filter, 0).unwrap(), "{query:?}");
        assert_eq!(
            review.facets_and_total_with(&query, &every, 50, 0).unwrap(),
            review
                .facets_and_total_with(&query, &every, 50, u64::MAX)
                .unwrap()
        );
    }
    // Any search, walked as one of many matches reads it (each row checked against its sets;
    // the second connection checks the same sets, which this review made from its temporary
    // search tail, a table only the first connection has), is shared slice by slice and counts
    // what the same search read by seq counts.
    for text in ["p3", "asset-5 OR asset-7", "NOT p3", "10.0.0.1"] {
        let query = TimelineQuery {
            regions: vec!["us-east-1".into()],
            text: Some(text.into()),
            ..TimelineQuery::default()
        };
        let filter =
            || super::filter::Filter::changes(&review.conn, &review.search_sets, &query).unwrap();
        let by_seq = filter().reading_search_matches();
        let walked = filter().walking_search_matches();
        assert!(!review.splits_pass(&by_seq, 0).unwrap(), "{query:?}");
        if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
            assert!(review.splits_pass(&walked, 0).unwrap(), "{query:?}");
        }
        let pass = super::timeline::FacetPass::new(&walked, &every);
        let whole = pass.tally_all(&review.conn).unwrap();
        assert!(whole.total > 0, "{query:?}");
        let from_matches = super::timeline::FacetPass::new(&by_seq, &every)
            .tally_all(&review.conn)
            .unwrap();
        assert_eq!(trimmed(from_matches), trimmed(whole.clone()), "{query:?}");
        let slices = review.pass_slices(&walked).unwrap().unwrap();
        let reader = review.reader_for_pass(slices[0].max_seq).unwrap();
        let mut added = super::timeline::FacetTally::empty();
        for slice in slices {
            let mut mine = super::timeline::FacetTally::empty();
            let mut theirs = super::timeline::FacetTally::empty();
            pass.tally(&review.conn, Some(slice), &mut mine).unwrap();
            pass.tally(&reader, Some(slice), &mut theirs).unwrap();
            assert_eq!(mine, theirs, "{query:?} {slice:?}");
            added.add(mine);
        }
        assert_eq!(trimmed(added), trimmed(whole), "{query:?}");
    }
    // Inside a read snapshot the pass stays one snapshot.
    let snapshot = review.read_snapshot().unwrap();
    let filter =
        super::filter::Filter::changes(&review.conn, &review.search_sets, &queries[0]).unwrap();
    assert!(!review.splits_pass(&filter, 0).unwrap());
    drop(snapshot);
}

#[test]
fn time_slices_hold_every_microsecond_once() {
    use super::timeline::time_slices;
    for (first, last) in [
        (0, 1_000_000),
        (-5, 5),
        (7, 8),
        (7, 22),
        (i64::MIN, i64::MIN + 3),
        (i64::MAX - 3, i64::MAX),
        (i64::MIN, i64::MAX),
        (-8_334_632_851_200_000_000, 8_210_266_876_799_999_999),
    ] {
        let slices = time_slices(first, last, 16);
        assert!(!slices.is_empty());
        assert_eq!(slices[0].0, i64::MIN, "{first}..{last}");
        assert_eq!(slices.last().unwrap().1, i64::MAX, "{first}..{last}");
        for pair in slices.windows(2) {
            assert!(pair[0].0 <= pair[0].1, "{slices:?}");
            assert_eq!(pair[0].1.checked_add(1), Some(pair[1].0), "{slices:?}");
        }
        // A long range is cut into all 16; a short one into one part per microsecond (and the
        // first slice, reaching back to i64::MIN, may then hold none of them).
        let span = i128::from(last) - i128::from(first) + 1;
        let parts = slices.len() as i128;
        assert!(
            parts == span.min(16) || parts == span.min(16) + 1,
            "{first}..{last}: {slices:?}"
        );
        assert_eq!(
            slices
                .iter()
                .filter(|(from, to)| *to >= first && *from <= last)
                .count() as i128,
            span.min(16),
            "{first}..{last}: {slices:?}"
        );
    }
}

/// A finding row of `rule` with one listed event at `time_us`.
fn finding_row(id: i64, rule: &str, severity: &str, time_us: i64) -> super::FindingRow {
    super::FindingRow {
        id,
        key: format!("{rule}:{id}"),
        rule: rule.into(),
        severity: severity.into(),
        asset: None,
        asset_label: None,
        principal: None,
        principal_short: None,
        summary: format!("finding {id}"),
        first_us: time_us,
        first_seq: id,
        last_us: time_us,
        last_seq: id,
        count: 1,
        events: vec![super::TimedEventRef {
            time_us,
            event: super::EventRef {
                seq: id,
                source: "/s".into(),
                event_id: format!("e{id}"),
            },
        }],
        detail: None,
    }
}

#[test]
fn a_grown_finding_keeps_its_index_entries_right_whether_or_not_its_indexed_columns_change() {
    use super::{Committed, FindingsBatch, RowWrite, WriteKind};
    use std::sync::Arc;

    let dir = TempDir::new().unwrap();
    let session = new_session(&dir);
    let mark = session.begin_findings_rebuild("").unwrap();
    let write = |rows: Vec<(super::FindingRow, WriteKind)>, generation: u64| {
        let done = session
            .commit_findings(&FindingsBatch {
                epoch: mark.epoch,
                generation,
                rows: rows
                    .into_iter()
                    .map(|(row, kind)| RowWrite {
                        row: Arc::new(row),
                        kind,
                    })
                    .collect(),
                ..FindingsBatch::default()
            })
            .unwrap();
        assert_eq!(done, Committed::Done(generation + 1));
    };
    write(
        (1..=3)
            .map(|id| {
                (
                    finding_row(id, "off_hours", "low", id * 10),
                    WriteKind::Insert,
                )
            })
            .collect(),
        mark.generation,
    );
    // 1 grows (only its unindexed columns change); 2 grows and a late event becomes its first,
    // moving its time; 3 is raised to medium.
    let mut one = finding_row(1, "off_hours", "low", 10);
    (one.count, one.last_us, one.summary) = (2, 50, "grew".into());
    let mut two = finding_row(2, "off_hours", "low", 5);
    two.count = 2;
    let three = finding_row(3, "off_hours", "medium", 30);
    write(
        vec![
            (three, WriteKind::Update),
            (one, WriteKind::Update),
            (two, WriteKind::Update),
        ],
        mark.generation + 1,
    );
    let ok: String = session
        .conn
        .query_row("PRAGMA notes.integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let listed = |severity: &str| -> Vec<(i64, i64, u64, String)> {
        session
            .finding_rows_newest(severity, "off_hours", 10)
            .unwrap()
            .into_iter()
            .map(|row| (row.id, row.first_us, row.count, row.summary))
            .collect()
    };
    assert_eq!(
        listed("low"),
        [(1, 10, 2, "grew".into()), (2, 5, 2, "finding 2".into())]
    );
    assert_eq!(listed("medium"), [(3, 30, 1, "finding 3".into())]);
    let by_time: Vec<i64> = {
        let mut statement = session
            .conn
            .prepare("SELECT id FROM notes.findings INDEXED BY findings_by_time ORDER BY time_us")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(by_time, [2, 1, 3]);
}

#[test]
fn digests_are_made_oldest_first_read_with_the_events_and_made_again_for_another_version() {
    let dir = TempDir::new().unwrap();
    let mut session = new_session(&dir);
    assorted_changes(&mut session);
    let mut bodies = Vec::new();
    session
        .for_each_event(None, |event| {
            bodies.push(event);
            Ok::<(), StoreError>(())
        })
        .unwrap();
    let total = bodies.len() as u64;
    assert!(total >= 600, "{total}");
    let expected: Vec<(i64, crate::digest::EventDigest)> = bodies
        .iter()
        .map(|event| (event.seq, crate::digest::digest(event.change, &event.body)))
        .collect();
    let read = |session: &Session| {
        let mut read = Vec::new();
        session
            .for_each_event_digested(None, |event, digest| {
                read.push((event.seq, event.body, digest));
                Ok::<(), StoreError>(())
            })
            .unwrap();
        read
    };
    // Nothing digested yet: every event comes with its body.
    assert!(
        read(&session)
            .iter()
            .all(|(_, body, digest)| digest.is_none() && !body.is_empty())
    );
    assert_eq!(session.digest_events(250).unwrap(), 250);
    let half = read(&session);
    let digested: Vec<i64> = half
        .iter()
        .filter(|(_, _, digest)| digest.is_some())
        .map(|(seq, ..)| *seq)
        .collect();
    let mut oldest: Vec<i64> = expected.iter().map(|(seq, _)| *seq).collect();
    oldest.sort_unstable();
    oldest.truncate(250);
    let mut sorted = digested.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, oldest, "the 250 oldest by arrival");
    assert!(
        half.iter()
            .all(|(_, body, digest)| digest.is_some() == body.is_empty())
    );
    while session.digest_events(100).unwrap() > 0 {}
    let all = read(&session);
    assert_eq!(all.len() as u64, total);
    for ((seq, body, digest), (expected_seq, expected)) in all.iter().zip(&expected) {
        assert_eq!(seq, expected_seq);
        assert!(body.is_empty());
        assert_eq!(digest.as_ref(), Some(expected), "event {seq}");
    }
    // Any filter reads the same events with their digests: an asset's (its days' index,
    // aliased `d`), a search's, an arrival bound's.
    let queries = [
        TimelineQuery {
            asset_name: bodies[0].asset_name.clone(),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            text: Some("firewall".into()),
            ..TimelineQuery::default()
        },
        TimelineQuery {
            max_seq: Some(300),
            ..TimelineQuery::default()
        },
    ];
    for query in &queries {
        let mut plain = Vec::new();
        session
            .for_each_event(Some(query), |event| {
                plain.push(event.seq);
                Ok::<(), StoreError>(())
            })
            .unwrap();
        let mut digested = Vec::new();
        session
            .for_each_event_digested(Some(query), |event, digest| {
                assert!(digest.is_some() && event.body.is_empty(), "{query:?}");
                digested.push(event.seq);
                Ok::<(), StoreError>(())
            })
            .unwrap();
        assert!(!plain.is_empty(), "{query:?}");
        assert_eq!(digested, plain, "{query:?}");
    }
    // Digests of another version are not read, and are made again.
    session
        .conn
        .execute("UPDATE digest_state SET version = version + 1", [])
        .unwrap();
    assert!(
        read(&session)
            .iter()
            .all(|(_, body, digest)| digest.is_none() && !body.is_empty())
    );
    assert_eq!(session.digest_events(u64::MAX).unwrap(), total);
    assert_eq!(session.digest_events(u64::MAX).unwrap(), 0);
    assert!(read(&session).iter().all(|(_, _, digest)| digest.is_some()));
}

#[test]
fn single_row_readers_read_each_column_at_the_place_their_statements_have_it() {
    use super::columns::{column_at, leads_with};
    use super::events::{EVENT_COLUMNS, EVENTS_WITH_BODIES, EventColumns};
    use super::findings::ROW_COLUMNS;

    let dir = TempDir::new().unwrap();
    let session = new_session(&dir);
    // The statements of `Session::event` and `Session::event_by_seq`.
    for condition in ["e.source = ?1 AND e.event_id = ?2", "e.seq = ?1"] {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES} WHERE {condition}");
        let statement = session.conn.prepare(&sql).unwrap();
        assert_eq!(
            EventColumns::of(&statement).unwrap(),
            EventColumns::LEADING,
            "{sql}"
        );
        assert!(leads_with(&statement, EVENT_COLUMNS), "{sql}");
    }
    // A statement with another column first is not read by place (debug builds say so).
    let shifted = format!("SELECT 1 AS one, {EVENT_COLUMNS} FROM {EVENTS_WITH_BODIES}");
    assert!(!leads_with(
        &session.conn.prepare(&shifted).unwrap(),
        EVENT_COLUMNS
    ));
    // Every statement `finding_row` reads selects ROW_COLUMNS first.
    let statement = session
        .conn
        .prepare(&format!("SELECT {ROW_COLUMNS} FROM notes.findings"))
        .unwrap();
    assert_eq!(statement.column_count(), ROW_COLUMNS.split(',').count());
    for (place, name) in statement.column_names().into_iter().enumerate() {
        assert_eq!(column_at(ROW_COLUMNS, name), place, "{name}");
    }
    assert!(leads_with(&statement, ROW_COLUMNS));
}

#[test]
fn a_stopped_writers_error_names_its_cause_once_however_often_it_is_passed_on() {
    let cause = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("database is locked".into()),
    ));
    // The writer keeps a copy; each caller waiting on it gets a copy of that.
    let told = cause.shared_copy().shared_copy().to_string();
    assert_eq!(
        told,
        "recording stopped: session database error: database is locked"
    );
}
