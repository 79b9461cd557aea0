//! auditlog::azure: one Azure Activity Log entry normalized into contract events, in either
//! shape it is exported in: the storage-account / Event Hubs export (`PT1H.json` records:
//! `time`, `operationName` as a string, `resultType`, `identity.claims`, `properties`) or the
//! REST / `az monitor activity-log list` shape (`eventTimestamp`, `operationName.value`,
//! `status.value`, `caller`, `claims`, `httpRequest`, `eventDataId`).
//!
//! Follows Microsoft's "Azure Monitor activity log event schema"
//! (<https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log-schema>: the
//! Administrative category, Started/Accepted/Succeeded/Failed statuses of one operation sharing
//! `correlationId`, and the "Schema from storage account and event hubs" mapping), the Azure
//! Resource Manager resource-id format and RPC (`PUT` answers `201 Created` for a new resource,
//! `200 OK` for an existing one), the NSG REST reference (security rules are child resources
//! of `Microsoft.Network/networkSecurityGroups`), and "Verify first-party Microsoft
//! applications in sign-in reports" (the app ids of the Azure portal, CLI and PowerShell).
//!
//! Rules where the docs leave a choice:
//! - Of one operation's entries, the `Succeeded` one is the change; `Started`/`Accepted` are
//!   activity `call`; `Failed` (or a failed sign-in) is `denied`; an entry with no status is a
//!   change. `/read` is `read`; `/action` is `call` (`listKeys` and the like are noted as
//!   credential access); sign-in categories are `sign_in`.
//! - `/write` is `create` when the entry's HTTP status is `Created`, `update` when it is `OK`,
//!   else `create` when the inventory has no configuration for the asset and `update` when it
//!   has. A security rule's write or delete is an `update` of its NSG (`network.firewall`).
//! - Asset ids are the resource id below the subscription, lower-cased (resource ids are
//!   case-insensitive and the storage export often upper-cases them); the region is `global`,
//!   because a resource id carries no location and the REST shape has no `location` field, so
//!   nothing else is the same in every entry about one resource.
//! - The method comes from [`method::classify`]; when that finds nothing, the token's `appid`
//!   names the Azure portal (console), the Azure CLI or Azure PowerShell (cli).

mod nsg;
mod resource;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use super::event::{ActivityKind, AttributionFields, EventKind, NormalizedEvent};
use super::method::{self, CallerSignals};
use super::{Inventory, RecordError};
use crate::json::{self, Value};
use crate::model::ChangeKind;

/// Azure portal, Azure CLI and Azure PowerShell first-party application ids.
const PORTAL_APP: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const CLI_APPS: [&str; 2] = [
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    "1950a258-227b-4e31-a9cf-717495945fc2",
];

/// Normalizes one Azure Activity Log entry. Errors only for a record that is not an object or
/// has no usable time; anything else becomes an event.
pub fn normalize(
    record: &Value,
    inventory: &mut Inventory<'_>,
) -> Result<Vec<NormalizedEvent>, RecordError> {
    if !record.is_object() {
        return Err(RecordError(
            "an Azure activity log entry is not a JSON object".to_owned(),
        ));
    }
    let time = ["/time", "/eventTimestamp"]
        .iter()
        .find_map(|pointer| {
            DateTime::parse_from_rfc3339(text(record, pointer)?)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .ok_or_else(|| {
            RecordError("the entry has no RFC 3339 `time` or `eventTimestamp`".to_owned())
        })?;
    let operation = text(record, "/operationName/value")
        .or_else(|| text(record, "/operationName"))
        .unwrap_or_default();
    // The storage export may upper-case `resourceId`; `properties.entity` keeps its case.
    let resource_id = text(record, "/resourceId").or_else(|| text(record, "/resourceUri"));
    let resource_id = match text(record, "/properties/entity") {
        Some(entity) if resource_id.is_some_and(|id| id.eq_ignore_ascii_case(entity)) => {
            Some(entity)
        }
        _ => resource_id,
    };
    let parsed = resource_id.and_then(resource::parse);
    let subscription = text(record, "/subscriptionId")
        .or_else(|| parsed.as_ref().map(|found| found.subscription.as_str()))
        .map(str::to_ascii_lowercase)
        .or_else(|| text(record, "/tenantId").map(|tenant| format!("tenant-{tenant}")))
        .unwrap_or_else(|| "unknown".to_owned());
    let status = Status::of(record);
    let id = text(record, "/eventDataId")
        .or_else(|| text(record, "/id"))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let operation_id = text(record, "/operationId")
                .or_else(|| text(record, "/correlationId"))
                .unwrap_or("-");
            format!(
                "{operation_id}/{}/{}/{}",
                operation.to_ascii_lowercase(),
                status.text.as_deref().unwrap_or("-"),
                time.to_rfc3339()
            )
        });
    let mut event = NormalizedEvent::bare(
        id,
        format!("azure-activity:{subscription}"),
        time,
        attribution(record, operation),
    );
    event.asset = parsed.as_ref().and_then(|found| found.asset(&subscription));
    match decide(record, operation, &status) {
        Decision::Activity(kind, note) => {
            event.kind = EventKind::Activity(kind);
            event.note = Some(note);
        }
        Decision::Change { delete } => {
            let asset = event
                .asset
                .take()
                .unwrap_or_else(|| resource::unknown_asset(&subscription, resource_id, record));
            let rule = parsed.as_ref().and_then(|found| found.rule.clone());
            let change = if rule.is_some() {
                ChangeKind::Update
            } else if delete {
                ChangeKind::Delete
            } else {
                match http_status(record).as_deref() {
                    Some("created") => ChangeKind::Create,
                    Some("ok") => ChangeKind::Update,
                    _ if inventory.config(&asset.name).is_some() => ChangeKind::Update,
                    _ => ChangeKind::Create,
                }
            };
            event.kind = EventKind::Change(change);
            let created = http_status(record).as_deref() == Some("created");
            match rule {
                Some(rule) => nsg::rule_change(
                    &mut event, record, &asset, &rule, delete, created, inventory,
                ),
                None if delete => {}
                None if asset.asset_type == "network.firewall" => {
                    nsg::nsg_write(&mut event, record)
                }
                None => event.requested_change = body(record, "requestbody"),
            }
            event.asset = Some(asset);
        }
    }
    Ok(vec![event])
}

