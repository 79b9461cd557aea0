//! auditlog::cloudtrail: one AWS CloudTrail record → contract events.
//!
//! Follows the CloudTrail User Guide, "CloudTrail record contents" (`eventTime`, `eventSource`,
//! `eventName`, `readOnly`, `errorCode`, `resources`, `requestParameters`,
//! `responseElements`, `sessionCredentialFromConsole`) and "CloudTrail userIdentity element"
//! (identity types, `invokedBy`, `sessionContext.sessionIssuer`).
//!
//! A record is an asset change only when it is a successful, non-read call that this module
//! (or the generic rule in [`operations`]) can tie to an asset; sign-ins, role assumptions,
//! reads and refused calls are activity events. Which assets a call touched, and how their
//! configuration changed, is [`operations`] (one table) and [`rebuild`].

mod operations;
pub(crate) use operations::verb_kind;
mod rebuild;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::event::{
    ActivityKind, AssetFields, Association, AttributionFields, ChangedPart, EventKind,
    NormalizedEvent,
};
use super::method::{self, CallerSignals};
use super::{Inventory, RecordError};
use crate::diff::canonical_compact;
use crate::json::{self, Value};
use crate::model::ChangeKind;

/// What one call did to one asset.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub kind: ChangeKind,
    pub asset: AssetFields,
    pub config: Option<Value>,
    /// Set when the rebuild read it (else the inventory fills it).
    pub previous: Option<Value>,
    pub changed_part: Option<ChangedPart>,
    pub associations: Vec<Association>,
}

/// The call, as the operations table reads it.
pub(crate) struct Call<'r> {
    /// `ec2`, `iam`, `s3`...: `eventSource` without `.amazonaws.com`.
    pub service: &'r str,
    /// `eventName` without a version suffix (`UpdateFunctionCode20150331v2` → `UpdateFunctionCode`).
    pub name: &'r str,
    pub account: &'r str,
    pub region: &'r str,
    pub request: &'r Value,
    pub response: &'r Value,
    pub record: &'r Value,
}

/// Normalizes one CloudTrail record.
///
/// Errors: the record is not an object, or has no readable `eventTime`.
pub fn normalize(
    record: &Value,
    inventory: &mut Inventory<'_>,
) -> Result<Vec<NormalizedEvent>, RecordError> {
    if !record.is_object() {
        return Err(RecordError(
            "a CloudTrail record must be a JSON object".to_owned(),
        ));
    }
    let time = event_time(record)?;
    let text = |key: &str| json::text(&record[key]).filter(|text| !text.is_empty());
    let event_name = text("eventName").unwrap_or("(no eventName)");
    let event_source = text("eventSource").unwrap_or("(no eventSource)");
    let service = event_source.trim_end_matches(".amazonaws.com");
    let account = text("recipientAccountId")
        .or_else(|| json::text(&record["userIdentity"]["accountId"]))
        .unwrap_or("unknown");
    let region = text("awsRegion").unwrap_or("global");
    let id = event_id(record);
    let attribution = attribution(record, event_name);
    let base = NormalizedEvent::bare(
        id.clone(),
        format!("cloudtrail:{account}"),
        time,
        attribution,
    );
    let activity = |kind, note: String| {
        vec![NormalizedEvent {
            kind: EventKind::Activity(kind),
            note: Some(note),
            requested_change: present(&record["requestParameters"]),
            ..base.clone()
        }]
    };

    if let Some(code) = text("errorCode") {
        let message = text("errorMessage").map_or_else(String::new, |m| format!(": {m}"));
        return Ok(activity(
            ActivityKind::Denied,
            format!("the call failed ({code}{message}): an attempt, not a change"),
        ));
    }
    if service == "signin" || text("eventType") == Some("AwsConsoleSignIn") {
        return Ok(activity(
            ActivityKind::SignIn,
            sign_in_note(record, event_name),
        ));
    }
    if service == "sts"
        && (event_name.starts_with("AssumeRole")
            || matches!(event_name, "GetFederationToken" | "GetSessionToken"))
    {
        let role = json::text(&record["requestParameters"]["roleArn"]);
        let note = role.map_or_else(
            || format!("{event_name}: credentials issued"),
            |role| format!("{event_name}: credentials issued for {role}"),
        );
        return Ok(activity(ActivityKind::RoleAssumption, note));
    }
    if is_read(record, event_name) {
        return Ok(activity(ActivityKind::Read, "a read-only call".to_owned()));
    }
    let call = Call {
        service,
        name: base_name(event_name),
        account,
        region,
        request: &record["requestParameters"],
        response: &record["responseElements"],
        record,
    };
    let Some(targets) = operations::targets(&call, inventory) else {
        return Ok(activity(
            ActivityKind::Call,
            format!("{event_source} {event_name} changes no asset Tideline tracks"),
        ));
    };
    let many = targets.len() > 1;
    let requested = present(&record["requestParameters"]);
    Ok(targets
        .into_iter()
        .enumerate()
        .map(|(index, target)| {
            let known = target.config.is_some() || target.kind == ChangeKind::Delete;
            NormalizedEvent {
                id: if many {
                    format!("{id}#{}", index + 1)
                } else {
                    id.clone()
                },
                kind: EventKind::Change(target.kind),
                asset: Some(target.asset),
                associations: target.associations,
                config: target.config,
                previous_config: target.previous,
                // Shown when the configuration after the call is unknown.
                requested_change: if known { None } else { requested.clone() },
                changed_part: target.changed_part,
                ..base.clone()
            }
        })
        .collect())
}

