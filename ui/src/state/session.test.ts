// The page follows the session Rust's live status names: a switch shows the new one, null goes
// back to the start screen, and once statuses arrive a command's own answer does not override them.
import { describe, expect, it, vi } from 'vitest';
import type { LiveStatus } from '../api/bindings/LiveStatus';
import type { SessionInfo } from '../api/bindings/SessionInfo';

const api = vi.hoisted(() => ({
  current: null as unknown,
  onStatus: null as ((s: unknown) => void) | null,
}));
vi.mock('../api/tideline', () => ({
  watchLive: async (f: (s: unknown) => void) => {
    api.onStatus = f;
    return () => (api.onStatus = null);
  },
  currentSession: async () => api.current,
}));

const { SessionWatch, sameSession } = await import('./session.svelte');

const info = (path: string, over: Partial<SessionInfo> = {}): SessionInfo => ({
  path,
  name: null,
  incident: null,
  mode: 'offline',
  endpoint: null,
  key_storage: null,
  key_note: null,
  can_resume: false,
  ...over,
});

const status = (session: SessionInfo | null): LiveStatus => ({
  session,
  connection: { state: 'offline' },
  received: 0,
  stored: 0,
  duplicates: 0,
  quarantined: 0,
  newest_event_time: null,
  newest_seq: null,
  findings: 0,
  findings_version: 0,
  findings_reading: false,
  findings_read: 0,
  findings_to_read: 0,
  findings_problem: null,
});

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('SessionWatch', () => {
  it('shows the session open at launch, then follows the status', async () => {
    api.current = info('/a');
    const w = new SessionWatch();
    expect(w.session).toBeUndefined();
    const stop = w.start();
    await settle();
    expect(w.session?.path).toBe('/a');
    api.onStatus!(status(info('/b')));
    expect(w.session?.path).toBe('/b');
    api.onStatus!(status(null));
    expect(w.session).toBeNull();
    stop();
  });

  it('keeps the same object while the session is unchanged, and takes a new mode', async () => {
    api.current = null;
    const w = new SessionWatch();
    w.start();
    await settle();
    api.onStatus!(status(info('/a')));
    const first = w.session;
    api.onStatus!(status(info('/a')));
    expect(w.session).toBe(first);
    api.onStatus!(status(info('/a', { mode: 'live' })));
    expect(w.session?.mode).toBe('live');
    expect(sameSession(first, w.session)).toBe(false);
  });

  it('lets a command answer only while no status has come', async () => {
    api.current = null;
    const w = new SessionWatch();
    w.adopt(info('/x'));
    expect(w.session?.path).toBe('/x');
    w.start();
    await settle();
    api.onStatus!(status(info('/a')));
    w.adopt(info('/stale'));
    expect(w.session?.path).toBe('/a');
  });
});
