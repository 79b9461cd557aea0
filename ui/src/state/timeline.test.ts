// The list model against a fake store: follow live refreshes, paused views stay put and count
// what arrived (even events that arrive late, with older times), the selection follows its
// change, and annotations are re-read without unpausing.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeRow } from '../api/bindings/ChangeRow';
import type { PageCursor } from '../api/bindings/PageCursor';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';

/** Stored events: arrival number and event time (seconds); the store orders newest time first,
 * like Rust (time desc, seq desc), and honours `max_seq` and `starred_only`. */
const store = vi.hoisted(() => ({
  rows: [] as Array<{ seq: number; time: number }>,
  starred: new Set<number>(),
  calls: [] as Array<{ offset: number; limit: number; maxSeq: number | null; after?: number }>,
  /** Rust counts a page's total up to this many. */
  cap: Infinity,
  /** The `max_seq` of every facet count asked for. */
  facetCalls: [] as Array<number | null>,
  /** While set, a facet count answers only when its resolver here is called. */
  holdFacets: false,
  heldFacets: [] as Array<() => void>,
}));

vi.mock('../api/tideline', () => {
  const matching = (q: TimelineQuery) =>
    store.rows
      .filter((r) => q.max_seq === null || r.seq <= q.max_seq)
      .filter((r) => q.after_seq === null || q.after_seq === undefined || r.seq > q.after_seq)
      .filter((r) => !q.starred_only || store.starred.has(r.seq))
      .sort((a, b) => b.time - a.time || b.seq - a.seq);
  return {
    listChanges: async (q: TimelineQuery, offset: number, limit: number, after: PageCursor | null = null) => {
      store.calls.push({ offset, limit, maxSeq: q.max_seq, ...(after ? { after: after.seq } : {}) });
      const rows = matching(q);
      // By key: the rows after the cursor's row, whatever the offset says.
      const from = after ? rows.findIndex((r) => r.seq === after.seq) + 1 : offset;
      return {
        rows: rows.slice(from, from + limit).map((r) => fakeRow(r.seq, r.time)),
        total: Math.min(rows.length, store.cap),
        total_is_lower_bound: rows.length > store.cap,
        next: null,
      };
    },
    facets: async (q: TimelineQuery) => {
      store.facetCalls.push(q.max_seq);
      if (store.holdFacets) await new Promise<void>((answer) => store.heldFacets.push(answer));
      return {
        tag: [], starred: 0, change: [], asset_type: [], method: [], principal: [], region: [], account: [],
        total: matching(q).length,
      };
    },
  };
});

function fakeRow(seq: number, timeUs: number = 0): ChangeRow {
  return {
    seq,
    time: '2024-05-05T14:00:00Z',
    cursor: { time_us: timeUs, seq },
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
    starred: store.starred.has(seq),
    tags: [],
    comment_count: 0,
    findings: [],
  };
}

const { Timeline, emptyQuery } = await import('./timeline.svelte');
const { PAGE_SIZE: P } = await import('../lib/pages');

/** The newest arrival number, as Rust's live status reports it. */
const latest = () => store.rows.length;

/** `n` events, each newer than all before. */
function append(n: number) {
  const start = store.rows.length;
  for (let i = 1; i <= n; i++) store.rows.push({ seq: start + i, time: (start + i) * 10 });
}

/** `n` events arriving now whose times are older than most: they sort into the middle. */
function appendLate(n: number, time: number) {
  const start = store.rows.length;
  for (let i = 1; i <= n; i++) store.rows.push({ seq: start + i, time });
}

const settle = () => new Promise((r) => setTimeout(r, 0));

/** A timeline of the `events` first stored changes, unfiltered, following live. */
async function timelineOf(events: number) {
  append(events);
  const t = new Timeline(latest());
  await t.setQuery(emptyQuery());
  return t;
}

/** `events` newer changes are stored and the timeline told, and the reads it starts finish. */
async function arrive(t: InstanceType<typeof Timeline>, events: number) {
  append(events);
  t.onNewRows(latest());
  await settle();
  await settle();
}

/** Turns following back on and lets the reads it starts finish. */
async function resumeFollowing(t: InstanceType<typeof Timeline>) {
  t.setFollow(true);
  await settle();
  await settle();
}

