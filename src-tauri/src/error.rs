//! error: what a command can fail with, serialized to the page as `{kind, message}`.

use serde::{Serialize, Serializer};
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
    Export(#[from] tideline_engine::export::ExportError),
    #[error(transparent)]
    Import(#[from] tideline_engine::import::ImportError),
    #[error("there is no change #{0} in this session")]
    NoSuchChange(i64),
    #[error("cannot prepare the session folder: {0}")]
    SessionFolder(String),
    #[error("the file dialog failed: {0}")]
    Dialog(String),
    #[error("{0}")]
    Task(String),
    #[error("detection settings not saved: {0}")]
    BadSettings(String),
}

/// The shape the page receives for any failed command.
#[derive(Serialize, ts_rs::TS)]
#[ts(rename = "CommandError")]
pub struct CommandErrorPayload {
    pub kind: &'static str,
    pub message: String,
}

impl CommandError {
    fn kind(&self) -> &'static str {
        match self {
            CommandError::Store(_) => "store",
            CommandError::Ingest(IngestError::ApiKeyRejected { .. }) => "api_key_rejected",
            CommandError::Ingest(IngestError::InvalidEndpoint { .. }) => "invalid_endpoint",
            CommandError::Ingest(IngestError::InvalidApiKey) => "invalid_api_key",
            CommandError::Ingest(_) => "ingest",
            CommandError::Demo(_) => "demo",
            CommandError::NoSession => "no_session",
            CommandError::CannotResume => "cannot_resume",
            CommandError::ApiKeyNeeded => "api_key_needed",
            CommandError::Export(tideline_engine::export::ExportError::Cancelled) => "cancelled",
            CommandError::Export(_) => "export",
            CommandError::Import(tideline_engine::import::ImportError::Cancelled(_)) => "cancelled",
            CommandError::Import(_) => "import",
            CommandError::NoSuchChange(_) => "no_such_change",
            CommandError::SessionFolder(_) => "session_folder",
            CommandError::Dialog(_) => "dialog",
            CommandError::Task(_) => "task",
            CommandError::BadSettings(_) => "bad_settings",
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
