//! ledger: the findings a run has changed since its last commit, and the findings it keeps at
//! hand to change again. Rules add an event to a grouped finding ([`Ledger::add`]), write a
//! finding whole ([`Ledger::put`]) or withdraw one ([`Ledger::remove`]); a finding not at hand
//! is read from the store (by id, or by key: see [`Lookup`]). [`Ledger::take`] hands the
//! changes over as one batch for the store; once the store has it, [`Ledger::let_go`] drops
//! the findings no event touched since, so memory holds only the findings in use, never all
//! of them. While rebuilding, a grouped finding not at hand is grown without being read back
//! ([`Ledger::add_in_order`]).

use std::collections::hash_map::Entry;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use super::{EVENTS_LISTED, Order, RuleId};
use crate::store::{
    FindingGrow, FindingRow, RowWrite, Session, StoreError, TimedEventRef, WriteKind,
    finding_key_hash,
};

/// Findings held beyond this many are let go (those untouched since the last take).
const HELD_LIMIT: usize = 20_000;

/// What changed in a held finding since the last take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dirty {
    Clean,
    /// Stored; its fields changed and its new links are in `Ledger::links`.
    Grown,
    /// Stored, and written whole: its links are replaced by its events.
    Whole,
    /// Not stored yet: inserted with its events linked (and `Ledger::links`).
    New,
}

struct Held {
    /// Shared with the batch that writes it until that batch is stored (a change meanwhile
    /// copies it).
    row: Arc<FindingRow>,
    dirty: Dirty,
    /// The take count when an event last touched it.
    used: u64,
}

/// While rebuilding, what the run knows of a finding it made: its id, how many events it
/// lists (at most [`EVENTS_LISTED`]), so that it can grow it without reading it back, and a
/// second hash of its key (see [`Directory`]).
#[derive(Debug, Clone, Copy)]
struct Known {
    id: i64,
    key_check: u32,
    listed: u8,
}

/// While rebuilding, the findings the run made, by key, in little memory: found by the key's
/// FNV-1a hash, which anybody can make collide (an asset's name is the attacker's text), and
/// checked by a second hash of it (SipHash under this process's random keys, which nobody can
/// aim at), since a finding grown unread is not compared with its key as one read back is. A
/// key whose hash another key's finding has already is kept apart by the whole key, so two
/// findings never share an entry: one is neither split in two nor grown as the other.
struct Directory {
    by_hash: HashMap<i64, Known>,
    collided: HashMap<String, Known>,
    key_check: RandomState,
    /// [`finding_key_hash`], but in tests.
    hash: fn(&str) -> i64,
    /// Debug builds: every key entered and not removed.
    #[cfg(debug_assertions)]
    entered: std::collections::HashSet<String>,
}

impl Directory {
    fn new() -> Directory {
        Directory {
            by_hash: HashMap::new(),
            collided: HashMap::new(),
            key_check: RandomState::new(),
            hash: finding_key_hash,
            #[cfg(debug_assertions)]
            entered: std::collections::HashSet::new(),
        }
    }

    fn key_check(&self, key: &str) -> u32 {
        self.key_check.hash_one(key) as u32
    }

    /// The finding `key`, if the run made one (and has not withdrawn it).
    fn get_mut(&mut self, key: &str) -> Option<&mut Known> {
        if !self.collided.is_empty() && self.collided.contains_key(key) {
            return self.collided.get_mut(key);
        }
        let check = self.key_check(key);
        self.by_hash
            .get_mut(&(self.hash)(key))
            .filter(|known| known.key_check == check)
    }

    /// Keeps the new finding `row` (no finding with its key is kept: debug builds check it
    /// against every key entered and not removed, since a hash entry whose check matches may
    /// be another key's).
    fn enter(&mut self, row: &FindingRow) {
        #[cfg(debug_assertions)]
        assert!(
            self.entered.insert(row.key.clone()),
            "a finding with the key {} is kept already",
            row.key
        );
        let known = Known {
            id: row.id,
            key_check: self.key_check(&row.key),
            listed: row.events.len().min(EVENTS_LISTED) as u8,
        };
        match self.by_hash.entry((self.hash)(&row.key)) {
            Entry::Vacant(entry) => {
                entry.insert(known);
            }
            Entry::Occupied(_) => {
                self.collided.insert(row.key.clone(), known);
            }
        }
    }

