// The change in the detail panel: loaded a moment after the selection settles (holding ↓ does not
// fire a request per row), kept while the same change stays selected, and updated in place when
// the analyst annotates it.
import * as api from '../api/tideline';
import type { Annotations } from '../api/bindings/Annotations';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';
import type { AppError } from '../api/errors';

/** Short delay so holding ↓ does not fire a detail request per row. */
export const DETAIL_DELAY_MS = 60;

export class DetailModel {
  detail: ChangeDetail | null = $state.raw(null);
  error: AppError | null = $state.raw(null);
  loading = $state(false);
  /** Starring with `s` failed (shown in the detail panel). */
  starError: AppError | null = $state.raw(null);

  readonly #onAnnotated: () => void;

  /** `onAnnotated` re-reads the list's rows, so they show an annotation too. */
  constructor(onAnnotated: () => void) {
    this.#onAnnotated = onAnnotated;
  }

  /** The selection is change `seq` (null: none) and the panel is `open` or not. Returns the
   * cancel of the load it started, for an effect's cleanup; call it untracked (it reads state it
   * writes). */
  show(seq: number | null, open: boolean): (() => void) | undefined {
    this.starError = null;
    if (!open) return;
    if (seq === null) {
      this.detail = null;
      this.error = null;
      this.loading = false;
      return;
    }
    // Already shown (and an error is not retried until the selection moves).
    if (this.detail?.row.seq === seq && this.error === null) {
      this.loading = false;
      return;
    }
    let stale = false;
    this.loading = true;
    const timer = setTimeout(() => {
      api
        .changeDetail(seq)
        .then((d) => {
          if (stale) return;
          this.detail = d;
          this.error = null;
        })
        .catch((e: AppError) => {
          if (stale) return;
          this.error = e;
        })
        .finally(() => {
          if (!stale) this.loading = false;
        });
    }, DETAIL_DELAY_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }

  /** Reads the shown change again, in place (no loading state): after the findings changed, so
   * its Findings section lists what flags it now. A failure keeps what is shown. */
  async reload(): Promise<void> {
    const seq = this.detail?.row.seq;
    if (seq === undefined) return;
    try {
      const d = await api.changeDetail(seq);
      if (this.detail?.row.seq === seq) this.detail = d;
    } catch {
      // The next selection or reload tries again; what is shown stays true of its moment.
    }
  }

  /** Runs one annotation command on change `seq`; the detail and the list then show the result.
   * Returns the error, if any, for the panel to show where the user acted. */
  async annotate(seq: number, call: () => Promise<Annotations>): Promise<AppError | null> {
    try {
      const a = await call();
      const d = this.detail;
      if (d && d.row.seq === seq) {
        this.detail = {
          ...d,
          annotations: a,
          row: { ...d.row, starred: a.starred, tags: a.tags, comment_count: a.comments.length },
        };
      }
      this.#onAnnotated();
      return null;
    } catch (e) {
      return e as AppError;
    }
  }

  /** `s`: stars change `seq`, or takes its star away. `listed` is its star as the list shows it,
   * for when its detail is not loaded; undefined (row not loaded either) does nothing. */
  async toggleStar(seq: number, listed: boolean | undefined): Promise<void> {
    const starred = this.detail?.row.seq === seq ? this.detail.annotations.starred : listed;
    if (starred === undefined) return;
    this.starError = await this.annotate(seq, () => api.setStarred(seq, !starred));
  }
}
