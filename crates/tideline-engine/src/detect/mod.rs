//! detect: detections that point at the changes the announcement describes analysts hunting for
//! by hand — a principal at a new address or in an impossible place, console changes to assets
//! managed as code, unexpected principals and regions, off-hours activity, changes made and
//! undone, assets that lived for minutes.
//!
//! Rules are deterministic: they read only stored events and use the events' own times as the
//! clock. Their state is kept per principal, asset, account and hour (never per event), and
//! findings that recur for one subject are grouped: one finding per principal and address,
//! per principal and day, per asset and principal, with its event count and first and last
//! times. [`DetectionRunner`] keeps the stored findings caught up from a watermark; its docs
//! say which rules stay exact when events arrive out of time order.

mod body;
mod detector;
mod geo;
mod hours;
mod identity;
pub mod keeper;
mod ledger;
mod lifecycle;
mod pairs;
mod replay;
mod runner;
pub mod settings;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::attribution::principal_short;
use crate::model::ChangeKind;
use crate::store::{FindingRow, Session, StoredEvent, TimedEventRef, format_time};

// The store keeps the events behind a finding; the type is its own.
pub use crate::store::EventRef;
pub use runner::{DetectionRunner, Opened, RebuildProgress, RebuildReason, review_order};
pub use settings::{DetectionSettings, InvalidSetting};

/// Bumped whenever a rule's meaning or its stored state changes: stored findings of another
/// version are rebuilt. 3: configurations' fingerprints and `new_source_ip`'s pairs are BLAKE3
/// (they were SHA-256), so state stored by version 2 would not match.
pub const RULES_VERSION: u32 = 3;

/// How late (event time behind the newest event seen) an event may arrive and still leave
/// every rule exactly as a rebuild would (see [`DetectionRunner`]).
pub const LATENESS_TOLERANCE_US: i64 = 15 * 60 * 1_000_000;

/// How many of its first events a finding lists; all of them are linked to it.
pub const EVENTS_LISTED: usize = 50;

/// An event's place in (time, arrival) order: its time in microseconds and its seq.
pub(crate) type Order = (i64, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    NewSourceIp,
    ConsoleWhereIac,
    UnexpectedPrincipal,
    UnexpectedRegion,
    OffHours,
    ImpossibleTravel,
    RevertedChange,
    ShortLivedAsset,
}

impl RuleId {
    pub const ALL: [RuleId; 8] = [
        RuleId::NewSourceIp,
        RuleId::ConsoleWhereIac,
        RuleId::UnexpectedPrincipal,
        RuleId::UnexpectedRegion,
        RuleId::OffHours,
        RuleId::ImpossibleTravel,
        RuleId::RevertedChange,
        RuleId::ShortLivedAsset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::NewSourceIp => "new_source_ip",
            RuleId::ConsoleWhereIac => "console_where_iac",
            RuleId::UnexpectedPrincipal => "unexpected_principal",
            RuleId::UnexpectedRegion => "unexpected_region",
            RuleId::OffHours => "off_hours",
            RuleId::ImpossibleTravel => "impossible_travel",
            RuleId::RevertedChange => "reverted_change",
            RuleId::ShortLivedAsset => "short_lived_asset",
        }
    }

    pub fn parse(text: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|rule| rule.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// Something a rule flagged, with the events behind it and why, in plain words. A finding that
/// recurs for one subject (a principal's address, a principal's day off-hours, a console change
/// to one managed asset by one principal) is one finding with a count and first and last times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finding {
    /// Unique per finding: the rule and what it groups by.
    pub key: String,
    pub rule: RuleId,
    pub severity: Severity,
    /// Its first events in (time, arrival) order, at most [`EVENTS_LISTED`]; the change list's
    /// finding filter shows all `count` of them.
    pub events: Vec<EventRef>,
    pub asset: Option<String>,
    /// The asset's display name or short id.
    pub asset_label: Option<String>,
    pub principal: Option<String>,
    pub principal_short: Option<String>,
    /// About its first event (a grouped finding's later events are counted, not described).
    pub summary: String,
    /// RFC 3339 UTC: the first event's time.
    pub time: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time_us: i64,
    /// How many events are behind it (1 for most; more for a grouped finding).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
    /// RFC 3339 UTC: the first and the last event's times.
    pub first_time: String,
    pub last_time: String,
}

