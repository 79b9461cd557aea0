//! timeline: the read models of the incident view — filtered pages of changes, facet counts,
//! one change in detail (who, what changed, associations, raw event) and an asset's history.
//!
//! Everything a screen shows is decided here, as plain strings: the UI renders, it does not
//! compute. Values from events stay text; nothing here interprets them as markup.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::attribution::{
    classifier_of, method_reason, principal_account, principal_short, role_of_session,
};
use crate::detect::Finding;
use crate::diff::{self, ChangeOp, Fold, SideBySideRow, canonical_compact, canonical_pretty};
use crate::json::{self, Value};
use crate::model::ChangeKind;
use crate::store::{Annotations, Session, StoreError, StoredEvent, format_time};

// The query types are the store's (it is asked with them), re-exported beside the read models
// that take them.
pub use crate::store::{Facet, PageCursor, PageStart, TimelineQuery};

/// The most rows one page may ask for.
const PAGE_LIMIT_MAX: u64 = 1_000;
/// How far a page's filtered total is counted (the exact figure comes with the facets).
pub const TOTAL_CAP: u64 = 10_000;
/// The most values a facet lists.
const FACET_VALUES: u64 = 50;
/// How much of a quarantined frame the view shows.
const QUARANTINE_PREVIEW_BYTES: usize = 2_048;

/// One change in the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangeRow {
    pub seq: i64,
    /// RFC 3339 UTC.
    pub time: String,
    /// This row's place in the list: the next page starts after it.
    pub cursor: PageCursor,
    pub change: Option<ChangeKind>,
    pub event_type: String,
    pub asset_name: Option<String>,
    /// The display name, else the provider's short id, else the last part of the asset name.
    pub asset_label: String,
    pub asset_type: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub principal_short: Option<String>,
    pub method: Option<String>,
    pub source_ip: Option<String>,
    /// What changed, on one line.
    pub summary: String,
    pub starred: bool,
    /// The analyst's tags on this event.
    pub tags: Vec<String>,
    pub comment_count: u32,
    /// The rules whose findings include this event.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangePage {
    /// Newest first.
    pub rows: Vec<ChangeRow>,
    /// How many changes match the query in all; when `total_is_lower_bound`, at least this many
    /// (a filtered total is counted up to [`TOTAL_CAP`] with the page; [`Facets::total`] is the
    /// exact figure).
    pub total: u64,
    pub total_is_lower_bound: bool,
    /// Where the next page starts (the last row's place), when this page was full.
    pub next: Option<PageCursor>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FacetCount {
    /// The filter value (a principal group's ends in `/*`: every session of the role).
    pub value: String,
    pub label: String,
    pub count: u64,
    /// A group's own values, most changes first (at most [`GROUP_MEMBERS`]); empty otherwise.
    pub members: Vec<FacetCount>,
}

/// The most members of a group a facet lists (the group's own value filters all of them).
pub const GROUP_MEMBERS: usize = 100;

/// Counts per value under the current query, each facet without its own filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Facets {
    pub change: Vec<FacetCount>,
    pub asset_type: Vec<FacetCount>,
    pub method: Vec<FacetCount>,
    pub principal: Vec<FacetCount>,
    pub region: Vec<FacetCount>,
    pub account: Vec<FacetCount>,
    /// The analyst's tags, over the whole session.
    pub tag: Vec<FacetCount>,
    /// How many events the analyst starred, over the whole session.
    pub starred: u64,
    /// How many changes match the query (exact).
    pub total: u64,
}

/// Who made a change, how and from where.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Who {
    pub principal: Option<String>,
    pub principal_short: Option<String>,
    pub principal_id: Option<String>,
    pub assumed_role: Option<String>,
    pub assumed_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub method: Option<String>,
    pub method_reason: String,
}

/// One field change, its values already rendered as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldChangeView {
    pub path: String,
    #[cfg_attr(feature = "ts", ts(type = "\"added\" | \"removed\" | \"changed\""))]
    pub op: ChangeOp,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Association {
    pub name: String,
    pub asset_type: Option<String>,
    pub relation: Option<String>,
    pub label: String,
    /// The session has events of this asset.
    pub known: bool,
}