    /// Forgets the finding `id`, whose key is `key` (an entry of another finding stays).
    fn remove(&mut self, key: &str, id: i64) {
        let hash = (self.hash)(key);
        if self.collided.get(key).is_some_and(|known| known.id == id) {
            self.collided.remove(key);
            self.forget_entered(key);
        } else if self.by_hash.get(&hash).is_some_and(|known| known.id == id) {
            self.by_hash.remove(&hash);
            self.forget_entered(key);
        }
    }

    /// Debug builds: `key` is no longer entered.
    fn forget_entered(&mut self, _key: &str) {
        #[cfg(debug_assertions)]
        self.entered.remove(_key);
    }
}

/// Events added in one take to a finding that is not held ([`Ledger::add_in_order`]), each
/// later than every event it had.
#[derive(Debug, Clone)]
struct Grow {
    id: i64,
    added: u64,
    last: Order,
    /// The events it lists after those it had.
    listed: Vec<TimedEventRef>,
}

impl Grow {
    /// Applies it to `row` read back from the store, unless the row has it already (the store
    /// has it once the row's last event is this grow's: events are added in rising order).
    fn fold_into(&self, row: &mut FindingRow) {
        if self.last <= (row.last_us, row.last_seq) {
            return;
        }
        row.count += self.added;
        (row.last_us, row.last_seq) = self.last;
        for event in &self.listed {
            list(&mut row.events, event.clone());
        }
    }
}

/// The changes since the last take, for one commit.
#[derive(Debug, Default)]
pub(crate) struct LedgerChanges {
    pub rows: Vec<RowWrite>,
    pub removed: Vec<i64>,
    pub links: Vec<(i64, i64)>,
    pub grows: Vec<FindingGrow>,
}

impl LedgerChanges {
    /// How many findings changed (written, grown or removed).
    pub fn count(&self) -> usize {
        self.rows.len() + self.removed.len() + self.grows.len()
    }
}

/// Where to find a finding that is not at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// By its key: the store's key index, or while rebuilding the run's own directory.
    Key,
    /// The caller knows there is none.
    Absent,
    /// The caller knows its id (`new_source_ip` keeps its findings' ids with its pairs).
    Id(i64),
}

pub(crate) struct Ledger {
    held: HashMap<String, Held>,
    /// While rebuilding, until [`Ledger::end_rebuild`] (the store's key index is made at the
    /// end): the findings made in this run, but for `new_source_ip`'s, which its pairs keep.
    /// A held finding's `listed` is brought up to date when it is let go.
    directory: Option<Directory>,
    /// Findings grown without being held since the last take, by key.
    grows: HashMap<String, Grow>,
    /// The grows of the takes the store may not have yet (by take), folded into a finding
    /// read back meanwhile.
    unstored_grows: VecDeque<(u64, HashMap<String, Grow>)>,
    /// Stored findings withdrawn since the last take: their ids by key.
    removed: HashMap<String, i64>,
    links: Vec<(i64, i64)>,
    next_id: i64,
    takes: u64,
    /// Findings changed since the last take.
    changed: usize,
    /// [`HELD_LIMIT`], but in tests.
    held_limit: usize,
}

/// Lists `event` among a finding's first events if it is one of them.
fn list(events: &mut Vec<TimedEventRef>, event: TimedEventRef) {
    let order = |e: &TimedEventRef| (e.time_us, e.event.seq);
    let at = events.partition_point(|e| order(e) < order(&event));
    if at < EVENTS_LISTED && events.get(at).is_none_or(|e| order(e) != order(&event)) {
        events.insert(at, event);
        events.truncate(EVENTS_LISTED);
    }
}

impl Ledger {
    /// A ledger giving new findings ids from `next_id` on; `rebuilding` while a rebuild makes
    /// every finding (then it finds findings by key in its own directory).
    pub fn new(next_id: i64, rebuilding: bool) -> Ledger {
        Ledger {
            held: HashMap::new(),
            directory: rebuilding.then(Directory::new),
            grows: HashMap::new(),
            unstored_grows: VecDeque::new(),
            removed: HashMap::new(),
            links: Vec::new(),
            next_id: next_id.max(1),
            takes: 0,
            changed: 0,
            held_limit: HELD_LIMIT,
        }
    }

