// The change list as the page sees it: the query, the rows fetched so far (by page), the total,
// the selection, the facet counts, and "follow live". Rust holds the data; this only decides
// which pages to ask for and when.
//
// Follow live on: each time Rust reports new rows, the pages in view are fetched again and
// swapped in (the newest rows appear at the top). Follow live off: the view is frozen at the
// total it had; new rows are only counted ("N new"), and pages fetched later are asked for at
// offset + N so the rows already on screen keep their place.
import * as api from '../api/tideline';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { CommandError } from '../api/bindings/CommandError';
import type { Facets } from '../api/bindings/Facets';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { PAGE_SIZE, pagesFor, pagesToEvict } from '../lib/pages';
import { moveSelection, type Move } from '../lib/selection';

/** Facet counts are refreshed at most this often while events stream in. */
const FACETS_MIN_INTERVAL_MS = 1000;

export type Selection = {
  /** Position in the list, or null when the selected change is not in the current list. */
  index: number | null;
  /** The change, or null while the page holding `index` is still loading. */
  seq: number | null;
};

export class Timeline {
  query: TimelineQuery = $state.raw(emptyQuery());
  /** Rows in the list as shown (frozen while follow is off). */
  total = $state(0);
  /** Bumped whenever the cached pages change, so readers of rowAt() re-run. */
  version = $state(0);
  /** True until the first page of the current query has arrived. */
  loading = $state(true);
  error: CommandError | null = $state.raw(null);
  follow = $state(true);
  /** Follow is held for a moment while the pointer moves over the list, so the row being aimed
   * at does not slide away under the cursor. Ingest goes on; the rows appear on release. */
  held = $state(false);
  /** Rows that arrived while follow was off. */
  newCount = $state(0);
  selection: Selection = $state.raw({ index: null, seq: null });
  /** Bumped when the user moved the selection and the list should scroll it into view. */
  revealTick = $state(0);
  /** Bumped when the list should go back to its top (new query, follow turned on). */
  topTick = $state(0);
  facets: Facets | null = $state.raw(null);
  facetsError: CommandError | null = $state.raw(null);

  #pages = new Map<number, ChangeRow[]>();
  #inflight = new Set<number>();
  /** Bumped when cached pages stop matching the store (new query, refresh); late answers to an
   * older generation are dropped. */
  #generation = 0;
  /** Offset shift for pages fetched while paused. */
  #shift = 0;
  #visible: number[] = [0];
  #visibleCenter = 0;
  #refreshing = false;
  #refreshAgain = false;
  #counting = false;
  #countAgain = false;
  #facetsBusy = false;
  #facetsAgain = false;
  #facetsLast = 0;
  #facetsTimer: ReturnType<typeof setTimeout> | null = null;
  #holdTimer: ReturnType<typeof setTimeout> | null = null;
  #missedWhileHeld = false;
  #queryGeneration = 0;
  #selectFirstPending = false;
  #revealPending = false;
  /** The first page of the current query has not been applied yet. */
  #newQuery = false;

