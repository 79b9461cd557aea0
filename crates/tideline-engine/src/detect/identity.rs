//! identity: rules about who made a change and from where — `new_source_ip` (one finding per
//! principal and address), `unexpected_principal` and `impossible_travel` — with their state
//! kept per principal ([`Person`]) and the (principal, address) pairs seen ([`KnownPairs`]).
//!
//! `new_source_ip` fires for a pair whose first event (in time order) is not the principal's
//! first event with an address and comes after the learning period; the finding counts every
//! event of the pair. That depends only on which events exist, not on the order they arrive in,
//! so a late event is placed exactly: it may only make itself or the principal's first address
//! the new first (see [`IdentityRules::new_source_ip`]).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::geo::{self, GeoIp, Place};
use super::ledger::{Ledger, Lookup};
use super::pairs::KnownPairs;
use super::replay::{Made, Replay};
use super::{
    Change, Context, EVENTS_LISTED, Order, RuleId, Subject, finding_key, human_duration, redescribe,
};
use crate::attribution::{parse_ip, principal_short};
use crate::store::{StoreError, TimedEventRef};

/// What the identity rules remember about one principal.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Person {
    /// The first event with a source address, and the totals of its address: not a finding
    /// (nothing was known before it), but one if a late event turns out to come first.
    first_address: Option<FirstAddress>,
    /// The first change at all (for "never seen before").
    first_change: Option<FirstChange>,
    /// Where the principal was, in time order (impossible travel).
    travel: Option<Replay<Option<Point>, Point>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FirstAddress {
    order: Order,
    address: String,
    pair: u64,
    count: u64,
    last: Order,
    events: Vec<TimedEventRef>,
    /// `(time, seq)` of its events within the lateness tolerance: the links it needs, should a
    /// late event make it a finding (only a young principal's first address can become one).
    recent: Vec<Order>,
    /// False when the address was first seen while learning (it can never be a finding, and
    /// its totals were not kept).
    counted: bool,
}

impl FirstAddress {
    fn new(change: &Change<'_>, address: &str, pair: u64) -> FirstAddress {
        FirstAddress {
            order: change.order,
            address: address.to_owned(),
            pair,
            count: 1,
            last: change.order,
            events: vec![change.reference()],
            recent: vec![change.order],
            counted: true,
        }
    }

    fn add(&mut self, change: &Change<'_>, horizon_us: i64) {
        if self.recent.contains(&change.order) {
            return;
        }
        self.count += 1;
        self.last = self.last.max(change.order);
        self.order = self.order.min(change.order);
        let at = self
            .events
            .partition_point(|e| (e.time_us, e.event.seq) < change.order);
        if at < EVENTS_LISTED {
            self.events.insert(at, change.reference());
            self.events.truncate(EVENTS_LISTED);
        }
        self.recent.push(change.order);
        self.recent.retain(|order| order.0 >= horizon_us);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FirstChange {
    order: Order,
    /// Whether the allowed lists refused it (then it is that finding, not "never seen").
    refused: bool,
}

/// A located change (impossible travel's step).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Point {
    place: Place,
    ip: String,
    event: TimedEventRef,
    who: String,
    subject: Subject,
}

pub(crate) struct IdentityRules {
    geoip: Option<GeoIp>,
    people: HashMap<String, Person>,
    pairs: KnownPairs,
    /// Principals changed since the last [`IdentityRules::take_state`].
    dirty: HashSet<String>,
}

/// The state row key of a principal.
const PERSON: &str = "person:";

impl IdentityRules {
    pub fn new(geoip: Option<GeoIp>, salt: u64) -> IdentityRules {
        IdentityRules {
            geoip,
            people: HashMap::new(),
            pairs: KnownPairs::new(salt),
            dirty: HashSet::new(),
        }
    }

    /// Takes back a state row written by [`IdentityRules::take_state`]; false if it is not one.
    pub fn restore(&mut self, key: &str, value: &str) -> bool {
        let Some(identity) = key.strip_prefix(PERSON) else {
            return false;
        };
        if let Ok(person) = serde_json::from_str(value) {
            self.people.insert(identity.to_owned(), person);
        }
        true
    }