    /// Loads `key` into `held` from the store if it is not there (and not withdrawn).
    fn hold(&mut self, key: &str, session: &Session, lookup: Lookup) -> Result<bool, StoreError> {
        if self.held.contains_key(key) {
            return Ok(true);
        }
        if self.removed.contains_key(key) {
            return Ok(false);
        }
        let id = match (lookup, &mut self.directory) {
            (Lookup::Absent, _) => return Ok(false),
            (Lookup::Id(id), _) => Some(id),
            (Lookup::Key, Some(directory)) => match directory.get_mut(key) {
                Some(known) => Some(known.id),
                None => return Ok(false),
            },
            (Lookup::Key, None) => None,
        };
        let row = match id {
            Some(id) => session.finding_row_by_id(id)?.filter(|row| row.key == key),
            None => session.finding_row(key)?,
        };
        let Some(mut row) = row else {
            return Ok(false);
        };
        // Grown without being held: what the store may not have yet comes from memory.
        for (_, grows) in &self.unstored_grows {
            if let Some(grow) = grows.get(key) {
                grow.fold_into(&mut row);
            }
        }
        let mut dirty = Dirty::Clean;
        if let Some(grow) = self.grows.remove(key) {
            // Counted in `changed` when it was grown; its links are in `links`.
            grow.fold_into(&mut row);
            dirty = Dirty::Grown;
        }
        self.held.insert(
            key.to_owned(),
            Held {
                row: Arc::new(row),
                dirty,
                used: self.takes,
            },
        );
        Ok(true)
    }

    /// Keeps a new finding in the directory (while rebuilding).
    fn enter(&mut self, row: &FindingRow) {
        if let Some(directory) = &mut self.directory
            && row.rule != RuleId::NewSourceIp.as_str()
        {
            directory.enter(row);
        }
    }

    /// The rebuild has stored every finding, and the store's key index with them: findings are
    /// found there from now on, and none is grown unread (later events may be late).
    pub fn end_rebuild(&mut self) {
        self.directory = None;
        self.unstored_grows.clear();
    }

    /// The finding `key`, if there is one (held or stored), to change in place (it is written
    /// at the next take; its links stay).
    pub fn get_mut(
        &mut self,
        key: &str,
        session: &Session,
        lookup: Lookup,
    ) -> Result<Option<&mut FindingRow>, StoreError> {
        if !self.hold(key, session, lookup)? {
            return Ok(None);
        }
        let held = self.held.get_mut(key).expect("held");
        held.used = self.takes;
        if held.dirty == Dirty::Clean {
            held.dirty = Dirty::Grown;
            self.changed += 1;
        }
        Ok(Some(Arc::make_mut(&mut held.row)))
    }

    /// The id for a new finding `key`, and how it is written: over the row of a withdrawn one
    /// it replaces, not deleted yet ([`Dirty::Whole`]), else inserted ([`Dirty::New`]).
    fn new_id(&mut self, key: &str) -> (i64, Dirty) {
        if let Some(id) = self.removed.remove(key) {
            return (id, Dirty::Whole);
        }
        let id = self.next_id;
        self.next_id += 1;
        (id, Dirty::New)
    }

