//! hours: `off_hours` — changes outside working hours and days in the configured time zone,
//! one finding per principal and local day with its count and first and last minutes — and
//! bursts: a clock hour whose change count is an order of magnitude above that hour's usual
//! level on the days before, one finding per hour counting all its changes.
//!
//! Both are counts, so a late event changes only its own day's finding and its hour's burst
//! (and the usual level of that hour on later days). An hour keeps the events it would need
//! to become a burst only while it is recent (within the lateness tolerance); an hour pushed
//! over its threshold by an event later than that lists and links only that event.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ledger::{Ledger, Lookup};
use super::settings::OffHoursSettings;
use super::{Change, Context, EVENTS_LISTED, Order, RuleId, Subject, finding_key, redescribe};
use crate::store::{StoreError, TimedEventRef};

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// What an off-hours finding keeps to say what it covers (its `detail`, as
/// `first_minute last_minute who`).
#[derive(Debug, Clone, Default, PartialEq)]
struct DayDetail {
    who: String,
    first_minute: u32,
    last_minute: u32,
}

impl DayDetail {
    fn text(&self) -> String {
        format!("{} {} {}", self.first_minute, self.last_minute, self.who)
    }

    fn parse(text: &str) -> Option<DayDetail> {
        let mut parts = text.splitn(3, ' ');
        Some(DayDetail {
            first_minute: parts.next()?.parse().ok()?,
            last_minute: parts.next()?.parse().ok()?,
            who: parts.next()?.to_owned(),
        })
    }
}

/// The changes in one clock hour of one local day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Bucket {
    count: u64,
    /// This hour's changes on the days before (from the first day on).
    before: u64,
    /// Whether it is a burst finding now.
    burst: bool,
    /// While the hour is recent and not a burst: what it needs to become one.
    pending: Option<Pending>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    first: Order,
    last: Order,
    events: Vec<TimedEventRef>,
    seqs: Vec<i64>,
    subject: Subject,
}

/// A local day's hours.
type Day = BTreeMap<u32, Bucket>;

pub(crate) struct HoursRules {
    zone: Tz,
    working_days: [bool; 7],
    start_minute: u32,
    end_minute: u32,
    hours_text: String,
    note: Option<String>,
    days: BTreeMap<NaiveDate, Day>,
    first_day: Option<NaiveDate>,
    /// Days changed since the last [`HoursRules::take_state`].
    dirty: BTreeSet<NaiveDate>,
}