/// `eventTime`; records shipped through Logstash/Elastic carry it as `@timestamp` instead.
fn event_time(record: &Value) -> Result<DateTime<Utc>, RecordError> {
    let text = json::text(&record["eventTime"])
        .or_else(|| json::text(&record["@timestamp"]))
        .ok_or_else(|| RecordError("the record has no eventTime (nor @timestamp)".to_owned()))?;
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| RecordError(format!("eventTime is not an RFC 3339 time: {text:?}")))
}

/// The event's id: CloudTrail's `eventID` with a digest of the record's content, so that the
/// same record delivered or imported twice is one event, but a different record that reuses
/// an `eventID` (a forged one, a documentation sample) is kept beside it, not taken for a
/// duplicate. (CloudTrail may deliver a record more than once: User Guide, "CloudTrail
/// concepts".)
fn event_id(record: &Value) -> String {
    let digest = Sha256::digest(canonical_compact(record).as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    match json::text(&record["eventID"]).filter(|id| !id.is_empty()) {
        Some(id) => format!("{id}~{hex}"),
        None => format!("sha256~{hex}"),
    }
}

fn present(value: &Value) -> Option<Value> {
    (!value.is_null()).then(|| value.clone())
}

/// `readOnly: true`, or (records before eventVersion 1.05 lack it) a Get/List/Describe-style name.
fn is_read(record: &Value, event_name: &str) -> bool {
    match record["readOnly"].as_bool() {
        Some(read_only) => read_only,
        None => {
            const READS: [&str; 10] = [
                "Get", "List", "Describe", "Head", "Lookup", "Search", "Scan", "Query", "BatchGet",
                "Select",
            ];
            READS.iter().any(|prefix| event_name.starts_with(prefix))
        }
    }
}

/// `UpdateFunctionCode20150331v2` → `UpdateFunctionCode`: Lambda's versioned event names.
fn base_name(event_name: &str) -> &str {
    let Some(at) = event_name.find("20") else {
        return event_name;
    };
    let tail = &event_name[at..];
    let dated = tail.len() >= 8 && tail[..8].bytes().all(|b| b.is_ascii_digit());
    if dated && at > 0 {
        &event_name[..at]
    } else {
        event_name
    }
}

fn sign_in_note(record: &Value, event_name: &str) -> String {
    let mfa = json::text(&record["additionalEventData"]["MFAUsed"]);
    let result = json::text(&record["responseElements"]["ConsoleLogin"]);
    let mut note = event_name.to_owned();
    if let Some(result) = result {
        note.push_str(&format!(": {result}"));
    }
    if let Some(mfa) = mfa {
        note.push_str(&format!(", MFA used: {mfa}"));
    }
    note
}

/// Who made the call, from `userIdentity` (CloudTrail userIdentity element).
fn attribution(record: &Value, event_name: &str) -> AttributionFields {
    let identity = &record["userIdentity"];
    let field = |key: &str| json::text(&identity[key]).filter(|t| !t.is_empty());
    let identity_type = field("type").unwrap_or_default();
    let invoked_by = field("invokedBy");
    let issuer = &identity["sessionContext"]["sessionIssuer"];
    let issuer_arn = json::text(&issuer["arn"]).filter(|t| !t.is_empty());
    let principal_id = field("principalId");
    let principal = field("arn")
        .or(if identity_type == "AWSService" {
            invoked_by
        } else {
            None
        })
        .or_else(|| field("userName"))
        .or(principal_id)
        .map(str::to_owned);
    let (assumed_id, assumed_role, principal_id) = if identity_type == "AssumedRole" {
        (
            principal_id.map(str::to_owned),
            issuer_arn.map(str::to_owned),
            principal_id.map(|id| id.split(':').next().unwrap_or(id).to_owned()),
        )
    } else {
        (None, None, principal_id.map(str::to_owned))
    };
    let user_agent = json::text(&record["userAgent"]);
    let source_ip = json::text(&record["sourceIPAddress"]);
    let service_host = |text: Option<&str>| text.is_some_and(|t| t.ends_with(".amazonaws.com"));
    let issuer_name = json::text(&issuer["userName"]).unwrap_or_default();
    let provider_service = identity_type == "AWSService"
        || service_host(invoked_by)
        || issuer_name.starts_with("AWSServiceRoleFor")
        || (service_host(source_ip) && service_host(user_agent));
    let console_session = json::text(&record["sessionCredentialFromConsole"]) == Some("true")
        || json::text(&record["eventSource"]) == Some("signin.amazonaws.com");
    AttributionFields {
        principal,
        principal_id,
        assumed_id,
        assumed_role,
        source_ip: source_ip.map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
        method: method::classify(&CallerSignals {
            user_agent,
            console_session,
            provider_service,
        }),
        action: Some(event_name.to_owned()),
    }
}