    /// Adds the event `event` at `order` to the grouped finding `key` (found as `lookup`
    /// says), creating it with `create` (its first event must be `event`) if there is none.
    /// Returns the finding and whether `event` is now its first (then the caller describes
    /// the finding anew from it).
    pub fn add(
        &mut self,
        key: &str,
        event: TimedEventRef,
        session: &Session,
        lookup: Lookup,
        create: impl FnOnce() -> FindingRow,
    ) -> Result<(&mut FindingRow, bool), StoreError> {
        let order: Order = (event.time_us, event.event.seq);
        let seq = event.event.seq;
        if !self.hold(key, session, lookup)? {
            let mut row = create();
            let (id, dirty) = self.new_id(key);
            row.id = id;
            row.events.truncate(EVENTS_LISTED);
            self.enter(&row);
            self.changed += 1;
            self.held.insert(
                key.to_owned(),
                Held {
                    row: Arc::new(row),
                    dirty,
                    used: self.takes,
                },
            );
            let held = self.held.get_mut(key).expect("just held");
            return Ok((Arc::make_mut(&mut held.row), true));
        }
        let held = self.held.get_mut(key).expect("held");
        held.used = self.takes;
        if held.dirty == Dirty::Clean {
            held.dirty = Dirty::Grown;
            self.changed += 1;
        }
        let row = Arc::make_mut(&mut held.row);
        if row.events.iter().any(|e| e.event.seq == seq) {
            return Ok((row, false));
        }
        row.count += 1;
        if order > (row.last_us, row.last_seq) {
            (row.last_us, row.last_seq) = order;
        }
        let first = order < (row.first_us, row.first_seq);
        if first {
            (row.first_us, row.first_seq) = order;
        }
        list(&mut row.events, event);
        self.links.push((row.id, seq));
        Ok((row, first))
    }

    /// [`Ledger::add`] of an event later than every event of the finding `key` (found by key),
    /// for a rule whose findings are described by their first event alone: the rebuild's
    /// order, strictly rising (time, seq), where `in_order` says the caller's event is not
    /// late. Until [`Ledger::end_rebuild`], a finding that is not held is grown without being
    /// read back (its count, last event, listed events and links; written at the next take),
    /// and `None` is returned; else as [`Ledger::add`].
    pub fn add_in_order(
        &mut self,
        key: &str,
        event: TimedEventRef,
        session: &Session,
        in_order: bool,
        create: impl FnOnce() -> FindingRow,
    ) -> Result<Option<(&mut FindingRow, bool)>, StoreError> {
        if in_order
            && !self.held.contains_key(key)
            && !self.removed.contains_key(key)
            && let Some(directory) = &mut self.directory
            && let Some(known) = directory.get_mut(key)
        {
            let order: Order = (event.time_us, event.event.seq);
            let seq = event.event.seq;
            let grow = match self.grows.get_mut(key) {
                Some(grow) => grow,
                None => {
                    self.changed += 1;
                    self.grows.entry(key.to_owned()).or_insert(Grow {
                        id: known.id,
                        added: 0,
                        last: order,
                        listed: Vec::new(),
                    })
                }
            };
            debug_assert!(grow.added == 0 || grow.last < order, "added in order");
            grow.added += 1;
            grow.last = order;
            if usize::from(known.listed) < EVENTS_LISTED {
                grow.listed.push(event);
                known.listed += 1;
            }
            self.links.push((known.id, seq));
            return Ok(None);
        }
        self.add(key, event, session, Lookup::Key, create).map(Some)
    }

    /// Links more events to the finding `key` (held: just added or got), counting them.
    pub fn link_more(&mut self, key: &str, seqs: impl IntoIterator<Item = i64>) {
        if let Some(held) = self.held.get_mut(key) {
            for seq in seqs {
                self.links.push((held.row.id, seq));
            }
        }
    }

    /// Writes the finding `row` whole (its links become its events), replacing one with its
    /// key. An unchanged finding is not written again.
    pub fn put(&mut self, mut row: FindingRow, session: &Session) -> Result<(), StoreError> {
        let key = row.key.clone();
        if self.hold(&key, session, Lookup::Key)? {
            let held = self.held.get_mut(&key).expect("held");
            held.used = self.takes;
            row.id = held.row.id;
            if *held.row == row {
                return Ok(());
            }
            if held.dirty == Dirty::Clean {
                self.changed += 1;
            }
            held.row = Arc::new(row);
            if held.dirty != Dirty::New {
                held.dirty = Dirty::Whole;
            }
            return Ok(());
        }
        let (id, dirty) = self.new_id(&key);
        row.id = id;
        self.enter(&row);
        self.changed += 1;
        self.held.insert(
            key,
            Held {
                row: Arc::new(row),
                dirty,
                used: self.takes,
            },
        );
        Ok(())
    }

