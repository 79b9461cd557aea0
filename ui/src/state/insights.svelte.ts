// The charts' numbers for the change list's filters — the insight charts and the time brush
// above the list: loaded at once when the filters change, and again while new events arrive,
// no sooner than a minimum interval after the last load ended (a fixed time after it, so a
// steady stream cannot keep putting the next one off, and a slow load still leaves the app's
// reader that interval free for the list's own reads).
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { ChangeRate } from '../api/bindings/ChangeRate';
import type { Insights } from '../api/bindings/Insights';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { sameQuery } from '../lib/filters';
import { Pacer } from '../lib/pace';

/** The insight charts read the whole view: at most every 2 s while events arrive. */
export const INSIGHTS_MIN_INTERVAL_MS = 2000;
/** The time brush is one count per bucket: at most every half second. */
export const CHANGE_RATE_MIN_INTERVAL_MS = 500;

/** One read of the current filters, kept current as events arrive. */
export class LiveRead<T> {
  data: T | null = $state.raw(null);
  error: AppError | null = $state.raw(null);
  /** A load for the current query is on its way. */
  loading = $state(false);

  #query: TimelineQuery | null = null;
  /** The query `data` answers. */
  #answered: TimelineQuery | null = null;
  #busy = false;
  /** New filters came during a load: load again as soon as it ends. */
  #again = false;
  /** New events came during a load: load again one interval after it ends. */
  #rowsWhileBusy = false;
  /** Loads for new events, paced from the end of the last load. */
  readonly #pacer: Pacer;
  #disposed = false;
  readonly #read: (query: TimelineQuery) => Promise<T>;

  constructor(read: (query: TimelineQuery) => Promise<T>, minIntervalMs: number) {
    this.#read = read;
    this.#pacer = new Pacer(minIntervalMs, () => void this.#load());
  }

  /** New filters: load now (the charts must not show another view's numbers for long). */
  setQuery(query: TimelineQuery): void {
    if (this.#query !== null && sameQuery(query, this.#query)) return;
    this.#query = query;
    this.#pacer.cancel();
    this.loading = true;
    void this.#load();
  }

  /** New events were stored: load again, no sooner than the minimum interval after the last
   *  load ended. */
  onNewRows(): void {
    if (this.#query === null || this.#pacer.pending || this.#disposed) return;
    if (this.#busy) {
      this.#rowsWhileBusy = true;
      return;
    }
    this.#pacer.schedule();
  }

  async #load(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        const query = this.#query;
        if (query === null || this.#disposed) return;
        try {
          const data = await this.#read(query);
          if (this.#disposed) return;
          // Filters changed meanwhile: those numbers are of another view.
          if (this.#query !== null && sameQuery(query, this.#query)) {
            this.data = data;
            this.#answered = query;
            this.error = null;
            this.loading = false;
          } else {
            this.#again = true;
          }
        } catch (e) {
          if (this.#disposed) return;
          if (this.#query !== null && sameQuery(query, this.#query)) {
            this.error = e as AppError;
            this.loading = false;
            // Older numbers of these filters may stay; another view's may not.
            if (this.#answered === null || !sameQuery(query, this.#answered)) this.data = null;
          } else {
            this.#again = true;
          }
        }
      } while (this.#again);
    } finally {
      this.#busy = false;
      this.#pacer.mark();
      if (this.#rowsWhileBusy) {
        this.#rowsWhileBusy = false;
        this.onNewRows();
      }
    }
  }

  dispose(): void {
    this.#disposed = true;
    this.#rowsWhileBusy = false;
    this.#pacer.dispose();
  }
}

/** The insight charts' numbers ([`api.insights`]). */
export class InsightsModel extends LiveRead<Insights> {
  constructor(minIntervalMs = INSIGHTS_MIN_INTERVAL_MS) {
    super((query) => api.insights(query), minIntervalMs);
  }
}

/** The time brush's changes per bucket ([`api.changeRate`]). */
export class ChangeRateModel extends LiveRead<ChangeRate> {
  constructor(minIntervalMs = CHANGE_RATE_MIN_INTERVAL_MS) {
    super((query) => api.changeRate(query), minIntervalMs);
  }
}
