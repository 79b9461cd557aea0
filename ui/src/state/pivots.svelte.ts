// The change list's filters, and the way back from a pivot. Following an association, "only this
// asset" or a finding narrows the list and remembers where it came from (the filters and the
// change that was selected), so Back (or Alt+←) returns there. Clearing every filter forgets the
// trail.
import type { Finding } from '../api/bindings/Finding';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { emptyFilters, hasFilters, onlyFinding, pivotToAsset, sameQuery, toQuery, type FilterState } from '../lib/filters';
import { firstSeq, ruleName } from '../lib/findings';

/** Where the user is when pivoting away: the selected change, and its asset's label. */
export type Place = { readonly seq: number | null; readonly label: string | null };

export type PivotStep = { readonly filters: FilterState; readonly seq: number | null; readonly label: string };

export type SelectOpts = { selectFirst?: boolean; selectSeq?: number | null };

/** The part of the change list (the Timeline model) that the filters drive. */
export interface FilteredList {
  readonly query: TimelineQuery;
  setQuery(query: TimelineQuery, opts?: SelectOpts): Promise<void>;
}

export class PivotTrail {
  filters: FilterState = $state.raw(emptyFilters());
  /** Oldest first; the last is where Back goes. */
  steps: readonly PivotStep[] = $state.raw([]);
  /** The label of the place Back returns to, if any. */
  readonly backTo: string | null = $derived(this.steps.at(-1)?.label ?? null);

  readonly #list: FilteredList;

  constructor(list: FilteredList) {
    this.#list = list;
  }

  /** New filters for the list (the filter panel); the list reloads only if the query changed or
   * `opts` asks for a selection. The trail is kept. */
  apply(next: FilterState, opts: SelectOpts = {}): void {
    this.filters = next;
    const q = toQuery(next);
    if (!sameQuery(q, this.#list.query) || opts.selectFirst || opts.selectSeq !== undefined) {
      void this.#list.setQuery(q, opts);
    }
  }

  /** The filters edited as chips; with none left there is nothing to go back to. */
  change(next: FilterState): void {
    if (!hasFilters(next)) this.steps = [];
    this.apply(next);
  }

  /** An association link, or "only this asset": every event of that asset, newest selected. */
  toAsset(assetName: string, label: string, from: Place): void {
    this.#push(from);
    this.apply(pivotToAsset(assetName, label), { selectFirst: true });
  }

  /** A finding: exactly its events, its first one selected. Going from one finding to the next
   * keeps one way back: to the view before the first. */
  toFinding(f: Finding, from: Place): void {
    if (!this.filters.finding) this.#push(from);
    this.apply(onlyFinding(f.key, ruleName(f.rule), f.summary), { selectSeq: firstSeq(f) });
  }

  /** Back to the filters and the change the last pivot left; false if there is none. */
  back(): boolean {
    const prev = this.steps.at(-1);
    if (!prev) return false;
    this.steps = this.steps.slice(0, -1);
    this.apply(prev.filters, { selectSeq: prev.seq });
    return true;
  }

  #push(from: Place): void {
    this.steps = [...this.steps, { filters: this.filters, seq: from.seq, label: from.label ?? 'previous view' }];
  }
}