/// A whole configuration shown as it is: a create's new one, a delete's last known one, or
/// (`requested`) what a call asked for when the configuration after it is unknown (events
/// normalized from audit logs: `data.requested_change`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigView {
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"new\" | \"deleted\" | \"previous\" | \"current\" | \"requested\"")
    )]
    pub label: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangeDetail {
    pub row: ChangeRow,
    pub who: Who,
    pub changes: Vec<FieldChangeView>,
    pub unified: Option<String>,
    pub side_by_side: Vec<SideBySideRow>,
    /// The unchanged runs of `side_by_side` a view folds (expandable).
    pub side_by_side_folds: Vec<Fold>,
    pub config: Option<ConfigView>,
    /// Why there is no diff, when there is none.
    pub diff_note: Option<String>,
    pub associations: Vec<Association>,
    /// The provider's own event, pretty-printed.
    pub raw_text: Option<String>,
    /// The asset's provider tags (not the analyst's: see `annotations`).
    pub asset_tags: Vec<(String, String)>,
    pub annotations: Annotations,
    /// The findings that include this change, most severe first.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub row: ChangeRow,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuarantineEntry {
    pub id: i64,
    pub received_at: String,
    pub reason: String,
    pub sse_id: Option<String>,
    /// The first bytes of the frame as text (invalid UTF-8 replaced).
    pub raw_preview: String,
    pub raw_len: u64,
}

/// A page of changes, newest first.
pub fn list_changes(
    session: &Session,
    query: &TimelineQuery,
    start: PageStart,
    limit: u64,
) -> Result<ChangePage, StoreError> {
    let limit = limit.min(PAGE_LIMIT_MAX);
    let events = session.page_changes(query, start, limit)?;
    let next = (events.len() as u64 == limit && limit > 0)
        .then(|| events.last().map(StoredEvent::cursor))
        .flatten();
    let rows = annotated_rows(session, &events)?;
    let (total, exact) = session.count_changes_up_to(query, TOTAL_CAP)?;
    Ok(ChangePage {
        rows,
        total,
        total_is_lower_bound: !exact,
        next,
    })
}

/// The `limit` most frequent values of `facet` under `query`, each with its label.
pub(crate) fn facet_values(
    session: &Session,
    query: &TimelineQuery,
    facet: Facet,
    label: fn(&str) -> String,
    limit: u64,
) -> Result<Vec<FacetCount>, StoreError> {
    Ok(session
        .facet_counts(query, facet, limit)?
        .into_iter()
        .map(|(value, count)| FacetCount {
            label: label(&value),
            value,
            count,
            members: Vec::new(),
        })
        .collect())
}

/// The principals under `query`, most changes first, as people know them: the sessions of one
/// role (`terraform-ci/gh-actions-NNNN`…) as one entry with its sessions as members, and a
/// short name that two principals share shown with each one's account. At most `limit`.
pub(crate) fn principal_counts(
    session: &Session,
    query: &TimelineQuery,
    limit: u64,
) -> Result<Vec<FacetCount>, StoreError> {
    let all = session.facet_counts(query, Facet::Principal, u64::MAX)?;
    Ok(grouped_principals(all, limit))
}

/// [`principal_counts`] of counted principals.
fn grouped_principals(counts: Vec<(String, u64)>, limit: u64) -> Vec<FacetCount> {
    let single = |value: String, count: u64| FacetCount {
        label: principal_short(&value),
        value,
        count,
        members: Vec::new(),
    };
    let mut roles: BTreeMap<String, (String, Vec<FacetCount>)> = BTreeMap::new();
    let mut out = Vec::new();
    for (value, count) in counts {
        match role_of_session(&value) {
            Some((group, role)) => roles
                .entry(group)
                .or_insert_with(|| (role, Vec::new()))
                .1
                .push(single(value, count)),
            None => out.push(single(value, count)),
        }
    }
    for (group, (role, mut members)) in roles {
        if members.len() == 1 {
            out.extend(members);
            continue;
        }
        members.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let sessions = members.len();
        let count = members.iter().map(|member| member.count).sum();
        members.truncate(GROUP_MEMBERS);
        out.push(FacetCount {
            label: format!("{role} · {sessions} sessions"),
            value: group,
            count,
            members,
        });
    }
    disambiguate(&mut out);
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(limit.min(usize::MAX as u64) as usize);
    out
}

