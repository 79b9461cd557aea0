//! hours: `off_hours` — changes outside working hours and days in the configured time zone
//! (grouped per principal and day), and clock hours whose change count is an order of
//! magnitude above that hour's usual level.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;

use super::settings::OffHoursSettings;
use super::{Change, Context, EventRef, FindingSet, RuleId};

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Buckets older than this (before the newest event) no longer keep their events.
const KEEP_BUCKET_EVENTS_DAYS: i64 = 2;

struct Group {
    events: Vec<EventRef>,
    first_minute: u32,
    last_minute: u32,
}

pub(crate) struct HoursRules {
    zone: Tz,
    working_days: [bool; 7],
    start_minute: u32,
    end_minute: u32,
    hours_text: String,
    note: Option<String>,
    groups: BTreeMap<String, Group>,
    /// Changes per (local day, hour), for the usual level of each hour.
    counts: BTreeMap<(NaiveDate, u32), u64>,
    bucket_events: BTreeMap<(NaiveDate, u32), Vec<EventRef>>,
    first_day: Option<NaiveDate>,
}

pub(super) fn minutes(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes) = (
        hours.trim().parse::<u32>().ok()?,
        minutes.trim().parse::<u32>().ok()?,
    );
    (hours <= 24 && minutes < 60 && hours * 60 + minutes <= 24 * 60).then_some(hours * 60 + minutes)
}

impl HoursRules {
    pub fn new(settings: &OffHoursSettings) -> HoursRules {
        let mut notes = Vec::new();
        let zone = settings.timezone.parse::<Tz>().unwrap_or_else(|_| {
            notes.push(format!(
                "unknown time zone {:?}: using UTC",
                settings.timezone
            ));
            Tz::UTC
        });
        let mut working_days = [false; 7];
        for day in &settings.days {
            match DAY_NAMES
                .iter()
                .position(|name| name.eq_ignore_ascii_case(day.trim()))
            {
                Some(index) => working_days[index] = true,
                None => notes.push(format!("unknown day {day:?} ignored")),
            }
        }
        let start_minute = minutes(&settings.start).unwrap_or_else(|| {
            notes.push(format!("bad start {:?}: using 08:00", settings.start));
            8 * 60
        });
        let end_minute = minutes(&settings.end).unwrap_or_else(|| {
            notes.push(format!("bad end {:?}: using 19:00", settings.end));
            19 * 60
        });
        let day_list: Vec<&str> = (0..7)
            .filter(|&i| working_days[i])
            .map(|i| DAY_NAMES[i])
            .collect();
        let hours_text = format!(
            "{} {}–{} {}",
            day_list.join(","),
            clock(start_minute),
            clock(end_minute),
            zone.name()
        );
        HoursRules {
            zone,
            working_days,
            start_minute,
            end_minute,
            hours_text,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            groups: BTreeMap::new(),
            counts: BTreeMap::new(),
            bucket_events: BTreeMap::new(),
            first_day: None,
        }
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let settings = &context.settings.off_hours;
        if settings
            .ignore_methods
            .iter()
            .any(|method| method == change.method())
        {
            return;
        }
        let local = self.zone.from_utc_datetime(&change.event.time.naive_utc());
        let day = local.date_naive();
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_monday() as usize;
        let working =
            self.working_days[weekday] && minute >= self.start_minute && minute < self.end_minute;
        let enabled = context.enabled(RuleId::OffHours);
        if !working && enabled {
            self.outside_hours(change, context, findings, day, local.weekday(), minute);
        }
        self.burst(change, context, findings, day, local.hour(), enabled);
    }

    fn outside_hours(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
        day: NaiveDate,
        weekday: Weekday,
        minute: u32,
    ) {
        let who = change
            .identity
            .clone()
            .unwrap_or_else(|| change.who.clone());
        let key = format!("{who}|{day}");
        let group = self.groups.entry(key.clone()).or_insert(Group {
            events: Vec::new(),
            first_minute: minute,
            last_minute: minute,
        });
        group.events.push(change.reference());
        group.first_minute = group.first_minute.min(minute);
        group.last_minute = group.last_minute.max(minute);
        let count = group.events.len();
        let summary = format!(
            "{} made {count} change{} on {weekday} {day} between {} and {} {}, outside working hours ({})",
            change.who,
            if count == 1 { "" } else { "s" },
            clock(group.first_minute),
            clock(group.last_minute),
            self.zone.name(),
            self.hours_text
        );
        let events = group.events.clone();
        let mut finding = context.finding(
            RuleId::OffHours,
            key.clone(),
            events,
            change,
            change.identity.clone(),
            summary,
        );
        if let Some(existing) = findings.get(&finding.key) {
            // The group's first event stays its time.
            finding.time.clone_from(&existing.time);
            finding.time_us = existing.time_us;
        }
        findings.put(finding);
    }

    fn burst(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
        day: NaiveDate,
        hour: u32,
        enabled: bool,
    ) {
        let settings = &context.settings.off_hours;
        let first_day = *self.first_day.get_or_insert(day);
        let count = {
            let count = self.counts.entry((day, hour)).or_default();
            *count += 1;
            *count
        };
        self.bucket_events
            .entry((day, hour))
            .or_default()
            .push(change.reference());
        let oldest_kept = day - chrono::Duration::days(KEEP_BUCKET_EVENTS_DAYS);
        self.bucket_events
            .retain(|(bucket_day, _), _| *bucket_day >= oldest_kept);

        let previous_days = (day - first_day).num_days();
        if !enabled || previous_days <= 0 {
            return;
        }
        let before: u64 = self
            .counts
            .range((first_day, 0)..(day, 0))
            .filter(|((_, bucket_hour), _)| *bucket_hour == hour)
            .map(|(_, count)| *count)
            .sum();
        let usual = before as f64 / previous_days as f64;
        if count < settings.burst_min_changes
            || (count as f64) < settings.burst_factor * usual.max(1.0)
        {
            return;
        }
        let summary = format!(
            "{count} changes between {:02}:00 and {:02}:00 on {} {day} {}: {:.0}× this hour's usual level of {usual:.1}",
            hour,
            (hour + 1) % 24,
            day.weekday(),
            self.zone.name(),
            count as f64 / usual.max(1.0),
        );
        let events = self
            .bucket_events
            .get(&(day, hour))
            .cloned()
            .unwrap_or_default();
        let key = format!("burst|{day}T{hour:02}");
        let mut finding = context.finding(RuleId::OffHours, key, events, change, None, summary);
        if let Some(existing) = findings.get(&finding.key) {
            finding.time.clone_from(&existing.time);
            finding.time_us = existing.time_us;
        }
        findings.put(finding);
    }
}

fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}
