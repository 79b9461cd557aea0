//! progress: the live progress line of `record` — state, totals and rate on stderr, redrawn
//! in place on a terminal and printed every few seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use tideline_engine::ingest::{ConnectionState, IngestStatus};
use tideline_engine::store::format_time;
use tokio::sync::watch;

const REDRAW_EVERY: Duration = Duration::from_millis(250);
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Reports until the recorder stops.
pub async fn report(mut status: watch::Receiver<IngestStatus>) {
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    let mut rate_mark = (Instant::now(), status.borrow().received);
    let mut last_state = None;
    loop {
        tokio::time::sleep(REDRAW_EVERY).await;
        let current = status.borrow_and_update().clone();
        let elapsed = rate_mark.0.elapsed().as_secs_f64();
        let rate = (current.received - rate_mark.1) as f64 / elapsed.max(0.001);
        if elapsed >= 1.0 {
            rate_mark = (Instant::now(), current.received);
        }
        let stopped = matches!(current.state, ConnectionState::Stopped { .. });
        let state_changed = last_state.as_ref() != Some(&std::mem::discriminant(&current.state));
        last_state = Some(std::mem::discriminant(&current.state));
        let line = render(&current, rate);
        let mut stderr = std::io::stderr().lock();
        if terminal {
            let _ = write!(stderr, "\r\x1b[2K{line}");
            if stopped {
                let _ = writeln!(stderr);
            }
        } else if stopped || state_changed || last_line.elapsed() >= LOG_EVERY {
            let _ = writeln!(stderr, "{line}");
            last_line = Instant::now();
        }
        if stopped || status.has_changed().is_err() {
            return;
        }
    }
}

fn render(status: &IngestStatus, rate: f64) -> String {
    let state = match &status.state {
        ConnectionState::Offline => "offline".to_owned(),
        ConnectionState::Connecting => "connecting".to_owned(),
        ConnectionState::Live => "live".to_owned(),
        ConnectionState::Reconnecting {
            attempt,
            next_try_at,
            reason,
        } => {
            let wait = (*next_try_at - chrono::Utc::now())
                .num_milliseconds()
                .max(0) as f64
                / 1000.0;
            format!("reconnecting in {wait:.1}s (attempt {attempt}: {reason})")
        }
        ConnectionState::Stopped { reason, .. } => format!("stopped: {reason}"),
    };
    let newest = status
        .newest_event_time
        .map(format_time)
        .unwrap_or_else(|| "-".into());
    format!(
        "{state} | received {} | stored {} | duplicates {} | quarantined {} | {rate:.0} events/s | newest {newest}",
        status.received, status.stored, status.duplicates, status.quarantined
    )
}
