//! ledger: the findings a run has changed since its last commit, and the findings it keeps at
//! hand to change again. Rules add an event to a grouped finding ([`Ledger::add`]), write a
//! finding whole ([`Ledger::put`]) or withdraw one ([`Ledger::remove`]); a finding not at hand
//! is read from the store (by id, or by key: see [`Lookup`]). [`Ledger::take`] hands the
//! changes over as one batch for the store; once the store has it, [`Ledger::let_go`] drops
//! the findings no event touched since, so memory holds only the findings in use, never all
//! of them.

use std::collections::HashMap;
use std::sync::Arc;

use super::{EVENTS_LISTED, Order, RuleId};
use crate::store::{
    FindingRow, RowWrite, Session, StoreError, TimedEventRef, WriteKind, finding_key_hash,
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

/// The changes since the last take, for one commit.
#[derive(Debug, Default)]
pub(crate) struct LedgerChanges {
    pub rows: Vec<RowWrite>,
    pub removed: Vec<i64>,
    pub links: Vec<(i64, i64)>,
}

impl LedgerChanges {
    /// How many findings changed (written or removed).
    pub fn count(&self) -> usize {
        self.rows.len() + self.removed.len()
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
    /// While rebuilding (the store's key index is made at the end): the findings made in
    /// this run by key hash, but for `new_source_ip`'s, which its pairs keep.
    directory: Option<HashMap<i64, i64>>,
    /// Stored findings withdrawn since the last take: their ids by key.
    removed: HashMap<String, i64>,
    links: Vec<(i64, i64)>,
    next_id: i64,
    takes: u64,
    /// Findings changed since the last take.
    changed: usize,
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
            directory: rebuilding.then(HashMap::new),
            removed: HashMap::new(),
            links: Vec::new(),
            next_id: next_id.max(1),
            takes: 0,
            changed: 0,
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
        let id = match (lookup, &self.directory) {
            (Lookup::Absent, _) => return Ok(false),
            (Lookup::Id(id), _) => Some(id),
            (Lookup::Key, Some(directory)) => match directory.get(&finding_key_hash(key)) {
                Some(id) => Some(*id),
                None => return Ok(false),
            },
            (Lookup::Key, None) => None,
        };
        let row = match id {
            Some(id) => session.finding_row_by_id(id)?.filter(|row| row.key == key),
            None => session.finding_row(key)?,
        };
        let Some(row) = row else {
            return Ok(false);
        };
        self.held.insert(
            key.to_owned(),
            Held {
                row: Arc::new(row),
                dirty: Dirty::Clean,
                used: self.takes,
            },
        );
        Ok(true)
    }

    /// Keeps a new finding's id in the directory (while rebuilding).
    fn enter(&mut self, row: &FindingRow) {
        if let Some(directory) = &mut self.directory
            && row.rule != RuleId::NewSourceIp.as_str()
        {
            directory.insert(finding_key_hash(&row.key), row.id);
        }
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
            directory.remove(&finding_key_hash(key));
        }
        // A finding made since the last take was never stored: nothing to delete.
        if held.dirty != Dirty::New {
            self.removed.insert(key.to_owned(), held.row.id);
            self.changed += 1;
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
        let changes = LedgerChanges {
            rows,
            removed,
            links,
        };
        self.takes += 1;
        self.changed = 0;
        changes
    }

    /// Beyond [`HELD_LIMIT`] held findings, lets go of those no event touched in the last
    /// `takes` takes: call it once the store has every take but those (their findings are
    /// then read back from it when needed).
    pub fn let_go(&mut self, takes: u64) {
        if self.held.len() <= HELD_LIMIT {
            return;
        }
        let recent = self.takes.saturating_sub(takes);
        self.held
            .retain(|_, held| held.used >= recent || held.dirty != Dirty::Clean);
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
        let mark = session.findings_watermark().unwrap().unwrap();
        let changes = ledger.take();
        let done = session
            .commit_findings(&FindingsBatch {
                epoch: mark.epoch,
                generation: mark.generation,
                rows: changes.rows,
                removed: changes.removed,
                links: changes.links,
                ..FindingsBatch::default()
            })
            .unwrap();
        assert!(matches!(done, Committed::Done(_)), "{done:?}");
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
