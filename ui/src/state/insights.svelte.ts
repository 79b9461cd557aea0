// The insight charts' numbers for the change list's filters: loaded at once when the filters
// change, and again at most every 2 s while new events arrive (each load reads the whole view).
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { Insights } from '../api/bindings/Insights';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { sameQuery } from '../lib/filters';

export const INSIGHTS_MIN_INTERVAL_MS = 2000;

export class InsightsModel {
  data: Insights | null = $state.raw(null);
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

  constructor(minIntervalMs = INSIGHTS_MIN_INTERVAL_MS) {
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

  /** New events were stored: load again, no sooner than 2 s after the last load began. */
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
          const data = await api.insights(query);
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
