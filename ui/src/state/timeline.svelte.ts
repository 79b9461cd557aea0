// The change list as the page sees it: the query, the rows fetched so far (by page), the total,
// the selection, the facet counts, and "follow live". Rust holds the data; this only decides
// which pages to ask for and when.
//
// Every read is limited to the events stored up to a known arrival number (`max_seq`), the
// newest Rust had reported when the list was last loaded. Follow live on: each time Rust
// reports new rows, that number moves up and the pages in view are fetched again and swapped in.
// Follow live off: the number stays, so every page fetched later continues exactly where the
// rows on screen end, even when a late event's time would put it among them; new rows are only
// counted ("N new").
import * as api from '../api/tideline';
import type { ChangePage } from '../api/bindings/ChangePage';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { AppError } from '../api/errors';
import type { Facets } from '../api/bindings/Facets';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { arrivedBetween, emptyFilters, sameQuery, toQuery, uptoSeq } from '../lib/filters';
import { PAGE_SIZE, pagesFor, pagesToEvict } from '../lib/pages';
import { Pacer } from '../lib/pace';
import { moveSelection, type Move } from '../lib/selection';

/** Facet counts are refreshed at most this often while events stream in. */
const FACETS_MIN_INTERVAL_MS = 1000;
/** The rows in view are read again for their findings flags at most this often. */
const FLAGS_MIN_INTERVAL_MS = 1000;

export type Selection = {
  /** Position in the list, or null when the selected change is not in the current list. */
  index: number | null;
  /** The change, or null while the page holding `index` is still loading. */
  seq: number | null;
};

export class Timeline {
  /** The filters; `max_seq` is always null here (see `viewQuery`). */
  query: TimelineQuery = $state.raw(emptyQuery());
  /** Rows in the list as shown (frozen while follow is off). */
  total = $state(0);
  /** `total` is "at least": a filtered page counts up to a cap; the facets bring the exact one. */
  totalIsLowerBound = $state(false);
  /** The exact total the last facets gave, and the query (JSON) they were for. */
  #exactTotal: { query: string; total: number } | null = null;
  /** Bumped whenever the cached pages change, so readers of rowAt() re-run. */
  version = $state(0);
  /** True until the first page of the current query has arrived. */
  loading = $state(true);
  error: AppError | null = $state.raw(null);
  follow = $state(true);
  /** Follow is held for a moment while the pointer moves over the list, so the row being aimed
   * at does not slide away under the cursor. Ingest goes on; the rows appear on release. */
  held = $state(false);
  /** Rows matching the query that arrived since the list was loaded (follow off, or held). */
  newCount = $state(0);
  selection: Selection = $state.raw({ index: null, seq: null });
  /** Bumped when the user moved the selection and the list should scroll it into view. */
  revealTick = $state(0);
  /** Bumped when the list should go back to its top (new query, follow turned on). */
  topTick = $state(0);
  facets: Facets | null = $state.raw(null);
  facetsError: AppError | null = $state.raw(null);