  /** Replaces the query: drops every cached page and loads the first page and the facets.
   * `selectFirst` (a pivot): select the newest row once it is there. `selectSeq` (going back
   * from a pivot): select that change again. */
  async setQuery(query: TimelineQuery, opts: { selectFirst?: boolean; selectSeq?: number | null } = {}): Promise<void> {
    this.query = query;
    const gen = ++this.#generation;
    const qgen = ++this.#queryGeneration;
    this.#selectFirstPending = opts.selectFirst === true;
    this.#revealPending = opts.selectSeq !== undefined;
    if (opts.selectSeq !== undefined) this.selection = { index: null, seq: opts.selectSeq };
    this.#newQuery = true;
    this.#shift = 0;
    this.newCount = 0;
    this.loading = true;
    this.#inflight.clear();
    this.#visible = [0];
    this.#visibleCenter = 0;
    this.topTick++;
    void this.#loadFacets();
    try {
      const page = await api.listChanges(query, 0, PAGE_SIZE);
      // A refresh that started after this call carries the same query and wins.
      if (gen !== this.#generation) return;
      this.#pages = new Map([[0, page.rows]]);
      this.total = page.total;
      this.error = null;
      this.#afterFirstPage(0);
      this.version++;
      this.ensure(this.#visibleFirst(), this.#visibleEnd());
    } catch (e) {
      if (qgen !== this.#queryGeneration) return;
      this.error = e as CommandError;
      this.#pages = new Map();
      this.total = 0;
      this.loading = false;
      this.version++;
    }
  }

  /** Bookkeeping once fresh first-page rows of the current query are in. */
  #afterFirstPage(grown: number): void {
    this.loading = false;
    if (this.#newQuery) {
      this.#newQuery = false;
      this.#reselect(this.#selectFirstPending);
      this.#selectFirstPending = false;
    } else {
      this.#followSelection(grown);
    }
  }

  rowAt(index: number): ChangeRow | undefined {
    void this.version;
    const p = Math.floor(index / PAGE_SIZE);
    return this.#pages.get(p)?.[index - p * PAGE_SIZE];
  }

  /** Tells the model which rows are on screen; fetches the pages it lacks. */
  ensure(first: number, end: number): void {
    this.#visible = pagesFor(first, Math.max(first + 1, end));
    this.#visibleCenter = Math.floor(first / PAGE_SIZE);
    const gen = this.#generation;
    for (const p of this.#visible) {
      if (p * PAGE_SIZE >= this.total && p !== 0) continue;
      if (this.#pages.has(p) || this.#inflight.has(p)) continue;
      void this.#fetchPage(p, gen);
    }
  }

  async #fetchPage(p: number, gen: number): Promise<void> {
    this.#inflight.add(p);
    try {
      const page = await api.listChanges(this.query, p * PAGE_SIZE + this.#shift, PAGE_SIZE);
      if (gen !== this.#generation) return;
      this.#pages.set(p, page.rows);
      for (const drop of pagesToEvict(this.#pages.keys(), this.#visible, this.#visibleCenter)) {
        this.#pages.delete(drop);
      }
      this.#resolvePendingSelection();
      this.version++;
    } catch (e) {
      if (gen === this.#generation) this.error = e as CommandError;
    } finally {
      if (gen === this.#generation) this.#inflight.delete(p);
    }
  }

  /** Rust reported rows newer than the last ones we knew of. */
  onNewRows(): void {
    if (this.follow && !this.held) {
      void this.refresh();
    } else {
      if (this.follow) this.#missedWhileHeld = true;
      void this.#countNew();
    }
    this.#scheduleFacets();
  }

  /** Holds follow live for `ms` from now (pointer moving over the list). */
  holdFor(ms: number): void {
    this.held = true;
    if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = null;
      this.held = false;
      if (this.#missedWhileHeld) {
        this.#missedWhileHeld = false;
        if (this.follow) void this.refresh();
      }
    }, ms);
  }

  /** Fetches the pages in view again and swaps them in at once (no flash of empty rows). */
  async refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return;
    }
    this.#refreshing = true;
    try {
      do {
        this.#refreshAgain = false;
        const gen = ++this.#generation;
        this.#shift = 0;
        this.#inflight.clear();
        const want = this.#visible.length > 0 ? [...this.#visible] : [0];
        const query = this.query;
        const results = await Promise.all(want.map((p) => api.listChanges(query, p * PAGE_SIZE, PAGE_SIZE)));
        if (gen !== this.#generation) continue;
        const pages = new Map<number, ChangeRow[]>();
        want.forEach((p, i) => pages.set(p, results[i]!.rows));
        const before = this.total;
        this.#pages = pages;
        this.total = results[results.length - 1]!.total;
        this.newCount = 0;
        this.error = null;
        this.#afterFirstPage(this.total - before);
        this.version++;
        this.ensure(this.#visibleFirst(), this.#visibleEnd());
      } while (this.#refreshAgain);
    } catch (e) {
      this.error = e as CommandError;
    } finally {
      this.#refreshing = false;
    }
  }

  async #countNew(): Promise<void> {
    if (this.#counting) {
      this.#countAgain = true;
      return;
    }
    this.#counting = true;
    try {
      do {
        this.#countAgain = false;
        const gen = this.#generation;
        const page = await api.listChanges(this.query, 0, 0);
        if (gen !== this.#generation || (this.follow && !this.held)) continue;
        this.#shift = Math.max(0, page.total - this.total);
        this.newCount = this.#shift;
      } while (this.#countAgain);
    } catch (e) {
      this.error = e as CommandError;
    } finally {
      this.#counting = false;
    }
  }

  setFollow(on: boolean): void {
    if (on === this.follow) return;
    this.follow = on;
    if (on) {
      this.#visible = [0];
      this.#visibleCenter = 0;
      this.topTick++;
      void this.refresh();
    }
  }

  // --- selection -------------------------------------------------------------------------

  /** Selects the row at `index` (a click, or a keyboard move). */
  select(index: number, reveal = false): void {
    const row = this.rowAt(index);
    this.selection = { index, seq: row ? row.seq : null };
    if (reveal) this.revealTick++;
  }

  move(move: Move, pageRows: number): void {
    const next = moveSelection(this.selection.index, move, this.total, pageRows);
    if (next === null) return;
    this.select(next, true);
  }

  indexOfSeq(seq: number): number | null {
    for (const [p, rows] of this.#pages) {
      const i = rows.findIndex((r) => r.seq === seq);
      if (i >= 0) return p * PAGE_SIZE + i;
    }
    return null;
  }

  /** After a new query: keep the selected change if it is in the list, else (pivot) take the
   * newest row or keep the detail of the old one open with no row highlighted. */
  #reselect(selectFirst: boolean): void {
    if (selectFirst) {
      const first = this.#pages.get(0)?.[0];
      this.selection = first ? { index: 0, seq: first.seq } : { index: null, seq: null };
      this.revealTick++;
      return;
    }
    const seq = this.selection.seq;
    this.selection = { index: seq === null ? null : this.indexOfSeq(seq), seq };
    if (this.#revealPending && this.selection.index !== null) this.revealTick++;
    this.#revealPending = false;
  }

  /** After fresh rows came in: the selected change stays selected wherever it moved. If it is not
   * among the cached rows, it is assumed to have moved down by the rows that arrived. */
  #followSelection(grown: number): void {
    const { seq, index } = this.selection;
    if (seq === null) return;
    const found = this.indexOfSeq(seq);
    if (found !== null || index === null) {
      this.selection = { seq, index: found };
      return;
    }
    const shifted = index + Math.max(0, grown);
    this.selection = { seq, index: shifted < this.total ? shifted : null };
  }

  #resolvePendingSelection(): void {
    const { index, seq } = this.selection;
    if (index !== null && seq === null) {
      const row = this.rowAt(index);
      if (row) this.selection = { index, seq: row.seq };
    }
  }

  #visibleFirst(): number {
    return (this.#visible[0] ?? 0) * PAGE_SIZE;
  }

  #visibleEnd(): number {
    const last = this.#visible[this.#visible.length - 1] ?? 0;
    return Math.min(this.total, (last + 1) * PAGE_SIZE);
  }

  // --- facets ----------------------------------------------------------------------------

  #scheduleFacets(): void {
    if (this.#facetsTimer !== null) return;
    const wait = Math.max(0, this.#facetsLast + FACETS_MIN_INTERVAL_MS - Date.now());
    this.#facetsTimer = setTimeout(() => {
      this.#facetsTimer = null;
      void this.#loadFacets();
    }, wait);
  }

  async #loadFacets(): Promise<void> {
    if (this.#facetsBusy) {
      this.#facetsAgain = true;
      return;
    }
    this.#facetsBusy = true;
    try {
      do {
        this.#facetsAgain = false;
        const query = this.query;
        this.#facetsLast = Date.now();
        try {
          const f = await api.facets(query);
          if (query === this.query) {
            this.facets = f;
            this.facetsError = null;
          } else {
            this.#facetsAgain = true;
          }
        } catch (e) {
          this.facetsError = e as CommandError;
        }
      } while (this.#facetsAgain);
    } finally {
      this.#facetsBusy = false;
    }
  }

  dispose(): void {
    if (this.#facetsTimer !== null) clearTimeout(this.#facetsTimer);
    if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
    this.#generation++;
  }
}

export function emptyQuery(): TimelineQuery {
  return {
    changes: [],
    asset_types: [],
    methods: [],
    principals: [],
    regions: [],
    accounts: [],
    time_from: null,
    time_to: null,
    text: null,
    asset_name: null,
  };
}