/// Two entries with one label (`jdoe` in two accounts) are each shown with their account.
fn disambiguate(entries: &mut [FacetCount]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for entry in entries.iter() {
        *seen.entry(entry.label.clone()).or_default() += 1;
    }
    for entry in entries.iter_mut() {
        if seen.get(&entry.label).is_some_and(|n| *n > 1)
            && let Some(account) = principal_account(&entry.value)
        {
            entry.label = format!("{} ({account})", entry.label);
        }
    }
}

pub fn facets(session: &Session, query: &TimelineQuery) -> Result<Facets, StoreError> {
    let listed = [
        Facet::Change,
        Facet::AssetType,
        Facet::Method,
        Facet::Principal,
        Facet::Region,
        Facet::Account,
    ];
    // Every principal is counted (their sessions are grouped before the top ones are taken).
    let (mut counts, total) = session.facets_and_total(query, &listed, u64::MAX)?;
    let principal = grouped_principals(
        counts.remove(&Facet::Principal).unwrap_or_default(),
        FACET_VALUES,
    );
    let mut take = |facet: Facet, label: fn(&str) -> String| -> Vec<FacetCount> {
        counts
            .remove(&facet)
            .unwrap_or_default()
            .into_iter()
            .take(FACET_VALUES as usize)
            .map(|(value, count)| FacetCount {
                label: label(&value),
                value,
                count,
                members: Vec::new(),
            })
            .collect()
    };
    let same = |value: &str| value.to_owned();
    Ok(Facets {
        change: take(Facet::Change, same),
        asset_type: take(Facet::AssetType, same),
        method: take(Facet::Method, same),
        principal,
        region: take(Facet::Region, same),
        account: take(Facet::Account, same),
        tag: session
            .tag_counts()?
            .into_iter()
            .map(|(value, count)| FacetCount {
                label: value.clone(),
                value,
                count,
                members: Vec::new(),
            })
            .collect(),
        starred: session.starred_count()?,
        total,
    })
}

/// Everything about one change, or `None` if there is no event `seq`.
pub fn change_detail(session: &Session, seq: i64) -> Result<Option<ChangeDetail>, StoreError> {
    let Some(event) = session.event_by_seq(seq)? else {
        return Ok(None);
    };
    let body = parse_body(&event);
    let data = &body["data"];
    let present = |value: &Value| -> Option<Value> { Some(value.clone()).filter(|v| !v.is_null()) };
    let config = present(&data["config"]);
    let previous = present(&data["previous_config"]);
    let requested = present(&data["requested_change"]);
    let part = &data["changed_part"];
    let changed_part = (part["before"].is_object() && part["after"].is_object())
        .then(|| (part["before"].clone(), part["after"].clone()));

    let mut detail = ChangeDetail {
        row: annotated_rows(session, std::slice::from_ref(&event))?.remove(0),
        who: who(&event, data),
        changes: Vec::new(),
        unified: None,
        side_by_side: Vec::new(),
        side_by_side_folds: Vec::new(),
        config: None,
        diff_note: None,
        associations: associations(session, data)?,
        raw_text: present(&data["raw"]).map(|raw| canonical_pretty(&raw)),
        asset_tags: tags(&data["asset"]["tags"]),
        annotations: session.annotations(seq)?,
        findings: session.findings_of_event(seq)?,
    };
    let view = |label, value: &Value| {
        Some(ConfigView {
            label,
            text: canonical_pretty(value),
        })
    };
    let diff_into = |detail: &mut ChangeDetail, before: &Value, after: &Value| {
        let diff = diff::diff_configs(Some(before), Some(after));
        detail.changes = diff.changes.into_iter().map(field_change_view).collect();
        detail.unified = Some(diff.unified).filter(|text| !text.is_empty());
        detail.side_by_side = diff.side_by_side;
        detail.side_by_side_folds = diff.side_by_side_folds;
    };
    match (event.change, &previous, &config) {
        // From an audit log, configuration unknown: the part the call proves, or what it asked.
        (Some(ChangeKind::Update), None, None) if changed_part.is_some() => {
            if let Some((before, after)) = &changed_part {
                diff_into(&mut detail, before, after);
            }
            detail.diff_note = Some(
                "the configuration before this call is unknown: showing only the part the call changed"
                    .into(),
            );
        }
        (Some(_), _, None) if requested.is_some() && event.change != Some(ChangeKind::Delete) => {
            if let Some(requested) = &requested {
                detail.config = view("requested", requested);
            }
            detail.diff_note = Some(
                "the configuration after this call is unknown: showing what the call requested"
                    .into(),
            );
        }
        (Some(ChangeKind::Create), _, Some(config)) => detail.config = view("new", config),
        (Some(ChangeKind::Delete), Some(previous), _) => detail.config = view("deleted", previous),
        (Some(ChangeKind::Delete), None, _) => {
            detail.diff_note = Some("the stream did not include the deleted configuration".into());
        }
        (Some(ChangeKind::Update), Some(previous), Some(config)) => {
            diff_into(&mut detail, previous, config);
            if detail.changes.is_empty() {
                detail.diff_note = Some("the configuration did not change".into());
            }
        }
        (Some(ChangeKind::Update), None, Some(config)) => {
            detail.config = view("current", config);
            detail.diff_note =
                Some("previous configuration unknown: showing the current one".into());
        }
        (Some(ChangeKind::Update), Some(previous), None) => {
            detail.config = view("previous", previous);
            detail.diff_note = Some("new configuration missing: showing the previous one".into());
        }
        (Some(_), _, _) => detail.diff_note = Some("the event carries no configuration".into()),
        (None, _, _) => detail.diff_note = Some("not an asset change".into()),
    }
    Ok(Some(detail))
}

