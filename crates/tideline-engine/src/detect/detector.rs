//! detector: every rule over events one at a time, in any order, with the rules' state and the
//! findings' ledger — what a [`super::DetectionRunner`] feeds and commits. Its state is kept
//! per principal, asset, account and day, and goes to the store as rows with the findings, so
//! a later run resumes from it.

use serde::{Deserialize, Serialize};

use super::ledger::{Ledger, LedgerChanges};
use super::{
    Change, Context, DetectionSettings, LATENESS_TOLERANCE_US, Order, RuleId, RuleStatus, body,
    geo, hours, identity, lifecycle,
};
use crate::store::{FindingsWatermark, Session, StoreError, StoredEvent};

/// The clock the rules share: the first change (the learning period starts there) and the
/// newest one seen.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Clock {
    first: Option<Order>,
    newest: Option<Order>,
}

/// The state row key of the clock.
const CLOCK: &str = "clock";

/// What feeding one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    Done,
    /// The event comes before the session's first change: the learning period moves, which
    /// only a rebuild can follow.
    NeedsRebuild,
}

pub(crate) struct Detector {
    settings: DetectionSettings,
    clock: Clock,
    clock_changed: bool,
    identity: identity::IdentityRules,
    hours: hours::HoursRules,
    lifecycle: lifecycle::LifecycleRules,
    ledger: Ledger,
    statuses: Vec<RuleStatus>,
}

