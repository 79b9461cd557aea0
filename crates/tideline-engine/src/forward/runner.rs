//! forward::runner: delivers a session's matching events and findings to each destination,
//! at least once, without ever touching the recording.
//!
//! The outbox is the session itself: each destination has a cursor in the notes database
//! ([`crate::store::ForwardCursor`]) and is sent what was stored after it, read through its own
//! read-only connection (the recorder's writes never wait for it). A cursor moves only after
//! the destination took the batch, so a crash or a restart sends again what was in flight and
//! nothing is lost. A destination that fails is retried with exponential backoff and jitter
//! (honouring `Retry-After`), on its own: one down does not hold back the others — that is the
//! circuit. One that refuses for a reason retrying cannot fix (a bad token, a bad request) is
//! stopped with the cause kept and what is pending left in place.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::destinations::{self, Delivery, Destination, EventFacts, Item, SecretSource};
use super::rules::ForwardingRules;
use crate::json;
use crate::store::{ForwardCursor, PageStart, Session, StoreError, StoredEvent, TimelineQuery};
use crate::timeline;

/// Events read per look at the session, per destination.
const SCAN: usize = 500;
/// How often a caught-up destination looks for new events.
const POLL: Duration = Duration::from_millis(500);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// One destination's state, as the status bar and `forward status` show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DestinationStatus {
    /// Kind and address, never a secret (`webhook http://127.0.0.1:9000/hook`).
    pub destination: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub delivered: u64,
    /// Events stored after the destination's cursor: not all of them may match its routes.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub behind: u64,
    /// RFC 3339 UTC, while deliveries fail.
    pub failing_since: Option<String>,
    pub last_error: Option<String>,
    /// Why it was stopped, if it was (it sends nothing until the forwarding restarts).
    pub stopped: Option<String>,
}

impl DestinationStatus {
    pub fn of(destination: &str, cursor: &ForwardCursor, newest_seq: i64) -> DestinationStatus {
        DestinationStatus {
            destination: destination.to_owned(),
            delivered: cursor.delivered,
            behind: (newest_seq - cursor.delivered_seq).max(0) as u64,
            failing_since: cursor
                .failing_since_us
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            last_error: cursor.last_error.clone(),
            stopped: cursor.stopped.clone(),
        }
    }
}

/// How a forwarding run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Keep sending new events as they are stored, until stopped (beside a recording).
    Live,
    /// Stop once every destination has caught up or was stopped (a backfill, or the drain at the
    /// end of a recording); a failing one is retried meanwhile, so the caller bounds the time.
    UntilCaughtUp,
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Target {
    name: String,
    config: destinations::DestinationConfig,
    sender: Option<Destination>,
    cursor: ForwardCursor,
    attempts: u32,
    next_try: Instant,
    /// Matching events read ahead of the cursor, in order, not yet sent: read once per
    /// [`SCAN`] events, not once per batch.
    queued: VecDeque<(StoredEvent, EventFacts)>,
    /// Every event up to here is queued, delivered, or does not match.
    queued_to: i64,
}

