//! auditlog: raw cloud audit logs — AWS CloudTrail, GCP Cloud Audit Logs, Azure Activity Log —
//! normalized into the EventStream contract's events (`docs/eventstream.md`), so a folder of
//! exported logs gives the same timeline, diffs, detections and exports as a subscription.
//!
//! One module per provider turns one record into events ([`NormalizedEvent`]); [`event`] writes
//! them as contract JSON with the record verbatim as `data.raw`; [`crate::wire`] then reads them
//! like any streamed frame. Reading files (shapes, gzip, folders, time order) is [`files`] and
//! [`order`]; [`crate::import`] drives it into a session.

pub mod azure;
pub mod cloudtrail;
pub mod event;
mod files;
pub mod gcp;
pub mod inventory;
pub mod method;
pub mod ocsf;
pub mod order;
pub mod read;

use std::fmt;

pub use event::{
    ActivityKind, AssetFields, Association, AttributionFields, ChangedPart, EventKind,
    NormalizedEvent,
};
pub use files::{LogFile, LogFiles, RecordText, SkippedFile, read_log_file, walk};
pub use inventory::Inventory;
pub use order::TimeOrdered;

use crate::json::Value;
use crate::model::ChangeKind;

/// Which kind of log a file holds: what `--from` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// AWS CloudTrail records (`eventVersion`, `eventSource`, `eventName`).
    Cloudtrail,
    /// GCP Cloud Audit Logs entries (`protoPayload` of type `google.cloud.audit.AuditLog`).
    GcpAudit,
    /// Azure Activity Log entries (`operationName`, `resourceId`).
    AzureActivity,
    /// EventStream frames: an `.sse` capture or NDJSON of contract events.
    Eventstream,
    /// Tideline's own OCSF export (`export --format ocsf-json`), read back into its events.
    Ocsf,
}

impl LogFormat {
    pub const ALL: [LogFormat; 5] = [
        LogFormat::Cloudtrail,
        LogFormat::GcpAudit,
        LogFormat::AzureActivity,
        LogFormat::Eventstream,
        LogFormat::Ocsf,
    ];

    /// The name `--from` takes: `cloudtrail`, `gcp-audit`, `azure-activity`, `eventstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Cloudtrail => "cloudtrail",
            LogFormat::GcpAudit => "gcp-audit",
            LogFormat::AzureActivity => "azure-activity",
            LogFormat::Eventstream => "eventstream",
            LogFormat::Ocsf => "ocsf",
        }
    }

    pub fn parse(text: &str) -> Option<LogFormat> {
        LogFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
    }

    /// The provider's own name for the log, for messages.
    pub fn title(self) -> &'static str {
        match self {
            LogFormat::Cloudtrail => "AWS CloudTrail",
            LogFormat::GcpAudit => "GCP Cloud Audit Logs",
            LogFormat::AzureActivity => "Azure Activity Log",
            LogFormat::Eventstream => "EventStream",
            LogFormat::Ocsf => "OCSF (Tideline's export)",
        }
    }

    /// Which log one record (an object) belongs to, from the fields that name it; `None` for
    /// anything else (a digest file's object, a README's JSON, a config file).
    pub fn recognise(record: &Value) -> Option<LogFormat> {
        let has = |key: &str| record.get(key).is_some_and(|value| !value.is_null());
        if ocsf::is_tideline_export(record) {
            Some(LogFormat::Ocsf)
        } else if has("specversion")
            && record["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("com.opshelm."))
        {
            Some(LogFormat::Eventstream)
        } else if has("eventVersion") && has("eventName") || has("eventSource") && has("eventTime")
        {
            Some(LogFormat::Cloudtrail)
        } else if has("protoPayload") {
            Some(LogFormat::GcpAudit)
        } else if has("operationName") && (has("resourceId") || has("resourceUri")) {
            Some(LogFormat::AzureActivity)
        } else {
            None
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A human name from a configuration: its `Name` tag, else the name field of its kind.
fn display_name(config: &Value) -> Option<String> {
    let tags = config["Tags"].as_array().into_iter().flatten();
    let tagged = tags
        .filter(|tag| tag["Key"].as_str() == Some("Name"))
        .find_map(|tag| tag["Value"].as_str());
    let named = ["GroupName", "UserName", "RoleName", "Name", "name"]
        .iter()
        .find_map(|key| config[*key].as_str());
    tagged
        .or(named)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// Why one record could not be normalized; it is quarantined with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`normalize`] of a record's text, read under [`crate::json::parse`]'s policy.
///
/// Errors: the text is not JSON, or as [`normalize`].
pub fn normalize_text(
    format: LogFormat,
    text: &str,
    inventory: &mut Inventory<'_>,
) -> Result<Vec<NormalizedEvent>, RecordError> {
    let record =
        crate::json::parse(text).map_err(|error| RecordError(format!("not JSON: {error}")))?;
    let events = normalize(format, &record, inventory)?;
    if events.is_empty() {
        return Err(RecordError("the record gave no event".to_owned()));
    }
    Ok(events)
}

/// Normalizes one record of `format` into contract events, filling each change's previous
/// configuration from `inventory` where the provider's module did not, and recording each
/// change's new configuration (or that it is now unknown, or gone) for the records after it.
///
/// Errors: the record is not a record of that log (no time, not an object).
pub fn normalize(
    format: LogFormat,
    record: &Value,
    inventory: &mut Inventory<'_>,
) -> Result<Vec<NormalizedEvent>, RecordError> {
    let mut events = match format {
        LogFormat::Cloudtrail => cloudtrail::normalize(record, inventory)?,
        LogFormat::GcpAudit => gcp::normalize(record, inventory)?,
        LogFormat::AzureActivity => azure::normalize(record, inventory)?,
        LogFormat::Eventstream | LogFormat::Ocsf => {
            return Err(RecordError(format!(
                "{} holds Tideline's events, not audit-log records",
                format.title()
            )));
        }
    };
    for event in &mut events {
        let (EventKind::Change(change), Some(asset)) = (event.kind, &mut event.asset) else {
            continue;
        };
        if change != ChangeKind::Create && event.previous_config.is_none() {
            event.previous_config = inventory.config(&asset.name);
        }
        // A key is known by its id; its configuration's `UserName` is its owner's.
        if asset.display_name.is_none() && asset.asset_type != "iam.access_key" {
            let known = event.config.as_ref().or(event.previous_config.as_ref());
            asset.display_name = known.and_then(display_name);
        }
        let after = match change {
            ChangeKind::Delete => None,
            _ => event.config.clone(),
        };
        inventory.set(&asset.name, after);
    }
    Ok(events)
}