    /// The stored pairs, to take back one by one ([`KnownPairs::reserve`], then
    /// [`KnownPairs::restore`] in the order the store gives them).
    pub fn pairs_mut(&mut self) -> &mut KnownPairs {
        &mut self.pairs
    }

    /// The pairs seen (a test counts those held).
    #[cfg(test)]
    pub fn pairs(&self) -> &KnownPairs {
        &self.pairs
    }

    /// The pairs first seen or given another finding since the last call.
    pub fn take_pairs(&mut self) -> Vec<(i64, i64)> {
        self.pairs.take_fresh()
    }

    /// The principals changed since the last call, as state rows.
    pub fn take_state(&mut self) -> Vec<(String, Option<String>)> {
        self.dirty
            .drain()
            .map(|identity| {
                let value = self
                    .people
                    .get(&identity)
                    .and_then(|person| serde_json::to_string(person).ok());
                (format!("{PERSON}{identity}"), value)
            })
            .collect()
    }

    /// Settles every principal's travel steps older than the horizon.
    pub fn settle(&mut self, context: &Context<'_>) -> Result<(), StoreError> {
        for (identity, person) in &mut self.people {
            if let Some(travel) = &mut person.travel
                && !travel.is_settled()
            {
                // Written again only when a step settled (see LifecycleRules::settle).
                if travel.settle(context.horizon_us, &mut travel_step(identity, context))? {
                    self.dirty.insert(identity.clone());
                }
            }
        }
        Ok(())
    }

    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        let Some(identity) = change.identity else {
            return Ok(());
        };
        // The provider's own operations are not a person's: none of these rules apply.
        if change.method() == "provider" {
            return Ok(());
        }
        self.unexpected_principal(identity, change, context, ledger)?;
        // Compared in canonical form (the column is canonical from ingest on; sessions
        // recorded before keep the spelling that arrived), so that `198.051.100.007` and
        // `::ffff:198.51.100.7` are the 198.51.100.7 already seen.
        let ip = change.event.source_ip.as_deref().and_then(parse_ip);
        if let Some(ip) = ip {
            let text = ip.to_string();
            self.new_source_ip(identity, &text, change, context, ledger)?;
            self.impossible_travel(identity, &text, ip, change, context, ledger)?;
        }
        Ok(())
    }

    /// One event of `identity` at `address`. The principal's first event with an address
    /// starts its first address (no finding); any other address whose first event comes
    /// after the learning period is a finding counting all its events. A late event that
    /// comes before the first address's first event takes its place: its own address stops
    /// being a finding, and the old first address becomes one (if it was first seen after
    /// the learning period).
    fn new_source_ip(
        &mut self,
        identity: &str,
        address: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        if !context.enabled(RuleId::NewSourceIp) {
            return Ok(());
        }
        let pair = self.pairs.hash(identity, address);
        let key = finding_key(RuleId::NewSourceIp, &format!("{identity}|{address}"));
        if !self.dirty.contains(identity) {
            self.dirty.insert(identity.to_owned());
        }
        let person = match self.people.get_mut(identity) {
            Some(person) => person,
            None => self.people.entry(identity.to_owned()).or_default(),
        };
        let Some(first) = &mut person.first_address else {
            self.pairs.set(pair, 0);
            person.first_address = Some(FirstAddress::new(change, address, pair));
            return Ok(());
        };
        if first.pair == pair {
            first.add(change, context.horizon_us);
            return Ok(());
        }
        // `None`: never seen; `Some(0)`: first seen while learning, never a finding.
        let known = self.pairs.get(pair, context.session)?;
        if change.order < first.order {
            let mut now_first = FirstAddress::new(change, address, pair);
            match known {
                Some(id) if id > 0 => {
                    if let Some(row) =
                        ledger.remove(&key, context.session, Lookup::Id(i64::from(id)))?
                    {
                        now_first.count += row.count;
                        now_first.last = now_first.last.max((row.last_us, row.last_seq));
                        now_first.recent.extend(
                            row.events
                                .iter()
                                .map(|e| (e.time_us, e.event.seq))
                                .filter(|order| order.0 >= context.horizon_us),
                        );
                        now_first.events.extend(row.events);
                        now_first.events.sort_by_key(|e| (e.time_us, e.event.seq));
                        now_first.events.truncate(EVENTS_LISTED);
                    }
                }
                Some(_) => now_first.counted = false,
                None => {}
            }
            self.pairs.set(pair, 0);
            let was_first = std::mem::replace(first, now_first);
            if let Some(id) = new_address_finding(identity, &was_first, context, ledger)? {
                self.pairs.set(was_first.pair, id);
            }
            return Ok(());
        }
        match known {
            Some(0) => Ok(()),
            Some(id) => {
                let describe = || new_address_row(identity, address, change, context);
                let (row, now_first) = ledger.add(
                    &key,
                    change.reference(),
                    context.session,
                    Lookup::Id(i64::from(id)),
                    describe,
                )?;
                if now_first {
                    redescribe(row, describe());
                }
                // Made anew if it had gone missing: the pair follows it.
                if row.id != i64::from(id) {
                    let id = row.id;
                    self.pairs.set(pair, id);
                }
                Ok(())
            }
            None if context.learning(change.time_us) => {
                self.pairs.set(pair, 0);
                Ok(())
            }
            None => {
                let (row, _) = ledger.add(
                    &key,
                    change.reference(),
                    context.session,
                    Lookup::Absent,
                    || new_address_row(identity, address, change, context),
                )?;
                let id = row.id;
                self.pairs.set(pair, id);
                Ok(())
            }
        }
    }

