//! auditlog::gcp: one GCP Cloud Audit Logs entry (a `LogEntry` whose `protoPayload` is a
//! `google.cloud.audit.AuditLog`) normalized into contract events.
//!
//! Follows Google's documentation: "Cloud Audit Logs overview" and "Understanding audit logs"
//! (<https://cloud.google.com/logging/docs/audit>, `.../audit/understanding-audit-logs`: the
//! `activity`, `data_access`, `system_event` and `policy` logs), the `LogEntry` reference
//! (<https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry>: `timestamp`,
//! `receiveTimestamp`, `insertId`, `operation.first`/`last`), the `AuditLog` type
//! (<https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog>:
//! `authenticationInfo`, `serviceAccountDelegationInfo`, `requestMetadata`, `status`), Google's
//! "Service agents" page (`service-PROJECT_NUMBER@…gserviceaccount.com`,
//! `PROJECT_NUMBER@cloudservices.gserviceaccount.com`), and the Compute Engine reference for
//! firewalls (`insert` takes the resource, `patch` is a JSON merge patch, `update` replaces it).
//!
//! Rules where the docs leave a choice:
//! - Long-running operations log their `first` entry with the request and their `last` entry at
//!   completion: the first (or only) entry is the change; a `last`-only entry is activity `call`.
//! - A non-zero `status.code` is `denied`, whatever else the entry is; a `data_access` entry is
//!   `read` (a `DATA_WRITE` one is `call`: data, not configuration); get/list/… methods are
//!   `read`; `GenerateAccessToken`/`GenerateIdToken`/`SignBlob`/`SignJwt` are
//!   `role_assumption`; `login.googleapis.com` entries are `sign_in`.
//! - The caller is the provider when the principal is a Google-managed service agent, the entry
//!   is a `system_event`, or the call was delegated from a Google-internal (`*.google.com`)
//!   principal. A caller IP of `private` or `gce-internal-ip` alone proves nothing (a
//!   customer's own VM without an external address logs so too).
//! - With `serviceAccountDelegationInfo` the principal is the service account acted as, which
//!   is also `assumed_role`; `assumed_id` is the first principal of the delegation chain.
//! - Asset ids are the resource's own path below its project (see [`resource`]).

mod resource;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use super::event::{ActivityKind, AttributionFields, EventKind, NormalizedEvent};
use super::method::{self, CallerSignals};
use super::{Inventory, RecordError};
use crate::json::{self, Map, Value};
use crate::model::ChangeKind;

/// Normalizes one GCP audit log entry. Errors only for a record that is not an object or has
/// no usable time; anything else becomes an event.
pub fn normalize(
    record: &Value,
    inventory: &mut Inventory<'_>,
) -> Result<Vec<NormalizedEvent>, RecordError> {
    if !record.is_object() {
        return Err(RecordError(
            "a GCP audit log entry is not a JSON object".to_owned(),
        ));
    }
    let time = entry_time(record).ok_or_else(|| {
        RecordError("the entry has no RFC 3339 `timestamp` or `receiveTimestamp`".to_owned())
    })?;
    let proto = &record["protoPayload"];
    let method_name = text(proto, "/methodName").unwrap_or_default();
    let verb = method_name.rsplit('.').next().unwrap_or_default();
    let project = project_of(record);
    let source = format!("gcp-audit:{}", project.as_deref().unwrap_or("unknown"));
    let id = text(record, "/insertId")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}:{method_name}", time.to_rfc3339()));
    let attribution = attribution(record, method_name);
    let resolved = resource::resolve(record, project.as_deref(), verb);

    let mut event = NormalizedEvent::bare(id, source, time, attribution);
    match decide(record, method_name, verb) {
        Decision::Activity(kind, note) => {
            event.kind = EventKind::Activity(kind);
            event.asset = resolved.as_ref().map(resource::Resolved::asset);
            event.note = Some(note);
        }
        Decision::Change(change) => {
            let asset = resolved
                .as_ref()
                .map(resource::Resolved::asset)
                .unwrap_or_else(|| resource::unknown_asset(record, project.as_deref()));
            event.kind = EventKind::Change(change);
            let request = request_body(proto);
            event.associations =
                resource::associations(record, &asset, request.as_ref(), project.as_deref());
            enrich(&mut event, &asset, change, verb, request, inventory);
            event.asset = Some(asset);
        }
    }
    Ok(vec![event])
}

enum Decision {
    Change(ChangeKind),
    Activity(ActivityKind, String),
}