/// Which findings the Findings panel lists (`Session::findings_overview`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FindingsQuery {
    /// Only this rule's findings (all rules when absent).
    pub rule: Option<RuleId>,
    /// Only findings of this severity.
    pub severity: Option<Severity>,
    /// The most findings listed (the panel's "Show more" raises it).
    pub limit: u32,
    /// The greatest finding id the analyst has seen ([`FindingsOverview::newest_id`] of an
    /// earlier look): findings above it are counted as unseen.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub seen_up_to: Option<i64>,
}

/// The Findings panel's data: a page of findings and the counts around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FindingsOverview {
    /// The first `limit` findings the query selects: most severe first, then newest (by first
    /// event), then by key.
    pub findings: Vec<Finding>,
    /// How many findings the query selects.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub matching: u64,
    /// How many findings the session has.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total: u64,
    /// Findings per rule, every rule of [`RuleId::ALL`] in its order (0 included).
    pub by_rule: Vec<RuleCount>,
    /// Findings per severity, most severe first.
    pub by_severity: Vec<SeverityCount>,
    /// The greatest finding id (0 with none): pass it back as `seen_up_to` once they are seen.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub newest_id: i64,
    /// Findings made after `seen_up_to` (0 when the query gave none).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unseen: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuleCount {
    pub rule: RuleId,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeverityCount {
    pub severity: Severity,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(format_time)
        .unwrap_or_default()
}

impl From<FindingRow> for Finding {
    /// A rule or severity this version does not know reads as off-hours and low.
    fn from(row: FindingRow) -> Finding {
        Finding {
            rule: RuleId::parse(&row.rule).unwrap_or(RuleId::OffHours),
            severity: Severity::parse(&row.severity).unwrap_or(Severity::Low),
            time: rfc3339(row.first_us),
            first_time: rfc3339(row.first_us),
            last_time: rfc3339(row.last_us),
            time_us: row.first_us,
            count: row.count,
            key: row.key,
            events: row.events.into_iter().map(|e| e.event).collect(),
            asset: row.asset,
            asset_label: row.asset_label,
            principal: row.principal,
            principal_short: row.principal_short,
            summary: row.summary,
        }
    }
}

/// Whether a rule runs, and if not, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuleStatus {
    pub rule: RuleId,
    pub active: bool,
    pub note: Option<String>,
}

/// One asset change as the rules see it.
pub(crate) struct Change<'a> {
    pub event: &'a StoredEvent,
    pub kind: ChangeKind,
    pub order: Order,
    pub time_us: i64,
    /// Who, for "before" comparisons. Automation (Terraform, SDKs) assumes a role with a new
    /// session name every run, so its identity is the role; a person keeps one session name
    /// (often their e-mail) under a shared role, so theirs is the full principal.
    pub identity: Option<&'a str>,
    pub asset: Option<&'a str>,
    /// The asset's display name, else its provider id, else its name's last part.
    pub label: Cow<'a, str>,
    /// Fingerprints of `data.config` and `data.previous_config` (see `body`).
    pub config: Option<body::ConfigHash>,
    pub previous: Option<body::ConfigHash>,
}

impl<'a> Change<'a> {
    /// The change `event` is, reading its body.
    pub fn new(event: &'a StoredEvent, kind: ChangeKind) -> Change<'a> {
        Change::with_body(event, kind, body::read(&event.body))
    }

    /// The change `event` is, with the parts of its body the rules read (`fields`, read
    /// beforehand: the body itself is not looked at).
    pub fn with_body(
        event: &'a StoredEvent,
        kind: ChangeKind,
        fields: body::BodyFields,
    ) -> Change<'a> {
        let automation = matches!(event.method.as_deref(), Some("terraform" | "sdk"));
        let identity = match &event.assumed_role {
            Some(role) if automation => Some(role.as_str()),
            _ => event.principal.as_deref().or(event.assumed_role.as_deref()),
        };
        let label = match (&event.asset_display, fields.provider_id) {
            (Some(display), _) => Cow::Borrowed(display.as_str()),
            (None, Some(id)) => Cow::Owned(id),
            (None, None) => match event.asset_name.as_deref() {
                Some(name) => Cow::Borrowed(name.rsplit(':').next().unwrap_or(name)),
                None => Cow::Borrowed("an unnamed asset"),
            },
        };
        let time_us = event.time.timestamp_micros();
        Change {
            event,
            kind,
            order: (time_us, event.seq),
            time_us,
            identity,
            asset: event.asset_name.as_deref(),
            label,
            config: fields.config,
            previous: fields.previous,
        }
    }

