//! replay: the state of a rule that must read one subject's events in order (an asset's
//! configurations, a principal's places), kept so that an event arriving late still gives
//! exactly the findings a rebuild gives. It holds the state as of the settled past, the
//! recent steps (those within [`super::LATENESS_TOLERANCE_US`] of the newest event) in
//! (time, arrival) order with the findings each made, and the state after them. An event in
//! order is one more step; a late one is put among the recent steps, which are replayed from
//! the settled state, their findings replacing those they made before. An event older than the
//! settled past is replayed as if it came right after it: the one approximation.

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::Order;
use super::ledger::{Ledger, Lookup};
use crate::store::{FindingRow, Session, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Replay<S, T> {
    settled: S,
    /// The newest step applied to `settled`.
    settled_to: Option<Order>,
    recent: VecDeque<Step<T>>,
    /// `settled` after every recent step; made again when needed (after a restore, or once
    /// every step settled).
    #[serde(skip)]
    live: Option<S>,
}

impl<S: Default, T> Default for Replay<S, T> {
    fn default() -> Self {
        Replay {
            settled: S::default(),
            settled_to: None,
            recent: VecDeque::new(),
            live: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step<T> {
    order: Order,
    step: T,
    /// The keys of the findings this step made.
    made: Vec<String>,
}

/// Where a step puts the findings it makes, or `None` when it is only being settled (then it
/// describes nothing and looks nothing up).
pub(crate) type Made<'a> = Option<&'a mut Vec<FindingRow>>;

impl<S: Clone + Default, T> Replay<S, T> {
    /// Takes the step `step` at `order`, then settles what is older than `horizon_us`.
    /// `apply` advances a state by one step.
    pub fn observe(
        &mut self,
        order: Order,
        step: T,
        horizon_us: i64,
        apply: &mut impl FnMut(&mut S, Order, &T, Made<'_>) -> Result<(), StoreError>,
        ledger: &mut Ledger,
        session: &Session,
    ) -> Result<(), StoreError> {
        self.ensure_live(apply)?;
        let in_order = self.recent.back().is_none_or(|last| order > last.order)
            && self.settled_to.is_none_or(|settled| order > settled);
        if in_order {
            let mut made = Vec::new();
            let live = self.live.as_mut().expect("live");
            apply(live, order, &step, Some(&mut made))?;
            let keys = made.iter().map(|row| row.key.clone()).collect();
            for row in made {
                ledger.put(row, session)?;
            }
            self.recent.push_back(Step {
                order,
                step,
                made: keys,
            });
        } else {
            let at = self.recent.partition_point(|s| s.order < order);
            if self.recent.get(at).is_some_and(|s| s.order == order) {
                return Ok(());
            }
            self.recent.insert(
                at,
                Step {
                    order,
                    step,
                    made: Vec::new(),
                },
            );
            let before: HashSet<String> = self
                .recent
                .iter()
                .flat_map(|s| s.made.iter().cloned())
                .collect();
            let mut after = HashSet::new();
            let mut live = self.settled.clone();
            for step in self.recent.iter_mut() {
                let mut made = Vec::new();
                apply(&mut live, step.order, &step.step, Some(&mut made))?;
                step.made = made.iter().map(|row| row.key.clone()).collect();
                for row in made {
                    after.insert(row.key.clone());
                    ledger.put(row, session)?;
                }
            }
            for key in before.difference(&after) {
                ledger.remove(key, session, Lookup::Key)?;
            }
            self.live = Some(live);
        }
        self.settle(horizon_us, apply).map(|_| ())
    }

    /// Moves the steps older than `horizon_us` into the settled state; true if it moved any
    /// (the stored state is then out of date; otherwise it is as it was).
    pub fn settle(
        &mut self,
        horizon_us: i64,
        apply: &mut impl FnMut(&mut S, Order, &T, Made<'_>) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let mut moved = false;
        while let Some(step) = self.recent.pop_front_if(|s| s.order.0 < horizon_us) {
            apply(&mut self.settled, step.order, &step.step, None)?;
            self.settled_to = Some(step.order);
            moved = true;
        }
        // Nothing recent: the state after the steps is the settled one (kept once).
        if self.recent.is_empty() {
            self.live = None;
        }
        Ok(moved)
    }

    /// Whether it holds any step (a subject whose every step settled can be dropped from
    /// memory once it is stored).
    pub fn is_settled(&self) -> bool {
        self.recent.is_empty()
    }

    fn ensure_live(
        &mut self,
        apply: &mut impl FnMut(&mut S, Order, &T, Made<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if self.live.is_none() {
            let mut live = self.settled.clone();
            for step in &self.recent {
                apply(&mut live, step.order, &step.step, None)?;
            }
            self.live = Some(live);
        }
        Ok(())
    }
}