/** Ten rows then three newer ones, resumed with row seq 8 selected: it is still selected, under the three. */
function expectThirteenRowsWithTheEighthSelected(t: InstanceType<typeof Timeline>) {
  expect(t.total).toBe(13);
  expect(t.rowAt(0)?.seq).toBe(13);
  expect(t.selection).toEqual({ index: 5, seq: 8 });
}

beforeEach(() => {
  store.rows = [];
  store.starred = new Set();
  store.calls = [];
  store.cap = Infinity;
  store.facetCalls = [];
  store.holdFacets = false;
  store.heldFacets = [];
});

describe('Timeline', () => {
  it('loads the newest rows first', async () => {
    const t = await timelineOf(450);
    expect(t.total).toBe(450);
    expect(t.rowAt(0)?.seq).toBe(450);
    expect(t.rowAt(P - 1)?.seq).toBe(451 - P);
    expect(t.rowAt(P)).toBeUndefined();
    t.ensure(P - 10, P + 30);
    await settle();
    expect(t.rowAt(P)?.seq).toBe(450 - P);
    // The page after a cached one is read by key, after page 0's last row.
    expect(store.calls.at(-1)).toEqual({ offset: P, limit: P, maxSeq: 450, after: 451 - P });
  });

  it('a capped total shows as "at least" until the facets bring the exact one', async () => {
    append(450);
    store.cap = 100;
    const t = new Timeline(latest());
    await t.setQuery(emptyQuery());
    await settle();
    await settle();
    expect(t.total).toBe(450);
    expect(t.totalIsLowerBound).toBe(false);
    // A refresh whose page is capped keeps the exact figure for the same query.
    t.onNewRows(latest());
    await settle();
    await settle();
    expect(t.total).toBe(450);
  });

  it('following live, counts finished after the view moved up are shown, and counted again once a second', async () => {
    vi.useFakeTimers();
    try {
      append(100);
      store.holdFacets = true;
      const t = new Timeline(latest());
      await t.setQuery(emptyQuery());
      // Rows arrive while the first count runs; the list moves up to them.
      append(5);
      t.onNewRows(latest());
      await vi.advanceTimersByTimeAsync(0);
      expect(t.total).toBe(105);
      store.heldFacets.shift()!();
      await vi.advanceTimersByTimeAsync(0);
      // The counts of the same filters a moment ago are shown; nothing is counted again yet.
      expect(t.facets?.total).toBe(100);
      expect(store.facetCalls).toEqual([100]);
      // A second after the first count began, the next one reads up to the newest rows.
      await vi.advanceTimersByTimeAsync(1000);
      expect(store.facetCalls).toEqual([100, 105]);
      // More rows while that count runs: the next begins when it ends.
      append(5);
      t.onNewRows(latest());
      await vi.advanceTimersByTimeAsync(1500);
      expect(store.facetCalls).toEqual([100, 105]);
      store.heldFacets.shift()!();
      await vi.advanceTimersByTimeAsync(0);
      expect(t.facets?.total).toBe(105);
      await vi.advanceTimersByTimeAsync(0);
      expect(store.facetCalls).toEqual([100, 105, 110]);
      store.heldFacets.shift()!();
      await vi.advanceTimersByTimeAsync(0);
      expect(t.facets?.total).toBe(110);
      t.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('findings that change re-read the rows in view at most once a second, and not when newer rows brought them', async () => {
    vi.useFakeTimers();
    try {
      const t = await timelineOf(100);
      store.calls = [];
      // Findings changed three times in 300 ms: one read of the rows in place, a second after
      // the first page was read; no facets counted for it.
      for (let i = 0; i < 3; i++) {
        t.onFindingsChanged();
        await vi.advanceTimersByTimeAsync(100);
      }
      expect(store.calls).toEqual([]);
      const facetsBefore = store.facetCalls.length;
      await vi.advanceTimersByTimeAsync(700);
      expect(store.calls).toEqual([{ offset: 0, limit: P, maxSeq: 100 }]);
      expect(store.facetCalls.length).toBe(facetsBefore);
      // Findings changed, then newer rows came in: the refresh reads the rows with their flags,
      // and no other read follows.
      store.calls = [];
      t.onFindingsChanged();
      append(5);
      t.onNewRows(latest());
      await vi.advanceTimersByTimeAsync(2000);
      expect(store.calls.map((c) => c.maxSeq)).toEqual([105]);
      // Findings changed, newer rows came in, and a row was selected while they were read: that
      // read is thrown away (following paused), so the rows on screen are read again in place.
      store.calls = [];
      t.onFindingsChanged();
      append(5);
      t.onNewRows(latest());
      t.select(0);
      await vi.advanceTimersByTimeAsync(2000);
      // (calls with limit 0 count the rows that arrived meanwhile: "5 new")
      expect(store.calls.filter((c) => c.limit > 0).map((c) => c.maxSeq)).toEqual([110, 105]);
      t.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts what arrived since a paused view, not the difference of two totals', async () => {
    append(300);
    store.cap = 50;
    const t = new Timeline(latest());
    await t.setQuery(emptyQuery());
    t.setFollow(false);
    await arrive(t, 7);
    expect(t.newCount).toBe(7);
  });

  it('a jump into the list reads by offset', async () => {
    const t = await timelineOf(1000);
    t.ensure(3 * P + 10, 3 * P + 40);
    await settle();
    expect(store.calls.at(-1)).toEqual({ offset: 3 * P, limit: P, maxSeq: 1000 });
    expect(t.rowAt(3 * P + 10)?.seq).toBe(1000 - 3 * P - 10);
  });

  it('selecting a row pauses follow live: it stays put, new rows are counted, resume brings them', async () => {
    const t = await timelineOf(10);
    expect(t.follow).toBe(true);
    t.select(2);
    expect(t.follow).toBe(false);
    expect(t.selection).toEqual({ index: 2, seq: 8 });
    await arrive(t, 3);
    // Nothing moved under the reader: same rows, same place, the arrivals counted.
    expect(t.total).toBe(10);
    expect(t.rowAt(2)?.seq).toBe(8);
    expect(t.newCount).toBe(3);
    // Resume: the new rows appear at the top and the selection stays on its change.
    await resumeFollowing(t);
    expectThirteenRowsWithTheEighthSelected(t);
  });

  it('a click selects the change clicked, even when newer rows moved it after it was drawn', async () => {
    const t = await timelineOf(10);
    // Following: three newer rows are read and shown at the top...
    await arrive(t, 3);
    expect(t.rowAt(5)?.seq).toBe(8);
    // ...while the page still draws seq 8 at index 2, where the analyst clicks it.
    t.pick(2, 8);
    expect(t.follow).toBe(false);
    expect(t.selection).toEqual({ index: 5, seq: 8 });
  });

  it('a row selected while newer rows are being read stays put: they are counted, not swapped in', async () => {
    const t = await timelineOf(10);
    // Following: new rows arrive and the list starts reading them...
    append(3);
    t.onNewRows(latest());
    // ...and the analyst clicks a row before that read comes back.
    t.select(2);
    expect(t.selection).toEqual({ index: 2, seq: 8 });
    await settle();
    await settle();
    await settle();
    expect(t.total).toBe(10);
    expect(t.rowAt(0)?.seq).toBe(10);
    expect(t.rowAt(2)?.seq).toBe(8);
    expect(t.newCount).toBe(3);
    expect(t.selection).toEqual({ index: 2, seq: 8 });
    // Resume brings them in at the top.
    await resumeFollowing(t);
    expectThirteenRowsWithTheEighthSelected(t);
  });

  it('a hover that begins while newer rows are being read holds them until it ends', async () => {
    vi.useFakeTimers();
    try {
      const t = await timelineOf(10);
      append(2);
      t.onNewRows(latest());
      t.holdFor(1000);
      await vi.advanceTimersByTimeAsync(0);
      await vi.advanceTimersByTimeAsync(0);
      expect(t.rowAt(0)?.seq).toBe(10);
      await vi.advanceTimersByTimeAsync(1000);
      await vi.advanceTimersByTimeAsync(0);
      await vi.advanceTimersByTimeAsync(0);
      expect(t.rowAt(0)?.seq).toBe(12);
    } finally {
      vi.useRealTimers();
    }
  });

  it('paused: rows on screen keep their place, new ones are counted, later pages are shifted', async () => {
    const t = await timelineOf(300);
    t.setFollow(false);
    await arrive(t, 5);
    expect(t.total).toBe(300);
    expect(t.newCount).toBe(5);
    expect(t.rowAt(0)?.seq).toBe(300);
    // page 1 is fetched 5 rows further on, so it continues exactly where page 0 ended
    t.ensure(P, P + 10);
    await settle();
    expect(t.rowAt(P - 1)?.seq).toBe(301 - P);
    expect(t.rowAt(P)?.seq).toBe(300 - P);
    // following again shows everything
    await resumeFollowing(t);
    expect(t.total).toBe(305);
    expect(t.newCount).toBe(0);
    expect(t.rowAt(0)?.seq).toBe(305);
  });

  it('a pivot selects the newest row of the new list', async () => {
    const t = await timelineOf(20);
    t.select(5);
    await t.setQuery({ ...emptyQuery(), asset_name: 'a1' }, { selectFirst: true });
    expect(t.selection).toEqual({ index: 0, seq: 20 });
  });

  it('keyboard moves clamp to the list and resolve rows that are still loading', async () => {
    const t = await timelineOf(500);
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
    const t = await timelineOf(30);
    t.select(4);
    const left = t.selection.seq;
    await t.setQuery({ ...emptyQuery(), asset_name: 'a1' }, { selectFirst: true });
    await arrive(t, 2);
    const reveal = t.revealTick;
    await t.setQuery(emptyQuery(), { selectSeq: left });
    expect(t.selection).toEqual({ index: 6, seq: left });
    expect(t.revealTick).toBe(reveal + 1);
  });
});

describe('Timeline held while aiming', () => {
  it('keeps rows in place while held and shows them on release', async () => {
    const t = await timelineOf(10);
    t.holdFor(30);
    await arrive(t, 2);
    expect(t.rowAt(0)?.seq).toBe(10);
    expect(t.newCount).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    await settle();
    expect(t.held).toBe(false);
    expect(t.rowAt(0)?.seq).toBe(12);
    expect(t.newCount).toBe(0);
  });
});

describe('Timeline paused, read up to an arrival number', () => {
  it('late events with older times do not shift the pages fetched later', async () => {
    const t = await timelineOf(300);
    t.setFollow(false);
    // 5 events arrive whose times put them among page 1's rows (just after row 290 - P)
    appendLate(5, 10 * (290 - P) - 5);
    t.onNewRows(latest());
    await settle();
    await settle();
    expect(t.newCount).toBe(5);
    t.ensure(P, P + 20);
    await settle();
    // page 1 continues exactly where page 0 ended, and holds none of the late arrivals
    expect(t.rowAt(P - 1)?.seq).toBe(301 - P);
    for (let i = P; i < P + 20; i++) expect(t.rowAt(i)?.seq).toBe(300 - i);
    expect(store.calls.at(-1)?.maxSeq).toBe(300);
    // following again reads up to the newest arrival: the late rows are where their times say
    await resumeFollowing(t);
    expect(t.total).toBe(305);
    t.ensure(P, P + 20);
    await settle();
    expect(t.rowAt(P + 10)?.seq).toBe(290 - P);
    expect(t.rowAt(P + 11)?.seq).toBe(305);
  });

  it('an empty session reads nothing newer than what it showed', async () => {
    const t = new Timeline(0);
    await t.setQuery(emptyQuery());
    t.setFollow(false);
    await arrive(t, 3);
    expect(t.total).toBe(0);
    expect(t.newCount).toBe(3);
  });

  it('re-reads annotated rows in place without unpausing or losing the count', async () => {
    append(10);
    const t = new Timeline(latest());
    await t.setQuery({ ...emptyQuery(), starred_only: false });
    t.setFollow(false);
    t.select(3);
    await arrive(t, 2);
    store.starred.add(7);
    await t.reloadInPlace();
    expect(t.rowAt(3)?.starred).toBe(true);
    expect(t.rowAt(0)?.seq).toBe(10);
    expect(t.follow).toBe(false);
    expect(t.newCount).toBe(2);
    expect(t.selection).toEqual({ index: 3, seq: 7 });
  });

  it('a change that leaves a "starred only" list is no longer selected by position', async () => {
    append(5);
    store.starred = new Set([2, 4]);
    const t = new Timeline(latest());
    await t.setQuery({ ...emptyQuery(), starred_only: true });
    expect(t.total).toBe(2);
    t.select(0);
    expect(t.selection).toEqual({ index: 0, seq: 4 });
    store.starred.delete(4);
    await t.reloadInPlace();
    expect(t.total).toBe(1);
    expect(t.selection).toEqual({ index: null, seq: 4 });
  });
});
