// The findings model against a fake Rust: it reloads when findings_version moves (once more if
// it moved during a load), asks for its filter and page, and what was there at first is not
// "new" (findings made after the last look are, by id).
import { describe, expect, it, vi } from 'vitest';
import type { FindingsQuery } from '../api/bindings/FindingsQuery';

const api = vi.hoisted(() => ({
  list: [] as Array<{ key: string; id: number }>,
  calls: 0,
  queries: [] as FindingsQuery[],
  gate: null as Promise<void> | null,
  fail: false,
}));
vi.mock('../api/tideline', () => ({
  findings: async (query: FindingsQuery) => {
    api.calls++;
    api.queries.push(query);
    const snapshot = [...api.list];
    if (api.gate) await api.gate;
    if (api.fail) throw { kind: 'no_session', message: 'no session is open' };
    return {
      findings: snapshot.slice(0, query.limit),
      matching: snapshot.length,
      total: snapshot.length,
      by_rule: [],
      by_severity: [],
      newest_id: Math.max(0, ...snapshot.map((f) => f.id)),
      unseen: query.seen_up_to === null ? 0 : snapshot.filter((f) => f.id > query.seen_up_to!).length,
    };
  },
  ruleStatuses: async () => [{ rule: 'impossible_travel', active: false, note: 'off: no GeoIP database is configured' }],
}));

const { FindingsModel } = await import('./findings.svelte');

let nextId = 0;
const finding = (key: string) => ({ key, id: ++nextId });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('FindingsModel', () => {
  it('loads on a new version only', async () => {
    api.list = [finding('a')];
    api.calls = 0;
    const m = new FindingsModel(0);
    m.onVersion(3);
    await settle();
    expect(m.list.map((f) => f.key)).toEqual(['a']);
    expect(m.statuses[0]?.active).toBe(false);
    expect(m.loaded).toBe(true);
    m.onVersion(3);
    await settle();
    expect(api.calls).toBe(1);
  });

  it('what a session had when it opened is seen; later ones are new until marked seen', async () => {
    api.list = [finding('a'), finding('b')];
    const m = new FindingsModel(0);
    m.onVersion(1);
    await settle();
    expect(m.unseen).toBe(0);
    api.list = [...api.list, finding('c')];
    m.onVersion(2);
    await settle();
    expect(m.unseen).toBe(1);
    m.markSeen();
    expect(m.unseen).toBe(0);
    // Seen stays seen on the next load.
    m.onVersion(3);
    await settle();
    expect(m.unseen).toBe(0);
  });

  it('asks Rust for its filter and page; another filter starts from the first page', async () => {
    api.list = Array.from({ length: 450 }, (_, n) => finding(`f${n}`));
    api.queries = [];
    const m = new FindingsModel(0);
    m.onVersion(1);
    await settle();
    expect(m.list.length).toBe(200);
    expect(m.total).toBe(450);
    m.showMore();
    await settle();
    expect(m.list.length).toBe(400);
    m.setFilter({ rule: 'reverted_change', severity: 'high' });
    await settle();
    expect(api.queries.map((q) => [q.rule, q.severity, q.limit])).toEqual([
      [null, null, 200],
      [null, null, 400],
      ['reverted_change', 'high', 200],
    ]);
  });

  it('a version that moves during a load loads once more, with the newer list', async () => {
    api.list = [finding('a')];
    api.calls = 0;
    let open!: () => void;
    api.gate = new Promise((r) => (open = r));
    const m = new FindingsModel(0);
    m.onVersion(1);
    await settle();
    api.list = [...api.list, finding('b')];
    m.onVersion(2);
    m.onVersion(3);
    api.gate = null;
    open();
    await settle();
    await settle();
    expect(api.calls).toBe(2);
    expect(m.list.map((f) => f.key)).toEqual(['a', 'b']);
  });

  it('new versions while recording load at most once a second, the last one included', async () => {
    vi.useFakeTimers();
    try {
      api.list = [finding('a')];
      api.calls = 0;
      const m = new FindingsModel();
      m.onVersion(1);
      await vi.advanceTimersByTimeAsync(0);
      expect(api.calls).toBe(1);
      // Three more versions in the next 600 ms: one load, a second after the first began.
      for (const v of [2, 3, 4]) {
        api.list = [...api.list, finding(`v${v}`)];
        m.onVersion(v);
        await vi.advanceTimersByTimeAsync(200);
      }
      expect(api.calls).toBe(1);
      await vi.advanceTimersByTimeAsync(400);
      expect(api.calls).toBe(2);
      expect(m.list.map((f) => f.key)).toEqual(['a', 'v2', 'v3', 'v4']);
      // Quiet for longer than that: the next version loads at once.
      await vi.advanceTimersByTimeAsync(2000);
      api.list = [...api.list, finding('v5')];
      m.onVersion(5);
      await vi.advanceTimersByTimeAsync(0);
      expect(api.calls).toBe(3);
      expect(m.list.at(-1)?.key).toBe('v5');
      m.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the last list and says why when a load fails', async () => {
    api.list = [finding('a')];
    const m = new FindingsModel(0);
    m.onVersion(1);
    await settle();
    api.fail = true;
    m.onVersion(2);
    await settle();
    api.fail = false;
    expect(m.error?.kind).toBe('no_session');
    expect(m.list.map((f) => f.key)).toEqual(['a']);
  });
});
