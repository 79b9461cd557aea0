import { describe, expect, it } from 'vitest';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { emptyFilters, setStarredOnly, toQuery } from './filters';
import { EXPORT_KINDS, EXPORT_TITLES, isRecording, menuIntent, type MenuContext } from './menu';

const view: TimelineQuery = toQuery(setStarredOnly(emptyFilters(), true));
const open: MenuContext = { hasSession: true, recording: false, running: null, viewQuery: view };
const none: MenuContext = { hasSession: false, recording: false, running: null, viewQuery: null };

describe('File menu choices', () => {
  it('map to what the page does', () => {
    expect(menuIntent({ action: 'new_session' }, open)).toEqual({ do: 'new_session' });
    expect(menuIntent({ action: 'open' }, open)).toEqual({ do: 'open', path: null });
    expect(menuIntent({ action: 'open_path', path: '/s/a.tideline' }, open)).toEqual({ do: 'open', path: '/s/a.tideline' });
    expect(menuIntent({ action: 'save_copy' }, open)).toEqual({ do: 'save_copy' });
    expect(menuIntent({ action: 'close' }, open)).toEqual({ do: 'close', confirm: false });
    expect(menuIntent({ action: 'import', folder: false }, open)).toEqual({ do: 'import', folder: false });
    expect(menuIntent({ action: 'import', folder: true }, open)).toEqual({ do: 'import', folder: true });
    expect(menuIntent({ action: 'resume' }, open)).toEqual({ do: 'resume' });
  });

  it('export the current view with its filters, everything else without', () => {
    expect(menuIntent({ action: 'export', kind: 'csv_view' }, open)).toEqual({ do: 'export', kind: 'csv_view', query: view });
    for (const kind of ['csv_all', 'ndjson', 'timesketch', 'findings'] as const) {
      expect(menuIntent({ action: 'export', kind }, open)).toEqual({ do: 'export', kind, query: null });
    }
  });

  it('offer every export kind, the findings CSV among them, each with a title', () => {
    expect(EXPORT_KINDS).toContain('findings');
    expect(EXPORT_TITLES.findings).toBe('CSV of the findings');
    for (const kind of EXPORT_KINDS) expect(EXPORT_TITLES[kind]).toMatch(/\S/);
  });

  it('open and create without a session, but refuse what needs one', () => {
    expect(menuIntent({ action: 'open' }, none)).toEqual({ do: 'open', path: null });
    expect(menuIntent({ action: 'new_session' }, none)).toEqual({ do: 'new_session' });
    for (const action of [
      { action: 'save_copy' },
      { action: 'close' },
      { action: 'import', folder: true },
      { action: 'export', kind: 'ndjson' },
    ] as const) {
      expect(menuIntent(action, none).do).toBe('refuse');
    }
  });

  it('refuse everything while an export or import runs', () => {
    const busy: MenuContext = { ...open, running: 'import' };
    const r = menuIntent({ action: 'open_path', path: '/x' }, busy);
    expect(r).toEqual({ do: 'refuse', message: 'An import is running: wait for it to finish or cancel it first.' });
    expect(menuIntent({ action: 'export', kind: 'csv_all' }, busy).do).toBe('refuse');
    expect(menuIntent({ action: 'new_session' }, busy).do).toBe('refuse');
  });

  it('ask before closing a session that is being recorded (Ctrl+W), and close a reviewed one at once', () => {
    expect(menuIntent({ action: 'close' }, { ...open, recording: true })).toEqual({ do: 'close', confirm: true });
    const down = { state: 'reconnecting', attempt: 2, next_try_at: '', reason: 'refused' } as const;
    expect(isRecording('demo', { state: 'live' }, 0)).toBe(true);
    expect(isRecording('live', { state: 'live' }, 12)).toBe(true);
    // A stream down for a while still records into what it stored…
    expect(isRecording('live', down, 12)).toBe(true);
    expect(isRecording('live', null, 3)).toBe(true);
    // …but one that never got anything has nothing to lose.
    expect(isRecording('live', down, 0)).toBe(false);
    expect(isRecording('live', { state: 'connecting' }, 0)).toBe(false);
    expect(isRecording('live', { state: 'stopped', reason: 'key rejected', cause: 'api_key_rejected' }, 40)).toBe(false);
    expect(isRecording('offline', { state: 'offline' }, 40)).toBe(false);
    expect(isRecording('offline', null, 40)).toBe(false);
  });
});