    /// Withdraws the finding `key` (found as `lookup` says), if there is one, returning it.
    pub fn remove(
        &mut self,
        key: &str,
        session: &Session,
        lookup: Lookup,
    ) -> Result<Option<FindingRow>, StoreError> {
        if !self.hold(key, session, lookup)? {
            return Ok(None);
        }
        let held = self.held.remove(key).expect("held");
        if let Some(directory) = &mut self.directory {
            directory.remove(key, held.row.id);
        }
        // A finding made again under this key later is another: none of these are its.
        for (_, grows) in &mut self.unstored_grows {
            grows.remove(key);
        }
        // A finding made since the last take was never stored: nothing to delete. One changed
        // since was counted then.
        if held.dirty != Dirty::New {
            self.removed.insert(key.to_owned(), held.row.id);
            if held.dirty == Dirty::Clean {
                self.changed += 1;
            }
        }
        self.links.retain(|(id, _)| *id != held.row.id);
        Ok(Some(Arc::unwrap_or_clone(held.row)))
    }

    /// Whether more than `rows` findings (or four times as many links) changed since the
    /// last take: worth a commit.
    pub fn is_large(&self, rows: usize) -> bool {
        self.changed > rows || self.links.len() > rows * 4
    }

    /// The changes since the last take (copies: the findings stay held, so that they are
    /// found even before the store has them; see [`Ledger::let_go`]).
    pub fn take(&mut self) -> LedgerChanges {
        let mut rows = Vec::new();
        for held in self.held.values_mut() {
            let kind = match held.dirty {
                Dirty::Clean => continue,
                Dirty::Grown => WriteKind::Update,
                Dirty::Whole => WriteKind::Replace,
                Dirty::New => WriteKind::Insert,
            };
            rows.push(RowWrite {
                row: Arc::clone(&held.row),
                kind,
            });
            held.dirty = Dirty::Clean;
        }
        // In id order, as the store keeps them: each write lands beside the last one.
        rows.sort_unstable_by_key(|write| write.row.id);
        let mut links = std::mem::take(&mut self.links);
        links.sort_unstable();
        let mut removed: Vec<i64> = self.removed.drain().map(|(_, id)| id).collect();
        removed.sort_unstable();
        let grown = std::mem::take(&mut self.grows);
        let mut grows: Vec<FindingGrow> = grown
            .values()
            .map(|grow| FindingGrow {
                id: grow.id,
                added: grow.added,
                last_us: grow.last.0,
                last_seq: grow.last.1,
                listed: grow.listed.clone(),
            })
            .collect();
        grows.sort_unstable_by_key(|grow| grow.id);
        if !grown.is_empty() {
            self.unstored_grows.push_back((self.takes, grown));
        }
        let changes = LedgerChanges {
            rows,
            removed,
            links,
            grows,
        };
        self.takes += 1;
        self.changed = 0;
        changes
    }