/// Change or activity, by the rules in the module docs (first match wins).
fn decide(record: &Value, method_name: &str, verb: &str) -> Decision {
    let proto = &record["protoPayload"];
    let log = text(record, "/logName").unwrap_or_default();
    if let Some(code) = status_code(proto) {
        let message = text(proto, "/status/message").unwrap_or_default();
        return Decision::Activity(
            ActivityKind::Denied,
            format!("the call failed: status {code} {message}")
                .trim_end()
                .to_owned(),
        );
    }
    if log.contains("cloudaudit.googleapis.com%2Fpolicy") {
        return Decision::Activity(
            ActivityKind::Denied,
            "refused by a security policy (policy-denied audit log)".to_owned(),
        );
    }
    let service = text(proto, "/serviceName").unwrap_or_default();
    if service == "login.googleapis.com" || method_name.starts_with("google.login.") {
        return if verb.to_ascii_lowercase().contains("failure") {
            Decision::Activity(ActivityKind::Denied, "failed sign-in".to_owned())
        } else {
            Decision::Activity(ActivityKind::SignIn, "sign-in".to_owned())
        };
    }
    if matches!(
        verb,
        "GenerateAccessToken" | "GenerateIdToken" | "SignBlob" | "SignJwt"
    ) {
        return Decision::Activity(
            ActivityKind::RoleAssumption,
            format!("{verb}: credentials issued to act as a service account"),
        );
    }
    if log.contains("cloudaudit.googleapis.com%2Fdata_access") {
        return if permission_types(proto).any(|kind| kind == "DATA_WRITE") {
            Decision::Activity(
                ActivityKind::Call,
                "data write (data_access audit log): data, not configuration".to_owned(),
            )
        } else {
            Decision::Activity(
                ActivityKind::Read,
                "read (data_access audit log)".to_owned(),
            )
        };
    }
    if is_read(verb) {
        return Decision::Activity(ActivityKind::Read, "read-only call".to_owned());
    }
    let operation = &record["operation"];
    let first = operation["first"].as_bool() == Some(true);
    let last = operation["last"].as_bool() == Some(true);
    if last && !first {
        let id = text(operation, "/id").unwrap_or("?");
        return Decision::Activity(
            ActivityKind::Call,
            format!("completion of operation {id}: its first entry is the change"),
        );
    }
    match change_kind(verb) {
        Some(change) => Decision::Change(change),
        None => Decision::Activity(
            ActivityKind::Call,
            "a call that changes no configuration Tideline tracks".to_owned(),
        ),
    }
}

/// A non-zero `status.code` (google.rpc.Code), as a number or its text.
fn status_code(proto: &Value) -> Option<String> {
    let code = json::text(proto.pointer("/status/code")?)?;
    (code != "0" && !code.is_empty()).then(|| code.to_owned())
}