    pub fn method(&self) -> &str {
        self.event.method.as_deref().unwrap_or("unknown")
    }

    /// Who, as summaries name them: the principal's short name.
    pub fn who(&self) -> String {
        self.event
            .principal
            .as_deref()
            .map(principal_short)
            .unwrap_or_else(|| "an unknown principal".into())
    }

    pub fn action(&self) -> &str {
        self.event.action.as_deref().unwrap_or("a change")
    }

    pub fn reference(&self) -> TimedEventRef {
        TimedEventRef {
            time_us: self.time_us,
            event: EventRef {
                seq: self.event.seq,
                source: self.event.source.clone(),
                event_id: self.event.event_id.clone(),
            },
        }
    }
}

/// What the rules need besides the event: the settings, the session's clock, and the session
/// itself (to look up an event a finding names).
pub(crate) struct Context<'a> {
    pub settings: &'a DetectionSettings,
    /// Until this time (the first event's plus the learning period), rules only learn.
    pub learning_until_us: i64,
    /// Steps older than this (the newest event's time less the tolerance) are settled.
    pub horizon_us: i64,
    /// Whether this event comes before one already seen (it arrived late).
    pub late: bool,
    pub session: &'a Session,
}

impl Context<'_> {
    pub fn learning(&self, time_us: i64) -> bool {
        time_us < self.learning_until_us
    }

    pub fn enabled(&self, rule: RuleId) -> bool {
        self.settings.rule(rule).enabled
    }

    /// A finding of `rule` about `change` (its first event) with its configured severity;
    /// `key` is what it groups by, `events` its events (`change`'s alone if empty).
    pub fn row(
        &self,
        rule: RuleId,
        key: &str,
        change: &Change<'_>,
        events: Vec<TimedEventRef>,
        principal: Option<String>,
        summary: String,
    ) -> FindingRow {
        let events = if events.is_empty() {
            vec![change.reference()]
        } else {
            events
        };
        let subject = Subject {
            asset: change.asset.map(str::to_owned),
            label: change.label.to_string(),
        };
        self.row_about(rule, key, &subject, events, principal, summary)
    }

    /// A finding of `rule` about `subject` with the events `events` (at least one).
    pub fn row_about(
        &self,
        rule: RuleId,
        key: &str,
        subject: &Subject,
        events: Vec<TimedEventRef>,
        principal: Option<String>,
        summary: String,
    ) -> FindingRow {
        let order = |e: &TimedEventRef| (e.time_us, e.event.seq);
        let first = events.iter().map(order).min().unwrap_or_default();
        let last = events.iter().map(order).max().unwrap_or_default();
        FindingRow {
            id: 0,
            key: finding_key(rule, key),
            rule: rule.as_str().to_owned(),
            severity: self.settings.rule(rule).severity.as_str().to_owned(),
            asset: subject.asset.clone(),
            asset_label: subject.asset.as_ref().map(|_| subject.label.clone()),
            principal_short: principal.as_deref().map(principal_short),
            principal,
            summary,
            first_us: first.0,
            first_seq: first.1,
            last_us: last.0,
            last_seq: last.1,
            count: events.len() as u64,
            events,
            detail: None,
        }
    }
}

/// The asset a finding is about, and how it is named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Subject {
    pub asset: Option<String>,
    pub label: String,
}

/// Describes the grouped finding `row` anew from `fresh` (made from its new first event),
/// keeping its id, totals and events.
pub(crate) fn redescribe(row: &mut FindingRow, fresh: FindingRow) {
    row.asset = fresh.asset;
    row.asset_label = fresh.asset_label;
    row.principal = fresh.principal;
    row.principal_short = fresh.principal_short;
    row.summary = fresh.summary;
}

/// `rule:subject`, the key of a finding.
pub(crate) fn finding_key(rule: RuleId, subject: &str) -> String {
    format!("{}:{subject}", rule.as_str())
}

/// A duration as people say it: `16m45s`, `2h05m`, `3d4h`.
pub(crate) fn human_duration(micros: i64) -> String {
    let seconds = (micros.max(0) + 500_000) / 1_000_000;
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m{secs:02}s"),
        (0, _, _) => format!("{hours}h{minutes:02}m"),
        _ => format!("{days}d{hours}h"),
    }
}

#[cfg(test)]
mod tests;
