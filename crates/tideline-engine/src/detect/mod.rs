//! detect: detections that point at the changes the announcement describes analysts hunting for
//! by hand — a principal at a new address or in an impossible place, console changes to assets
//! managed as code, unexpected principals and regions, off-hours activity, changes made and
//! undone, assets that lived for minutes.
//!
//! Rules are deterministic: they read only stored events, in (time, arrival) order, and use the
//! events' own times as the clock. The [`Detector`] takes events one at a time, so it runs
//! incrementally while recording and rebuilds identically over a reopened session.

mod geo;
mod hours;
mod identity;
pub mod keeper;
mod lifecycle;
mod runner;
pub mod settings;

use std::collections::{BTreeMap, BTreeSet};

use crate::json::{self, Value};
use serde::{Deserialize, Serialize};

use crate::attribution::principal_short;
use crate::model::ChangeKind;
use crate::store::{StoredEvent, StoredFinding, format_time};

// The store keeps the events behind a finding; the type is its own.
pub use crate::store::EventRef;
pub use runner::DetectionRunner;
pub use settings::{DetectionSettings, InvalidSetting};

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

/// Something a rule flagged, with the events behind it and why, in plain words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finding {
    /// Unique per finding: the rule and what it groups by.
    pub key: String,
    pub rule: RuleId,
    pub severity: Severity,
    pub events: Vec<EventRef>,
    pub asset: Option<String>,
    /// The asset's display name or short id.
    pub asset_label: Option<String>,
    pub principal: Option<String>,
    pub principal_short: Option<String>,
    pub summary: String,
    /// RFC 3339 UTC: the first event's time.
    pub time: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub time_us: i64,
}

impl From<&Finding> for StoredFinding {
    fn from(finding: &Finding) -> StoredFinding {
        StoredFinding {
            key: finding.key.clone(),
            rule: finding.rule.as_str().to_owned(),
            severity: finding.severity.as_str().to_owned(),
            events: finding.events.clone(),
            asset: finding.asset.clone(),
            asset_label: finding.asset_label.clone(),
            principal: finding.principal.clone(),
            principal_short: finding.principal_short.clone(),
            summary: finding.summary.clone(),
            time_us: finding.time_us,
        }
    }
}