  #pages = new Map<number, ChangeRow[]>();
  #inflight = new Set<number>();
  /** Bumped when cached pages stop matching the store (new query, refresh); late answers to an
   * older generation are dropped. */
  #generation = 0;
  /** The newest arrival number Rust reported. */
  #latestSeq: number | null;
  /** The newest arrival number the rows in view were read up to. */
  #viewSeq: number | null;
  #visible: number[] = [0];
  #visibleCenter = 0;
  #refreshing = false;
  #refreshAgain = false;
  #againAdvance = false;
  #counting = false;
  #countAgain = false;
  #facetsBusy = false;
  #facetsAgain = false;
  /** Facet counts while following live, paced from the start of the last count. */
  readonly #facetsPacer = new Pacer(FACETS_MIN_INTERVAL_MS, () => void this.#loadFacets());
  #holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** Findings changes seen (onFindingsChanged), and how many of them the rows shown reflect
   * (those seen when the read of the rows now shown began). */
  #findingsChanges = 0;
  #flagsShown = 0;
  /** Reads of the rows in view for their findings flags, paced from the start of the last
   * read of them. */
  readonly #flagsPacer = new Pacer(FLAGS_MIN_INTERVAL_MS, () => {
    if (this.#flagsShown < this.#findingsChanges) void this.#reload(false);
  });
  #missedWhileHeld = false;
  #queryGeneration = 0;
  #selectFirstPending = false;
  #revealPending = false;
  /** The first page of the current query has not been applied yet. */
  #newQuery = false;

  /** `newestSeq`: the newest arrival number known when the list is created. */
  constructor(newestSeq: number | null = null) {
    this.#latestSeq = newestSeq;
    this.#viewSeq = newestSeq;
  }

  /** The query the rows in view answer: the filters, up to the arrival they were read at. */
  get viewQuery(): TimelineQuery {
    return uptoSeq(this.query, this.#viewSeq);
  }

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
    this.#viewSeq = this.#latestSeq;
    this.newCount = 0;
    this.loading = true;
    this.#inflight.clear();
    this.#visible = [0];
    this.#visibleCenter = 0;
    this.topTick++;
    void this.#loadFacets();
    const changesAtRead = this.#findingsChanges;
    this.#flagsPacer.mark();
    try {
      const page = await api.listChanges(this.viewQuery, 0, PAGE_SIZE);
      // A refresh that started after this call carries the same query and wins.
      if (gen !== this.#generation) return;
      this.#flagsShown = changesAtRead;
      this.#pages = new Map([[0, page.rows]]);
      this.#takeTotal(page);
      this.error = null;
      this.#afterFirstPage(0);
      this.version++;
      this.ensure(this.#visibleFirst(), this.#visibleEnd());
    } catch (e) {
      if (qgen !== this.#queryGeneration) return;
      this.error = e as AppError;
      this.#pages = new Map();
      this.total = 0;
      this.totalIsLowerBound = false;
      this.loading = false;
      this.version++;
    }
  }

  /** Bookkeeping once fresh first-page rows of the current query are in. `grown`: how many rows
   * arrived above, or null when the rows are the same ones re-read. */
  #afterFirstPage(grown: number | null): void {
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
      // The page after a cached full page is read by key (no rows skipped); a jump by offset.
      const above = this.#pages.get(p - 1);
      const after = above?.length === PAGE_SIZE ? above[PAGE_SIZE - 1]!.cursor : null;
      const page = await api.listChanges(this.viewQuery, p * PAGE_SIZE, PAGE_SIZE, after);
      if (gen !== this.#generation) return;
      this.#pages.set(p, page.rows);
      for (const drop of pagesToEvict(this.#pages.keys(), this.#visible, this.#visibleCenter)) {
        this.#pages.delete(drop);
      }
      this.#resolvePendingSelection();
      this.version++;
    } catch (e) {
      if (gen === this.#generation) this.error = e as AppError;
    } finally {
      if (gen === this.#generation) this.#inflight.delete(p);
    }
  }

  /** Rust reported rows up to `newestSeq`, newer than the last ones we knew of. */
  onNewRows(newestSeq: number | null): void {
    this.#latestSeq = newestSeq;
    if (this.follow && !this.held) {
      void this.refresh();
    } else {
      if (this.follow) this.#missedWhileHeld = true;
      void this.#countNew();
    }
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

  /** Reads the pages in view again, up to the newest arrival, and swaps them in at once (no
   * flash of empty rows). */
  refresh(): Promise<void> {
    return this.#reload(true);
  }

  /** Reads the pages in view again with the same arrival limit: the same rows, as they now are
   * (after the analyst starred, tagged or commented one). The paused view stays paused. */
  reloadInPlace(): Promise<void> {
    void this.#loadFacets();
    return this.#reload(false);
  }

  /** The session's findings changed (LiveStatus.findings_version moved): a finding can flag
   * a change in view, older ones included. The rows in view are read again in place, no sooner
   * than `FLAGS_MIN_INTERVAL_MS` after the last read of them began, and not at all when rows
   * read after the change (following live, new rows) are shown already. A list of one
   * finding's events (`finding`) can gain or lose rows: its facets are counted again too. */
  onFindingsChanged(): void {
    this.#findingsChanges++;
    if (this.query.finding !== null) {
      this.#exactTotal = null;
      void this.#loadFacets();
    }
    this.#flagsPacer.schedule();
  }

  async #reload(advance: boolean): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      this.#againAdvance ||= advance;
      return;
    }
    this.#refreshing = true;
    try {
      do {
        this.#refreshAgain = false;
        const changesAtRead = this.#findingsChanges;
        this.#flagsPacer.mark();
        const gen = ++this.#generation;
        const viewSeqBefore = this.#viewSeq;
        if (advance) this.#viewSeq = this.#latestSeq;
        this.#inflight.clear();
        const want = this.#visible.length > 0 ? [...this.#visible] : [0];
        const query = this.viewQuery;
        const results = await Promise.all(want.map((p) => api.listChanges(query, p * PAGE_SIZE, PAGE_SIZE)));
        if (gen === this.#generation && advance && (!this.follow || this.held)) {
          // Following was paused (a row selected) or held (the pointer on the list) while these
          // newer rows were read: nothing moves under the reader. The list stays as it was;
          // what arrived is counted ("N new — resume"), or read when the hold ends.
          this.#viewSeq = viewSeqBefore;
          if (this.follow) this.#missedWhileHeld = true;
          else void this.#countNew();
        } else if (gen === this.#generation) {
          this.#flagsShown = changesAtRead;
          const pages = new Map<number, ChangeRow[]>();
          want.forEach((p, i) => pages.set(p, results[i]!.rows));
          const before = this.total;
          this.#pages = pages;
          this.#takeTotal(results[results.length - 1]!);
          if (advance) this.newCount = 0;
          this.error = null;
          this.#afterFirstPage(advance ? this.total - before : null);
          this.version++;
          this.ensure(this.#visibleFirst(), this.#visibleEnd());
          if (advance) this.#facetsPacer.schedule();
          // The rows re-read may be fewer ("starred only" and a star removed): count again.
          else if (this.newCount > 0) void this.#countNew();
        }
        advance = this.#againAdvance;
        this.#againAdvance = false;
      } while (this.#refreshAgain);
      // A read thrown away (following paused meanwhile) showed no newer flags: read again. (A
      // failed read is not retried on a timer: the next change or refresh reads again.)
      if (this.#flagsShown < this.#findingsChanges) this.#flagsPacer.schedule();
    } catch (e) {
      this.error = e as AppError;
    } finally {
      this.#refreshing = false;
    }
  }

  /** A page's total, or the exact one the facets gave for the same query when the page's is
   * only "at least". */
  #takeTotal(page: ChangePage): void {
    const exact = this.#exactTotal;
    if (page.total_is_lower_bound && exact !== null && exact.query === JSON.stringify(this.viewQuery) && exact.total >= page.total) {
      this.total = exact.total;
      this.totalIsLowerBound = false;
    } else {
      this.total = page.total;
      this.totalIsLowerBound = page.total_is_lower_bound;
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
        // What arrived since the view was taken: a small count, whatever the list's size.
        const page = await api.listChanges(arrivedBetween(this.query, this.#viewSeq, this.#latestSeq), 0, 0);
        if (gen !== this.#generation || (this.follow && !this.held)) continue;
        this.newCount = page.total;
      } while (this.#countAgain);
    } catch (e) {
      this.error = e as AppError;
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

  /** Selects the row at `index` (a click, or a keyboard move). Following live pauses: the reader
   * is reading that row, so nothing moves under it; "N new — resume" follows again. */
  select(index: number, reveal = false): void {
    if (this.follow) this.setFollow(false);
    const row = this.rowAt(index);
    this.selection = { index, seq: row ? row.seq : null };
    if (reveal) this.revealTick++;
  }

  move(move: Move, pageRows: number): void {
    const next = moveSelection(this.selection.index, move, this.total, pageRows);
    if (next === null) return;
    this.select(next, true);
  }

  /** Selects the change `seq` the reader clicked, drawn at `index`: at its place now, which
   * differs when newer rows arrived after the row was drawn (following live, they can come
   * between the drawing and the click). Following live pauses, as for [`select`]. */
  pick(index: number, seq: number): void {
    if (this.follow) this.setFollow(false);
    this.selection = { index: this.indexOfSeq(seq) ?? index, seq };
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
   * among the cached rows, it is assumed to have moved down by the rows that arrived (or, rows
   * re-read in place, to have left the list). */
  #followSelection(grown: number | null): void {
    const { seq, index } = this.selection;
    if (seq === null) return;
    const found = this.indexOfSeq(seq);
    if (found !== null || index === null || grown === null) {
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

  async #loadFacets(): Promise<void> {
    if (this.#facetsBusy) {
      this.#facetsAgain = true;
      return;
    }
    this.#facetsBusy = true;
    try {
      do {
        this.#facetsAgain = false;
        const filters = this.query;
        const query = this.viewQuery;
        this.#facetsPacer.mark();
        try {
          const f = await api.facets(query);
          if (sameQuery(filters, this.query) && this.#viewSeq !== null && (query.max_seq ?? -1) < this.#viewSeq) {
            // Following live, the view moved up while these were counted: they are the counts
            // of the same filters a moment ago, shown until the next count, at the usual pace.
            // Counting again at once instead kept the reader busy with counts that were always
            // one step behind, and seldom shown.
            this.facets = f;
            this.facetsError = null;
            this.#facetsPacer.schedule();
          } else if (sameQuery(query, this.viewQuery)) {
            this.facets = f;
            this.facetsError = null;
            this.#exactTotal = { query: JSON.stringify(query), total: f.total };
            if (this.totalIsLowerBound && f.total >= this.total) {
              this.total = f.total;
              this.totalIsLowerBound = false;
              this.version++;
              this.ensure(this.#visibleFirst(), this.#visibleEnd());
            }
          } else {
            this.#facetsAgain = true;
          }
        } catch (e) {
          this.facetsError = e as AppError;
        }
      } while (this.#facetsAgain);
    } finally {
      this.#facetsBusy = false;
    }
  }

  dispose(): void {
    this.#facetsPacer.dispose();
    this.#flagsPacer.dispose();
    if (this.#holdTimer !== null) clearTimeout(this.#holdTimer);
    this.#generation++;
  }
}

/** The query with no filters: the filter state's own empty value, so the two cannot drift. */
export function emptyQuery(): TimelineQuery {
  return toQuery(emptyFilters());
}