/// One asset's events, newest first: `limit` of them (at most 1,000), older than `before`.
pub fn asset_history(
    session: &Session,
    asset_name: &str,
    before: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let events = session.asset_events(asset_name, before, limit.min(PAGE_LIMIT_MAX))?;
    Ok(annotated_rows(session, &events)?
        .into_iter()
        .map(|row| HistoryEntry { row })
        .collect())
}

/// An asset as it was right after one event of its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssetState {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: i64,
    /// The event's time, RFC 3339 UTC.
    pub time: String,
    pub change: Option<ChangeKind>,
    /// Its configuration after that event, pretty-printed; `None` when deleted or unknown.
    pub config: Option<String>,
    /// Why there is no configuration: "deleted", or what the event lacked.
    pub note: Option<String>,
}

/// An asset at two points of its history and what changed between them (older first).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AssetComparison {
    pub from: AssetState,
    pub to: AssetState,
    pub changes: Vec<FieldChangeView>,
    pub unified: Option<String>,
    pub side_by_side: Vec<SideBySideRow>,
    /// The unchanged runs of `side_by_side` a view folds (expandable).
    pub side_by_side_folds: Vec<Fold>,
    /// Why there is no diff, when there is none.
    pub diff_note: Option<String>,
}

/// The configuration an event leaves its asset in: the new one of a create or an update, none
/// after a delete; `Err` says why it is unknown.
fn state_after(event: &StoredEvent) -> Result<Option<Value>, &'static str> {
    let body = parse_body(event);
    let config = &body["data"]["config"];
    match event.change {
        Some(ChangeKind::Delete) => Ok(None),
        Some(_) if !config.is_null() => Ok(Some(config.clone())),
        Some(_) => Err("the event does not carry the configuration after it"),
        None => Err("not an asset change"),
    }
}

/// `asset_name` as it was right after the event `seq` of its history; `None` when there is no
/// such event of that asset.
pub fn asset_state(
    session: &Session,
    asset_name: &str,
    seq: i64,
) -> Result<Option<AssetState>, StoreError> {
    Ok(asset_event(session, asset_name, seq)?.map(|event| state_view(&event).0))
}

