//! When frames may go out: a server-wide rate limit (`--rate`) and time compression
//! (`--span`), which replays the events' own time gaps scaled to a wall-clock span.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::source::Source;

/// How far behind its schedule a rate-limited stream may fall and still catch up.
const CATCH_UP: Duration = Duration::from_millis(50);

/// At most `rate` frames per second over all connections: each frame reserves the
/// next free slot, one interval after the previous reservation. A sender that wakes late
/// (tokio's timer has 1 ms steps, and a busy machine adds more) keeps the schedule, sending
/// the slots it missed at once, so a stream at 1,000/s is 1,000/s; one further behind than
/// `CATCH_UP` (no client, a slow one) starts a new schedule rather than burst.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(rate: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(None),
        }
    }

    /// Reserves the next slot: no earlier than `earliest`, unless `earliest` is less than
    /// `CATCH_UP` past it (then the slot is in the past and the frame goes at once).
    pub fn reserve(&self, earliest: Instant) -> Instant {
        let mut next = self.next.lock().expect("rate lock");
        let slot = match *next {
            Some(n) if n + CATCH_UP >= earliest => n,
            _ => earliest,
        };
        *next = Some(slot + self.interval);
        slot
    }
}

/// The longest event-time gap replayed in full; longer ones (nights, weekends) count as
/// this much, so the interesting hours keep most of the span.
const GAP_CAP_SECS: f64 = 3600.0;

/// Scales event-time gaps so the whole stream takes about `span`.
#[derive(Debug)]
pub(crate) struct Span {
    scale: f64,
}

impl Span {
    pub fn new(source: &Source, span: Duration) -> Self {
        let total: f64 = (1..source.len()).map(|i| capped_gap(source, i)).sum();
        let scale = if total > 0.0 {
            span.as_secs_f64() / total
        } else {
            0.0
        };
        Self { scale }
    }

    /// The pause before valid event `i`, after event `i - 1` was sent.
    pub fn delay_before(&self, source: &Source, i: usize) -> Duration {
        if i == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(capped_gap(source, i) * self.scale)
    }
}

fn capped_gap(source: &Source, i: usize) -> f64 {
    match (source.time(i - 1), source.time(i)) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds() as f64 / 1000.0).clamp(0.0, GAP_CAP_SECS),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadScenario;

    #[test]
    fn span_spreads_the_stream_over_the_requested_time() {
        let source = Source::Load(LoadScenario {
            seed: 1,
            count: 101,
            size: 10,
        });
        let span = Span::new(&source, Duration::from_secs(10));
        let total: Duration = (0..101).map(|i| span.delay_before(&source, i)).sum();
        assert!((total.as_secs_f64() - 10.0).abs() < 0.01, "{total:?}");
    }

    #[tokio::test]
    async fn rate_limiter_spaces_reservations() {
        let limiter = RateLimiter::new(10.0);
        let now = Instant::now();
        let (a, b) = (limiter.reserve(now), limiter.reserve(now));
        assert_eq!(b - a, Duration::from_millis(100));
    }

    #[tokio::test]
    async fn rate_limiter_keeps_its_schedule_when_the_sender_wakes_late() {
        let limiter = RateLimiter::new(1000.0);
        let start = Instant::now();
        let mut slot = limiter.reserve(start);
        for _ in 0..99 {
            // Each frame goes 1.5 ms after its slot: later than the interval.
            slot = limiter.reserve(slot + Duration::from_micros(1500));
        }
        assert_eq!(slot - start, Duration::from_millis(99));
        // Far behind (no client for a second): a new schedule from then, no burst.
        let later = start + Duration::from_secs(1);
        assert_eq!(limiter.reserve(later), later);
    }
}
