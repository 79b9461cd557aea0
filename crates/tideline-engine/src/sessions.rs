//! sessions: a session file described for a list of sessions (the start screen's recent
//! sessions): where it is, its size, its name, events and time span, and whether a recorder is
//! writing it — read without writing a byte of it or beside it.

use std::path::Path;

use serde::Serialize;

use crate::store::{self, StoreError};

/// One session file as a list of sessions shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionCard {
    /// The path it was listed under, as given.
    pub path: String,
    /// Its file name, and the folder it is in.
    pub file_name: String,
    pub folder: String,
    /// Bytes on disk: the file and its write-ahead log.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// A recorder is writing it right now.
    pub recording: bool,
    /// The name and incident reference given when it was recorded.
    pub name: Option<String>,
    pub incident: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub events: u64,
    /// The oldest and newest event time, RFC 3339 UTC.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Why it cannot be opened as it is (gone, not a session, from a newer Tideline), in words;
    /// the other facts are then empty.
    pub problem: Option<String>,
}

/// Describes the session at `path` (see [`SessionCard`]); a file that cannot be read is a card
/// with its `problem`, never an error.
pub fn describe(path: &Path) -> SessionCard {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut card = SessionCard {
        path: path.display().to_string(),
        file_name: path
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
        folder: path
            .parent()
            .map_or_else(String::new, |folder| folder.display().to_string()),
        bytes: size(path) + size(Path::new(&wal)),
        recording: store::recorder_of(path).is_some(),
        name: None,
        incident: None,
        events: 0,
        first_time: None,
        last_time: None,
        problem: None,
    };
    match store::glance(path) {
        Ok(glance) => {
            card.name = glance.name;
            card.incident = glance.incident;
            card.events = glance.events;
            card.first_time = glance.first_time;
            card.last_time = glance.last_time;
        }
        Err(StoreError::Missing { .. }) => card.problem = Some("the file is gone".into()),
        Err(error) => card.problem = Some(error.to_string()),
    }
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PositionedFrame;
    use crate::store::Session;

    fn fingerprint(folder: &Path) -> Vec<(String, Vec<u8>)> {
        let mut entries: Vec<_> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(entry.path()).unwrap())
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn a_card_gives_size_name_events_and_span_and_writes_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("incident-42.tideline");
        let mut session = Session::open_or_create(&path).unwrap();
        session
            .set_meta(store::meta_keys::NAME, "Prod breach")
            .unwrap();
        let frames: Vec<PositionedFrame> = ["2024-05-05T10:00:00Z", "2024-05-04T09:00:00Z"]
            .iter()
            .enumerate()
            .map(|(i, time)| PositionedFrame {
                frame: crate::wire::decode_frame(format!(
                    r#"{{"specversion":"1.0","id":"e{i}","source":"/a","type":"com.opshelm.asset.create","time":"{time}","data":{{"asset":{{"name":"sg-{i}","type":"network.firewall"}},"config":{{}}}}}}"#
                )),
                sse_id: None,
                received_at: chrono::Utc::now(),
            })
            .collect();
        session.write_batch(&frames).unwrap();
        drop(session);
        let before = fingerprint(dir.path());

        let card = describe(&path);
        assert_eq!(card.problem, None);
        assert_eq!(card.file_name, "incident-42.tideline");
        assert_eq!(card.folder, dir.path().display().to_string());
        assert_eq!(card.name.as_deref(), Some("Prod breach"));
        assert_eq!(card.events, 2);
        assert_eq!(card.first_time.as_deref(), Some("2024-05-04T09:00:00Z"));
        assert_eq!(card.last_time.as_deref(), Some("2024-05-05T10:00:00Z"));
        assert!(!card.recording);
        assert_eq!(card.bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(
            fingerprint(dir.path()),
            before,
            "a card wrote to the folder"
        );

        // Gone, or not a session: a card that says why.
        assert_eq!(
            describe(&dir.path().join("gone.tideline"))
                .problem
                .as_deref(),
            Some("the file is gone")
        );
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, "not a session").unwrap();
        assert!(
            describe(&other)
                .problem
                .unwrap()
                .contains("not an SQLite database")
        );
    }
}