    /// Beyond [`HELD_LIMIT`] held findings, lets go of those no event touched in the last
    /// `takes` takes: call it once the store has every take but those (their findings are
    /// then read back from it when needed). Forgets the grows of the takes the store has,
    /// whatever the number held.
    pub fn let_go(&mut self, takes: u64) {
        let recent = self.takes.saturating_sub(takes);
        while self
            .unstored_grows
            .front()
            .is_some_and(|(take, _)| *take < recent)
        {
            self.unstored_grows.pop_front();
        }
        if self.held.len() <= self.held_limit {
            return;
        }
        let directory = &mut self.directory;
        self.held.retain(|key, held| {
            let keep = held.used >= recent || held.dirty != Dirty::Clean;
            if !keep
                && held.row.rule != RuleId::NewSourceIp.as_str()
                && let Some(directory) = directory
                && let Some(known) = directory.get_mut(key)
                && known.id == held.row.id
            {
                // What it lists now: grown while held, it may list more than when made.
                known.listed = held.row.events.len().min(EVENTS_LISTED) as u8;
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Committed, FindingsBatch};

    fn row(key: &str, summary: &str) -> FindingRow {
        FindingRow {
            id: 0,
            key: key.into(),
            rule: "off_hours".into(),
            severity: "low".into(),
            asset: None,
            asset_label: None,
            principal: None,
            principal_short: None,
            summary: summary.into(),
            first_us: 0,
            first_seq: 0,
            last_us: 0,
            last_seq: 0,
            count: 1,
            events: Vec::new(),
            detail: None,
        }
    }

    /// Commits what `ledger` changed since its last take, as a runner does.
    fn commit(session: &Session, ledger: &mut Ledger) {
        store(session, ledger.take());
    }

    fn store(session: &Session, changes: LedgerChanges) {
        let mark = session.findings_watermark().unwrap().unwrap();
        let done = session
            .commit_findings(&FindingsBatch {
                epoch: mark.epoch,
                generation: mark.generation,
                rows: changes.rows,
                grows: changes.grows,
                removed: changes.removed,
                links: changes.links,
                ..FindingsBatch::default()
            })
            .unwrap();
        assert!(matches!(done, Committed::Done(_)), "{done:?}");
    }

    fn event(seq: i64) -> TimedEventRef {
        TimedEventRef {
            time_us: seq * 1_000_000,
            event: crate::store::EventRef {
                seq,
                source: "test/\u{e9}\"source".into(),
                event_id: format!("id-{seq}"),
            },
        }
    }

    /// A new `console_where_iac` finding `key` of the event `seq`.
    fn console_row(key: &str, seq: i64) -> FindingRow {
        let mut row = row(key, "first");
        row.rule = RuleId::ConsoleWhereIac.as_str().into();
        (row.first_us, row.first_seq) = (event(seq).time_us, seq);
        (row.last_us, row.last_seq) = (row.first_us, seq);
        row.events = vec![event(seq)];
        row
    }

    /// A rebuild of one grouped finding from 70 events in rising order, taken after every
    /// third event and stored once the next is taken, as a runner with its writer thread
    /// does (one take in flight), with two takes without it after each (with `held_limit` 0
    /// it is then let go, and the next take grows it without reading it back). It is read
    /// back (`get_mut`) at event 25 with a grow not taken yet, and at event 44 with one in
    /// flight. Returns the stored finding, the events linked to it, and how many grows the
    /// takes had.
    fn rebuild_one_finding(held_limit: usize) -> (FindingRow, Vec<i64>, usize) {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let mark = session.begin_findings_rebuild("").unwrap();
        let mut ledger = Ledger::new(mark.next_id, true);
        ledger.held_limit = held_limit;
        let key = "console_where_iac:a|p";
        let mut in_flight = None;
        let mut grows = 0;
        let mut take = |ledger: &mut Ledger| {
            let taken = ledger.take();
            grows += taken.grows.len();
            if let Some(stored) = in_flight.replace(taken) {
                store(&session, stored);
                ledger.let_go(1);
            }
        };
        for seq in 1..=70 {
            let made = ledger
                .add_in_order(key, event(seq), &session, true, || console_row(key, seq))
                .unwrap();
            if let Some((_, first)) = made {
                assert_eq!(first, seq == 1);
            }
            if seq == 44 {
                take(&mut ledger);
                if held_limit == 0 {
                    let in_flight = ledger.unstored_grows.iter().map(|(_, grows)| grows);
                    assert_eq!(in_flight.filter(|grows| grows.contains_key(key)).count(), 1);
                }
            }
            if seq == 25 || seq == 44 {
                let row = ledger.get_mut(key, &session, Lookup::Key).unwrap().unwrap();
                assert_eq!((row.count, row.last_seq), (seq as u64, seq));
            }
            if seq % 3 == 0 {
                for _ in 0..3 {
                    take(&mut ledger);
                }
            }
        }
        take(&mut ledger);
        take(&mut ledger);
        let row = session.finding_row(key).unwrap().unwrap();
        let linked = (1..=70)
            .filter(|seq| {
                session
                    .finding_rows_of_event(*seq)
                    .unwrap()
                    .iter()
                    .any(|finding| finding.id == row.id)
            })
            .collect();
        (row, linked, grows)
    }

    /// A rebuilding ledger that lets go of every finding the store has when asked
    /// (`held_limit` 0).
    fn rebuilding_letting_go(session: &Session) -> Ledger {
        let mark = session.begin_findings_rebuild("").unwrap();
        let mut ledger = Ledger::new(mark.next_id, true);
        ledger.held_limit = 0;
        ledger
    }

    /// [`rebuilding_letting_go`], with every key on one directory hash (as an attacker's
    /// asset names can put theirs on FNV-1a's).
    fn rebuilding_on_one_hash(session: &Session) -> Ledger {
        let mut ledger = rebuilding_letting_go(session);
        ledger.directory.as_mut().unwrap().hash = |_| 7;
        ledger
    }

    /// A rebuilding ledger holding one stored console finding `key` (made from event 1),
    /// let go: the next in-order event would grow it unread.
    fn one_finding_let_go(session: &Session, key: &str) -> Ledger {
        let mut ledger = rebuilding_letting_go(session);
        ledger
            .add_in_order(key, event(1), session, true, || console_row(key, 1))
            .unwrap();
        for _ in 0..3 {
            commit(session, &mut ledger);
            ledger.let_go(0);
        }
        assert!(ledger.held.is_empty());
        ledger
    }

    #[test]
    fn after_the_rebuild_a_finding_is_read_back_to_grow_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let key = "console_where_iac:a|p";
        let mut ledger = one_finding_let_go(&session, key);
        ledger.end_rebuild();
        let grown = ledger
            .add_in_order(key, event(2), &session, true, || {
                unreachable!("it is stored")
            })
            .unwrap();
        assert_eq!(
            grown.map(|(row, first)| (row.count, first)),
            Some((2, false))
        );
        assert!(ledger.take().grows.is_empty());
    }

    #[test]
    fn a_key_whose_directory_hash_is_another_findings_is_not_grown_as_that_finding() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let (key, other) = ("console_where_iac:a|p", "console_where_iac:b|p");
        let mut ledger = one_finding_let_go(&session, key);
        // As if `other` had the FNV-1a hash of `key` (anybody can make one that does).
        let directory = &mut ledger.directory.as_mut().unwrap().by_hash;
        let known = directory.remove(&finding_key_hash(key)).unwrap();
        directory.insert(finding_key_hash(other), known);
        let made = ledger
            .add_in_order(other, event(2), &session, true, || console_row(other, 2))
            .unwrap();
        assert_eq!(made.map(|(row, first)| (row.count, first)), Some((1, true)));
        commit(&session, &mut ledger);
        assert_eq!(session.finding_row(key).unwrap().unwrap().count, 1);
        assert_eq!(session.finding_row(other).unwrap().unwrap().count, 1);
    }

    /// Three console findings whose keys all have one directory hash (an attacker names the
    /// assets), grown in turn by 330 events in rising order and let go at every other commit, the
    /// second and third withdrawn after event 45 (the second has the hash's entry, the third
    /// is kept apart by its key) and made again by their next events: each is stored as one
    /// finding with its own events (the first 50 listed, also of those made again) and links,
    /// none split in two or grown as another.
    #[test]
    fn findings_whose_keys_share_a_directory_hash_are_each_kept_whole() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let mut ledger = rebuilding_on_one_hash(&session);
        let keys = [
            "console_where_iac:a|p",
            "console_where_iac:b|p",
            "console_where_iac:c|p",
        ];
        for seq in 1..=330 {
            let key = keys[(seq % 3) as usize];
            ledger
                .add_in_order(key, event(seq), &session, true, || console_row(key, seq))
                .unwrap();
            if seq == 45 {
                commit(&session, &mut ledger);
                for key in &keys[1..] {
                    let withdrawn = ledger.remove(key, &session, Lookup::Key).unwrap();
                    assert_eq!(withdrawn.map(|row| row.count), Some(15));
                }
                commit(&session, &mut ledger);
                ledger.let_go(0);
            }
            // Held across two commits, a finding lists more than the directory says until
            // it is let go.
            if seq % 4 == 0 {
                commit(&session, &mut ledger);
            }
            if seq % 8 == 0 {
                ledger.let_go(0);
            }
        }
        commit(&session, &mut ledger);
        assert_eq!(session.stored_findings().unwrap().len(), 3);
        for (at, key) in keys.iter().enumerate() {
            let row = session.finding_row(key).unwrap().unwrap();
            let first = if at == 0 { 1 } else { 46 };
            let seqs: Vec<i64> = (first..=330).filter(|seq| seq % 3 == at as i64).collect();
            assert!(
                seqs.len() > EVENTS_LISTED,
                "the test grows {key} past what it lists"
            );
            let listed: Vec<i64> = row.events.iter().map(|e| e.event.seq).collect();
            let count = seqs.len() as u64;
            assert_eq!((key, row.count), (key, count));
            assert_eq!(listed, seqs[..EVENTS_LISTED], "{key}");
            assert_eq!(row.first_seq, seqs[0]);
            let linked: Vec<i64> = (1..=330)
                .filter(|seq| {
                    let findings = session.finding_rows_of_event(*seq).unwrap();
                    findings.iter().any(|finding| finding.id == row.id)
                })
                .collect();
            assert_eq!(linked, seqs, "{key}");
        }
    }

