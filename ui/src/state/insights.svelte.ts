// The charts' numbers for the change list's filters — the insight charts and the time brush
// above the list: loaded at once when the filters change, and again while new events arrive,
// no sooner than a minimum interval after the last load began (counted from that load, so a
// steady stream cannot keep putting the next one off).
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { ChangeRate } from '../api/bindings/ChangeRate';
import type { Insights } from '../api/bindings/Insights';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { sameQuery } from '../lib/filters';

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
  #busy = false;
  #again = false;
  #last = -Infinity;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #disposed = false;
  readonly #minInterval: number;
  readonly #read: (query: TimelineQuery) => Promise<T>;

  constructor(read: (query: TimelineQuery) => Promise<T>, minIntervalMs: number) {
    this.#read = read;
    this.#minInterval = minIntervalMs;
  }

  /** New filters: load now (the charts must not show another view's numbers for long). */
  setQuery(query: TimelineQuery): void {
    if (this.#query !== null && sameQuery(query, this.#query)) return;
    this.#query = query;
    this.#cancelTimer();
    this.loading = true;
    void this.#load();
  }

  /** New events were stored: load again, no sooner than the minimum interval after the last
   *  load began. */
  onNewRows(): void {
    if (this.#query === null || this.#timer !== null || this.#disposed) return;
    const wait = Math.max(0, this.#last + this.#minInterval - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#load();
    }, wait);
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
        this.#last = Date.now();
        try {
          const data = await this.#read(query);
          if (this.#disposed) return;
          // Filters changed meanwhile: those numbers are of another view.
          if (this.#query !== null && sameQuery(query, this.#query)) {
            this.data = data;
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
          } else {
            this.#again = true;
          }
        }
      } while (this.#again);
    } finally {
      this.#busy = false;
    }
  }

  #cancelTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  dispose(): void {
    this.#disposed = true;
    this.#cancelTimer();
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