impl From<StoredFinding> for Finding {
    /// A rule or severity this version does not know reads as off-hours and low.
    fn from(stored: StoredFinding) -> Finding {
        Finding {
            rule: RuleId::parse(&stored.rule).unwrap_or(RuleId::OffHours),
            severity: Severity::parse(&stored.severity).unwrap_or(Severity::Low),
            time: chrono::DateTime::from_timestamp_micros(stored.time_us)
                .map(format_time)
                .unwrap_or_default(),
            key: stored.key,
            events: stored.events,
            asset: stored.asset,
            asset_label: stored.asset_label,
            principal: stored.principal,
            principal_short: stored.principal_short,
            summary: stored.summary,
            time_us: stored.time_us,
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
    pub time_us: i64,
    /// Who, for "before" comparisons. Automation (Terraform, SDKs) assumes a role with a new
    /// session name every run, so its identity is the role; a person keeps one session name
    /// (often their e-mail) under a shared role, so theirs is the full principal.
    pub identity: Option<String>,
    pub who: String,
    pub asset: Option<&'a str>,
    pub label: String,
    pub config: Option<Value>,
    pub previous: Option<Value>,
}

impl<'a> Change<'a> {
    fn new(event: &'a StoredEvent, kind: ChangeKind) -> Change<'a> {
        let body = json::parse_or_null(&event.body);
        let data = &body["data"];
        let present = |value: &Value| Some(value.clone()).filter(|v| !v.is_null());
        let automation = matches!(event.method.as_deref(), Some("terraform" | "sdk"));
        let identity = match &event.assumed_role {
            Some(role) if automation => Some(role.clone()),
            _ => event
                .principal
                .clone()
                .or_else(|| event.assumed_role.clone()),
        };
        let who = event
            .principal
            .as_deref()
            .map(principal_short)
            .unwrap_or_else(|| "an unknown principal".into());
        let label = event
            .asset_display
            .clone()
            .or_else(|| json::text(&data["asset"]["provider_id"]).map(str::to_owned))
            .or_else(|| {
                event
                    .asset_name
                    .as_deref()
                    .map(|n| n.rsplit(':').next().unwrap_or(n).to_owned())
            })
            .unwrap_or_else(|| "an unnamed asset".into());
        Change {
            event,
            kind,
            time_us: event.time.timestamp_micros(),
            identity,
            who,
            asset: event.asset_name.as_deref(),
            label,
            config: present(&data["config"]),
            previous: present(&data["previous_config"]),
        }
    }

    pub fn method(&self) -> &str {
        self.event.method.as_deref().unwrap_or("unknown")
    }

    pub fn reference(&self) -> EventRef {
        EventRef {
            seq: self.event.seq,
            source: self.event.source.clone(),
            event_id: self.event.event_id.clone(),
        }
    }

    pub fn time_text(&self) -> String {
        format_time(self.event.time)
    }
}

/// The findings so far, and which changed since they were last taken.
#[derive(Default)]
pub(crate) struct FindingSet {
    all: BTreeMap<String, Finding>,
    changed: BTreeSet<String>,
}

impl FindingSet {
    /// Adds a finding, or replaces the one with the same key (a grouped finding that grew).
    pub fn put(&mut self, finding: Finding) {
        self.changed.insert(finding.key.clone());
        self.all.insert(finding.key.clone(), finding);
    }

    pub fn get(&self, key: &str) -> Option<&Finding> {
        self.all.get(key)
    }
}

/// What the rules need from the settings and the session's clock.
pub(crate) struct Context<'a> {
    pub settings: &'a DetectionSettings,
    /// Until this time (the first event's plus the learning period), rules only learn.
    pub learning_until_us: i64,
}

impl Context<'_> {
    pub fn learning(&self, change: &Change<'_>) -> bool {
        change.time_us < self.learning_until_us
    }

    pub fn enabled(&self, rule: RuleId) -> bool {
        self.settings.rule(rule).enabled
    }

    /// A finding of `rule` with its configured severity.
    pub fn finding(
        &self,
        rule: RuleId,
        key: String,
        events: Vec<EventRef>,
        first: &Change<'_>,
        principal: Option<String>,
        summary: String,
    ) -> Finding {
        Finding {
            key: format!("{}:{key}", rule.as_str()),
            rule,
            severity: self.settings.rule(rule).severity,
            events,
            asset: first.asset.map(str::to_owned),
            asset_label: first.asset.map(|_| first.label.clone()),
            principal_short: principal.as_deref().map(principal_short),
            principal,
            summary,
            time: first.time_text(),
            time_us: first.time_us,
        }
    }
}

/// Runs every rule over events given in (time, arrival) order.
pub struct Detector {
    settings: DetectionSettings,
    learning_until_us: Option<i64>,
    identity: identity::IdentityRules,
    hours: hours::HoursRules,
    lifecycle: lifecycle::LifecycleRules,
    findings: FindingSet,
    statuses: Vec<RuleStatus>,
}

impl Detector {
    pub fn new(settings: DetectionSettings) -> Detector {
        let (travel, travel_note) = geo::GeoIp::open(settings.geoip_database.as_deref());
        let hours = hours::HoursRules::new(&settings.off_hours);
        let statuses = RuleId::ALL
            .into_iter()
            .map(|rule| {
                let enabled = settings.rule(rule).enabled;
                let (active, note) = match rule {
                    _ if !enabled => (false, Some("turned off in the settings".to_owned())),
                    RuleId::ImpossibleTravel if travel.is_none() => (false, travel_note.clone()),
                    RuleId::OffHours if hours.note().is_some() => {
                        (true, hours.note().map(str::to_owned))
                    }
                    _ => (true, None),
                };
                RuleStatus { rule, active, note }
            })
            .collect();
        Detector {
            identity: identity::IdentityRules::new(travel),
            hours,
            lifecycle: lifecycle::LifecycleRules::default(),
            settings,
            learning_until_us: None,
            findings: FindingSet::default(),
            statuses,
        }
    }

    /// Feeds one stored event; events that are not asset changes are ignored.
    pub fn observe(&mut self, event: &StoredEvent) {
        let Some(kind) = event.change else {
            return;
        };
        let change = Change::new(event, kind);
        let learning_hours = self.settings.learning_period_hours.max(0.0);
        let learning_until_us = *self
            .learning_until_us
            .get_or_insert(change.time_us + (learning_hours * 3_600_000_000.0) as i64);
        let context = Context {
            settings: &self.settings,
            learning_until_us,
        };
        self.identity.observe(&change, &context, &mut self.findings);
        self.hours.observe(&change, &context, &mut self.findings);
        self.lifecycle
            .observe(&change, &context, &mut self.findings);
    }

    /// Every finding so far, in time order.
    pub fn findings(&self) -> Vec<Finding> {
        let mut all: Vec<Finding> = self.findings.all.values().cloned().collect();
        all.sort_by(|a, b| (a.time_us, &a.key).cmp(&(b.time_us, &b.key)));
        all
    }

    /// The findings added or changed since the last call.
    pub fn take_changed(&mut self) -> Vec<Finding> {
        let keys = std::mem::take(&mut self.findings.changed);
        keys.iter()
            .filter_map(|key| self.findings.all.get(key).cloned())
            .collect()
    }

    pub fn statuses(&self) -> &[RuleStatus] {
        &self.statuses
    }
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
