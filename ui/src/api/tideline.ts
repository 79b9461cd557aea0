// The page's only door to the Rust side: one typed wrapper per Tauri command, and the live
// status channel. Nothing else in the UI imports @tauri-apps/api.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { ChangeDetail } from './bindings/ChangeDetail';
import type { ChangePage } from './bindings/ChangePage';
import type { CommandError } from './bindings/CommandError';
import type { Facets } from './bindings/Facets';
import type { HistoryEntry } from './bindings/HistoryEntry';
import type { LiveStatus } from './bindings/LiveStatus';
import type { QuarantineEntry } from './bindings/QuarantineEntry';
import type { SessionInfo } from './bindings/SessionInfo';
import type { TimelineQuery } from './bindings/TimelineQuery';

/** Commands reject with a CommandError; anything else (a plain string from Tauri itself, an
 * Error thrown in the page) is folded into the same shape so callers handle one type. */
export function toCommandError(e: unknown): CommandError {
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    if (typeof o.kind === 'string' && typeof o.message === 'string') {
      return { kind: o.kind, message: o.message };
    }
    if (e instanceof Error) return { kind: 'ui', message: e.message };
  }
  if (typeof e === 'string') return { kind: 'ipc', message: e };
  return { kind: 'unknown', message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toCommandError(e);
  }
}

export function startDemo(): Promise<SessionInfo> {
  return call('start_demo');
}

/** The key is handed to Rust and never comes back; callers must drop their copy. */
export function connectStream(endpoint: string, apiKey: string): Promise<SessionInfo> {
  return call('connect_stream', { endpoint, apiKey });
}

/** `path` null lets Rust show the native open dialog; a null result means the user cancelled. */
export function openSession(path: string | null): Promise<SessionInfo | null> {
  return call('open_session', { path });
}

export function currentSession(): Promise<SessionInfo | null> {
  return call('current_session');
}

export function listChanges(query: TimelineQuery, offset: number, limit: number): Promise<ChangePage> {
  return call('list_changes', { query, offset, limit });
}

export function facets(query: TimelineQuery): Promise<Facets> {
  return call('facets', { query });
}

export function changeDetail(seq: number): Promise<ChangeDetail> {
  return call('change_detail', { seq });
}

export function assetHistory(assetName: string): Promise<HistoryEntry[]> {
  return call('asset_history', { assetName });
}

export function quarantined(): Promise<QuarantineEntry[]> {
  return call('quarantined');
}

/** Subscribes to live status pushes. Rust sends one right away and then at most every ~100 ms
 * while anything changes. Returns a function that stops delivering to `onStatus`. */
export async function watchLive(onStatus: (status: LiveStatus) => void): Promise<() => void> {
  let active = true;
  const channel = new Channel<LiveStatus>((status) => {
    if (active) onStatus(status);
  });
  await call<null>('watch_live', { onStatus: channel });
  return () => {
    active = false;
  };
}
