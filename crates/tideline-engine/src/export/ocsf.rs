//! ocsf: one stored event as an OCSF 1.1.0 event (the Open Cybersecurity Schema Framework,
//! <https://schema.ocsf.io/1.1.0/>, the version Amazon Security Lake ingests), with the cloud
//! profile.
//!
//! - Asset changes, reads, refused calls, role assumptions and other calls are **API Activity**
//!   (class 6003): `activity_id` 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other; a refused call
//!   has `status_id` 2 Failure.
//! - Sign-ins are **Authentication** (class 3002), `activity_id` 1 Logon, with the signed-in
//!   `user` and the sign-in `service`.
//!
//! Where things go: `time` is the event time in epoch milliseconds and `metadata.original_time`
//! the event's own time text; `metadata.uid` the event id; `actor.user` (uid = the principal,
//! name = its last part, type from the provider's identity type); `actor.session.issuer` the
//! assumed role; `src_endpoint.ip` the source address when it is one (a provider's service
//! name is `svc_name`); `http_request.user_agent`; `api.operation` and `api.service.name`
//! (read from the provider's record: CloudTrail `eventSource`, GCP `serviceName`, Azure's
//! resource provider); `resources[]` the asset (uid = the stable asset name; its account as
//! `owner.account`, OCSF 1.1.0 having no account on a resource); `cloud` the provider,
//! account and region. The provider's record, verbatim, is `raw_data`. Tideline's own event
//! without that record (its CloudEvents attributes and `data`: asset, attribution,
//! configurations, associations) is `unmapped.tideline_event`, as its exact text (a string, so
//! no name the event repeats is repeated in the export), so an export reads back into
//! the same events ([`crate::auditlog::ocsf`]). The change's summary, its findings and the
//! analyst's star, tags and comments are `enrichments`. No attribute is ever `null`: an
//! absent value leaves its key out, as OCSF requires.

use std::net::IpAddr;

use serde::Deserialize;
use serde_json_lenient::value::RawValue;

use super::NotedEvent;
use crate::digest::{AttributionView, BodyView, DataView, summary};
use crate::json::{self, Map, Value};
use crate::model::ChangeKind;

/// The OCSF schema version every exported event follows (`metadata.version`).
pub const OCSF_VERSION: &str = "1.1.0";
/// API Activity, in Application Activity (6).
pub const API_ACTIVITY: u32 = 6003;
/// Authentication, in Identity & Access Management (3).
pub const AUTHENTICATION: u32 = 3002;
/// `unmapped`'s member holding Tideline's own event without its raw record.
pub const TIDELINE_EVENT: &str = "tideline_event";
/// `metadata.product.name` (and `vendor_name`) of Tideline's exports.
pub const PRODUCT: &str = "Tideline";

/// The OCSF class and activity of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Activity {
    class_uid: u32,
    activity_id: u32,
    activity_name: &'static str,
    /// A refused call: `status_id` 2 Failure.
    failed: bool,
}

impl Activity {
    /// From the contract's CloudEvents `type` (`com.opshelm.asset.update`,
    /// `com.opshelm.activity.sign_in`); any other type is API Activity "Other".
    fn of(change: Option<ChangeKind>, event_type: &str) -> Activity {
        let api = |activity_id, activity_name| Activity {
            class_uid: API_ACTIVITY,
            activity_id,
            activity_name,
            failed: false,
        };
        match (change, event_type.strip_prefix("com.opshelm.activity.")) {
            (Some(ChangeKind::Create), _) => api(1, "Create"),
            (Some(ChangeKind::Update), _) => api(3, "Update"),
            (Some(ChangeKind::Delete), _) => api(4, "Delete"),
            (None, Some("read")) => api(2, "Read"),
            (None, Some("sign_in")) => Activity {
                class_uid: AUTHENTICATION,
                activity_id: 1,
                activity_name: "Logon",
                failed: false,
            },
            (None, Some("denied")) => Activity {
                failed: true,
                ..api(99, "Other")
            },
            _ => api(99, "Other"),
        }
    }

    fn class_name(self) -> &'static str {
        match self.class_uid {
            AUTHENTICATION => "Authentication",
            _ => "API Activity",
        }
    }

    fn category(self) -> (u32, &'static str) {
        match self.class_uid {
            AUTHENTICATION => (3, "Identity & Access Management"),
            _ => (6, "Application Activity"),
        }
    }
}