/// `asset_name` right after the events `a` and `b` of its history (in time order, whichever
/// is given first) and the diff between the two configurations; `None` when either is not an
/// event of that asset.
pub fn compare_asset_states(
    session: &Session,
    asset_name: &str,
    a: i64,
    b: i64,
) -> Result<Option<AssetComparison>, StoreError> {
    let (Some(a), Some(b)) = (
        asset_event(session, asset_name, a)?,
        asset_event(session, asset_name, b)?,
    ) else {
        return Ok(None);
    };
    let (older, newer) = if (a.time, a.seq) <= (b.time, b.seq) {
        (a, b)
    } else {
        (b, a)
    };
    let ((from, from_config), (to, to_config)) = (state_view(&older), state_view(&newer));
    let mut comparison = AssetComparison {
        from,
        to,
        changes: Vec::new(),
        unified: None,
        side_by_side: Vec::new(),
        side_by_side_folds: Vec::new(),
        diff_note: None,
    };
    match (&from_config, &to_config) {
        (Err(why), _) | (_, Err(why)) => comparison.diff_note = Some((*why).into()),
        (Ok(before), Ok(after)) => {
            let diff = diff::diff_configs(before.as_ref(), after.as_ref());
            comparison.changes = diff.changes.into_iter().map(field_change_view).collect();
            comparison.unified = Some(diff.unified).filter(|text| !text.is_empty());
            comparison.side_by_side = diff.side_by_side;
            comparison.side_by_side_folds = diff.side_by_side_folds;
            if comparison.changes.is_empty() && comparison.unified.is_none() {
                comparison.diff_note = Some("the configuration is the same at both points".into());
            }
        }
    }
    Ok(Some(comparison))
}

/// The event `seq` if it is one of `asset_name`'s.
fn asset_event(
    session: &Session,
    asset_name: &str,
    seq: i64,
) -> Result<Option<StoredEvent>, StoreError> {
    Ok(session
        .event_by_seq(seq)?
        .filter(|event| event.asset_name.as_deref() == Some(asset_name)))
}

fn state_view(event: &StoredEvent) -> (AssetState, Result<Option<Value>, &'static str>) {
    let config = state_after(event);
    let state = AssetState {
        seq: event.seq,
        time: format_time(event.time),
        change: event.change,
        config: config
            .as_ref()
            .ok()
            .and_then(|config| config.as_ref().map(canonical_pretty)),
        note: match &config {
            Ok(Some(_)) => None,
            Ok(None) => Some("deleted".into()),
            Err(why) => Some((*why).into()),
        },
    };
    (state, config)
}

pub fn quarantine_entries(session: &Session) -> Result<Vec<QuarantineEntry>, StoreError> {
    Ok(session
        .quarantined()?
        .into_iter()
        .map(|row| QuarantineEntry {
            id: row.id,
            received_at: format_time(row.received_at),
            reason: row.reason,
            sse_id: row.sse_id,
            raw_preview: String::from_utf8_lossy(
                &row.raw[..row.raw.len().min(QUARANTINE_PREVIEW_BYTES)],
            )
            .into_owned(),
            raw_len: row.raw_len,
        })
        .collect())
}

/// Rows for `events` with the analyst's annotations on them.
fn annotated_rows(session: &Session, events: &[StoredEvent]) -> Result<Vec<ChangeRow>, StoreError> {
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    let mut annotations = session.annotations_of(&seqs)?;
    let mut flagged = session.finding_rules_of(&seqs)?;
    Ok(events
        .iter()
        .map(|event| {
            let mut row = change_row(event, &parse_body(event));
            row.findings = flagged.remove(&event.seq).unwrap_or_default();
            if let Some(notes) = annotations.remove(&event.seq) {
                row.starred = notes.starred;
                row.tags = notes.tags;
                row.comment_count = notes.comments.len().try_into().unwrap_or(u32::MAX);
            }
            row
        })
        .collect())
}

/// A stored body is JSON by construction (read by the one policy of [`json::parse`]); an
/// unreadable one shows as an event without data.
fn parse_body(event: &StoredEvent) -> Value {
    json::parse_or_null(&event.body)
}

