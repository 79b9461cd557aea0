// Pacing of background reads: a callback run no sooner than a minimum interval after a moment
// the caller marks (when the last read began, or ended), with one timer at a time. The live
// reads that follow a recording (the time brush, the insight charts, the list's facet counts,
// its findings flags and the Findings panel) each hold one, so a stream of 1,000 events/s asks
// the reader at a fixed pace, never once per batch.

/** Runs `run` at most once per `intervalMs` (milliseconds) counted from the last [`mark`]. */
export class Pacer {
  readonly #intervalMs: number;
  readonly #run: () => void;
  /** The moment marked last (ms since the epoch); none yet: due at once. */
  #last = -Infinity;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #disposed = false;

  constructor(intervalMs: number, run: () => void) {
    this.#intervalMs = intervalMs;
    this.#run = run;
  }

  /** The interval counts from now (a read began, or ended: the caller says which it paces by). */
  mark(): void {
    this.#last = Date.now();
  }

  /** Runs `run` on a timer at the last mark plus the interval (after 0 ms when that is past).
   * Nothing when a run is already scheduled, or after [`dispose`]. */
  schedule(): void {
    if (this.#timer !== null || this.#disposed) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#run();
    }, wait);
  }

  /** A run is scheduled and has not begun. */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** Drops the scheduled run, if any; [`schedule`] works again afterwards. */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Drops the scheduled run and schedules none again. */
  dispose(): void {
    this.#disposed = true;
    this.cancel();
  }
}
