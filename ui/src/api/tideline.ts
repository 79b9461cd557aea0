// The page's only door to the Rust side: one typed wrapper per Tauri command, and the live
// status channel. Nothing else in the UI imports @tauri-apps/api. Every rejection is an AppError
// (errors.ts). src-tauri/src/command_list.rs checks the command names against Rust's.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { DestinationStatus } from './bindings/DestinationStatus';
import type { ForwardingText } from './bindings/ForwardingText';
import type { Annotations } from './bindings/Annotations';
import type { AssetComparison } from './bindings/AssetComparison';
import type { AssetState } from './bindings/AssetState';
import type { ChangeDetail } from './bindings/ChangeDetail';
import type { ChangePage } from './bindings/ChangePage';
import type { DetectionSettings } from './bindings/DetectionSettings';
import type { ExportKind } from './bindings/ExportKind';
import type { Facets } from './bindings/Facets';
import type { FindingsOverview } from './bindings/FindingsOverview';
import type { FindingsQuery } from './bindings/FindingsQuery';
import type { HistoryEntry } from './bindings/HistoryEntry';
import type { PageCursor } from './bindings/PageCursor';
import type { ChangeRate } from './bindings/ChangeRate';
import type { Insights } from './bindings/Insights';
import type { LiveStatus } from './bindings/LiveStatus';
import type { MenuAction } from './bindings/MenuAction';
import type { QuarantineEntry } from './bindings/QuarantineEntry';
import type { RuleStatus } from './bindings/RuleStatus';
import type { SessionCard } from './bindings/SessionCard';
import type { SessionInfo } from './bindings/SessionInfo';
import type { TaskOutcome } from './bindings/TaskOutcome';
import type { TaskProgress } from './bindings/TaskProgress';
import type { TimelineQuery } from './bindings/TimelineQuery';
import type { Verification } from './bindings/Verification';
import { toAppError } from './errors';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toAppError(e);
  }
}

export function startDemo(): Promise<SessionInfo> {
  return call('start_demo');
}

/** A new recording: what the analyst calls it, and where it records from. */
export type NewSession = { endpoint: string; apiKey: string; name?: string | null; incident?: string | null };

/** The key is handed to Rust and never comes back; callers must drop their copy. Blank names
 * are sent as null. */
export function connectStream(s: NewSession): Promise<SessionInfo> {
  const blankToNull = (v: string | null | undefined) => (v == null || v.trim() === '' ? null : v.trim());
  return call('connect_stream', {
    endpoint: s.endpoint,
    apiKey: s.apiKey,
    name: blankToNull(s.name),
    incident: blankToNull(s.incident),
  });
}

/** Records again into the open offline session. Without a key Rust looks in the OS keyring and
 * rejects with kind `api_key_needed` if it is not there. */
/** Records the open session again: `apiKey` null uses the OS keyring's; `endpoint` null keeps
 * the session's (a retry after a rejected key or an endpoint that did not answer passes them). */
export function resumeRecording(apiKey: string | null = null, endpoint: string | null = null): Promise<SessionInfo> {
  return call('resume_recording', { apiKey, endpoint });
}

export function closeSession(): Promise<null> {
  return call('close_session');
}

/** Rust asks where with the native save dialog; null means the user cancelled. */
export function saveCopy(): Promise<string | null> {
  return call('save_copy');
}

/** `full`: recompute the whole chain; otherwise continue from the last intact check (cheap,
 * for a growing session). */
export function verifySession(full: boolean): Promise<Verification> {
  return call('verify_session', { full });
}

/** `path` null lets Rust show the native open dialog; a null result means the user cancelled. */
export function openSession(path: string | null): Promise<SessionInfo | null> {
  return call('open_session', { path });
}

export function currentSession(): Promise<SessionInfo | null> {
  return call('current_session');
}

/** A page of changes: the rows after `after` (the previous page's last row) when given, else
 * from `offset` (a jump into the list). */
export function listChanges(
  query: TimelineQuery,
  offset: number,
  limit: number,
  after: PageCursor | null = null,
): Promise<ChangePage> {
  return call('list_changes', { query, offset, limit, after });
}

export function facets(query: TimelineQuery): Promise<Facets> {
  return call('facets', { query });
}

export function changeDetail(seq: number): Promise<ChangeDetail> {
  return call('change_detail', { seq });
}

/** One asset's events, newest first: `limit` of them, older than `before` when given. */
export function assetHistory(
  assetName: string,
  before: PageCursor | null = null,
  limit: number = 200,
): Promise<HistoryEntry[]> {
  return call('asset_history', { assetName, before, limit });
}

