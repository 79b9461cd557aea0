// @vitest-environment jsdom
// The wrappers send the command names and argument names the Rust commands expect (Tauri maps
// camelCase here to snake_case there), and fold every rejection into an AppError.
import { Channel } from '@tauri-apps/api/core';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import type { DetectionSettings } from './bindings/DetectionSettings';
import type { LiveStatus } from './bindings/LiveStatus';
import type { MenuAction } from './bindings/MenuAction';
import type { TaskProgress } from './bindings/TaskProgress';
import type { TimelineQuery } from './bindings/TimelineQuery';
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

const q: TimelineQuery = {
  changes: [],
  asset_types: [],
  methods: [],
  principals: [],
  regions: [],
  accounts: [],
  time_from: null,
  time_to: null,
  text: 'x',
  asset_name: null,
  starred_only: true,
  tags: ['exfil'],
  weekday: 6,
  hour: 14,
  local_time: false,
  finding: 'reverted_change:ohn:sg|3|4',
  max_seq: 42,
  after_seq: null,
  activity: false,
  exclude_changes: [],
  exclude_asset_types: [],
  exclude_methods: [],
  exclude_principals: [],
  exclude_regions: [],
  exclude_accounts: [],
};

describe('commands', () => {
  it('uses the agreed names and arguments', async () => {
    const calls = record();
    await api.connectStream({ endpoint: 'https://e', apiKey: 'k' });
    await api.connectStream({ endpoint: 'https://e', apiKey: 'k', name: '  prod DB ', incident: '   ' });
    await api.openSession(null);
    await api.listChanges(q, 200, 200);
    await api.listChanges(q, 400, 200, { time_us: 7, seq: 3 });
    await api.assetHistory('ohn:a');
    await api.assetHistory('ohn:a', { time_us: 7, seq: 3 }, 50);
    await api.changeDetail(5);
    await api.resumeRecording();
    await api.resumeRecording('k2');
    await api.closeSession();
    await api.saveCopy();
    await api.verifySession(true);
    await api.verifySession(false);
    await api.cancelTask();
    expect(calls).toEqual([
      { cmd: 'connect_stream', args: { endpoint: 'https://e', apiKey: 'k', name: null, incident: null } },
      { cmd: 'connect_stream', args: { endpoint: 'https://e', apiKey: 'k', name: 'prod DB', incident: null } },
      { cmd: 'open_session', args: { path: null } },
      { cmd: 'list_changes', args: { query: q, offset: 200, limit: 200, after: null } },
      { cmd: 'list_changes', args: { query: q, offset: 400, limit: 200, after: { time_us: 7, seq: 3 } } },
      { cmd: 'asset_history', args: { assetName: 'ohn:a', before: null, limit: 200 } },
      { cmd: 'asset_history', args: { assetName: 'ohn:a', before: { time_us: 7, seq: 3 }, limit: 50 } },
      { cmd: 'change_detail', args: { seq: 5 } },
      { cmd: 'resume_recording', args: { apiKey: null, endpoint: null } },
      { cmd: 'resume_recording', args: { apiKey: 'k2', endpoint: null } },
      { cmd: 'close_session', args: {} },
      { cmd: 'save_copy', args: {} },
      { cmd: 'verify_session', args: { full: true } },
      { cmd: 'verify_session', args: { full: false } },
      { cmd: 'cancel_task', args: {} },
    ]);
  });

  it('reads findings, rule statuses, settings and insights, and saves settings whole', async () => {
    const calls = record();
    const settings = { learning_period_hours: 48 } as unknown as DetectionSettings;
    const fq = { rule: 'new_source_ip', severity: null, limit: 200, seen_up_to: 7 } as const;
    await api.findings(fq);
    await api.ruleStatuses();
    await api.detectionSettings();
    await api.saveDetectionSettings(settings);
    await api.insights(q);
    expect(calls).toEqual([
      { cmd: 'findings', args: { query: fq } },
      { cmd: 'rule_statuses', args: {} },
      { cmd: 'detection_settings', args: {} },
      { cmd: 'save_detection_settings', args: { settings } },
      { cmd: 'insights', args: { query: q } },
    ]);
  });

  it('sends annotations by seq, with the comment id as commentId', async () => {
    const calls = record();
    await api.setStarred(3, true);
    await api.addTag(3, 'exfil');
    await api.removeTag(3, 'exfil');
    await api.addComment(3, 'looks bad');
    await api.deleteComment(3, 9);
    expect(calls).toEqual([
      { cmd: 'set_starred', args: { seq: 3, starred: true } },
      { cmd: 'add_tag', args: { seq: 3, tag: 'exfil' } },
      { cmd: 'remove_tag', args: { seq: 3, tag: 'exfil' } },
      { cmd: 'add_comment', args: { seq: 3, body: 'looks bad' } },
      { cmd: 'delete_comment', args: { seq: 3, commentId: 9 } },
    ]);
  });

  it('hands exports and imports a progress channel and returns the outcome', async () => {
    const seen: TaskProgress[] = [];
    const calls: Array<{ cmd: string; args: Record<string, unknown> }> = [];
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const ch = a.onProgress as Channel<TaskProgress>;
      ch.onmessage({ task: 'export', done: 1, total: 2, unit: 'events' });
      return cmd === 'export_session' ? { path: '/x.csv', summary: 'Exported 2 events' } : null;
    });
    const outcome = await api.exportSession('csv_view', q, (p) => seen.push(p));
    expect(outcome).toEqual({ path: '/x.csv', summary: 'Exported 2 events' });
    expect(calls[0]?.cmd).toBe('export_session');
    expect(calls[0]?.args.kind).toBe('csv_view');
    expect(calls[0]?.args.query).toEqual(q);
    expect(calls[0]?.args.onProgress).toBeInstanceOf(Channel);
    await api.exportSession('findings', null, (p) => seen.push(p));
    expect(calls[1]?.args.kind).toBe('findings');
    expect(calls[1]?.args.query).toBeNull();
    calls.splice(1, 1);
    seen.pop();
    expect(await api.importEvents(true, (p) => seen.push(p))).toBeNull();
    expect(calls[1]?.cmd).toBe('import_events');
    expect(Object.keys(calls[1]!.args)).toEqual(['folder', 'onProgress']);
    expect(calls[1]?.args.folder).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('turns every rejection into an AppError', async () => {
    mockIPC(() => {
      throw { kind: 'api_key_rejected', message: 'HTTP 401' };
    });
    await expect(api.startDemo()).rejects.toEqual({ kind: 'api_key_rejected', message: 'HTTP 401' });
    mockIPC(() => {
      throw { kind: 'unauthorized', message: 'a kind this page does not know' };
    });
    await expect(api.startDemo()).rejects.toEqual({ kind: 'unknown', message: 'a kind this page does not know' });
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
    const s: LiveStatus = {
      session: null,
      connection: { state: 'live' },
      received: 1,
      stored: 1,
      duplicates: 0,
      quarantined: 0,
      newest_event_time: null,
      newest_seq: 1,
      findings: 2,
      findings_version: 7,
      findings_reading: false,
      findings_read: 0,
      findings_to_read: 0,
      findings_problem: null,
    };
    channel!.onmessage(s);
    stop();
    channel!.onmessage(s);
    expect(seen).toEqual([s]);
  });

  it('delivers menu actions until stopped', async () => {
    let channel: { onmessage: (a: MenuAction) => void } | null = null;
    mockIPC((cmd, args) => {
      if (cmd === 'watch_menu') channel = (args as { onAction: typeof channel }).onAction;
      return null;
    });
    const seen: MenuAction[] = [];
    const stop = await api.watchMenu((a) => seen.push(a));
    channel!.onmessage({ action: 'export', kind: 'ndjson' });
    stop();
    channel!.onmessage({ action: 'close' });
    expect(seen).toEqual([{ action: 'export', kind: 'ndjson' }]);
  });
});
