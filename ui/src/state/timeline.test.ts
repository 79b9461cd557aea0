// The list model against a fake store: follow live refreshes, paused views stay put and count
// what arrived, and the selection follows its change.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';

const store = vi.hoisted(() => ({ rows: [] as number[], calls: [] as Array<{ offset: number; limit: number }> }));

vi.mock('../api/tideline', () => ({
  listChanges: async (_q: TimelineQuery, offset: number, limit: number) => {
    store.calls.push({ offset, limit });
    const newestFirst = [...store.rows].reverse();
    return { rows: newestFirst.slice(offset, offset + limit).map(fakeRow), total: store.rows.length };
  },
  facets: async () => ({ change: [], asset_type: [], method: [], principal: [], region: [], account: [] }),
}));

function fakeRow(seq: number): ChangeRow {
  return {
    seq,
    time: '2024-05-05T14:00:00Z',
    change: 'update',
    event_type: 'com.opshelm.asset.update',
    asset_name: `a${seq}`,
    asset_label: `a${seq}`,
    asset_type: null,
    region: null,
    account: null,
    action: null,
    principal: null,
    principal_short: null,
    method: null,
    source_ip: null,
    summary: '',
  };
}

const { Timeline, emptyQuery } = await import('./timeline.svelte');

function append(n: number) {
  const start = store.rows.length;
  for (let i = 1; i <= n; i++) store.rows.push(start + i);
}

const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  store.rows = [];
  store.calls = [];
});

describe('Timeline', () => {
  it('loads the newest rows first', async () => {
    append(450);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    expect(t.total).toBe(450);
    expect(t.rowAt(0)?.seq).toBe(450);
    expect(t.rowAt(199)?.seq).toBe(251);
    expect(t.rowAt(200)).toBeUndefined();
    t.ensure(190, 230);
    await settle();
    expect(t.rowAt(200)?.seq).toBe(250);
  });

  it('follow live: new rows appear at the top and the selection stays on its change', async () => {
    append(10);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.select(2);
    expect(t.selection).toEqual({ index: 2, seq: 8 });
    append(3);
    t.onNewRows();
    await settle();
    await settle();
    expect(t.total).toBe(13);
    expect(t.rowAt(0)?.seq).toBe(13);
    expect(t.selection).toEqual({ index: 5, seq: 8 });
  });

  it('paused: rows on screen keep their place, new ones are counted, later pages are shifted', async () => {
    append(300);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.setFollow(false);
    append(5);
    t.onNewRows();
    await settle();
    await settle();
    expect(t.total).toBe(300);
    expect(t.newCount).toBe(5);
    expect(t.rowAt(0)?.seq).toBe(300);
    // page 1 is fetched 5 rows further on, so it continues exactly where page 0 ended
    t.ensure(200, 210);
    await settle();
    expect(t.rowAt(199)?.seq).toBe(101);
    expect(t.rowAt(200)?.seq).toBe(100);
    // following again shows everything
    t.setFollow(true);
    await settle();
    await settle();
    expect(t.total).toBe(305);
    expect(t.newCount).toBe(0);
    expect(t.rowAt(0)?.seq).toBe(305);
  });

  it('a pivot selects the newest row of the new list', async () => {
    append(20);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.select(5);
    await t.setQuery({ ...emptyQuery(), asset_name: 'a1' }, { selectFirst: true });
    expect(t.selection).toEqual({ index: 0, seq: 20 });
  });

  it('keyboard moves clamp to the list and resolve rows that are still loading', async () => {
    append(500);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.move('next', 20);
    expect(t.selection).toEqual({ index: 0, seq: 500 });
    t.move('last', 20);
    expect(t.selection).toEqual({ index: 499, seq: null });
    t.ensure(480, 500);
    await settle();
    expect(t.selection).toEqual({ index: 499, seq: 1 });
    t.move('next', 20);
    expect(t.selection.index).toBe(499);
  });
});

describe('Timeline going back from a pivot', () => {
  it('selects the change it left, wherever it now is', async () => {
    append(30);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.select(4);
    const left = t.selection.seq;
    await t.setQuery({ ...emptyQuery(), asset_name: 'a1' }, { selectFirst: true });
    append(2);
    const reveal = t.revealTick;
    await t.setQuery(emptyQuery(), { selectSeq: left });
    expect(t.selection).toEqual({ index: 6, seq: left });
    expect(t.revealTick).toBe(reveal + 1);
  });
});

describe('Timeline held while aiming', () => {
  it('keeps rows in place while held and shows them on release', async () => {
    append(10);
    const t = new Timeline();
    await t.setQuery(emptyQuery());
    t.holdFor(30);
    append(2);
    t.onNewRows();
    await settle();
    await settle();
    expect(t.rowAt(0)?.seq).toBe(10);
    expect(t.newCount).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    await settle();
    expect(t.held).toBe(false);
    expect(t.rowAt(0)?.seq).toBe(12);
    expect(t.newCount).toBe(0);
  });
});