/// The outline of a body: `data`'s exact text.
#[derive(Deserialize)]
struct BodyOutline<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

/// The outline of `data`: `raw`'s exact text.
#[derive(Deserialize)]
struct DataOutline<'a> {
    #[serde(borrow)]
    raw: Option<&'a RawValue>,
}

/// One OCSF event: its members, and its two large texts kept as text, so no export decodes
/// and encodes them again — the provider's record (`raw_data`) and Tideline's event without
/// that record (`unmapped.tideline_event`, the text of a JSON object, written as a string).
pub(super) struct OcsfEvent {
    /// Every member but `raw_data` and `unmapped`: a JSON object.
    pub(super) members: Value,
    pub(super) raw_data: Option<String>,
    pub(super) tideline_event: String,
}

impl OcsfEvent {
    /// The whole OCSF event as one line of JSON (no line break).
    pub(super) fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json_lenient::Error> {
        serde_json_lenient::to_writer(&mut *out, &self.members)?;
        // `members` is an object with members: its `}` becomes `,…}`.
        out.pop();
        if let Some(raw) = &self.raw_data {
            out.extend_from_slice(b",\"raw_data\":");
            serde_json_lenient::to_writer(&mut *out, raw)?;
        }
        out.extend_from_slice(b",\"unmapped\":{\"");
        out.extend_from_slice(TIDELINE_EVENT.as_bytes());
        out.extend_from_slice(b"\":");
        serde_json_lenient::to_writer(&mut *out, &self.tideline_event)?;
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// The provider's record exactly as the event carried it (`None` without one, or when it is
/// `null`), and the event's own text without it. The record's member is cut out of the text
/// (`,"raw":…` or `"raw":…,`), so both stay byte for byte what arrived. A body the cut cannot read plainly (a
/// name written twice, an escaped `"raw"`) is read under the one parse policy and written
/// compact instead: the same meaning.
fn split_raw(body: &str) -> (Option<String>, String) {
    if let Some(split) = cut_raw(body) {
        return split;
    }
    let mut tree = json::parse_or_null(body);
    let raw = tree
        .get_mut("data")
        .and_then(Value::as_object_mut)
        .and_then(|data| data.remove("raw"))
        .filter(|raw| !raw.is_null());
    (raw.map(|raw| raw.to_string()), tree.to_string())
}

fn cut_raw(body: &str) -> Option<(Option<String>, String)> {
    let outline: BodyOutline<'_> = json::parse_outline(body).ok()?;
    let Some(data) = outline.data else {
        return Some((None, body.to_owned()));
    };
    let data_outline: DataOutline<'_> = json::parse_outline(data.get()).ok()?;
    let raw = match data_outline.raw {
        Some(raw) if raw.get() != "null" => raw.get(),
        _ => return Some((None, body.to_owned())),
    };
    // Byte offsets of the record's value inside `body` (both are slices of it).
    let value_start = raw.as_ptr() as usize - body.as_ptr() as usize;
    let value_end = value_start + raw.len();
    let bytes = body.as_bytes();
    let skip_back = |mut at: usize| {
        while at > 0 && bytes[at - 1].is_ascii_whitespace() {
            at -= 1;
        }
        at
    };
    let skip_on = |mut at: usize| {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    let colon = skip_back(value_start);
    if colon == 0 || bytes[colon - 1] != b':' {
        return None;
    }
    let name_end = skip_back(colon - 1);
    let name_start = name_end.checked_sub(5)?;
    if &body[name_start..name_end] != "\"raw\"" {
        return None;
    }
    let before = skip_back(name_start);
    let (cut_start, cut_end) = match bytes.get(before.checked_sub(1)?) {
        // `…,"raw":RAW` → `…`
        Some(b',') => (before - 1, value_end),
        // `{"raw":RAW, …` → `{…`, or `{"raw":RAW}` → `{}`
        Some(b'{') => {
            let after = skip_on(value_end);
            match bytes.get(after) {
                Some(b',') => (name_start, after + 1),
                _ => (name_start, value_end),
            }
        }
        _ => return None,
    };
    let without = format!("{}{}", &body[..cut_start], &body[cut_end..]);
    Some((Some(raw.to_owned()), without))
}

/// The OCSF event for `noted`. `product_version` is Tideline's version.
pub(super) fn event(noted: &NotedEvent, product_version: &str) -> OcsfEvent {
    let event = &noted.event;
    let view = BodyView::read(&event.body);
    let (raw_data, tideline_event) = split_raw(&event.body);
    let BodyView { time, data } = view;
    let DataView {
        config,
        previous_config,
        changed_part,
        asset,
        attribution,
        raw,
    } = data;
    let raw = raw.map_or(Value::Null, |raw| Value::Object(raw.members));
    let provider = Provider::of(event.asset_provider.as_deref(), &raw);
    let mut activity = Activity::of(event.change, &event.event_type);
    if activity.class_uid == API_ACTIVITY
        && activity.failed
        && event.action.as_deref().is_some_and(is_sign_in_call)
    {
        // A refused sign-in is a failed logon, where a search for failed logons looks.
        activity = Activity::of(None, "com.opshelm.activity.sign_in");
        activity.failed = true;
    }
    if activity.class_uid == AUTHENTICATION && provider.error(&raw).is_some() {
        // CloudTrail records a failed console sign-in as ConsoleLogin with an error message.
        activity.failed = true;
    }

    let mut out = Members::default();
    let (category_uid, category_name) = activity.category();
    out.int("activity_id", activity.activity_id);
    out.text("activity_name", activity.activity_name);
    out.int("category_uid", category_uid);
    out.text("category_name", category_name);
    out.int("class_uid", activity.class_uid);
    out.text("class_name", activity.class_name());
    let type_uid = i64::from(activity.class_uid) * 100 + i64::from(activity.activity_id);
    out.int("type_uid", type_uid);
    out.text(
        "type_name",
        &format!("{}: {}", activity.class_name(), activity.activity_name),
    );
    out.int("time", event.time.timestamp_millis());
    let severity = severity(noted);
    out.int("severity_id", severity.0);
    out.text("severity", severity.1);
    let (status_id, status) = if activity.failed {
        (2, "Failure")
    } else {
        (1, "Success")
    };
    out.int("status_id", status_id);
    out.text("status", status);
    if let Some(detail) = provider.error(&raw) {
        out.text("status_detail", &detail);
    }
    let summary = summary(event.change, config, previous_config, changed_part);
    out.text("message", &message(noted, &summary));
    out.object(
        "metadata",
        metadata(noted, time.as_deref(), product_version),
    );

    let user = user(event, &attribution, &raw);
    let mut actor = Members::default();
    actor.object_if("user", user.clone());
    if let Some(issuer) = event.assumed_role.as_deref() {
        let mut session = Members::default();
        session.text("issuer", issuer);
        session.text_if("uid", attribution.assumed_id.as_deref());
        actor.object("session", session);
    }
    if activity.class_uid == AUTHENTICATION {
        // OCSF requires the signed-in user: an unnamed one is said to be unknown.
        out.object(
            "user",
            user.unwrap_or_else(|| {
                let mut unknown = Members::default();
                unknown.text("name", "unknown");
                unknown.int("type_id", 0);
                unknown.text("type", "Unknown");
                unknown
            }),
        );
        let mut service = Members::default();
        service.text(
            "name",
            provider
                .service(&raw)
                .as_deref()
                .unwrap_or(provider.sign_in_service()),
        );
        out.object("service", service);
    }
    if actor.is_empty() {
        // OCSF wants an actor with at least a user, a session, a process or an invoker.
        actor.text("invoked_by", "unknown");
    }
    out.object("actor", actor);

    let mut api = Members::default();
    api.text(
        "operation",
        event.action.as_deref().unwrap_or(activity.activity_name),
    );
    if let Some(service) = provider.service(&raw) {
        let mut named = Members::default();
        named.text("name", &service);
        api.object("service", named);
    }
    if let Some(request) = provider.request_id(&raw) {
        let mut request_object = Members::default();
        request_object.text("uid", &request);
        api.object("request", request_object);
    }
    out.object("api", api);

    out.object("src_endpoint", src_endpoint(event, &attribution));
    if let Some(agent) = attribution.user_agent.as_deref() {
        let mut http = Members::default();
        http.text("user_agent", agent);
        out.object("http_request", http);
    }
    if let Some(resource) = resource(event, asset.provider_id.as_deref()) {
        out.value("resources", Value::Array(vec![resource]));
    }
    let mut cloud = Members::default();
    cloud.text(
        "provider",
        provider.ocsf_name(event.asset_provider.as_deref()),
    );
    if let Some(account) = event.asset_account.as_deref().filter(|a| !a.is_empty()) {
        cloud.object("account", account_object(account, provider));
    }
    cloud.text_if("region", event.asset_region.as_deref());
    out.object("cloud", cloud);

    let enrichments = enrichments(noted, summary);
    if !enrichments.is_empty() {
        out.value("enrichments", Value::Array(enrichments));
    }
    OcsfEvent {
        members: Value::Object(out.0),
        raw_data,
        tideline_event,
    }
}

/// The provider operations that are sign-ins (CloudTrail `ConsoleLogin`; Entra ID / Azure
/// `Sign-in activity`; Google `login`).
fn is_sign_in_call(action: &str) -> bool {
    matches!(action, "ConsoleLogin" | "Sign-in activity")
        || action.eq_ignore_ascii_case("login")
        || action.ends_with(".login")
}

/// The event's severity: its most severe finding's, else Informational.
fn severity(noted: &NotedEvent) -> (u8, &'static str) {
    noted
        .findings
        .iter()
        .map(|mark| match mark.severity.as_str() {
            "high" => (4, "High"),
            "medium" => (3, "Medium"),
            _ => (2, "Low"),
        })
        .max()
        .unwrap_or((1, "Informational"))
}

/// What the change list says of it: "arn:…:user/jdoe: AuthorizeSecurityGroupIngress on
/// prod-db-sg: added …".
fn message(noted: &NotedEvent, summary: &str) -> String {
    let event = &noted.event;
    let what = event.action.as_deref().unwrap_or(&event.event_type);
    let on = event
        .asset_display
        .as_deref()
        .or(event.asset_name.as_deref());
    let mut message = match on {
        Some(asset) => format!("{what} on {asset}"),
        None => what.to_owned(),
    };
    if let Some(principal) = event.principal.as_deref() {
        message = format!("{principal}: {message}");
    }
    if !summary.is_empty() {
        message.push_str(": ");
        message.push_str(summary);
    }
    message
}

fn metadata(noted: &NotedEvent, original_time: Option<&str>, product_version: &str) -> Members {
    let event = &noted.event;
    let mut product = Members::default();
    product.text("name", PRODUCT);
    product.text("vendor_name", PRODUCT);
    product.text("version", product_version);
    let mut metadata = Members::default();
    metadata.object("product", product);
    metadata.text("version", OCSF_VERSION);
    metadata.value("profiles", Value::Array(vec![Value::from("cloud")]));
    metadata.text("uid", &event.event_id);
    metadata.text_if("original_time", original_time);
    metadata.text("log_name", &event.event_type);
    metadata.text("log_provider", &event.source);
    metadata
}

/// The principal: uid = its full name (an ARN, an email), name = its last part, type from the
/// provider's identity type where the record gives one, else from the method.
fn user(
    event: &crate::store::StoredEvent,
    attribution: &AttributionView,
    raw: &Value,
) -> Option<Members> {
    let principal = event.principal.as_deref()?;
    let mut user = Members::default();
    user.text("uid", principal);
    let name = principal
        .rsplit(['/', ':'])
        .find(|part| !part.is_empty())
        .unwrap_or(principal);
    user.text("name", name);
    user.text_if("uid_alt", attribution.principal_id.as_deref());
    let identity_type = raw["userIdentity"]["type"].as_str();
    let (type_id, type_name) = match (identity_type, event.method.as_deref()) {
        (Some("Root"), _) => (2, "Root"),
        (Some("AWSService"), _) | (None, Some("provider")) => (3, "System"),
        (Some("IAMUser"), _) => (1, "IAMUser"),
        (Some(other), _) => (99, other),
        (None, _) if principal.contains(":root") => (2, "Root"),
        (None, _) => (1, "User"),
    };
    user.int("type_id", type_id);
    user.text("type", type_name);
    Some(user)
}

/// Where the call came from: `ip` when the source is an address (RFC 5952 text, as stored);
/// otherwise the provider's own name for it (`ec2.amazonaws.com`, `AWS Internal`) as
/// `svc_name`. OCSF requires the endpoint; with nothing known it is `svc_name: "unknown"`.
fn src_endpoint(event: &crate::store::StoredEvent, attribution: &AttributionView) -> Members {
    let mut endpoint = Members::default();
    let stated = attribution.source_ip.as_deref();
    match event.source_ip.as_deref() {
        Some(ip) if ip.parse::<IpAddr>().is_ok() => endpoint.text("ip", ip),
        _ => endpoint.text(
            "svc_name",
            stated.filter(|s| !s.is_empty()).unwrap_or("unknown"),
        ),
    }
    endpoint
}

fn resource(event: &crate::store::StoredEvent, provider_id: Option<&str>) -> Option<Value> {
    let uid = event.asset_name.as_deref()?;
    let mut resource = Members::default();
    resource.text("uid", uid);
    resource.text_if("name", event.asset_display.as_deref().or(provider_id));
    resource.text_if("type", event.asset_type.as_deref());
    resource.text_if("region", event.asset_region.as_deref());
    if let Some(account) = event.asset_account.as_deref().filter(|a| !a.is_empty()) {
        let provider = Provider::of(event.asset_provider.as_deref(), &Value::Null);
        let mut owner = Members::default();
        owner.object("account", account_object(account, provider));
        resource.object("owner", owner);
    }
    Some(Value::Object(resource.0))
}

fn account_object(uid: &str, provider: Provider) -> Members {
    let mut account = Members::default();
    account.text("uid", uid);
    let (type_id, type_name) = match provider {
        Provider::Aws => (10, "AWS Account"),
        Provider::Gcp => (5, "GCP Account"),
        Provider::Azure => (6, "Azure AD Account"),
        Provider::Other => (99, "Other"),
    };
    account.int("type_id", type_id);
    account.text("type", type_name);
    account
}

/// Tideline's own readings of the event: the change's summary, each finding, the analyst's
/// star, tags and comments. Each has OCSF's required `name`, `value` and `data`.
fn enrichments(noted: &NotedEvent, summary: String) -> Vec<Value> {
    let enrichment = |name: &str, value: &str, kind: &str, data: Value| {
        let mut members = Members::default();
        members.text("name", name);
        members.text("value", value);
        members.text("type", kind);
        members.text("provider", PRODUCT);
        members.value("data", data);
        Value::Object(members.0)
    };
    let mut all = Vec::new();
    if !summary.is_empty() {
        let mut changed = Map::new();
        changed.insert("summary".into(), Value::from(summary.clone()));
        all.push(enrichment(
            "changes",
            &summary,
            "tideline.diff",
            Value::Object(changed),
        ));
    }
    for mark in &noted.findings {
        let mut found = Map::new();
        found.insert("rule".into(), Value::from(mark.rule.clone()));
        found.insert("severity".into(), Value::from(mark.severity.clone()));
        all.push(enrichment(
            "finding",
            &mark.rule,
            "tideline.finding",
            Value::Object(found),
        ));
    }
    let notes = &noted.annotations;
    if notes.starred {
        all.push(enrichment(
            "starred",
            "true",
            "tideline.annotation",
            Value::Object(Map::new()),
        ));
    }
    for tag in &notes.tags {
        all.push(enrichment(
            "tag",
            tag,
            "tideline.annotation",
            Value::Object(Map::new()),
        ));
    }
    for comment in &notes.comments {
        let mut when = Map::new();
        when.insert("created_at".into(), Value::from(comment.created_at.clone()));
        all.push(enrichment(
            "comment",
            &comment.body,
            "tideline.annotation",
            Value::Object(when),
        ));
    }
    all
}

/// The cloud provider, for OCSF's names and for where its record keeps a service name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Aws,
    Gcp,
    Azure,
    Other,
}

impl Provider {
    /// From the asset's provider (`aws`, `gcp`, `azure`), else from the record's shape.
    fn of(asset_provider: Option<&str>, raw: &Value) -> Provider {
        match asset_provider.map(str::to_ascii_lowercase).as_deref() {
            Some("aws") => Provider::Aws,
            Some("gcp" | "google") => Provider::Gcp,
            Some("azure") => Provider::Azure,
            _ if raw.get("eventSource").is_some() => Provider::Aws,
            _ if raw.get("protoPayload").is_some() => Provider::Gcp,
            _ if raw.get("operationName").is_some() => Provider::Azure,
            _ => Provider::Other,
        }
    }

    /// `cloud.provider`: "AWS", "GCP", "Azure", else the asset's own word.
    fn ocsf_name(self, asset_provider: Option<&str>) -> &str {
        match self {
            Provider::Aws => "AWS",
            Provider::Gcp => "GCP",
            Provider::Azure => "Azure",
            Provider::Other => asset_provider
                .filter(|p| !p.is_empty())
                .unwrap_or("Unknown"),
        }
    }

    /// The service the call went to, from the provider's record: CloudTrail `eventSource`,
    /// GCP `protoPayload.serviceName`, Azure `resourceProviderName` (or the first part of
    /// `operationName`).
    fn service(self, raw: &Value) -> Option<String> {
        let text = match self {
            Provider::Aws => json::text(&raw["eventSource"]),
            Provider::Gcp => json::text(&raw["protoPayload"]["serviceName"]),
            Provider::Azure => json::text(&raw["resourceProviderName"]["value"])
                .or_else(|| json::text(&raw["resourceProviderName"]))
                .or_else(|| {
                    let operation = &raw["operationName"];
                    json::text(&operation["value"])
                        .or_else(|| json::text(operation))
                        .and_then(|name| name.split('/').next())
                }),
            Provider::Other => None,
        };
        text.filter(|t| !t.is_empty()).map(str::to_owned)
    }

    /// The sign-in service when the record does not name one.
    fn sign_in_service(self) -> &'static str {
        match self {
            Provider::Aws => "signin.amazonaws.com",
            Provider::Gcp => "login.googleapis.com",
            Provider::Azure => "login.microsoftonline.com",
            Provider::Other => "unknown",
        }
    }

    /// The provider's id of the request: CloudTrail `requestID`, GCP `operation.id`, Azure
    /// `correlationId`.
    fn request_id(self, raw: &Value) -> Option<String> {
        let text = match self {
            Provider::Aws => json::text(&raw["requestID"]),
            Provider::Gcp => json::text(&raw["operation"]["id"]),
            Provider::Azure => json::text(&raw["correlationId"]),
            Provider::Other => None,
        };
        text.filter(|t| !t.is_empty()).map(str::to_owned)
    }

    /// Why the provider refused the call: CloudTrail `errorCode: errorMessage`, GCP
    /// `protoPayload.status.message`, Azure `status.value` when it is not a success.
    fn error(self, raw: &Value) -> Option<String> {
        let text = match self {
            Provider::Aws => {
                let code = json::text(&raw["errorCode"]);
                let message = json::text(&raw["errorMessage"]);
                match (code, message) {
                    (Some(code), Some(message)) => return Some(format!("{code}: {message}")),
                    (code, message) => code.or(message),
                }
            }
            Provider::Gcp => json::text(&raw["protoPayload"]["status"]["message"]),
            Provider::Azure => json::text(&raw["status"]["value"])
                .filter(|status| !status.eq_ignore_ascii_case("succeeded")),
            Provider::Other => None,
        };
        text.filter(|t| !t.is_empty()).map(str::to_owned)
    }
}

/// An OCSF object being built: members are added only with a value, never `null`.
#[derive(Default, Clone)]
struct Members(Map<String, Value>);

impl Members {
    fn text(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), Value::from(value));
    }

    fn text_if(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.text(name, value);
        }
    }

    fn int(&mut self, name: &str, value: impl Into<i64>) {
        self.0.insert(name.to_owned(), Value::from(value.into()));
    }

    fn value(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_owned(), value);
    }

    fn object(&mut self, name: &str, members: Members) {
        self.value(name, Value::Object(members.0));
    }

    fn object_if(&mut self, name: &str, members: Option<Members>) {
        if let Some(members) = members {
            self.object(name, members);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use tempfile::TempDir;

    use super::*;
    use crate::export::{ExportFormat, export};
    use crate::store::Session;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name)
    }

    /// Every line of an OCSF JSON export of `session`, parsed.
    fn exported(session: &Session) -> Vec<Value> {
        let mut out = Vec::new();
        export(
            session,
            ExportFormat::OcsfJson,
            None,
            &mut out,
            &mut |_, _| true,
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| json::parse(line).unwrap())
            .collect()
    }

    fn assert_no_null(value: &Value, path: &str) {
        match value {
            Value::Null => panic!("null at {path}"),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    assert_no_null(item, &format!("{path}[{i}]"));
                }
            }
            Value::Object(members) => {
                for (name, member) in members {
                    if name != "unmapped" {
                        assert_no_null(member, &format!("{path}.{name}"));
                    }
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_firewall_change_says_what_who_where_and_keeps_the_record_verbatim() {
        let dir = TempDir::new().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let body = std::fs::read_to_string(fixture("update.json")).unwrap();
        let frame = crate::model::PositionedFrame {
            frame: crate::wire::decode_frame(body.clone()),
            sse_id: None,
            received_at: Utc::now(),
        };
        assert_eq!(session.write_batch(&[frame]).unwrap().stored, 1);
        session.set_starred(1, true, Utc::now()).unwrap();
        session.add_tag(1, "=cmd|' /C calc'!A0").unwrap();
        session
            .add_comment(1, "vendor access?", Utc::now())
            .unwrap();
        let events = exported(&session);
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event["class_uid"], 6003);
        assert_eq!(event["activity_id"], 3);
        assert_eq!(event["type_uid"], 600303);
        assert_eq!(event["time"], 1714917663712_i64);
        assert_eq!(event["metadata"]["uid"], "01HX0000000000000000000007");
        assert_eq!(
            event["metadata"]["original_time"],
            "2024-05-05T14:01:03.712Z"
        );
        assert_eq!(event["metadata"]["version"], OCSF_VERSION);
        let user = &event["actor"]["user"];
        assert_eq!(user["uid"], "arn:aws:iam::123456789012:user/jdoe");
        assert_eq!(user["name"], "jdoe");
        assert_eq!(user["type_id"], 1);
        assert_eq!(event["src_endpoint"]["ip"], "198.51.100.23");
        assert!(
            event["http_request"]["user_agent"]
                .as_str()
                .unwrap()
                .starts_with("Mozilla/5.0")
        );
        assert_eq!(event["api"]["operation"], "AuthorizeSecurityGroupIngress");
        assert_eq!(event["api"]["service"]["name"], "ec2.amazonaws.com");
        let resource = &event["resources"][0];
        assert_eq!(
            resource["uid"],
            "ohn:aws:123456789012:us-east-1:network-firewall:sg-0db5e1c2a3b4c5d6e"
        );
        assert_eq!(resource["name"], "prod-db-sg");
        assert_eq!(resource["type"], "network.firewall");
        assert_eq!(resource["owner"]["account"]["uid"], "123456789012");
        assert_eq!(event["cloud"]["provider"], "AWS");
        assert_eq!(event["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(event["cloud"]["region"], "us-east-1");
        // The provider's record byte for byte: the fixture's own text of `data.raw`.
        let start = body.find("\"raw\": ").unwrap() + "\"raw\": ".len();
        let raw = event["raw_data"].as_str().unwrap();
        assert!(body[start..].starts_with(raw), "{raw}");
        assert_eq!(
            json::parse(raw).unwrap()["eventName"],
            "AuthorizeSecurityGroupIngress"
        );
        // Tideline's readings and the analyst's notes, each an enrichment.
        let enrichments: Vec<(String, String)> = event["enrichments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            enrichments
                .iter()
                .any(|(name, value)| name == "changes" && value.contains("203.0.113.66/32")),
            "{enrichments:?}"
        );
        for expected in [
            ("starred", "true"),
            ("tag", "=cmd|' /C calc'!A0"),
            ("comment", "vendor access?"),
        ] {
            assert!(
                enrichments
                    .iter()
                    .any(|(n, v)| (n.as_str(), v.as_str()) == expected),
                "{expected:?} in {enrichments:?}"
            );
        }
        // Tideline's event without its record, for the round trip.
        let kept = json::parse(event["unmapped"][TIDELINE_EVENT].as_str().unwrap()).unwrap();
        assert_eq!(kept["id"], "01HX0000000000000000000007");
        assert!(kept["data"]["config"].is_object());
        assert!(kept["data"].get("raw").is_none());
        assert_no_null(event, "");
    }

    #[test]
    fn the_record_is_cut_out_verbatim_and_the_rest_means_what_the_event_meant() {
        for body in [
            r#"{"id":"1","data":{"raw":{"a" : 1.50},"asset":{"name":"x"}}}"#,
            r#"{"id":"1","data":{"asset":{"name":"x"},"raw":{"a" : 1.50}}}"#,
            "{\"id\":\"1\",\n\"data\":{\n  \"raw\" :\n {\"a\":\n 1.50}\n}}",
            r#"{"id":"1","data":{"raw":{"a":1.50}}}"#,
            r#"{"id":"1","data":{"raw":null,"asset":{}}}"#,
            r#"{"id":"1","data":{"asset":{}}}"#,
            r#"{"id":"1"}"#,
            // Read under the parse policy instead: an escaped name, a name written twice.
            r#"{"id":"1","data":{"raw":{"a":1.50},"asset":{}}}"#,
            r#"{"id":"1","data":{"raw":{"a":2},"raw":{"a":1.50}}}"#,
            r#"{"id":"1","data":{"raw":{"a":1.50}},"data":{"raw":{"a":1.50},"x":1}}"#,
        ] {
            let (raw, rest) = split_raw(body);
            let mut expected = json::parse(body).unwrap();
            let expected_raw = expected["data"]
                .as_object_mut()
                .and_then(|data| data.remove("raw"))
                .filter(|raw| !raw.is_null());
            match (&raw, &expected_raw) {
                (Some(raw), Some(expected_raw)) => {
                    assert_eq!(&json::parse(raw).unwrap(), expected_raw, "{body}");
                    assert_eq!(expected_raw["a"].to_string(), "1.50");
                }
                (None, None) => {}
                _ => panic!("{body}: {raw:?} vs {expected_raw:?}"),
            }
            let mut rest = json::parse(&rest).unwrap();
            if let Some(data) = rest["data"].as_object_mut() {
                data.remove("raw");
            }
            assert_eq!(rest, expected, "{body}");
        }
        let verbatim = r#"{"data":{"x":1, "raw":{"b" :  [1, 2]}}}"#;
        assert_eq!(split_raw(verbatim).0.as_deref(), Some(r#"{"b" :  [1, 2]}"#));
        assert_eq!(split_raw(verbatim).1, r#"{"data":{"x":1}}"#);
    }

    #[test]
    fn sign_ins_are_authentication_refusals_fail_and_a_service_source_is_no_address() {
        let dir = TempDir::new().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        for logs in [
            "auditlog/cloudtrail/seed-story",
            "auditlog/cloudtrail/awsdocs",
        ] {
            crate::import::import_path(&mut session, &fixture(logs), None, &mut |_, _| true)
                .unwrap();
        }
        let events = exported(&session);
        // AWS's own example of a failed console sign-in is a failed logon, not a success.
        let failed_logons: Vec<&Value> = events
            .iter()
            .filter(|e| e["class_uid"] == AUTHENTICATION && e["status_id"] == 2)
            .collect();
        assert!(!failed_logons.is_empty());
        for event in failed_logons {
            assert_eq!(event["api"]["operation"], "ConsoleLogin", "{event}");
            assert_eq!(event["status"], "Failure");
        }
        let of_type = |kind: &str| {
            events
                .iter()
                .filter(|e| e["metadata"]["log_name"] == kind)
                .collect::<Vec<_>>()
        };
        let sign_ins = of_type("com.opshelm.activity.sign_in");
        assert!(!sign_ins.is_empty());
        for event in sign_ins {
            if event["status_id"] == 1 {
                assert!(event.get("status_detail").is_none(), "{event}");
            }
            assert_eq!(event["class_uid"], AUTHENTICATION);
            assert_eq!(event["type_uid"], 300201);
            assert!(event["user"]["uid"].is_string(), "{event}");
            assert_eq!(event["service"]["name"], "signin.amazonaws.com");
        }
        let refused = of_type("com.opshelm.activity.denied");
        assert!(!refused.is_empty());
        for event in refused {
            assert_eq!(event["status_id"], 2);
            // Why it was refused: AccessDenied, TrailNotFoundException, …
            assert!(
                event["status_detail"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{event}"
            );
        }
        for event in &events {
            assert_no_null(event, "");
            let endpoint = &event["src_endpoint"];
            match endpoint["ip"].as_str() {
                Some(ip) => assert!(ip.parse::<IpAddr>().is_ok(), "{ip}"),
                None => assert!(endpoint["svc_name"].is_string(), "{event}"),
            }
            let class = event["class_uid"].as_i64().unwrap();
            let activity = event["activity_id"].as_i64().unwrap();
            assert_eq!(event["type_uid"].as_i64().unwrap(), class * 100 + activity);
        }
    }
}