export function quarantined(): Promise<QuarantineEntry[]> {
  return call('quarantined');
}

// --- detections and insights ------------------------------------------------------------------

/** The Findings panel's page of the open session's findings (most severe first, then newest)
 * and their counts. Reload when LiveStatus.findings_version moves. */
export function findings(query: FindingsQuery): Promise<FindingsOverview> {
  return call('findings', { query });
}

/** Which rules run, and why one does not (e.g. impossible travel without a GeoIP database). */
export function ruleStatuses(): Promise<RuleStatus[]> {
  return call('rule_statuses');
}

export function detectionSettings(): Promise<DetectionSettings> {
  return call('detection_settings');
}

/** Saves the settings file; Rust then rebuilds the findings (findings_version moves). */
export function saveDetectionSettings(settings: DetectionSettings): Promise<null> {
  return call('save_detection_settings', { settings });
}

/** The forwarding file the Forwarding dialog edits (an example when there is none). */
export function forwardingRules(): Promise<ForwardingText> {
  return call('forwarding_rules');
}

/** Checks and saves the forwarding file (empty: none); recordings started after it forward by it. */
export function saveForwardingRules(text: string): Promise<null> {
  return call('save_forwarding_rules', { text });
}

/** Each destination the open session forwards (or forwarded) to. */
export function forwardingStatus(): Promise<DestinationStatus[]> {
  return call('forwarding_status');
}

/** An asset as it was right after its event `seq`. */
export function assetState(assetName: string, seq: number): Promise<AssetState> {
  return call('asset_state', { assetName, seq });
}

/** An asset at two points of its history (any order) and the diff between them, older first. */
export function compareAssetStates(assetName: string, a: number, b: number): Promise<AssetComparison> {
  return call('compare_asset_states', { assetName, a, b });
}

/** The recent sessions, newest first, each with where it is, its size, events and time span. */
export function recentSessions(): Promise<SessionCard[]> {
  return call('recent_sessions');
}

/** Shows a session file (default: the open one) in the desktop's file manager. */
export function showInFolder(path: string | null = null): Promise<null> {
  return call('show_in_folder', { path });
}

/** The charts' numbers for the change list's filters. */
export function insights(query: TimelineQuery): Promise<Insights> {
  return call('insights', { query });
}

/** The list's histogram: changes per time bucket for `query` (sent without its time range). */
export function changeRate(query: TimelineQuery): Promise<ChangeRate> {
  return call('change_rate', { query });
}

// --- annotations: each returns the event's annotations as they now are ----------------------

export function setStarred(seq: number, starred: boolean): Promise<Annotations> {
  return call('set_starred', { seq, starred });
}

export function addTag(seq: number, tag: string): Promise<Annotations> {
  return call('add_tag', { seq, tag });
}

export function removeTag(seq: number, tag: string): Promise<Annotations> {
  return call('remove_tag', { seq, tag });
}

export function addComment(seq: number, body: string): Promise<Annotations> {
  return call('add_comment', { seq, body });
}

export function deleteComment(seq: number, commentId: number): Promise<Annotations> {
  return call('delete_comment', { seq, commentId });
}

// --- long tasks: Rust shows the file dialog first; null means it was cancelled --------------

/** `query` is the change list's filter for `csv_view`; the other kinds take everything
 * (`findings`: one row per finding). */
export function exportSession(
  kind: ExportKind,
  query: TimelineQuery | null,
  onProgress: (p: TaskProgress) => void,
): Promise<TaskOutcome | null> {
  return call('export_session', { kind, query, onProgress: new Channel<TaskProgress>(onProgress) });
}

/** Asks for a file, or a folder when `folder`, of cloud audit logs or captures, and imports it. */
export function importEvents(folder: boolean, onProgress: (p: TaskProgress) => void): Promise<TaskOutcome | null> {
  return call('import_events', { folder, onProgress: new Channel<TaskProgress>(onProgress) });
}

/** The running export or import then rejects with kind `cancelled`. */
export function cancelTask(): Promise<null> {
  return call('cancel_task');
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

/** Subscribes to the native File menu's choices. Call once: Rust keeps only the newest channel. */
export async function watchMenu(onAction: (action: MenuAction) => void): Promise<() => void> {
  let active = true;
  const channel = new Channel<MenuAction>((action) => {
    if (active) onAction(action);
  });
  await call<null>('watch_menu', { onAction: channel });
  return () => {
    active = false;
  };
}
