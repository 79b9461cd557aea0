//! rows: export rows made on worker threads and written in order, in bounded memory.
//!
//! The session's thread reads the events (and the analyst's notes on them) in batches and hands
//! each batch to a pool of workers, which make its rows (CSV records, JSON lines, Arrow record
//! batches); the finished batches are handed to the sink in the order they were read. At most [`IN_FLIGHT_PER_WORKER`] batches per worker are read
//! and not yet written, so memory stays constant however many events there are.

use std::collections::BTreeMap;
use std::io::Write;

use super::{ExportError, NotedEvent, Ticker};
use crate::digest::EventDigest;
use crate::store::{Session, StoredEvent, TimelineQuery};

/// Events per batch handed to a worker.
const BATCH: usize = 256;
/// Workers at most: past a few, reading the events is the bound.
const MAX_WORKERS: usize = 4;
/// Batches per worker read and not yet written.
const IN_FLIGHT_PER_WORKER: u64 = 2;

/// What a row is made from besides the event's columns and notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    /// The verbatim body of every event (OCSF reads much of it).
    Bodies,
    /// Each event's stored digest, the body only of an event without one (CSV cells:
    /// [`crate::digest::EventDigest`]).
    Digests,
}

/// Makes a batch's rows (on a worker thread): bytes, Arrow record batches.
pub(super) type MakeRows<'m, C> = &'m (dyn Fn(&[NotedEvent]) -> Result<C, ExportError> + Sync);

/// Writes every event of `session` matching `filter` as bytes `make` returns for each batch
/// (after `header`) to `out`; returns the number of rows.
pub(super) fn write(
    session: &Session,
    filter: Option<&TimelineQuery>,
    reads: Reads,
    header: &[u8],
    make: MakeRows<'_, Vec<u8>>,
    mut out: impl Write,
    ticker: &mut Ticker<'_>,
) -> Result<u64, ExportError> {
    out.write_all(header)?;
    let rows = in_order(
        session,
        filter,
        reads,
        make,
        |records| Ok(out.write_all(&records)?),
        ticker,
    )?;
    out.flush()?;
    Ok(rows)
}

/// Hands what `make` makes of each batch of the events of `session` matching `filter` to
/// `sink`, in the order the events were read; returns the number of rows.
pub(super) fn in_order<C: Send>(
    session: &Session,
    filter: Option<&TimelineQuery>,
    reads: Reads,
    make: MakeRows<'_, C>,
    mut sink: impl FnMut(C) -> Result<(), ExportError>,
    ticker: &mut Ticker<'_>,
) -> Result<u64, ExportError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_WORKERS);
    let (work, batches) = flume::bounded::<(u64, Vec<NotedEvent>)>(workers);
    let (done, finished) = flume::unbounded::<(u64, usize, Result<C, ExportError>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (batches, done) = (batches.clone(), done.clone());
            scope.spawn(move || {
                for (index, events) in batches.iter() {
                    let records = make(&events);
                    if done.send((index, events.len(), records)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((batches, done));
        // Returning drops `work` and `finished`, so the workers stop before the scope ends,
        // also when reading or writing failed.
        let mut writer = InOrder {
            sink: &mut sink,
            next: 0,
            waiting: BTreeMap::new(),
            ticker,
        };
        let mut sent = 0u64;
        let mut batch = Vec::with_capacity(BATCH);
        let mut hand_over = |batch: Vec<(StoredEvent, Option<EventDigest>)>,
                             writer: &mut InOrder<'_, '_, '_, _, _>| {
            let batch = NotedEvent::read_batch(session, batch)?;
            while sent - writer.next >= IN_FLIGHT_PER_WORKER * workers as u64 {
                writer.accept(finished.recv().map_err(|_| worker_gone())?)?;
            }
            work.send((sent, batch)).map_err(|_| worker_gone())?;
            sent += 1;
            while let Ok(result) = finished.try_recv() {
                writer.accept(result)?;
            }
            Ok::<(), ExportError>(())
        };
        let mut visit = |event: StoredEvent, digest: Option<EventDigest>| {
            batch.push((event, digest));
            if batch.len() == BATCH {
                hand_over(
                    std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                    &mut writer,
                )?;
            }
            Ok::<(), ExportError>(())
        };
        match reads {
            Reads::Bodies => session.for_each_event(filter, |event| visit(event, None))?,
            Reads::Digests => session.for_each_event_digested(filter, &mut visit)?,
        }
        if !batch.is_empty() {
            hand_over(batch, &mut writer)?;
        }
        drop(work);
        while writer.next < sent {
            writer.accept(finished.recv().map_err(|_| worker_gone())?)?;
        }
        Ok(writer.ticker.rows)
    })
}

/// A worker that stopped without an answer has panicked; the scope re-raises its panic.
fn worker_gone() -> ExportError {
    ExportError::Io(std::io::Error::other("an export worker stopped"))
}

/// Finished batches, handed on in the order they were read.
struct InOrder<'o, 't, 'p, C, S: FnMut(C) -> Result<(), ExportError>> {
    sink: &'o mut S,
    /// The index of the next batch to hand on.
    next: u64,
    waiting: BTreeMap<u64, (usize, C)>,
    ticker: &'t mut Ticker<'p>,
}

impl<C, S: FnMut(C) -> Result<(), ExportError>> InOrder<'_, '_, '_, C, S> {
    fn accept(
        &mut self,
        (index, rows, records): (u64, usize, Result<C, ExportError>),
    ) -> Result<(), ExportError> {
        self.waiting.insert(index, (rows, records?));
        while let Some((rows, records)) = self.waiting.remove(&self.next) {
            (self.sink)(records)?;
            self.next += 1;
            self.ticker.advance(rows as u64)?;
        }
        Ok(())
    }
}