impl Detector {
    /// A detector with nothing seen; new findings get ids from `next_id`, pairs hash with
    /// `salt`; `rebuilding` when it makes every finding (see [`Ledger::new`]).
    pub fn new(settings: DetectionSettings, salt: u64, next_id: i64, rebuilding: bool) -> Detector {
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
            identity: identity::IdentityRules::new(travel, salt),
            hours,
            lifecycle: lifecycle::LifecycleRules::default(),
            settings,
            clock: Clock::default(),
            clock_changed: false,
            ledger: Ledger::new(next_id, rebuilding),
            statuses,
        }
    }

    /// Takes back the state rows a detector stored with the complete findings `mark`, and
    /// looks its (principal, address) pairs up in the store from now on (or, when their index
    /// cannot be made now, takes them back too).
    pub fn restore(
        &mut self,
        session: &Session,
        mark: &FindingsWatermark,
    ) -> Result<(), StoreError> {
        let rows = session.detect_state()?;
        for (key, value) in rows {
            if key == CLOCK {
                self.clock = serde_json::from_str(&value).unwrap_or_default();
                continue;
            }
            let _ = self.identity.restore(&key, &value)
                || self.hours.restore(&key, &value)
                || self.lifecycle.restore(&key, &value);
        }
        let pairs = self.identity.pairs_mut();
        if session.index_detect_pairs(mark)? {
            pairs.look_up_in_store();
            return Ok(());
        }
        pairs.reserve(session.detect_pair_rows()? as usize);
        session.for_each_detect_pair(|hash, id| pairs.restore(hash, id))
    }

    /// Feeds one stored event; events that are not asset changes are ignored.
    pub fn observe(
        &mut self,
        event: &StoredEvent,
        session: &Session,
    ) -> Result<Observed, StoreError> {
        let fields = event.change.map(|_| body::read(&event.body));
        self.observe_read(event, fields, session)
    }

    /// Feeds one stored event whose body was read beforehand (`fields`: `None` for an event
    /// that is not an asset change; the event's own body is not looked at).
    pub fn observe_read(
        &mut self,
        event: &StoredEvent,
        fields: Option<body::BodyFields>,
        session: &Session,
    ) -> Result<Observed, StoreError> {
        let (Some(kind), Some(fields)) = (event.change, fields) else {
            return Ok(Observed::Done);
        };
        let change = Change::with_body(event, kind, fields);
        match self.clock.first {
            Some(first) if change.order < first => return Ok(Observed::NeedsRebuild),
            Some(_) => {}
            None => {
                self.clock.first = Some(change.order);
                self.clock_changed = true;
            }
        }
        let late = self
            .clock
            .newest
            .is_some_and(|newest| change.order < newest);
        if !late {
            self.clock.newest = Some(change.order);
            self.clock_changed = true;
        }
        // Fields borrowed apart: the rules and the ledger change while the context is read.
        let Detector {
            settings,
            clock,
            identity,
            hours,
            lifecycle,
            ledger,
            ..
        } = self;
        let context = Detector::context_of(settings, clock, session, late);
        identity.observe(&change, &context, ledger)?;
        hours.observe(&change, &context, ledger)?;
        lifecycle.observe(&change, &context, ledger)?;
        Ok(Observed::Done)
    }

    fn context_of<'a>(
        settings: &'a DetectionSettings,
        clock: &Clock,
        session: &'a Session,
        late: bool,
    ) -> Context<'a> {
        let first = clock.first.map_or(0, |first| first.0);
        let learning_hours = settings.learning_period_hours.max(0.0);
        Context {
            settings,
            learning_until_us: first.saturating_add((learning_hours * 3_600_000_000.0) as i64),
            horizon_us: clock.newest.map_or(i64::MIN, |newest| {
                newest.0.saturating_sub(LATENESS_TOLERANCE_US)
            }),
            late,
            session,
        }
    }

    /// Whether the ledger holds enough changes to be worth a commit.
    pub fn has_much_to_commit(&self, rows: usize) -> bool {
        self.ledger.is_large(rows)
    }

    /// The findings changed since the last call.
    pub fn take_findings(&mut self) -> LedgerChanges {
        self.ledger.take()
    }

    /// The rebuild is stored: see [`Ledger::end_rebuild`].
    pub fn end_rebuild(&mut self) {
        self.ledger.end_rebuild();
    }

    /// Lets go of held findings and (principal, address) pairs the store has: every take but
    /// the last `takes` (see [`Ledger::let_go`], [`KnownPairs::let_go`]).
    pub fn let_go(&mut self, takes: u64) {
        self.ledger.let_go(takes);
        self.identity.pairs_mut().let_go(takes);
    }

    /// The store has every take (a commit on the runner's own connection succeeded): lets go
    /// of every pair held for it. Unlike the ledger, which keeps its last take's findings at
    /// hand for the next events ([`Detector::let_go`]), no pair is kept: a lookup by hash in
    /// the store costs about as little.
    pub fn stored_every_take(&mut self) {
        self.identity.pairs_mut().let_go(0);
    }

    /// Settles what is older than the lateness tolerance: replayable steps move into the
    /// settled state, and hours no longer keep what they would need to become a burst.
    pub fn settle(&mut self, session: &Session) -> Result<(), StoreError> {
        let Detector {
            settings,
            clock,
            identity,
            hours,
            lifecycle,
            ..
        } = self;
        let context = Detector::context_of(settings, clock, session, false);
        identity.settle(&context)?;
        hours.settle(&context);
        lifecycle.settle(&context)
    }

    /// The state rows changed since the last call.
    pub fn take_state(&mut self) -> Vec<(String, Option<String>)> {
        let mut rows = self.identity.take_state();
        rows.extend(self.hours.take_state());
        rows.extend(self.lifecycle.take_state());
        if std::mem::take(&mut self.clock_changed) {
            rows.push((CLOCK.to_owned(), serde_json::to_string(&self.clock).ok()));
        }
        rows
    }

    /// How many (principal, address) pairs are held in memory.
    #[cfg(test)]
    pub fn pairs_held(&self) -> usize {
        self.identity.pairs().held()
    }

    /// The (principal, address) pairs first seen or given another finding since the last
    /// call.
    pub fn take_pairs(&mut self) -> Vec<(i64, i64)> {
        self.identity.take_pairs()
    }

    pub fn statuses(&self) -> &[RuleStatus] {
        &self.statuses
    }
}
