// The chart models against a fake Rust: new filters load at once, new events at most every
// 2 s (the insight charts) or 0.5 s (the time brush), never put off by a steady stream, and
// numbers of a view the user already left are dropped.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';

const api = vi.hoisted(() => ({
  calls: [] as Array<string | null>,
  started: [] as number[],
  slowMs: 0,
  fail: false,
  gate: null as Promise<void> | null,
}));
vi.mock('../api/tideline', () => ({
  insights: async (q: TimelineQuery) => {
    api.calls.push(q.text);
    const text = q.text;
    if (api.gate) await api.gate;
    return { rate: [], bucket: text ?? 'all', heatmap: [], top_assets: [], top_principals: [], methods: [] };
  },
  changeRate: async (q: TimelineQuery) => {
    api.calls.push(q.text);
    api.started.push(Date.now());
    if (api.slowMs > 0) await new Promise((r) => setTimeout(r, api.slowMs));
    if (api.fail) throw { kind: 'store', message: 'no' };
    return { buckets: [], bucket: q.text ?? 'all' };
  },
}));

const { ChangeRateModel, InsightsModel } = await import('./insights.svelte');
const { emptyQuery } = await import('./timeline.svelte');

const q = (text: string | null): TimelineQuery => ({ ...emptyQuery(), text });

beforeEach(() => {
  vi.useFakeTimers();
  api.calls = [];
  api.started = [];
  api.slowMs = 0;
  api.fail = false;
  api.gate = null;
});
afterEach(() => vi.useRealTimers());

describe('InsightsModel', () => {
  it('loads at once for new filters, not again for the same ones', async () => {
    const m = new InsightsModel(2000);
    m.setQuery(q('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(m.data?.bucket).toBe('a');
    expect(m.loading).toBe(false);
    m.setQuery(q('a'));
    m.setQuery(q('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toEqual(['a', 'b']);
    expect(m.data?.bucket).toBe('b');
  });

  it('reloads for new events at most every 2 s', async () => {
    const m = new InsightsModel(2000);
    m.setQuery(q(null));
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 10; i++) {
      m.onNewRows();
      await vi.advanceTimersByTimeAsync(150);
    }
    // 1.5 s after the first load: nothing yet
    expect(api.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(api.calls).toHaveLength(2);
    m.onNewRows();
    await vi.advanceTimersByTimeAsync(1999);
    expect(api.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.calls).toHaveLength(3);
    m.dispose();
  });

  it('drops numbers of filters the user has left, and loads the new ones', async () => {
    let open!: () => void;
    api.gate = new Promise((r) => (open = r));
    const m = new InsightsModel(2000);
    m.setQuery(q('old'));
    await vi.advanceTimersByTimeAsync(0);
    m.setQuery(q('new'));
    api.gate = null;
    open();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toEqual(['old', 'new']);
    expect(m.data?.bucket).toBe('new');
  });

  it('stops after dispose', async () => {
    const m = new InsightsModel(2000);
    m.setQuery(q(null));
    await vi.advanceTimersByTimeAsync(0);
    m.onNewRows();
    m.dispose();
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.calls).toHaveLength(1);
  });
});

describe('ChangeRateModel', () => {
  it('keeps reading every half second while events arrive every 100 ms', async () => {
    // The time brush once waited for a pause in the arrivals that a live stream never makes:
    // its histogram stayed empty for as long as events came in.
    const m = new ChangeRateModel();
    m.setQuery(q(null));
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toHaveLength(1);
    for (let i = 0; i < 30; i++) {
      m.onNewRows();
      await vi.advanceTimersByTimeAsync(100);
    }
    // 3 s of arrivals: a read at 0.5, 1.0, … 3.0 s after the first.
    expect(api.calls.length).toBeGreaterThanOrEqual(6);
    expect(api.calls.length).toBeLessThanOrEqual(7);
    expect(m.data?.bucket).toBe('all');
    m.dispose();
  });

  it('leaves the reader free for half a second after a slow read, however fast events come', async () => {
    const m = new ChangeRateModel();
    api.slowMs = 800;
    m.setQuery(q(null));
    for (let i = 0; i < 80; i++) {
      m.onNewRows();
      await vi.advanceTimersByTimeAsync(100);
    }
    // Each read ends 800 ms after it began; the next begins no sooner than 500 ms later.
    const gaps = api.started.slice(1).map((t, i) => t - api.started[i]!);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1300);
    m.dispose();
  });

  it('never shows another filter\'s numbers after a failed read', async () => {
    const m = new ChangeRateModel();
    m.setQuery(q('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(m.data?.bucket).toBe('a');
    api.fail = true;
    m.onNewRows();
    await vi.advanceTimersByTimeAsync(500);
    // The same filters' older numbers stay beside the error …
    expect(m.error).not.toBeNull();
    expect(m.data?.bucket).toBe('a');
    // … another filter's do not.
    m.setQuery(q('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(m.error).not.toBeNull();
    expect(m.data).toBeNull();
    m.dispose();
  });
});
