// The pivot trail against a fake list: a pivot remembers the filters and the change it left and
// Back returns to them; one finding after another keeps one way back; clearing every filter
// forgets the trail; the list is asked to reload only when the query changes or a selection is
// wanted.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../api/bindings/Finding';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { emptyFilters, pivotToAsset, toQuery } from '../lib/filters';
import { PivotTrail, type SelectOpts } from './pivots.svelte';

function fakeList() {
  const list = {
    query: toQuery(emptyFilters()),
    calls: [] as Array<{ query: TimelineQuery; opts: SelectOpts | undefined }>,
    async setQuery(query: TimelineQuery, opts?: SelectOpts) {
      list.query = query;
      list.calls.push({ query, opts });
    },
  };
  return list;
}

const finding = (key: string, firstSeq: number) =>
  ({ key, rule: 'reverted_change', summary: `finding ${key}`, events: [{ seq: firstSeq }] }) as unknown as Finding;

describe('PivotTrail', () => {
  it('a pivot to an asset selects its newest event, and Back returns to the filters and change it left', () => {
    const list = fakeList();
    const nav = new PivotTrail(list);
    const before = { ...emptyFilters(), text: 'sg-' };
    nav.apply(before);
    nav.toAsset('ohn:prod-db', 'prod-db', { seq: 17, label: 'web-sg' });
    expect(nav.filters.asset?.name).toBe('ohn:prod-db');
    expect(list.calls.at(-1)?.opts).toEqual({ selectFirst: true });
    expect(nav.backTo).toBe('web-sg');

    expect(nav.back()).toBe(true);
    expect(nav.filters).toBe(before);
    expect(list.calls.at(-1)?.opts).toEqual({ selectSeq: 17 });
    expect(nav.backTo).toBeNull();
    expect(nav.back()).toBe(false);
  });

  it('pivots stack, and Back unwinds them one at a time', () => {
    const nav = new PivotTrail(fakeList());
    nav.toAsset('ohn:a', 'a', { seq: 1, label: null });
    nav.toAsset('ohn:b', 'b', { seq: 2, label: 'a' });
    expect(nav.steps.map((s) => s.label)).toEqual(['previous view', 'a']);
    nav.back();
    expect(nav.filters).toEqual(pivotToAsset('ohn:a', 'a'));
    nav.back();
    expect(nav.filters).toEqual(emptyFilters());
  });

  it('one finding after another keeps one way back: to the view before the first', () => {
    const list = fakeList();
    const nav = new PivotTrail(list);
    nav.toFinding(finding('f1', 5), { seq: 9, label: 'start' });
    expect(list.calls.at(-1)?.opts).toEqual({ selectSeq: 5 });
    nav.toFinding(finding('f2', 6), { seq: 5, label: 'in f1' });
    expect(nav.filters.finding?.key).toBe('f2');
    expect(nav.steps).toHaveLength(1);
    nav.back();
    expect(nav.filters).toEqual(emptyFilters());
    expect(list.calls.at(-1)?.opts).toEqual({ selectSeq: 9 });
  });

  it('clearing every filter forgets the trail; other edits keep it', () => {
    const nav = new PivotTrail(fakeList());
    nav.toAsset('ohn:a', 'a', { seq: 1, label: 'x' });
    nav.change({ ...nav.filters, text: 'more' });
    expect(nav.steps).toHaveLength(1);
    nav.change(emptyFilters());
    expect(nav.steps).toHaveLength(0);
  });

  it('asks the list to reload only when the query changes or a selection is wanted', () => {
    const list = fakeList();
    const nav = new PivotTrail(list);
    nav.apply(emptyFilters());
    expect(list.calls).toHaveLength(0);
    nav.apply({ ...emptyFilters(), text: 'x' });
    expect(list.calls).toHaveLength(1);
    nav.apply(emptyFilters(), { selectSeq: null });
    expect(list.calls).toHaveLength(2);
  });
});