    fn unexpected_principal(
        &mut self,
        identity: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        if !context.enabled(RuleId::UnexpectedPrincipal) {
            return Ok(());
        }
        let settings = &context.settings.unexpected_principal;
        let names = [Some(identity), change.event.principal.as_deref()];
        let short = change.event.principal.as_deref().map(principal_short);
        let matches = |allowed: &Vec<String>| {
            allowed
                .iter()
                .any(|a| names.contains(&Some(a.as_str())) || short.as_deref() == Some(a.as_str()))
        };
        let scopes = [
            change.event.asset_account.as_deref(),
            change.event.asset_type.as_deref(),
        ];
        let refused_by = scopes.into_iter().flatten().find(|scope| {
            settings
                .allowed
                .get(*scope)
                .is_some_and(|allowed| !matches(allowed))
        });
        if let Some(scope) = refused_by {
            let subject = format!("{identity}|{scope}");
            let describe = || {
                let reason = format!("is not on the allowed list for {scope}");
                principal_row(identity, &subject, &reason, change, context)
            };
            let (row, now_first) = ledger.add(
                &finding_key(RuleId::UnexpectedPrincipal, &subject),
                change.reference(),
                context.session,
                Lookup::Key,
                describe,
            )?;
            if now_first {
                redescribe(row, describe());
            }
        }
        // "Never seen before" is about the principal's first change, whenever it arrives.
        let person = match self.people.get_mut(identity) {
            Some(person) => person,
            None => self.people.entry(identity.to_owned()).or_default(),
        };
        let first = FirstChange {
            order: change.order,
            refused: refused_by.is_some(),
        };
        let replaced = match &person.first_change {
            None => false,
            Some(known) if change.order < known.order => true,
            Some(_) => return Ok(()),
        };
        if !self.dirty.contains(identity) {
            self.dirty.insert(identity.to_owned());
        }
        let subject = format!("{identity}|first");
        if settings.flag_first_seen && !first.refused && !context.learning(change.time_us) {
            let reason = "had never been seen making changes before";
            ledger.put(
                principal_row(identity, &subject, reason, change, context),
                context.session,
            )?;
        } else if replaced {
            ledger.remove(
                &finding_key(RuleId::UnexpectedPrincipal, &subject),
                context.session,
                Lookup::Key,
            )?;
        }
        person.first_change = Some(first);
        Ok(())
    }

