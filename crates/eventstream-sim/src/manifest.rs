//! The manifest: which distinct valid events were written to some connection, how many
//! bad frames and duplicate deliveries were. Tracked in a compact bitset, rendered on
//! demand, and written to `--manifest FILE` debounced and atomically.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::source::Source;

/// What the server has sent so far, across all connections.
///
/// As JSON: `{"valid": [[source, id], ...], "bad": N, "duplicates": N}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Distinct valid events sent, as `(source, id)`, in stream order.
    pub valid: Vec<(String, String)>,
    /// Bad frames sent (malformed and oversize; every sending counts).
    pub bad: u64,
    /// Deliveries of a valid event whose `(source, id)` had already been sent.
    pub duplicates: u64,
}

#[derive(Debug, Default)]
struct Counts {
    /// Bit `i` set: the event with canonical index `i` has been sent.
    sent: Vec<u64>,
    bad: u64,
    duplicates: u64,
}

/// Shared, cheap-to-update record of what was sent.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    counts: Mutex<Counts>,
    changed: Notify,
}

impl Tracker {
    pub fn record_valid(&self, canonical: usize) {
        {
            let mut counts = self.counts.lock().expect("manifest lock");
            let (word, bit) = (canonical / 64, 1u64 << (canonical % 64));
            if counts.sent.len() <= word {
                counts.sent.resize(word + 1, 0);
            }
            if counts.sent[word] & bit != 0 {
                counts.duplicates += 1;
            } else {
                counts.sent[word] |= bit;
            }
        }
        self.changed.notify_one();
    }

    pub fn record_bad(&self) {
        self.counts.lock().expect("manifest lock").bad += 1;
        self.changed.notify_one();
    }

    /// Renders the current manifest (keys are looked up outside the lock).
    pub fn snapshot(&self, source: &Source) -> Manifest {
        let (sent, bad, duplicates) = {
            let counts = self.counts.lock().expect("manifest lock");
            (counts.sent.clone(), counts.bad, counts.duplicates)
        };
        let valid = sent
            .iter()
            .enumerate()
            .flat_map(|(word, bits)| {
                (0..64)
                    .filter(move |b| bits & (1 << b) != 0)
                    .map(move |b| word * 64 + b)
            })
            .filter_map(|i| source.key(i))
            .map(|k| (k.source, k.id))
            .collect();
        Manifest {
            valid,
            bad,
            duplicates,
        }
    }
}

/// Keeps `path` up to date until `stop` turns true, then writes it a last time.
///
/// Writes at most once per interval (100 ms, stretched to four times the last write's
/// duration for huge manifests) and within one interval of the last change.
pub(crate) async fn keep_written(
    path: PathBuf,
    tracker: Arc<Tracker>,
    source: Arc<Source>,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = Duration::from_millis(100);
    write_now(&path, &tracker, &source).await;
    loop {
        tokio::select! {
            _ = tracker.changed.notified() => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        let started = Instant::now();
        write_now(&path, &tracker, &source).await;
        interval = interval.max(started.elapsed() * 4);
    }
    write_now(&path, &tracker, &source).await;
}

async fn write_now(path: &Path, tracker: &Arc<Tracker>, source: &Arc<Source>) {
    let (path, tracker, source) = (path.to_owned(), tracker.clone(), source.clone());
    let result = tokio::task::spawn_blocking(move || {
        write_atomic(&path, &tracker.snapshot(&source)).map_err(|e| (path, e))
    })
    .await;
    if let Ok(Err((path, err))) = result {
        eprintln!(
            "eventstream-sim: cannot write manifest {}: {err}",
            path.display()
        );
    }
}

/// Writes a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec(manifest).map_err(std::io::Error::other)?;
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadScenario;

    #[test]
    fn repeats_count_as_duplicates_and_keys_render_in_order() {
        let source = Source::Load(LoadScenario {
            seed: 1,
            count: 200,
            size: 10,
        });
        let tracker = Tracker::default();
        for i in [130, 2, 2, 64, 130] {
            tracker.record_valid(i);
        }
        tracker.record_bad();
        let manifest = tracker.snapshot(&source);
        let ids: Vec<&str> = manifest.valid.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "01J00000000000000000000003",
                "01J00000000000000000000065",
                "01J00000000000000000000131"
            ]
        );
        assert_eq!((manifest.bad, manifest.duplicates), (1, 2));
    }
}
