//! One client connection's response body: the preamble, then the plan's frames from the
//! resume position, paced and faulted, with keep-alives while it waits. Frames that are
//! ready at once are batched into chunks of up to 64 KiB.

use std::sync::Arc;

use axum::body::Bytes;
use tokio::time::{Instant, sleep_until};

use crate::badframes;
use crate::events;
use crate::plan::{Plan, Position, Slot};
use crate::server::Shared;
use crate::sse;

const BATCH_BYTES: usize = 64 * 1024;

pub(crate) struct Connection {
    shared: Arc<Shared>,
    position: Position,
    /// The frames of `position.group`.
    group: Vec<Slot>,
    /// `id:` frames sent on this connection (for drop-every and stall-after).
    sent: u64,
    keepalives: u64,
    next_keepalive: Instant,
    /// When the next frame may go, once span and rate have been applied to it.
    ready_at: Option<Instant>,
    last_frame_at: Option<Instant>,
    started: bool,
    done: bool,
}

impl Connection {
    pub fn new(shared: Arc<Shared>, position: Position) -> Self {
        let next_keepalive = Instant::now() + shared.keepalive;
        let group = if position.group < shared.plan.len {
            shared.plan.group(position.group)
        } else {
            Vec::new()
        };
        Self {
            shared,
            position,
            group,
            sent: 0,
            keepalives: 0,
            next_keepalive,
            ready_at: None,
            last_frame_at: None,
            started: false,
            done: false,
        }
    }

    /// The next chunk of the body, or `None` when the response should end.
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            sse::write_preamble(&mut out, self.shared.retry_ms);
        }
        loop {
            if *self.shared.stop.borrow() || self.dropping() {
                self.done = true;
                break;
            }
            let stalled = self.stalled();
            let now = Instant::now();
            if !stalled && now >= self.next_keepalive {
                sse::write_keepalive(&mut out, self.keepalives);
                self.keepalives += 1;
                self.next_keepalive = now + self.shared.keepalive;
            }
            let next = if stalled { None } else { self.peek() };
            let wake = match next {
                Some(slot) => {
                    let ready = self.ready_time(slot, now);
                    if ready <= now {
                        self.send(slot, &mut out, now);
                        if out.len() >= BATCH_BYTES {
                            break;
                        }
                        continue;
                    }
                    Some(ready.min(self.next_keepalive))
                }
                None if stalled => None,
                None => Some(self.next_keepalive),
            };
            if !out.is_empty() {
                break;
            }
            let mut stop = self.shared.stop.clone();
            let stopped = stop.wait_for(|s| *s);
            match wake {
                Some(at) => tokio::select! {
                    _ = sleep_until(at) => {}
                    _ = stopped => {}
                },
                None => {
                    let _ = stopped.await;
                }
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    fn dropping(&self) -> bool {
        self.shared
            .faults
            .drop_every
            .is_some_and(|n| self.sent >= n)
    }

    fn stalled(&self) -> bool {
        self.shared
            .faults
            .stall_after
            .is_some_and(|n| self.sent >= n)
    }

    /// The next frame of the plan, moving past finished groups; `None` past the end.
    fn peek(&mut self) -> Option<Slot> {
        while self.position.group < self.shared.plan.len {
            if let Some(slot) = self.group.get(self.position.offset) {
                return Some(*slot);
            }
            self.position = Position {
                group: self.position.group + 1,
                offset: 0,
            };
            if self.position.group < self.shared.plan.len {
                self.group = self.shared.plan.group(self.position.group);
            }
        }
        None
    }

    fn ready_time(&mut self, slot: Slot, now: Instant) -> Instant {
        if let Some(ready) = self.ready_at {
            return ready;
        }
        let mut ready = now;
        if let (Some(span), Slot::Valid(i), Some(last)) =
            (&self.shared.span, slot, self.last_frame_at)
        {
            ready = ready.max(last + span.delay_before(&self.shared.source, i));
        }
        if let Some(limiter) = &self.shared.limiter {
            ready = limiter.reserve(ready);
        }
        self.ready_at = Some(ready);
        ready
    }

    /// Writes one frame and records it in the manifest.
    fn send(&mut self, slot: Slot, out: &mut Vec<u8>, now: Instant) {
        let shared = &self.shared;
        let (seed, source) = (shared.plan.seed, &shared.source);
        match slot {
            Slot::Valid(i) | Slot::Dup(i) => {
                let event = source.event(i);
                if shared.stamp_time {
                    let json = events::with_time(&event.json, chrono::Utc::now());
                    sse::write_frame(out, &event.sse_id, "data", &json);
                } else {
                    sse::write_frame(out, &event.sse_id, "data", &event.json);
                }
                match source.canonical(i) {
                    Some(canonical) => shared.tracker.record_valid(canonical),
                    None => shared.tracker.record_bad(),
                }
            }
            Slot::Malformed(i) | Slot::Oversize(i) => {
                let id = Plan::bad_id(slot).expect("bad frames have ids");
                let valid = source.event(i);
                let data = match slot {
                    Slot::Malformed(_) => badframes::malformed(seed, i, &id, &valid),
                    _ => badframes::oversize(seed, i, &id, &valid),
                };
                sse::write_frame(out, &id, "data", &data);
                shared.tracker.record_bad();
            }
        }
        self.position.offset += 1;
        self.sent += 1;
        self.ready_at = None;
        self.last_frame_at = Some(now);
    }
}
