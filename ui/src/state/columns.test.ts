// The change list's columns: the grid template the rows share, columns growing to the text they
// drew, dragged widths and hidden columns kept for the next start, and "Reset columns".
import { describe, expect, it } from 'vitest';
import { COLUMNS, COLUMNS_KEY, ColumnLayout, DRAG_MAX, FIT_MAX, MARK_WIDTH, NARROW_LIST, WHO_KEEPS } from './columns.svelte';
import { memoryStorage } from './storage';

const ALL = COLUMNS.map((c) => c.id);
const spec = (id: string) => COLUMNS.find((c) => c.id === id)!;

describe('ColumnLayout', () => {
  it('lays out every column up to the width it asks for, the last one taking the rest', () => {
    const cols = new ColumnLayout(memoryStorage());
    expect(cols.shown(1200)).toEqual(ALL);
    expect(cols.template(cols.shown(1200))).toBe(
      `${MARK_WIDTH}px 68px 64px minmax(100px, 200px) 150px minmax(70px, 100px) minmax(80px, 1fr)`,
    );
  });

  it('grows a fitting column to the widest text it drew, never shrinks it, and stops at FIT_MAX', () => {
    const cols = new ColumnLayout(memoryStorage());
    cols.fit('who', 231.2);
    expect(cols.wanted('who')).toBe(232);
    cols.fit('who', 90);
    expect(cols.wanted('who')).toBe(232);
    // The principal gives way last: it keeps WHO_KEEPS before the others shrink.
    expect(cols.template(['asset', 'who', 'action'])).toBe(
      `${MARK_WIDTH}px minmax(100px, 200px) minmax(${WHO_KEEPS}px, 232px) minmax(80px, 1fr)`,
    );
    cols.fit('asset', 5000);
    expect(cols.wanted('asset')).toBe(FIT_MAX);
    // Other rows: fitted anew, narrower too.
    cols.fitAnew(new Map([['who', 40.5]]));
    expect(cols.wanted('who')).toBe(spec('who').min);
    expect(cols.wanted('asset')).toBe(spec('asset').width);
    // Columns of fixed text (time, change) do not fit.
    cols.fit('time', 300);
    expect(cols.wanted('time')).toBe(spec('time').width);
  });

  it('lets a dragged width win over the fitted one until it is fitted again', () => {
    const cols = new ColumnLayout(memoryStorage());
    cols.fit('asset', 260);
    cols.resize('asset', 150.6);
    expect(cols.wanted('asset')).toBe(151);
    cols.resize('asset', 3);
    expect(cols.wanted('asset')).toBe(spec('asset').min);
    cols.resize('asset', 99999);
    expect(cols.wanted('asset')).toBe(DRAG_MAX);
    // Dragged, it keeps its width when the list is short of room (the others give way).
    cols.resize('asset', 180);
    expect(cols.template(['asset', 'action'])).toBe(`${MARK_WIDTH}px 180px minmax(80px, 1fr)`);
    cols.autoFit('asset');
    expect(cols.wanted('asset')).toBe(260);
    expect(cols.template(['asset', 'action'])).toBe(`${MARK_WIDTH}px minmax(100px, 260px) minmax(80px, 1fr)`);
  });

  it('hides and shows columns in their place, never the asset, and drops the region in a narrow list', () => {
    const cols = new ColumnLayout(memoryStorage());
    cols.setHidden('who', true);
    cols.setHidden('time', true);
    cols.setHidden('asset', true);
    expect(cols.hidden).toEqual(['time', 'who']);
    expect(cols.shown(1200)).toEqual(['change', 'asset', 'where', 'action']);
    expect(cols.shown(NARROW_LIST - 1)).toEqual(['change', 'asset', 'action']);
    cols.setHidden('who', false);
    expect(cols.shown(1200)).toEqual(['change', 'asset', 'who', 'where', 'action']);
    // The last column shown takes the rest, whichever it is.
    cols.setHidden('action', true);
    expect(cols.template(cols.shown(1200)).endsWith('minmax(70px, 1fr)')).toBe(true);
  });

  it('keeps widths and hidden columns for the next start, and Reset columns forgets them', () => {
    const storage = memoryStorage();
    const cols = new ColumnLayout(storage);
    cols.resize('who', 240);
    cols.setHidden('where', true);
    cols.fit('asset', 300);
    const again = new ColumnLayout(storage);
    expect(again.wanted('who')).toBe(240);
    expect(again.hidden).toEqual(['where']);
    // What the text needed is the data's, not a preference.
    expect(again.fitted).toEqual({});
    again.reset();
    const fresh = new ColumnLayout(storage);
    expect(fresh.widths).toEqual({});
    expect(fresh.hidden).toEqual([]);
  });

  it('reads only what it knows from storage', () => {
    const storage = memoryStorage();
    storage.setItem(
      COLUMNS_KEY,
      JSON.stringify({ widths: { who: 'wide', asset: 5, __proto__x: 3, time: 1e9 }, hidden: ['asset', 'nope', 'change'] }),
    );
    const cols = new ColumnLayout(storage);
    expect(cols.widths).toEqual({ asset: spec('asset').min, time: DRAG_MAX });
    expect(cols.hidden).toEqual(['change']);
    storage.setItem(COLUMNS_KEY, '{not json');
    expect(new ColumnLayout(storage).hidden).toEqual([]);
  });
});
