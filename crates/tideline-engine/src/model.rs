//! model: Tideline's own types for what arrives on an EventStream, independent of the wire format.
//!
//! [`crate::wire`] is the only place that turns wire JSON into these types; everything else
//! (store, export, the UI bridge) works on them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The three normalized asset changes of the contract (`com.opshelm.asset.<change>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 3] = [ChangeKind::Create, ChangeKind::Update, ChangeKind::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The asset an event is about, as far as the event says (any field may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    pub name: Option<String>,
    pub asset_type: Option<String>,
    pub display_name: Option<String>,
    pub provider: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

/// Who made a change and how, as enriched by the stream (any field may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub assumed_role: Option<String>,
    pub source_ip: Option<String>,
    pub method: Option<String>,
    pub action: Option<String>,
}

/// A valid event, ready to store: the extracted columns plus the event's JSON verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    /// `Some` for `com.opshelm.asset.*`, `None` for the stream's other `com.opshelm.*` events.
    pub change: Option<ChangeKind>,
    pub time: DateTime<Utc>,
    pub asset: AssetRef,
    pub attribution: Attribution,
    /// The frame's JSON exactly as it arrived.
    pub body: String,
}

/// Why a frame could not be stored as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineReason {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    NotJson {
        detail: String,
    },
    NotAnObject,
    MissingField {
        field: &'static str,
    },
    BadTime {
        value: String,
    },
    UnknownType {
        value: String,
    },
    UnexpectedSseEvent {
        name: String,
    },
    /// The frame's bytes are not UTF-8; `valid_up_to` is the offset of the first bad byte.
    InvalidUtf8 {
        valid_up_to: usize,
    },
    /// A saved capture ended before the blank line that completes its last frame.
    IncompleteTrailingFrame,
    /// A part of a cloud audit log (a record, a line, a damaged file's tail) that could not be
    /// read as a record of its log: where it was, and why.
    UnreadableLogRecord {
        location: String,
        detail: String,
    },
}

impl fmt::Display for QuarantineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuarantineReason::TooLarge { bytes, limit } => {
                write!(f, "frame is {bytes} bytes, over the {limit}-byte limit")
            }
            QuarantineReason::NotJson { detail } => write!(f, "data is not JSON: {detail}"),
            QuarantineReason::NotAnObject => f.write_str("data is JSON but not an object"),
            QuarantineReason::MissingField { field } => {
                write!(
                    f,
                    "required field `{field}` is missing, empty or not a string"
                )
            }
            QuarantineReason::BadTime { value } => {
                write!(f, "`time` is not an RFC 3339 timestamp: {value:?}")
            }
            QuarantineReason::UnknownType { value } => {
                write!(f, "`type` is not a com.opshelm event type: {value:?}")
            }
            QuarantineReason::UnexpectedSseEvent { name } => {
                write!(
                    f,
                    "unexpected SSE event name {name:?} (expected `data` or none)"
                )
            }
            QuarantineReason::InvalidUtf8 { valid_up_to } => {
                write!(
                    f,
                    "frame is not valid UTF-8 (first bad byte at offset {valid_up_to})"
                )
            }
            QuarantineReason::UnreadableLogRecord { location, detail } => {
                write!(f, "audit-log record at {location}: {detail}")
            }
            QuarantineReason::IncompleteTrailingFrame => f.write_str(
                "incomplete trailing frame: the file ends before the blank line that completes it",
            ),
        }
    }
}

/// A frame kept aside with its reason; nothing that arrives is dropped silently.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedFrame {
    pub reason: QuarantineReason,
    /// The first bytes of the frame's data (see [`crate::wire::QUARANTINE_RAW_CAP`]).
    pub raw: Vec<u8>,
    /// The frame's full size in bytes, before capping.
    pub raw_len: usize,
}

/// One change frame off the stream, decoded.
#[allow(
    clippy::large_enum_variant,
    reason = "events are the common case; boxing them buys nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Event(EventRecord),
    Quarantined(QuarantinedFrame),
}

/// A decoded frame with the SSE `id:` it came with: the stream position once it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PositionedFrame {
    pub frame: Frame,
    pub sse_id: Option<String>,
    pub received_at: DateTime<Utc>,
}