    fn impossible_travel(
        &mut self,
        identity: &str,
        text: &str,
        ip: std::net::IpAddr,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        if !context.enabled(RuleId::ImpossibleTravel) {
            return Ok(());
        }
        let Some(place) = self.geoip.as_ref().and_then(|geoip| geoip.locate(ip)) else {
            return Ok(());
        };
        let point = Point {
            place,
            ip: text.to_owned(),
            event: change.reference(),
            who: change.who(),
            subject: Subject {
                asset: change.asset.map(str::to_owned),
                label: change.label.to_string(),
            },
        };
        let person = match self.people.get_mut(identity) {
            Some(person) => person,
            None => self.people.entry(identity.to_owned()).or_default(),
        };
        if !self.dirty.contains(identity) {
            self.dirty.insert(identity.to_owned());
        }
        person.travel.get_or_insert_with(Replay::default).observe(
            change.order,
            point,
            context.horizon_us,
            &mut travel_step(identity, context),
            ledger,
            context.session,
        )
    }
}

fn new_address_row(
    identity: &str,
    address: &str,
    change: &Change<'_>,
    context: &Context<'_>,
) -> crate::store::FindingRow {
    let summary = format!(
        "{} made a change from {address}, an address not seen for this principal before: {} on {}",
        change.who(),
        change.action(),
        change.label
    );
    context.row(
        RuleId::NewSourceIp,
        &format!("{identity}|{address}"),
        change,
        Vec::new(),
        Some(identity.to_owned()),
        summary,
    )
}

/// The principal's former first address as a finding, once a late event came before it;
/// returns its id (`None` if it is not one: first seen while learning).
fn new_address_finding(
    identity: &str,
    address: &FirstAddress,
    context: &Context<'_>,
    ledger: &mut Ledger,
) -> Result<Option<i64>, StoreError> {
    if !address.counted || context.learning(address.order.0) {
        return Ok(None);
    }
    let Some(event) = context.session.event_by_seq(address.order.1)? else {
        return Ok(None);
    };
    let Some(kind) = event.change else {
        return Ok(None);
    };
    let change = Change::new(&event, kind);
    let mut row = new_address_row(identity, &address.address, &change, context);
    row.count = address.count;
    (row.last_us, row.last_seq) = address.last;
    row.events.clone_from(&address.events);
    let key = row.key.clone();
    let first_event = row.events[0].clone();
    let (row, _) = ledger.add(&key, first_event, context.session, Lookup::Absent, || row)?;
    let id = row.id;
    ledger.link_more(&key, address.recent.iter().map(|order| order.1));
    Ok(Some(id))
}

fn principal_row(
    identity: &str,
    subject: &str,
    reason: &str,
    change: &Change<'_>,
    context: &Context<'_>,
) -> crate::store::FindingRow {
    let summary = format!(
        "{} {reason}: {} on {} ({}, {})",
        change.who(),
        change.action(),
        change.label,
        change.method(),
        change.event.source_ip.as_deref().unwrap_or("no source IP")
    );
    context.row(
        RuleId::UnexpectedPrincipal,
        subject,
        change,
        Vec::new(),
        Some(identity.to_owned()),
        summary,
    )
}

/// Impossible travel's step: from the last place to this one, too fast is a finding.
fn travel_step<'a>(
    identity: &'a str,
    context: &'a Context<'a>,
) -> impl FnMut(&mut Option<Point>, Order, &Point, Made<'_>) -> Result<(), StoreError> + 'a {
    move |last, order, point, made| {
        let settings = &context.settings.impossible_travel;
        if let (Some(last), Some(made)) = (last.as_ref(), made) {
            let km = geo::distance_km(&last.place, &point.place);
            let elapsed = order.0 - last.event.time_us;
            let hours = elapsed.max(1) as f64 / 3_600_000_000.0;
            let speed = km / hours;
            if km >= settings.min_distance_km && speed > settings.max_speed_kmh {
                let summary = format!(
                    "{} changed things from {} ({}) and then from {} ({}) {} later: {:.0} km apart, {:.0} km/h",
                    point.who,
                    last.place.name,
                    last.ip,
                    point.place.name,
                    point.ip,
                    human_duration(elapsed),
                    km,
                    speed
                );
                made.push(context.row_about(
                    RuleId::ImpossibleTravel,
                    &format!("{identity}|{}|{}", last.event.event.seq, order.1),
                    &point.subject,
                    vec![last.event.clone(), point.event.clone()],
                    Some(identity.to_owned()),
                    summary,
                ));
            }
        }
        *last = Some(point.clone());
        Ok(())
    }
}
