// The detail model against a fake Rust: it loads a moment after the selection settles, drops an
// answer for a change no longer selected, does not retry an error until the selection moves,
// shows an annotation at once, and reads the shown change again when the findings change.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Annotations } from '../api/bindings/Annotations';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';

const api = vi.hoisted(() => ({ calls: [] as number[], fail: false, starred: [] as Array<[number, boolean]> }));
vi.mock('../api/tideline', () => ({
  changeDetail: async (seq: number) => {
    api.calls.push(seq);
    if (api.fail) throw { kind: 'no_such_change', message: `there is no change #${seq} in this session` };
    return fakeDetail(seq);
  },
  setStarred: async (seq: number, starred: boolean) => {
    api.starred.push([seq, starred]);
    return { starred, tags: [], comments: [] } satisfies Annotations;
  },
}));

const { DETAIL_DELAY_MS, DetailModel } = await import('./detail.svelte');

function fakeDetail(seq: number): ChangeDetail {
  return {
    row: { seq, starred: false, tags: [], comment_count: 0, asset_label: `a${seq}` },
    annotations: { starred: false, tags: [], comments: [] },
  } as unknown as ChangeDetail;
}

beforeEach(() => {
  vi.useFakeTimers();
  api.calls = [];
  api.fail = false;
  api.starred = [];
});
afterEach(() => vi.useRealTimers());

describe('DetailModel', () => {
  it('loads after a short delay; a selection that moves on cancels the older load', async () => {
    const m = new DetailModel(() => {});
    const cancel = m.show(1, true);
    expect(m.loading).toBe(true);
    cancel?.();
    m.show(2, true);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    expect(api.calls).toEqual([2]);
    expect(m.detail?.row.seq).toBe(2);
    expect(m.loading).toBe(false);
  });

  it('keeps the change shown while it stays selected, and clears with no selection', async () => {
    const m = new DetailModel(() => {});
    m.show(3, true);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    expect(m.show(3, true)).toBeUndefined();
    expect(api.calls).toEqual([3]);
    m.show(null, true);
    expect(m.detail).toBeNull();
  });

  it('reads the shown change again when asked (the findings changed), and keeps it on a failure', async () => {
    const m = new DetailModel(() => {});
    m.show(4, true);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    const first = m.detail;
    await m.reload();
    expect(api.calls).toEqual([4, 4]);
    expect(m.detail).not.toBe(first);
    expect(m.detail?.row.seq).toBe(4);
    api.fail = true;
    const shown = m.detail;
    await m.reload();
    expect(m.detail).toBe(shown);
    expect(m.error).toBeNull();
    m.show(null, true);
    await m.reload();
    expect(api.calls).toEqual([4, 4, 4]);
  });

  it('loads nothing while the panel is closed', async () => {
    const m = new DetailModel(() => {});
    m.show(4, false);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    expect(api.calls).toEqual([]);
  });

  it('says why a load failed', async () => {
    api.fail = true;
    const m = new DetailModel(() => {});
    m.show(9, true);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    expect(m.error?.kind).toBe('no_such_change');
    expect(m.loading).toBe(false);
  });

  it('s stars the change shown, updates it in place and has the list re-read', async () => {
    let reread = 0;
    const m = new DetailModel(() => reread++);
    m.show(5, true);
    await vi.advanceTimersByTimeAsync(DETAIL_DELAY_MS);
    await m.toggleStar(5, undefined);
    expect(api.starred).toEqual([[5, true]]);
    expect(m.detail?.row.starred).toBe(true);
    expect(m.detail?.annotations.starred).toBe(true);
    expect(reread).toBe(1);
    await m.toggleStar(6, undefined);
    expect(api.starred).toHaveLength(1);
  });
});