    /// `new_source_ip`'s findings are not in the directory (its pairs keep their ids):
    /// withdrawing one whose key has a kept finding's hash leaves that finding's entry.
    #[test]
    fn withdrawing_a_finding_the_directory_does_not_keep_leaves_the_one_with_its_hash() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let mut ledger = rebuilding_on_one_hash(&session);
        let (kept, other) = ("console_where_iac:a|p", "new_source_ip:p|198.51.100.7");
        ledger
            .add_in_order(kept, event(1), &session, true, || console_row(kept, 1))
            .unwrap();
        let mut unkept = row(other, "new address");
        unkept.rule = RuleId::NewSourceIp.as_str().into();
        ledger.put(unkept, &session).unwrap();
        commit(&session, &mut ledger);
        ledger.remove(other, &session, Lookup::Key).unwrap();
        commit(&session, &mut ledger);
        ledger.let_go(0);
        let grown = ledger.add_in_order(kept, event(2), &session, true, || console_row(kept, 2));
        assert!(
            grown.unwrap().is_none(),
            "grown unread, as the finding it is"
        );
        commit(&session, &mut ledger);
        assert_eq!(session.finding_row(kept).unwrap().unwrap().count, 2);
        assert_eq!(session.stored_findings().unwrap().len(), 1);
    }

    #[test]
    fn a_finding_grown_unread_then_withdrawn_counts_as_one_change() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let key = "console_where_iac:a|p";
        let mut ledger = one_finding_let_go(&session, key);
        let grown = ledger.add_in_order(key, event(2), &session, true, || console_row(key, 2));
        assert!(grown.unwrap().is_none(), "grown unread");
        ledger.remove(key, &session, Lookup::Key).unwrap();
        assert_eq!(ledger.changed, 1);
        assert_eq!(ledger.take().count(), 1, "its deletion");
    }

    #[test]
    fn a_finding_grown_without_being_read_back_is_stored_as_one_grown_in_memory() {
        let (held, held_links, no_grows) = rebuild_one_finding(HELD_LIMIT);
        assert_eq!(no_grows, 0);
        assert_eq!(held.count, 70);
        assert_eq!(held.events.len(), EVENTS_LISTED);
        assert_eq!(held_links, (1..=70).collect::<Vec<_>>());
        let (grown, grown_links, grows) = rebuild_one_finding(0);
        // Let go after each of its takes, it was grown unread in the next but for the two
        // read back (at events 25 and 44) and its first.
        assert!(grows >= 20, "{grows} takes grew it unread");
        assert_eq!(grown, held);
        assert_eq!(grown_links, held_links);
    }

    #[test]
    fn a_finding_withdrawn_and_made_again_before_a_commit_is_written_over_its_row() {
        let dir = tempfile::TempDir::new().unwrap();
        let session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let mark = session.begin_findings_rebuild("").unwrap();
        let mut ledger = Ledger::new(mark.next_id, false);
        ledger.put(row("off_hours:a", "first"), &session).unwrap();
        commit(&session, &mut ledger);
        // A replayed step withdraws it, and a later one makes it again, in one catch-up: the
        // stored row is written over (an insert of its id failed: UNIQUE constraint).
        ledger.remove("off_hours:a", &session, Lookup::Key).unwrap();
        ledger.put(row("off_hours:a", "again"), &session).unwrap();
        commit(&session, &mut ledger);
        let stored = session.stored_findings().unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].summary, "again");
    }
}
