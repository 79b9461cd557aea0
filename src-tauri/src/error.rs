//! error: what a command can fail with, serialized to the page as `{kind, message}`. `kind` is
//! an [`ErrorKind`], exported to TypeScript as a string union, so the page can only compare
//! against kinds that exist; `message` is the error in plain words.

use std::path::PathBuf;

use serde::{Serialize, Serializer};
use tideline_engine::export::ExportError;
use tideline_engine::import::ImportError;
use tideline_engine::ingest::IngestError;
use tideline_engine::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the demo stream could not start: {0}")]
    Demo(#[from] eventstream_sim::SimError),
    #[error("no session is open")]
    NoSession,
    #[error("this session does not know the endpoint it recorded from, so it cannot resume")]
    CannotResume,
    #[error("the API key for this endpoint is not in the OS keyring: enter it to resume")]
    ApiKeyNeeded,
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("there is no change #{0} in this session")]
    NoSuchChange(i64),
    /// The folder new sessions are recorded into cannot be created.
    #[error("cannot prepare the session folder {}: {source}", folder.display())]
    CreateSessionFolder {
        folder: PathBuf,
        source: std::io::Error,
    },
    /// The native file dialog failed, or picked something that is not a local file.
    #[error("the file dialog failed: {0}")]
    FileDialog(#[source] tauri_plugin_dialog::Error),
    /// The desktop's file manager could not show a file (none is running, or it refused).
    #[error("the file manager could not show it: {0}")]
    FileManager(#[source] tauri_plugin_opener::Error),
    /// Work handed to a blocking thread never came back (it panicked or was cancelled).
    #[error("a background task failed: {0}")]
    Background(#[source] tauri::Error),
    /// A file the page asked for (an export, the detection settings) cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The detection settings name a field the rules cannot use.
    #[error("detection settings not saved: {0}")]
    BadSettings(#[from] tideline_engine::detect::InvalidSetting),
    /// The forwarding file names a field or value the routes cannot use.
    #[error("forwarding rules not saved: {0}")]
    BadForwarding(#[from] tideline_engine::forward::RulesError),
}

/// What kind of failure a command reports: the page decides what to offer from this (e.g.
/// ask for the API key on `api_key_needed`), never from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The session file failed in a way with no kind of its own (SQLite, I/O, schema).
    Store,
    /// Another process records into the session file.
    BeingRecorded,
    /// The disk is full; the session is intact and recording resumes once space is freed.
    DiskFull,
    /// The session file or its folder cannot be written.
    ReadOnly,
    /// The session file does not exist.
    MissingFile,
    /// The file is not a Tideline session.
    NotASession,
    ApiKeyRejected,
    InvalidEndpoint,
    InvalidApiKey,
    /// The stream failed otherwise.
    Ingest,
    Demo,
    NoSession,
    CannotResume,
    /// Resuming needs the API key, which the OS keyring does not have.
    ApiKeyNeeded,
    /// The user cancelled an export or import.
    Cancelled,
    Export,
    Import,
    NoSuchChange,
    SessionFolder,
    Dialog,
    Task,
    BadSettings,
}

/// The shape the page receives for any failed command.
#[derive(Serialize, ts_rs::TS)]
#[ts(rename = "CommandError")]
pub struct CommandErrorPayload {
    pub kind: ErrorKind,
    pub message: String,
}

/// The kind of a store error that has one of its own; the rest are the caller's kind.
fn store_kind(error: &StoreError) -> Option<ErrorKind> {
    match error {
        StoreError::BeingRecorded { .. } => Some(ErrorKind::BeingRecorded),
        StoreError::DiskFull { .. } => Some(ErrorKind::DiskFull),
        StoreError::ReadOnly { .. } => Some(ErrorKind::ReadOnly),
        StoreError::Missing { .. } => Some(ErrorKind::MissingFile),
        StoreError::NotASession { .. } => Some(ErrorKind::NotASession),
        _ => None,
    }
}

impl CommandError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CommandError::Store(error) => store_kind(error).unwrap_or(ErrorKind::Store),
            CommandError::Ingest(IngestError::ApiKeyRejected { .. }) => ErrorKind::ApiKeyRejected,
            CommandError::Ingest(IngestError::InvalidEndpoint { .. }) => ErrorKind::InvalidEndpoint,
            CommandError::Ingest(IngestError::InvalidApiKey) => ErrorKind::InvalidApiKey,
            CommandError::Ingest(IngestError::Store(error)) => {
                store_kind(error).unwrap_or(ErrorKind::Ingest)
            }
            CommandError::Ingest(_) => ErrorKind::Ingest,
            CommandError::Demo(_) => ErrorKind::Demo,
            CommandError::NoSession => ErrorKind::NoSession,
            CommandError::CannotResume => ErrorKind::CannotResume,
            CommandError::ApiKeyNeeded => ErrorKind::ApiKeyNeeded,
            CommandError::Export(ExportError::Cancelled) => ErrorKind::Cancelled,
            CommandError::Export(ExportError::Store(error)) => {
                store_kind(error).unwrap_or(ErrorKind::Export)
            }
            CommandError::Export(_) => ErrorKind::Export,
            CommandError::Import(ImportError::Cancelled(_)) => ErrorKind::Cancelled,
            CommandError::Import(ImportError::Store(error)) => {
                store_kind(error).unwrap_or(ErrorKind::Import)
            }
            CommandError::Import(_) => ErrorKind::Import,
            CommandError::NoSuchChange(_) => ErrorKind::NoSuchChange,
            CommandError::CreateSessionFolder { .. } => ErrorKind::SessionFolder,
            CommandError::FileDialog(_) | CommandError::FileManager(_) => ErrorKind::Dialog,
            CommandError::Background(_) | CommandError::WriteFile { .. } => ErrorKind::Task,
            CommandError::BadSettings(_) | CommandError::BadForwarding(_) => ErrorKind::BadSettings,
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CommandErrorPayload {
            kind: self.kind(),
            message: self.to_string(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    fn wire(error: CommandError) -> serde_json::Value {
        serde_json::to_value(error).expect("a command error serializes")
    }

    #[test]
    fn errors_reach_the_page_as_kind_and_message() {
        let session = || PathBuf::from("/cases/a.tideline");
        let cases = [
            (
                CommandError::ApiKeyNeeded,
                json!({"kind": "api_key_needed", "message": "the API key for this endpoint is not in the OS keyring: enter it to resume"}),
            ),
            (
                CommandError::Store(StoreError::BeingRecorded {
                    path: session(),
                    pid: Some(4242),
                }),
                json!({"kind": "being_recorded", "message": "/cases/a.tideline: the session is being recorded by process 4242; one recorder per session"}),
            ),
            (
                CommandError::Store(StoreError::Missing { path: session() }),
                json!({"kind": "missing_file", "message": "/cases/a.tideline: no such session file"}),
            ),
            (
                CommandError::Store(StoreError::NotASession {
                    path: session(),
                    detail: "no meta table".into(),
                }),
                json!({"kind": "not_a_session", "message": "/cases/a.tideline: not a Tideline session (no meta table)"}),
            ),
            (
                CommandError::Store(StoreError::WriterGone),
                json!({"kind": "store", "message": "the session writer stopped"}),
            ),
            (
                CommandError::Export(ExportError::Store(StoreError::DiskFull { path: session() })),
                json!({"kind": "disk_full", "message": "/cases/a.tideline: disk full: recording stopped; the session is intact and resumes once space is freed"}),
            ),
            (
                CommandError::Import(ImportError::Store(StoreError::ReadOnly {
                    path: session(),
                    detail: "attempt to write a readonly database".into(),
                })),
                json!({"kind": "read_only", "message": "/cases/a.tideline: read-only: attempt to write a readonly database"}),
            ),
            (
                CommandError::Import(ImportError::Cancelled(12)),
                json!({"kind": "cancelled", "message": "the import was cancelled after 12 frames (those are kept)"}),
            ),
            (
                CommandError::NoSuchChange(7),
                json!({"kind": "no_such_change", "message": "there is no change #7 in this session"}),
            ),
            (
                CommandError::CreateSessionFolder {
                    folder: PathBuf::from("/data/sessions"),
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                },
                json!({"kind": "session_folder", "message": "cannot prepare the session folder /data/sessions: permission denied"}),
            ),
            (
                CommandError::WriteFile {
                    path: PathBuf::from("/out/x.csv"),
                    source: std::io::Error::from(std::io::ErrorKind::StorageFull),
                },
                json!({"kind": "task", "message": "cannot write /out/x.csv: no storage space"}),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(wire(error), expected);
        }
    }

    #[test]
    fn the_payload_has_exactly_kind_and_message() {
        let text = serde_json::to_string(&CommandError::NoSession).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"no_session","message":"no session is open"}"#
        );
    }
}