pub(crate) fn change_row(event: &StoredEvent, body: &Value) -> ChangeRow {
    let data = &body["data"];
    ChangeRow {
        seq: event.seq,
        time: format_time(event.time),
        cursor: event.cursor(),
        change: event.change,
        event_type: event.event_type.clone(),
        asset_name: event.asset_name.clone(),
        asset_label: asset_label(event, data),
        asset_type: event.asset_type.clone(),
        region: event.asset_region.clone(),
        account: event.asset_account.clone(),
        action: event.action.clone(),
        principal: event.principal.clone(),
        principal_short: event.principal.as_deref().map(principal_short),
        method: event.method.clone(),
        source_ip: event.source_ip.clone(),
        // An activity event says what it was in its note (audit-log imports).
        summary: match event.change {
            Some(_) => diff::change_summary(event.change, data),
            None => json::text(&data["note"]).unwrap_or_default().to_owned(),
        },
        starred: false,
        tags: Vec::new(),
        comment_count: 0,
        findings: Vec::new(),
    }
}

fn asset_label(event: &StoredEvent, data: &Value) -> String {
    event
        .asset_display
        .clone()
        .or_else(|| json::text(&data["asset"]["provider_id"]).map(str::to_owned))
        .or_else(|| event.asset_name.as_deref().map(name_tail))
        .unwrap_or_else(|| {
            // An activity event (a sign-in, a read) is about no asset.
            if event.change.is_none() {
                "—"
            } else {
                "(unnamed asset)"
            }
            .to_owned()
        })
}

/// The last `:`-separated part of an OpsHelm asset name: its most specific part.
fn name_tail(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn who(event: &StoredEvent, data: &Value) -> Who {
    let attribution = &data["attribution"];
    let text = |value: &Value| json::text(value).map(str::to_owned);
    let user_agent = text(&attribution["user_agent"]);
    Who {
        principal: event.principal.clone(),
        principal_short: event.principal.as_deref().map(principal_short),
        principal_id: event.principal_id.clone(),
        assumed_role: event.assumed_role.clone(),
        assumed_id: text(&attribution["assumed_id"]),
        source_ip: event.source_ip.clone(),
        method_reason: method_reason(
            event.method.as_deref(),
            user_agent.as_deref(),
            event.principal.as_deref(),
            &data["raw"],
            classifier_of(&event.source),
        ),
        user_agent,
        method: event.method.clone(),
    }
}

fn associations(session: &Session, data: &Value) -> Result<Vec<Association>, StoreError> {
    let Some(list) = data["associations"].as_array() else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = list
        .iter()
        .filter_map(|item| json::text(&item["name"]))
        .collect();
    let known = session.known_assets(&names)?;
    Ok(list
        .iter()
        .filter_map(|item| {
            let name = json::text(&item["name"])?.to_owned();
            let display = known.get(&name);
            Some(Association {
                label: display
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| name_tail(&name)),
                known: display.is_some(),
                asset_type: json::text(&item["type"]).map(str::to_owned),
                relation: json::text(&item["relation"]).map(str::to_owned),
                name,
            })
        })
        .collect())
}

fn tags(tags: &Value) -> Vec<(String, String)> {
    let Some(map) = tags.as_object() else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = map
        .iter()
        .map(|(key, value)| {
            let text = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| canonical_compact(value));
            (key.clone(), text)
        })
        .collect();
    pairs.sort();
    pairs
}