fn permission_types(proto: &Value) -> impl Iterator<Item = &str> {
    proto["authorizationInfo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|info| text(info, "/permissionType"))
}

/// get/list/aggregatedList/getIamPolicy/testIamPermissions/search… (REST and gRPC spellings).
fn is_read(verb: &str) -> bool {
    let lower = verb.to_ascii_lowercase();
    [
        "get",
        "list",
        "aggregatedlist",
        "watch",
        "search",
        "lookup",
        "batchget",
        "query",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
        || lower.starts_with("testiampermissions")
        || lower.starts_with("describe")
}

/// The change a method's verb makes: REST names end in a lower-case verb on a collection
/// (`compute.instances.deleteAccessConfig` updates the instance), gRPC names in `VerbNoun`
/// (`google.iam.admin.v1.DeleteServiceAccount` deletes it).
pub(crate) fn change_kind(verb: &str) -> Option<ChangeKind> {
    const UPDATES: [&str; 17] = [
        "update", "patch", "set", "add", "remove", "delete", "attach", "detach", "resize",
        "undelete", "enable", "disable", "replace", "move", "apply", "rename", "upload",
    ];
    let lower = verb.to_ascii_lowercase();
    let grpc = verb.starts_with(|c: char| c.is_ascii_uppercase());
    if lower == "insert"
        || lower == "create"
        || grpc && (verb.starts_with("Create") || verb.starts_with("Insert"))
    {
        Some(ChangeKind::Create)
    } else if lower == "delete" || grpc && verb.starts_with("Delete") {
        Some(ChangeKind::Delete)
    } else if UPDATES.iter().any(|prefix| lower.starts_with(prefix)) {
        Some(ChangeKind::Update)
    } else {
        None
    }
}

/// Configuration, previous configuration and requested change where the entry says enough.
fn enrich(
    event: &mut NormalizedEvent,
    asset: &super::AssetFields,
    change: ChangeKind,
    verb: &str,
    request: Option<Value>,
    inventory: &mut Inventory<'_>,
) {
    let firewall = asset.asset_type == "network.firewall";
    match (change, verb) {
        (ChangeKind::Delete, _) => {}
        // The request body of a firewall insert or update (PUT) is the whole resource.
        (_, "insert" | "update") if firewall && request.is_some() => event.config = request,
        (_, "patch") if firewall && request.is_some() => {
            let patch = request.unwrap_or_default();
            match inventory.config(&asset.name) {
                Some(previous) => {
                    let mut merged = previous.clone();
                    merge_patch(&mut merged, &patch);
                    event.config = Some(merged);
                    event.previous_config = Some(previous);
                }
                None => event.requested_change = Some(patch),
            }
        }
        // SetIamPolicy replaces the resource's whole policy with the one in the request.
        (_, "SetIamPolicy" | "setIamPolicy") => {
            let policy = request.as_ref().map(|request| &request["policy"]);
            match policy {
                Some(policy @ Value::Object(_)) => event.config = Some(policy.clone()),
                _ => event.requested_change = request,
            }
        }
        _ => event.requested_change = request,
    }
}

/// RFC 7396 JSON merge patch (what the Compute API's `patch` methods apply).
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// `protoPayload.request` without its `@type`, if it says anything.
fn request_body(proto: &Value) -> Option<Value> {
    let Value::Object(request) = &proto["request"] else {
        return None;
    };
    let mut body = request.clone();
    body.remove("@type");
    (!body.is_empty()).then_some(Value::Object(body))
}

fn attribution(record: &Value, method_name: &str) -> AttributionFields {
    let proto = &record["protoPayload"];
    let auth = &proto["authenticationInfo"];
    let principal = text(auth, "/principalEmail").or_else(|| text(auth, "/principalSubject"));
    let delegator = auth["serviceAccountDelegationInfo"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|link| {
            ["firstPartyPrincipal", "thirdPartyPrincipal"]
                .iter()
                .find_map(|party| {
                    text(&link[*party], "/principalEmail")
                        .or_else(|| text(&link[*party], "/principalSubject"))
                        .or_else(|| text(&link[*party], "/thirdPartyClaims/subject"))
                })
                .or_else(|| text(link, "/principalSubject"))
        });
    let user_agent = text(proto, "/requestMetadata/callerSuppliedUserAgent");
    let log = text(record, "/logName").unwrap_or_default();
    let provider_service = log.contains("cloudaudit.googleapis.com%2Fsystem_event")
        || principal.is_some_and(is_service_agent)
        || delegator.is_some_and(|first| first.ends_with(".google.com"));
    let method = method::classify(&CallerSignals {
        user_agent,
        console_session: false,
        provider_service,
    });
    AttributionFields {
        principal: principal.map(str::to_owned),
        principal_id: text(auth, "/principalSubject").map(str::to_owned),
        assumed_id: delegator.map(str::to_owned),
        assumed_role: delegator.and(principal).map(str::to_owned),
        source_ip: text(proto, "/requestMetadata/callerIp").map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
        method,
        action: (!method_name.is_empty()).then(|| method_name.to_owned()),
    }
}

/// Google-managed service agents ("Service agents" in the IAM docs).
fn is_service_agent(email: &str) -> bool {
    email.ends_with("@cloudservices.gserviceaccount.com")
        || email.ends_with("@system.gserviceaccount.com")
        || email.starts_with("service-") && email.ends_with(".gserviceaccount.com")
}

fn entry_time(record: &Value) -> Option<DateTime<Utc>> {
    ["/timestamp", "/receiveTimestamp"]
        .iter()
        .find_map(|pointer| {
            let text = text(record, pointer)?;
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|time| time.with_timezone(&Utc))
        })
}

/// The project: `resource.labels.project_id`, else the one in `logName`, else in the
/// resource name.
fn project_of(record: &Value) -> Option<String> {
    if let Some(project) = text(record, "/resource/labels/project_id") {
        return Some(project.to_owned());
    }
    let from_path = |path: &str| {
        let mut parts = path.split('/');
        while let Some(part) = parts.next() {
            if part == "projects" {
                return parts
                    .next()
                    .filter(|p| !p.is_empty() && *p != "_" && *p != "-")
                    .map(str::to_owned);
            }
        }
        None
    };
    text(record, "/logName")
        .and_then(from_path)
        .or_else(|| text(record, "/protoPayload/resourceName").and_then(from_path))
}

/// A string (or number) field at a JSON pointer; empty strings count as absent.
pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(json::text)
        .filter(|text| !text.is_empty())
}
