// The findings model against a fake Rust: it reloads when findings_version moves (once more if
// it moved during a load), and what was there at first is not "new".
import { describe, expect, it, vi } from 'vitest';
import type { Finding } from '../api/bindings/Finding';

const api = vi.hoisted(() => ({
  list: [] as Array<{ key: string }>,
  calls: 0,
  gate: null as Promise<void> | null,
  fail: false,
}));
vi.mock('../api/tideline', () => ({
  findings: async () => {
    api.calls++;
    const snapshot = [...api.list];
    if (api.gate) await api.gate;
    if (api.fail) throw { kind: 'no_session', message: 'no session is open' };
    return snapshot;
  },
  ruleStatuses: async () => [{ rule: 'impossible_travel', active: false, note: 'off: no GeoIP database is configured' }],
}));

const { FindingsModel } = await import('./findings.svelte');

const finding = (key: string) => ({ key }) as unknown as Finding;
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('FindingsModel', () => {
  it('loads on a new version only', async () => {
    api.list = [finding('a')];
    api.calls = 0;
    const m = new FindingsModel();
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
    const m = new FindingsModel();
    m.onVersion(1);
    await settle();
    expect(m.unseen).toBe(0);
    api.list = [finding('a'), finding('b'), finding('c')];
    m.onVersion(2);
    await settle();
    expect(m.unseen).toBe(1);
    m.markSeen();
    expect(m.unseen).toBe(0);
  });

  it('a version that moves during a load loads once more, with the newer list', async () => {
    api.list = [finding('a')];
    api.calls = 0;
    let open!: () => void;
    api.gate = new Promise((r) => (open = r));
    const m = new FindingsModel();
    m.onVersion(1);
    await settle();
    api.list = [finding('a'), finding('b')];
    m.onVersion(2);
    m.onVersion(3);
    api.gate = null;
    open();
    await settle();
    await settle();
    expect(api.calls).toBe(2);
    expect(m.list.map((f) => f.key)).toEqual(['a', 'b']);
  });

  it('keeps the last list and says why when a load fails', async () => {
    api.list = [finding('a')];
    const m = new FindingsModel();
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
