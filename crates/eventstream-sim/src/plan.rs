//! The frame plan: which frames follow each valid event (duplicate, malformed,
//! oversize), decided by a pure function of seed and index, and where a connection
//! resumes after a given `Last-Event-ID`.
//!
//! Frames come in groups, one per valid event `i`, always in this order:
//! `Valid(i)`, then `Malformed(i)` (id `sim-malformed-i`), `Dup(i)` (same id and bytes as
//! `Valid(i)`), `Oversize(i)` (id `sim-oversize-i`), each present or not.
//!
//! Resuming after a valid event's id continues after its duplicate when it has one (a
//! skipped copy is no loss), otherwise right after it; after a bad frame's id, right
//! after that frame; after an unknown id, from the start. So every reconnect that saw
//! at least one `id:` frame makes progress, even with `drop-every=1`.

use crate::faults::Faults;
use crate::source::Source;

/// One frame of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Valid(usize),
    Malformed(usize),
    Dup(usize),
    Oversize(usize),
}

/// A place in the plan: the next frame is `group`'s frame number `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Position {
    pub group: usize,
    pub offset: usize,
}

const MALFORMED_PREFIX: &str = "sim-malformed-";
const OVERSIZE_PREFIX: &str = "sim-oversize-";

/// The plan for one stream of `len` valid events.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub seed: u64,
    pub faults: Faults,
    pub len: usize,
}

impl Plan {
    /// The frames of group `i`, in order.
    pub fn group(&self, i: usize) -> Vec<Slot> {
        let mut slots = vec![Slot::Valid(i)];
        let roll = |salt: u64, p: f64| p > 0.0 && unit(mix(self.seed, i as u64, salt)) < p;
        if roll(1, self.faults.malformed) {
            slots.push(Slot::Malformed(i));
        }
        if roll(2, self.faults.dup) {
            slots.push(Slot::Dup(i));
        }
        if roll(3, self.faults.oversize) {
            slots.push(Slot::Oversize(i));
        }
        slots
    }

    /// The SSE id a bad frame is sent with.
    pub fn bad_id(slot: Slot) -> Option<String> {
        match slot {
            Slot::Malformed(i) => Some(format!("{MALFORMED_PREFIX}{i}")),
            Slot::Oversize(i) => Some(format!("{OVERSIZE_PREFIX}{i}")),
            Slot::Valid(_) | Slot::Dup(_) => None,
        }
    }

    /// Where a connection whose request carried `last_event_id` starts.
    pub fn resume_after(&self, last_event_id: Option<&str>, source: &Source) -> Position {
        let Some(id) = last_event_id.map(str::trim).filter(|id| !id.is_empty()) else {
            return Position::default();
        };
        let bad = |prefix: &str, make: fn(usize) -> Slot| {
            let i: usize = id.strip_prefix(prefix)?.parse().ok()?;
            (i < self.len).then(|| self.after(i, make(i)))
        };
        if let Some(position) =
            bad(MALFORMED_PREFIX, Slot::Malformed).or_else(|| bad(OVERSIZE_PREFIX, Slot::Oversize))
        {
            return position;
        }
        match source.index_of(id).filter(|i| *i < self.len) {
            Some(i) if self.group(i).contains(&Slot::Dup(i)) => self.after(i, Slot::Dup(i)),
            Some(i) => self.after(i, Slot::Valid(i)),
            None => Position::default(),
        }
    }

    fn after(&self, i: usize, slot: Slot) -> Position {
        let offset = self.group(i).iter().position(|s| *s == slot).unwrap_or(0) + 1;
        Position { group: i, offset }
    }
}

/// SplitMix64 over (seed, index, salt): the plan's and the generators' source of
/// per-index randomness.
pub(crate) fn mix(seed: u64, index: u64, salt: u64) -> u64 {
    let mut z =
        seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for _ in 0..2 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// Maps a hash to `[0, 1)`.
pub(crate) fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadScenario;

    fn plan(faults: &str) -> (Plan, Source) {
        let faults = crate::faults::parse_faults(faults).unwrap();
        let source = Source::Load(LoadScenario {
            seed: 3,
            count: 1000,
            size: 100,
        });
        (
            Plan {
                seed: 3,
                faults,
                len: 1000,
            },
            source,
        )
    }

    #[test]
    fn shares_are_close_to_the_requested_fractions() {
        let (plan, _) = plan("dup=0.1,malformed=0.05,oversize=0.02");
        let slots: Vec<Slot> = (0..1000).flat_map(|i| plan.group(i)).collect();
        let count = |f: fn(&Slot) -> bool| slots.iter().filter(|s| f(s)).count();
        assert!((60..140).contains(&count(|s| matches!(s, Slot::Dup(_)))));
        assert!((25..80).contains(&count(|s| matches!(s, Slot::Malformed(_)))));
        assert!((5..40).contains(&count(|s| matches!(s, Slot::Oversize(_)))));
    }

    #[test]
    fn resuming_after_any_frame_lands_after_it() {
        let (plan, source) = plan("dup=0.3,malformed=0.3,oversize=0.3");
        for i in 0..200 {
            for (offset, slot) in plan.group(i).into_iter().enumerate() {
                let id = Plan::bad_id(slot).unwrap_or_else(|| source.event(i).sse_id.clone());
                let position = plan.resume_after(Some(&id), &source);
                assert_eq!(position.group, i);
                assert!(position.offset > offset, "{slot:?} resumes after itself");
            }
        }
        assert_eq!(
            plan.resume_after(Some("nope"), &source),
            Position::default()
        );
        assert_eq!(plan.resume_after(None, &source), Position::default());
    }
}