/// State row keys: a day's hours, and the first day.
const DAY: &str = "hours:";
const FIRST_DAY: &str = "hours";

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
            days: BTreeMap::new(),
            first_day: None,
            dirty: BTreeSet::new(),
        }
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Takes back a state row written by [`HoursRules::take_state`]; false if it is not one.
    pub fn restore(&mut self, key: &str, value: &str) -> bool {
        if key == FIRST_DAY {
            self.first_day = serde_json::from_str(value).ok();
            return true;
        }
        let Some(day) = key.strip_prefix(DAY) else {
            return false;
        };
        if let (Ok(day), Ok(hours)) = (day.parse::<NaiveDate>(), serde_json::from_str(value)) {
            self.days.insert(day, hours);
        }
        true
    }

    /// The days changed since the last call, as state rows.
    pub fn take_state(&mut self) -> Vec<(String, Option<String>)> {
        let mut rows: Vec<(String, Option<String>)> = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|day| {
                let value = self
                    .days
                    .get(&day)
                    .and_then(|hours| serde_json::to_string(hours).ok());
                (format!("{DAY}{day}"), value)
            })
            .collect();
        if !rows.is_empty() {
            rows.push((
                FIRST_DAY.to_owned(),
                serde_json::to_string(&self.first_day).ok(),
            ));
        }
        rows
    }

    /// Lets go of what hours older than the tolerance kept to become a burst.
    pub fn settle(&mut self, context: &Context<'_>) {
        let zone = self.zone;
        for (day, hours) in &mut self.days {
            for (hour, bucket) in hours.iter_mut() {
                if bucket.pending.is_some() && hour_end_us(zone, *day, *hour) < context.horizon_us {
                    bucket.pending = None;
                    self.dirty.insert(*day);
                }
            }
        }
    }

    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        let settings = &context.settings.off_hours;
        if !context.enabled(RuleId::OffHours)
            || settings
                .ignore_methods
                .iter()
                .any(|method| method == change.method())
        {
            return Ok(());
        }
        let local = self.zone.from_utc_datetime(&change.event.time.naive_utc());
        let day = local.date_naive();
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_monday() as usize;
        let working =
            self.working_days[weekday] && minute >= self.start_minute && minute < self.end_minute;
        if !working {
            self.outside_hours(change, context, ledger, day, local.weekday(), minute)?;
        }
        self.burst(change, context, ledger, day, local.hour())
    }

    fn outside_hours(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
        day: NaiveDate,
        weekday: Weekday,
        minute: u32,
    ) -> Result<(), StoreError> {
        let who = change.identity.map_or_else(|| change.who(), str::to_owned);
        let subject = format!("{who}|{day}");
        let describe = || {
            let mut row = context.row(
                RuleId::OffHours,
                &subject,
                change,
                Vec::new(),
                change.identity.map(str::to_owned),
                String::new(),
            );
            let detail = DayDetail {
                who: change.who(),
                first_minute: minute,
                last_minute: minute,
            };
            row.detail = Some(detail.text());
            row
        };
        let key = finding_key(RuleId::OffHours, &subject);
        let (row, now_first) = ledger.add(
            &key,
            change.reference(),
            context.session,
            Lookup::Key,
            describe,
        )?;
        let mut detail = row
            .detail
            .as_deref()
            .and_then(DayDetail::parse)
            .unwrap_or_default();
        if now_first {
            redescribe(row, describe());
            detail.who.clone_from(&change.who());
        }
        detail.first_minute = detail.first_minute.min(minute);
        detail.last_minute = detail.last_minute.max(minute);
        let count = row.count;
        row.summary = format!(
            "{} made {count} change{} on {weekday} {day} between {} and {} {}, outside working hours ({})",
            detail.who,
            if count == 1 { "" } else { "s" },
            clock(detail.first_minute),
            clock(detail.last_minute),
            self.zone.name(),
            self.hours_text
        );
        row.detail = Some(detail.text());
        Ok(())
    }

    fn burst(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
        day: NaiveDate,
        hour: u32,
    ) -> Result<(), StoreError> {
        // A late event on a day before the first changes every hour's usual level.
        let moved = match self.first_day {
            Some(first_day) if day < first_day => {
                self.first_day = Some(day);
                true
            }
            Some(_) => false,
            None => {
                self.first_day = Some(day);
                false
            }
        };
        self.add_event(change, context, day, hour);
        // This hour's usual level on the days after it grew.
        let later: Vec<NaiveDate> = self
            .days
            .range(day..)
            .filter(|(d, hours)| **d > day && hours.contains_key(&hour))
            .map(|(d, _)| *d)
            .collect();
        for d in &later {
            if let Some(bucket) = self.days.get_mut(d).and_then(|hours| hours.get_mut(&hour)) {
                bucket.before += 1;
                self.dirty.insert(*d);
            }
        }
        let others: Vec<(NaiveDate, u32)> = if moved {
            self.days
                .iter()
                .flat_map(|(d, hours)| hours.keys().map(move |h| (*d, *h)))
                .filter(|bucket| *bucket != (day, hour))
                .collect()
        } else {
            later.into_iter().map(|d| (d, hour)).collect()
        };
        for (d, h) in others {
            self.evaluate(d, h, None, context, ledger)?;
        }
        self.evaluate(day, hour, Some(change), context, ledger)
    }

    /// Counts `change` in its hour (and keeps it, while the hour can still become a burst).
    fn add_event(&mut self, change: &Change<'_>, context: &Context<'_>, day: NaiveDate, hour: u32) {
        let first_day = self.first_day.unwrap_or(day);
        let recent = hour_end_us(self.zone, day, hour) >= context.horizon_us;
        if !self
            .days
            .get(&day)
            .is_some_and(|hours| hours.contains_key(&hour))
        {
            let before = self
                .days
                .range(first_day..day)
                .filter_map(|(_, hours)| hours.get(&hour))
                .map(|bucket| bucket.count)
                .sum();
            self.days.entry(day).or_default().insert(
                hour,
                Bucket {
                    before,
                    pending: recent.then(|| Pending {
                        first: change.order,
                        last: change.order,
                        events: Vec::new(),
                        seqs: Vec::new(),
                        subject: Subject {
                            asset: change.asset.map(str::to_owned),
                            label: change.label.to_string(),
                        },
                    }),
                    ..Bucket::default()
                },
            );
        }
        self.dirty.insert(day);
        let bucket = self
            .days
            .get_mut(&day)
            .and_then(|hours| hours.get_mut(&hour))
            .expect("just made");
        bucket.count += 1;
        if bucket.burst {
            return;
        }
        if let Some(pending) = &mut bucket.pending {
            if change.order < pending.first {
                pending.first = change.order;
                pending.subject = Subject {
                    asset: change.asset.map(str::to_owned),
                    label: change.label.to_string(),
                };
            }
            pending.last = pending.last.max(change.order);
            let at = pending
                .events
                .partition_point(|e| (e.time_us, e.event.seq) < change.order);
            if at < EVENTS_LISTED {
                pending.events.insert(at, change.reference());
                pending.events.truncate(EVENTS_LISTED);
            }
            pending.seqs.push(change.event.seq);
        }
    }

    /// Makes the hour's burst finding agree with its counts: made, updated or withdrawn.
    /// `change` is the event just counted in it, if any.
    fn evaluate(
        &mut self,
        day: NaiveDate,
        hour: u32,
        change: Option<&Change<'_>>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        let settings = &context.settings.off_hours;
        let first_day = self.first_day.unwrap_or(day);
        let Some(bucket) = self
            .days
            .get_mut(&day)
            .and_then(|hours| hours.get_mut(&hour))
        else {
            return Ok(());
        };
        let previous_days = (day - first_day).num_days();
        let usual = if previous_days > 0 {
            bucket.before as f64 / previous_days as f64
        } else {
            0.0
        };
        let burst = previous_days > 0
            && bucket.count >= settings.burst_min_changes
            && (bucket.count as f64) >= settings.burst_factor * usual.max(1.0);
        let subject = format!("burst|{day}T{hour:02}");
        let key = finding_key(RuleId::OffHours, &subject);
        if !burst {
            if bucket.burst {
                bucket.burst = false;
                self.dirty.insert(day);
                ledger.remove(&key, context.session, Lookup::Key)?;
            }
            return Ok(());
        }
        let summary = format!(
            "{} changes between {:02}:00 and {:02}:00 on {} {day} {}: {:.0}× this hour's usual level of {usual:.1}",
            bucket.count,
            hour,
            (hour + 1) % 24,
            day.weekday(),
            self.zone.name(),
            bucket.count as f64 / usual.max(1.0),
        );
        if !bucket.burst {
            bucket.burst = true;
            self.dirty.insert(day);
            let (events, seqs, subject_of, first, last) = match bucket.pending.take() {
                Some(pending) => (
                    pending.events,
                    pending.seqs,
                    pending.subject,
                    pending.first,
                    pending.last,
                ),
                // Too late to list the hour's events: the one at hand stands for them.
                None => match change {
                    Some(change) => (
                        vec![change.reference()],
                        vec![change.event.seq],
                        Subject {
                            asset: change.asset.map(str::to_owned),
                            label: change.label.to_string(),
                        },
                        change.order,
                        change.order,
                    ),
                    None => {
                        bucket.burst = false;
                        return Ok(());
                    }
                },
            };
            let Some(first_event) = events.first().cloned() else {
                bucket.burst = false;
                return Ok(());
            };
            let mut row = context.row_about(
                RuleId::OffHours,
                &subject,
                &subject_of,
                events,
                None,
                summary,
            );
            row.count = bucket.count;
            (row.first_us, row.first_seq) = first;
            (row.last_us, row.last_seq) = last;
            ledger.add(&key, first_event, context.session, Lookup::Absent, || row)?;
            ledger.link_more(&key, seqs);
            return Ok(());
        }
        let row = match change {
            Some(change) => {
                let (row, now_first) = ledger.add(
                    &key,
                    change.reference(),
                    context.session,
                    Lookup::Key,
                    || {
                        context.row(
                            RuleId::OffHours,
                            &subject,
                            change,
                            Vec::new(),
                            None,
                            String::new(),
                        )
                    },
                )?;
                if now_first {
                    row.asset = change.asset.map(str::to_owned);
                    row.asset_label = change.asset.map(|_| change.label.to_string());
                }
                Some(row)
            }
            None => ledger.get_mut(&key, context.session, Lookup::Key)?,
        };
        if let Some(row) = row {
            row.count = bucket.count;
            row.summary = summary;
        }
        Ok(())
    }
}

/// When the local clock hour `hour` of `day` ends, in microseconds (UTC).
fn hour_end_us(zone: Tz, day: NaiveDate, hour: u32) -> i64 {
    day.and_hms_opt(hour, 0, 0)
        .and_then(|start| zone.from_local_datetime(&start).earliest())
        .map(|start| start.timestamp_micros() + 3_600_000_000)
        .unwrap_or(i64::MAX)
}

fn clock(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}