fn field_change_view(change: diff::FieldChange) -> FieldChangeView {
    let render = |value: Option<Value>| {
        value.map(|value| {
            if value.is_object() || value.is_array() {
                canonical_pretty(&value)
            } else {
                canonical_compact(&value)
            }
        })
    };
    FieldChangeView {
        path: change.path,
        op: change.op,
        before: render(change.old),
        after: render(change.new),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tempfile::TempDir;

    use super::*;
    use crate::import::import_file;

    fn case(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/cases")
            .join(name)
    }

    /// The case imported into a new session, with its changes oldest first.
    fn imported(dir: &TempDir, name: &str) -> (Session, Vec<ChangeRow>) {
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let outcome = import_file(&mut session, &case(name), &mut |_, _| true).unwrap();
        assert_eq!(outcome.quarantined, 0, "{outcome:?}");
        let mut rows = list_changes(
            &session,
            &TimelineQuery::default(),
            PageStart::Offset(0),
            100,
        )
        .unwrap()
        .rows;
        rows.reverse();
        (session, rows)
    }

    #[test]
    fn a_lone_surrogate_in_the_user_agent_does_not_hide_the_firewall_change() {
        let dir = TempDir::new().unwrap();
        let (session, rows) = imported(&dir, "09b-surrogate-in-ua-hides-diff.ndjson");
        let detail = change_detail(&session, rows[0].seq).unwrap().unwrap();
        let added = "IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]";
        assert_eq!(
            detail
                .changes
                .iter()
                .map(|c| (c.path.as_str(), c.op))
                .collect::<Vec<_>>(),
            vec![(added, ChangeOp::Added)]
        );
        assert!(detail.diff_note.is_none(), "{:?}", detail.diff_note);
        assert!(
            detail
                .unified
                .as_deref()
                .is_some_and(|u| u.contains("203.0.113.66/32"))
        );
        assert!(detail.row.summary.contains(added), "{}", detail.row.summary);
        assert_eq!(
            detail.who.user_agent.as_deref(),
            Some("Mozilla/5.0 \u{fffd}")
        );
        assert_eq!(
            detail.who.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/jdoe")
        );
        assert_eq!(detail.who.source_ip.as_deref(), Some("198.51.100.23"));
        assert_eq!(detail.who.method.as_deref(), Some("console"));
        let stored = session.event_by_seq(rows[0].seq).unwrap().unwrap();
        assert!(
            stored.body.contains(r"Mozilla/5.0 \ud800"),
            "stored verbatim"
        );
    }

    #[test]
    fn duplicate_keys_read_last_wins_in_the_columns_and_the_diff() {
        let dir = TempDir::new().unwrap();
        let (session, rows) = imported(&dir, "10-duplicate-keys.ndjson");
        let detail = change_detail(&session, rows[0].seq).unwrap().unwrap();
        assert_eq!(
            detail.row.principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/other")
        );
        assert_eq!(detail.row.principal_short.as_deref(), Some("other"));
        assert_eq!(detail.changes.len(), 1);
        let port = &detail.changes[0];
        assert_eq!(
            (
                port.path.as_str(),
                port.before.as_deref(),
                port.after.as_deref()
            ),
            ("Port", Some("22"), Some("443"))
        );
        let second = session.event_by_seq(rows[1].seq).unwrap().unwrap();
        assert_eq!(second.event_id, "01HXTEST000000000000000099");
    }

    /// One firewall's life: created with port 22, 443 added, 22 removed, deleted.
    fn firewall_life(dir: &TempDir) -> (Session, Vec<i64>) {
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let steps = [
            ("create", r#"{"Ports":[22]}"#, "null"),
            ("update", r#"{"Ports":[22,443]}"#, r#"{"Ports":[22]}"#),
            ("update", r#"{"Ports":[443]}"#, r#"{"Ports":[22,443]}"#),
            ("delete", "null", r#"{"Ports":[443]}"#),
        ];
        let frames: Vec<crate::model::PositionedFrame> = steps
            .iter()
            .enumerate()
            .map(|(i, (change, config, previous))| crate::model::PositionedFrame {
                frame: crate::wire::decode_frame(format!(
                    r#"{{"specversion":"1.0","id":"f{i}","source":"/a","type":"com.opshelm.asset.{change}","time":"2024-05-05T10:0{i}:00Z","data":{{"asset":{{"name":"sg-1","type":"network.firewall"}},"config":{config},"previous_config":{previous}}}}}"#
                )),
                sse_id: None,
                received_at: chrono::Utc::now(),
            })
            .collect();
        session.write_batch(&frames).unwrap();
        let mut seqs: Vec<i64> = asset_history(&session, "sg-1", None, 10)
            .unwrap()
            .iter()
            .map(|entry| entry.row.seq)
            .collect();
        seqs.reverse();
        (session, seqs)
    }

    #[test]
    fn an_asset_at_any_point_of_its_history_and_the_diff_between_two_points() {
        let dir = TempDir::new().unwrap();
        let (session, seqs) = firewall_life(&dir);
        assert_eq!(seqs.len(), 4);
        let after_add = asset_state(&session, "sg-1", seqs[1]).unwrap().unwrap();
        assert_eq!(after_add.time, "2024-05-05T10:01:00Z");
        assert!(
            after_add
                .config
                .as_deref()
                .is_some_and(|c| c.contains("443") && c.contains("22")),
            "{after_add:?}"
        );
        let deleted = asset_state(&session, "sg-1", seqs[3]).unwrap().unwrap();
        assert_eq!(
            (deleted.config, deleted.note.as_deref()),
            (None, Some("deleted"))
        );

        // The first point against the third, given in either order: 22 went, 443 came.
        for (a, b) in [(seqs[0], seqs[2]), (seqs[2], seqs[0])] {
            let compared = compare_asset_states(&session, "sg-1", a, b)
                .unwrap()
                .unwrap();
            assert_eq!((compared.from.seq, compared.to.seq), (seqs[0], seqs[2]));
            let unified = compared.unified.unwrap_or_default();
            assert!(
                unified.contains("-") && unified.contains("443"),
                "{unified}"
            );
            assert!(!compared.changes.is_empty());
        }
        // Across the delete: everything went.
        let to_end = compare_asset_states(&session, "sg-1", seqs[1], seqs[3])
            .unwrap()
            .unwrap();
        assert!(!to_end.changes.is_empty(), "{to_end:?}");
        // Another asset's event, or none, is not a point of this history.
        assert_eq!(
            compare_asset_states(&session, "sg-2", seqs[0], seqs[1]).unwrap(),
            None
        );
        assert_eq!(asset_state(&session, "sg-1", 999).unwrap(), None);
    }

    #[test]
    fn automation_sessions_group_under_their_role_and_a_shared_name_shows_its_account() {
        let dir = TempDir::new().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let ci = |run: u32| {
            format!("arn:aws:sts::111111111111:assumed-role/terraform-ci/gh-actions-{run}")
        };
        let mut principals: Vec<String> = (8801..8806).flat_map(|run| [ci(run), ci(run)]).collect();
        principals.extend([
            "arn:aws:iam::111111111111:user/jdoe".to_owned(),
            "arn:aws:iam::222222222222:user/jdoe".to_owned(),
            "arn:aws:sts::111111111111:assumed-role/BreakGlass/alice".to_owned(),
        ]);
        let frames: Vec<crate::model::PositionedFrame> = principals
            .iter()
            .enumerate()
            .map(|(i, principal)| crate::model::PositionedFrame {
                frame: crate::wire::decode_frame(format!(
                    r#"{{"specversion":"1.0","id":"p{i}","source":"/a","type":"com.opshelm.asset.update","time":"2024-05-05T10:{i:02}:00Z","data":{{"asset":{{"name":"sg-{i}","type":"network.firewall"}},"attribution":{{"principal":"{principal}"}},"config":{{"n":{i}}},"previous_config":{{"n":0}}}}}}"#
                )),
                sse_id: None,
                received_at: chrono::Utc::now(),
            })
            .collect();
        session.write_batch(&frames).unwrap();

        let listed = facets(&session, &TimelineQuery::default())
            .unwrap()
            .principal;
        let labels: Vec<(&str, u64)> = listed.iter().map(|p| (p.label.as_str(), p.count)).collect();
        assert_eq!(
            labels,
            vec![
                ("terraform-ci · 5 sessions", 10),
                ("jdoe (111111111111)", 1),
                ("jdoe (222222222222)", 1),
                ("BreakGlass/alice", 1),
            ]
        );
        let group = &listed[0];
        assert_eq!(
            group.value,
            "arn:aws:sts::111111111111:assumed-role/terraform-ci/*"
        );
        assert_eq!(group.members.len(), 5);
        assert!(
            group
                .members
                .iter()
                .all(|m| m.count == 2 && m.label.starts_with("terraform-ci/gh-actions-"))
        );

        // The group's value filters every session of the role, and hides them all.
        let only = TimelineQuery {
            principals: vec![group.value.clone()],
            ..TimelineQuery::default()
        };
        assert_eq!(session.count_changes(&only).unwrap(), 10);
        let hidden = TimelineQuery {
            exclude_principals: vec![group.value.clone()],
            ..TimelineQuery::default()
        };
        assert_eq!(session.count_changes(&hidden).unwrap(), 3);
        // The insights chart names them the same way.
        let top = crate::insights::insights(&session, &TimelineQuery::default())
            .unwrap()
            .top_principals;
        assert_eq!(top[0].label, "terraform-ci · 5 sessions");
    }
}