/// Runs the forwarding of the session at `session` by `rules` until `stop` (or, with
/// [`Follow::UntilCaughtUp`], until there is nothing left to try), publishing each
/// destination's status on `status`. `since_us` skips events before that time (a backfill of
/// a window); cursors still move past them.
///
/// Errors: the session or its notes cannot be read or written.
pub async fn run(
    session: PathBuf,
    rules: ForwardingRules,
    secrets: Arc<dyn SecretSource>,
    follow: Follow,
    since_us: Option<i64>,
    stop: CancellationToken,
    status: watch::Sender<Vec<DestinationStatus>>,
) -> Result<Vec<DestinationStatus>, ForwardError> {
    let reader = Session::open(&session)?;
    let mut targets: Vec<Target> = rules
        .destinations()
        .into_iter()
        .map(|(name, config)| {
            let mut cursor = reader.forward_cursor(&name)?;
            // A new run tries a stopped destination again: the user may have fixed its cause.
            cursor.stopped = None;
            Ok(Target {
                name,
                config,
                sender: None,
                queued_to: cursor.delivered_seq,
                cursor,
                attempts: 0,
                next_try: Instant::now(),
                queued: VecDeque::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    loop {
        let mut idle = true;
        for target in &mut targets {
            if target.cursor.stopped.is_some() || Instant::now() < target.next_try {
                continue;
            }
            if target.sender.is_none() {
                match destinations::connect(&target.config, &*secrets).await {
                    Ok(sender) => target.sender = Some(sender),
                    Err(error) => {
                        // A missing secret or a bad address will not mend by itself.
                        let refused = Delivery::Refused {
                            cause: error.to_string(),
                        };
                        fail(&reader, target, refused)?;
                        continue;
                    }
                }
            }
            let max = target.sender.as_ref().map_or(1, |s| s.max_batch().max(1));
            // Read (no await while the session is borrowed), send, then record the outcome.
            let batch = next_batch(&reader, &rules, target, since_us, max)?;
            let Some(batch) = batch else {
                continue;
            };
            idle = false;
            let Some(sender) = target.sender.as_mut() else {
                continue;
            };
            let outcome = match &batch {
                Batch::Events { events, .. } => {
                    let items: Vec<Item<'_>> = events
                        .iter()
                        .map(|(event, facts)| Item::Event {
                            id: &event.event_id,
                            source: &event.source,
                            time_us: event.time.timestamp_micros(),
                            body: &event.body,
                            facts,
                        })
                        .collect();
                    sender.deliver(&items).await
                }
                Batch::Findings { findings, .. } => {
                    let items: Vec<Item<'_>> = findings
                        .iter()
                        .map(|finding| Item::Finding {
                            key: &finding.key,
                            time_us: finding.time_us,
                            json: &finding.json,
                            facts: &finding.facts,
                        })
                        .collect();
                    sender.deliver(&items).await
                }
                Batch::Skipped => Delivery::Delivered,
            };
            settle(&reader, target, outcome, batch)?;
        }
        let newest = reader.newest_seq()?.unwrap_or(0);
        let report: Vec<DestinationStatus> = targets
            .iter()
            .map(|t| DestinationStatus::of(&t.name, &t.cursor, newest))
            .collect();
        status.send_replace(report.clone());
        // A failing destination is not settled: it is retried on its backoff until it takes
        // what is pending or the caller's time runs out.
        let settled = targets.iter().all(|t| {
            t.cursor.stopped.is_some()
                || (t.cursor.failing_since_us.is_none() && t.cursor.delivered_seq >= newest)
        });
        if follow == Follow::UntilCaughtUp && idle && settled {
            return Ok(report);
        }
        if idle {
            tokio::select! {
                () = stop.cancelled() => return Ok(report),
                () = tokio::time::sleep(POLL) => {}
            }
        } else if stop.is_cancelled() {
            return Ok(report);
        }
    }
}

/// For each route to `destination` with a query: the arrival numbers in `(from, through]` its
/// query finds — the search box's own search, run by the store over that window.
fn query_hits(
    reader: &Session,
    rules: &ForwardingRules,
    destination: &str,
    from: i64,
    through: i64,
) -> Result<HashMap<usize, HashSet<i64>>, ForwardError> {
    let mut hits = HashMap::new();
    if through <= from {
        return Ok(hits);
    }
    for (route, query, with_activity) in rules.queries_for(destination) {
        let mut seqs = HashSet::new();
        for activity in [false, true] {
            if activity && !with_activity {
                continue;
            }
            let window = TimelineQuery {
                text: Some(query.to_owned()),
                after_seq: Some(from),
                max_seq: Some(through),
                activity,
                ..TimelineQuery::default()
            };
            let page = timeline::list_changes(reader, &window, PageStart::Offset(0), SCAN as u64)?;
            seqs.extend(page.rows.iter().map(|row| row.seq));
        }
        hits.insert(route, seqs);
    }
    Ok(hits)
}

/// A finding ready to send.
struct FindingItem {
    key: String,
    id: i64,
    time_us: i64,
    json: serde_json::Value,
    facts: EventFacts,
}

/// What one destination sends next.
enum Batch {
    /// Matching events, and how far the scan went (every event up to `scanned` is in the batch
    /// or does not match).
    Events {
        events: Vec<(StoredEvent, EventFacts)>,
        scanned: i64,
    },
    Findings {
        findings: Vec<FindingItem>,
        scanned: i64,
    },
    /// Nothing matched; the cursors moved past what was looked at.
    Skipped,
}

impl Batch {
    /// The items' places (seq or finding id), how far the scan went, and which cursor.
    fn places(&self) -> (Vec<i64>, i64, bool) {
        match self {
            Batch::Events { events, scanned } => {
                (events.iter().map(|(e, _)| e.seq).collect(), *scanned, false)
            }
            Batch::Findings { findings, scanned } => {
                (findings.iter().map(|f| f.id).collect(), *scanned, true)
            }
            Batch::Skipped => (Vec::new(), 0, false),
        }
    }
}

/// The next batch for `target`: matching events after its cursor, else matching findings;
/// `None` when there is nothing new at all.
fn next_batch(
    reader: &Session,
    rules: &ForwardingRules,
    target: &mut Target,
    since_us: Option<i64>,
    max: usize,
) -> Result<Option<Batch>, ForwardError> {
    if target.queued.is_empty() {
        let from = target.queued_to.max(target.cursor.delivered_seq);
        let events = reader.events_after_limited(from, SCAN)?;
        let through = events.last().map_or(from, |event| event.seq);
        let found = query_hits(reader, rules, &target.name, from, through)?;
        for event in events {
            target.queued_to = event.seq;
            let in_window = since_us.is_none_or(|since| event.time.timestamp_micros() >= since);
            if in_window {
                let facts = event_facts(&event);
                let seq = event.seq;
                let finds =
                    |route: usize| found.get(&route).is_some_and(|seqs| seqs.contains(&seq));
                if rules.sends(&target.name, &facts, finds) {
                    target.queued.push_back((event, facts));
                }
            }
        }
    }
    if !target.queued.is_empty() {
        let take = max.min(target.queued.len());
        let events: Vec<(StoredEvent, EventFacts)> = target.queued.drain(..take).collect();
        // Everything before the next queued event is in this batch or does not match.
        let scanned = target
            .queued
            .front()
            .map_or(target.queued_to, |(next, _)| next.seq - 1);
        return Ok(Some(Batch::Events { events, scanned }));
    }
    let moved = target.queued_to != target.cursor.delivered_seq;
    target.cursor.delivered_seq = target.queued_to;

    let findings = reader.findings_after_id(target.cursor.delivered_finding, SCAN)?;
    let mut last_finding = target.cursor.delivered_finding;
    let mut chosen = Vec::new();
    for finding in findings {
        last_finding = finding.id;
        let facts = EventFacts {
            rule: Some(finding.rule.clone()),
            severity: Some(finding.severity.clone()),
            principal: finding.principal.clone(),
            asset_name: finding.asset.clone(),
            summary: finding.summary.clone(),
            event_type: "finding".to_owned(),
            ..EventFacts::default()
        };
        if rules.sends(&target.name, &facts, |_| false) {
            chosen.push(FindingItem {
                key: finding.key.clone(),
                id: finding.id,
                time_us: finding.first_us,
                json: finding_json(&finding),
                facts,
            });
            if chosen.len() == max {
                break;
            }
        }
    }
    if !chosen.is_empty() {
        return Ok(Some(Batch::Findings {
            findings: chosen,
            scanned: last_finding,
        }));
    }
    let moved = moved || last_finding != target.cursor.delivered_finding;
    target.cursor.delivered_finding = last_finding;
    if moved {
        reader.save_forward_cursor(&target.name, &target.cursor, now_us())?;
        return Ok(Some(Batch::Skipped));
    }
    Ok(None)
}

/// Records a delivery's outcome: the batch's cursor (events' or findings') moves past what
/// was taken — to how far the scan went when the whole batch was, else to just before the
/// first item to send again.
fn settle(
    reader: &Session,
    target: &mut Target,
    outcome: Delivery,
    batch: Batch,
) -> Result<(), ForwardError> {
    if matches!(batch, Batch::Skipped) {
        return Ok(());
    }
    let (positions, scanned, findings) = batch.places();
    // The events of this batch from `first` on go back to the front of the queue, to be sent
    // again (a whole batch on a retry or refusal).
    let requeue = |target: &mut Target, batch: Batch, first: usize| {
        if let Batch::Events { events, .. } = batch {
            for item in events.into_iter().skip(first).rev() {
                target.queued.push_front(item);
            }
        }
    };
    let mark = |cursor: &mut ForwardCursor, to: i64| {
        if findings {
            cursor.delivered_finding = to;
        } else {
            cursor.delivered_seq = to;
        }
    };
    match outcome {
        Delivery::Delivered => {
            mark(&mut target.cursor, scanned);
            target.cursor.delivered += positions.len() as u64;
            target.cursor.failing_since_us = None;
            target.attempts = 0;
            reader.save_forward_cursor(&target.name, &target.cursor, now_us())?;
        }
        Delivery::Partial {
            delivered,
            retry,
            rejected,
            after,
            cause,
        } => {
            let first_retry = retry.iter().copied().min();
            let taken = delivered
                .iter()
                .filter(|index| first_retry.is_none_or(|first| **index < first))
                .count();
            let to = match first_retry {
                Some(first) => positions.get(first).map_or(scanned, |place| place - 1),
                None => scanned,
            };
            mark(&mut target.cursor, to);
            target.cursor.delivered += taken as u64;
            if let Some((index, why)) = rejected.first() {
                // Refused item by item (a mapping error): kept out, named, the rest goes on.
                target.cursor.last_error = Some(format!(
                    "{} item(s) rejected, e.g. item {index}: {why}",
                    rejected.len()
                ));
            }
            if let Some(first) = first_retry {
                requeue(target, batch, first);
                fail(reader, target, Delivery::Retry { after, cause })?;
            } else {
                target.cursor.failing_since_us = None;
                reader.save_forward_cursor(&target.name, &target.cursor, now_us())?;
            }
        }
        other => {
            requeue(target, batch, 0);
            fail(reader, target, other)?;
        }
    }
    Ok(())
}

fn fail(reader: &Session, target: &mut Target, outcome: Delivery) -> Result<(), ForwardError> {
    match outcome {
        Delivery::Delivered | Delivery::Partial { .. } => {}
        Delivery::Retry { after, cause } => {
            target.attempts = target.attempts.saturating_add(1);
            let backoff = BACKOFF_FIRST
                .saturating_mul(1 << target.attempts.min(16).saturating_sub(1))
                .min(BACKOFF_MAX);
            // Full jitter on the backoff; never sooner than the receiver asked.
            let jittered = backoff.mul_f64(rand::random_range(0.5..=1.0));
            target.next_try = Instant::now() + jittered.max(after.unwrap_or_default());
            target.cursor.failing_since_us.get_or_insert_with(now_us);
            target.cursor.last_error = Some(cause);
            // A connection that failed is made again on the next try.
            target.sender = None;
        }
        Delivery::Refused { cause } => {
            target.cursor.failing_since_us.get_or_insert_with(now_us);
            target.cursor.last_error = Some(cause.clone());
            target.cursor.stopped = Some(cause);
        }
    }
    reader.save_forward_cursor(&target.name, &target.cursor, now_us())?;
    Ok(())
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// What the routes and the destinations' formats read from a stored event.
pub fn event_facts(event: &StoredEvent) -> EventFacts {
    let body = json::parse_or_null(&event.body);
    let data = &body["data"];
    EventFacts {
        change: event.change.map(|change| change.as_str().to_owned()),
        event_type: event.event_type.clone(),
        asset_name: event.asset_name.clone(),
        asset_type: event.asset_type.clone(),
        provider: event.asset_provider.clone(),
        account: event.asset_account.clone(),
        region: event.asset_region.clone(),
        principal: event.principal.clone(),
        method: event.method.clone(),
        source_ip: event.source_ip.clone(),
        user_agent: json::text(&data["attribution"]["user_agent"]).map(str::to_owned),
        action: event.action.clone(),
        summary: match event.change {
            Some(_) => crate::diff::change_summary(event.change, data),
            None => json::text(&data["note"]).unwrap_or_default().to_owned(),
        },
        severity: None,
        rule: None,
    }
}

fn finding_json(finding: &crate::store::FindingRow) -> serde_json::Value {
    let time = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let mut map = serde_json::Map::new();
    let text = |s: &str| serde_json::Value::String(s.to_owned());
    map.insert("key".into(), text(&finding.key));
    map.insert("rule".into(), text(&finding.rule));
    map.insert("severity".into(), text(&finding.severity));
    map.insert("summary".into(), text(&finding.summary));
    map.insert("time".into(), text(&time(finding.first_us)));
    map.insert("last_time".into(), text(&time(finding.last_us)));
    map.insert("count".into(), serde_json::Value::from(finding.count));
    for (key, value) in [
        ("asset", &finding.asset),
        ("asset_label", &finding.asset_label),
        ("principal", &finding.principal),
    ] {
        if let Some(value) = value {
            map.insert(key.into(), text(value));
        }
    }
    serde_json::Value::Object(map)
}
