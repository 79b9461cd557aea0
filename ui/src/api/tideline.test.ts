// @vitest-environment jsdom
// The wrappers send the command names and argument names the Rust commands expect (Tauri maps
// camelCase here to snake_case there), and fold every rejection into a CommandError.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiveStatus } from './bindings/LiveStatus';
import * as api from './tideline';

afterEach(() => clearMocks());

function record() {
  const calls: Array<{ cmd: string; args: Record<string, unknown> }> = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === 'list_changes') return { rows: [], total: 0 };
    return null;
  });
  return calls;
}

describe('commands', () => {
  it('uses the agreed names and arguments', async () => {
    const calls = record();
    const q = { changes: [], asset_types: [], methods: [], principals: [], regions: [], accounts: [], time_from: null, time_to: null, text: 'x', asset_name: null };
    await api.connectStream('https://e', 'k');
    await api.openSession(null);
    await api.listChanges(q, 200, 200);
    await api.assetHistory('ohn:a');
    await api.changeDetail(5);
    expect(calls).toEqual([
      { cmd: 'connect_stream', args: { endpoint: 'https://e', apiKey: 'k' } },
      { cmd: 'open_session', args: { path: null } },
      { cmd: 'list_changes', args: { query: q, offset: 200, limit: 200 } },
      { cmd: 'asset_history', args: { assetName: 'ohn:a' } },
      { cmd: 'change_detail', args: { seq: 5 } },
    ]);
  });

  it('turns every rejection into a CommandError', async () => {
    mockIPC(() => {
      throw { kind: 'unauthorized', message: 'HTTP 401' };
    });
    await expect(api.startDemo()).rejects.toEqual({ kind: 'unauthorized', message: 'HTTP 401' });
    mockIPC(() => Promise.reject('command start_demo not found'));
    await expect(api.startDemo()).rejects.toEqual({ kind: 'ipc', message: 'command start_demo not found' });
  });

  it('delivers live status until stopped', async () => {
    let channel: { onmessage: (s: LiveStatus) => void } | null = null;
    mockIPC((cmd, args) => {
      if (cmd === 'watch_live') channel = (args as { onStatus: typeof channel }).onStatus;
      return null;
    });
    const seen: LiveStatus[] = [];
    const stop = await api.watchLive((s) => seen.push(s));
    const s: LiveStatus = { connection: { state: 'live' }, received: 1, stored: 1, duplicates: 0, quarantined: 0, newest_event_time: null, newest_seq: 1 };
    channel!.onmessage(s);
    stop();
    channel!.onmessage(s);
    expect(seen).toEqual([s]);
  });
});