enum Decision {
    Change { delete: bool },
    Activity(ActivityKind, String),
}

fn decide(record: &Value, operation: &str, status: &Status) -> Decision {
    let lower = operation.to_ascii_lowercase();
    let category = text(record, "/category/value")
        .or_else(|| text(record, "/category"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if category.contains("signin") || lower == "sign-in activity" {
        let error = record
            .pointer("/properties/status/errorCode")
            .and_then(json::text)
            .is_some_and(|code| code != "0");
        return if error || status.kind == StatusKind::Failed {
            Decision::Activity(ActivityKind::Denied, "failed sign-in".to_owned())
        } else {
            Decision::Activity(ActivityKind::SignIn, "sign-in".to_owned())
        };
    }
    if status.kind == StatusKind::Failed {
        let detail = text(record, "/subStatus/value")
            .or_else(|| text(record, "/properties/statusCode"))
            .or_else(|| text(record, "/resultSignature"))
            .unwrap_or_default();
        return Decision::Activity(
            ActivityKind::Denied,
            format!("the operation failed {detail}")
                .trim_end()
                .to_owned(),
        );
    }
    if lower.ends_with("/read") {
        return Decision::Activity(ActivityKind::Read, "read-only operation".to_owned());
    }
    if lower.ends_with("/action") {
        let note = if [
            "listkeys",
            "listaccountsas",
            "listservicesas",
            "regeneratekey",
            "listcredentials",
            "getaccesstoken",
        ]
        .iter()
        .any(|verb| lower.contains(verb))
        {
            "credential access: an action that returns or renews keys, not a configuration change"
        } else {
            "an action, not a configuration change"
        };
        return Decision::Activity(ActivityKind::Call, note.to_owned());
    }
    let delete = lower.ends_with("/delete");
    if !delete && !lower.ends_with("/write") {
        return Decision::Activity(
            ActivityKind::Call,
            "not a resource write or delete".to_owned(),
        );
    }
    match status.kind {
        StatusKind::Succeeded | StatusKind::Absent => Decision::Change { delete },
        StatusKind::Started | StatusKind::Accepted => {
            let operation_id = text(record, "/correlationId")
                .or_else(|| text(record, "/operationId"))
                .unwrap_or("?");
            Decision::Activity(
                ActivityKind::Call,
                format!(
                    "{} entry of operation {operation_id}: its Succeeded entry is the change",
                    status.text.as_deref().unwrap_or_default()
                ),
            )
        }
        StatusKind::Failed | StatusKind::Other => Decision::Activity(
            ActivityKind::Call,
            format!(
                "status {}: not a completed change",
                status.text.as_deref().unwrap_or_default()
            ),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusKind {
    Started,
    Accepted,
    Succeeded,
    Failed,
    Other,
    Absent,
}

/// An entry's status: `status.value` (REST shape), `status` as text, `resultType` (storage
/// export: `Start`, `Accept`, `Success`, `Failure`), or the head of `resultSignature`.
struct Status {
    kind: StatusKind,
    text: Option<String>,
}

impl Status {
    fn of(record: &Value) -> Status {
        let found = text(record, "/status/value")
            .or_else(|| text(record, "/status"))
            .or_else(|| text(record, "/resultType"))
            .or_else(|| text(record, "/resultSignature").and_then(|s| s.split('.').next()))
            .filter(|s| !s.is_empty());
        let kind = match found.map(str::to_ascii_lowercase).as_deref() {
            None => StatusKind::Absent,
            Some("started" | "start") => StatusKind::Started,
            Some("accepted" | "accept") => StatusKind::Accepted,
            Some("succeeded" | "success") => StatusKind::Succeeded,
            Some("failed" | "failure" | "canceled" | "cancelled") => StatusKind::Failed,
            Some(_) => StatusKind::Other,
        };
        Status {
            kind,
            text: found.map(str::to_owned),
        }
    }
}

/// The HTTP status of the call, lower-cased: `properties.statusCode`, `subStatus.value`, or
/// the tail of `resultSignature` (`Succeeded.Created`).
fn http_status(record: &Value) -> Option<String> {
    text(record, "/properties/statusCode")
        .or_else(|| text(record, "/subStatus/value"))
        .or_else(|| {
            text(record, "/resultSignature")
                .and_then(|s| s.split_once('.'))
                .map(|(_, tail)| tail)
        })
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
}

fn attribution(record: &Value, operation: &str) -> AttributionFields {
    let claims = match &record["claims"] {
        Value::Object(_) => &record["claims"],
        _ => &record["identity"]["claims"],
    };
    let claim = |key: &str| {
        claims
            .get(key)
            .and_then(json::text)
            .filter(|t| !t.is_empty())
    };
    const XML: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";
    let principal = text(record, "/caller")
        .or_else(|| claim(&format!("{XML}upn")))
        .or_else(|| claim("upn"))
        .or_else(|| claim(&format!("{XML}name")))
        .or_else(|| claim("unique_name"))
        .or_else(|| text(record, "/properties/userPrincipalName"))
        .or_else(|| text(record, "/identity"))
        .or_else(|| claim("appid"));
    let principal_id = claim("http://schemas.microsoft.com/identity/claims/objectidentifier")
        .or_else(|| claim("oid"))
        .or_else(|| text(record, "/properties/userId"));
    let source_ip = text(record, "/httpRequest/clientIpAddress")
        .or_else(|| text(record, "/callerIpAddress"))
        .or_else(|| claim("ipaddr"))
        .or_else(|| text(record, "/properties/ipAddress"));
    let user_agent = text(record, "/httpRequest/userAgent")
        .or_else(|| text(record, "/properties/userAgent"))
        .or_else(|| text(record, "/properties/clientUserAgent"));
    let app = claim("appid").or_else(|| text(record, "/properties/appId"));
    let category = text(record, "/category/value")
        .or_else(|| text(record, "/category"))
        .unwrap_or_default();
    // Platform-initiated entries: health, autoscale and advisor events, or a resource
    // provider named as the caller (`Microsoft.Insights/autoscaleSettings`).
    let provider_service = matches!(
        category,
        "ResourceHealth" | "ServiceHealth" | "Autoscale" | "Recommendation"
    ) || principal
        .is_some_and(|p| p.to_ascii_lowercase().starts_with("microsoft."));
    let mut method = method::classify(&CallerSignals {
        user_agent,
        console_session: app == Some(PORTAL_APP),
        provider_service,
    });
    if method == "unknown" && app.is_some_and(|app| CLI_APPS.contains(&app)) {
        method = "cli";
    }
    AttributionFields {
        principal: principal.map(str::to_owned),
        principal_id: principal_id.map(str::to_owned),
        assumed_id: None,
        assumed_role: None,
        source_ip: source_ip.map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
        method,
        action: (!operation.is_empty()).then(|| operation.to_owned()),
    }
}

/// `properties.<key>` (any casing of `requestbody`/`responseBody`), a JSON text in the
/// storage export or an object, parsed.
pub(crate) fn body(record: &Value, key: &str) -> Option<Value> {
    let Value::Object(properties) = &record["properties"] else {
        return None;
    };
    let value = properties
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .map(|(_, value)| value)?;
    match value {
        Value::String(text) => json::parse(text).ok().filter(Value::is_object),
        Value::Object(_) => Some(value.clone()),
        _ => None,
    }
}

/// A string (or number) field at a JSON pointer; empty strings count as absent.
pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(json::text)
        .filter(|text| !text.is_empty())
}
