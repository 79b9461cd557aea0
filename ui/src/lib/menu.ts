// What a File-menu choice (native menu, or the same entries in the page's header) does, given
// what is on screen. Pure, so the rules can be tested without Tauri.
import type { ConnectionState } from '../api/bindings/ConnectionState';
import type { ExportKind } from '../api/bindings/ExportKind';
import type { MenuAction } from '../api/bindings/MenuAction';
import type { SessionMode } from '../api/bindings/SessionMode';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';

/** A File-menu choice, or the header's "Resume recording" (the page's own action). */
export type PageAction = MenuAction | { readonly action: 'resume' };

export type Intent =
  | { readonly do: 'new_session' }
  | { readonly do: 'open'; readonly path: string | null }
  | { readonly do: 'save_copy' }
  /** `confirm`: a recording is running; ask before stopping it. */
  | { readonly do: 'close'; readonly confirm: boolean }
  | { readonly do: 'export'; readonly kind: ExportKind; readonly query: TimelineQuery | null }
  | { readonly do: 'import'; readonly folder: boolean }
  | { readonly do: 'resume' }
  | { readonly do: 'refuse'; readonly message: string };

export type MenuContext = {
  readonly hasSession: boolean;
  /** The session on screen is being recorded (closing it stops the recording). */
  readonly recording: boolean;
  /** The export or import running now, if any: one at a time. */
  readonly running: 'export' | 'import' | null;
  /** The change list's filters as a query (no `max_seq`), when a session is on screen. */
  readonly viewQuery: TimelineQuery | null;
};

export const EXPORT_TITLES: Readonly<Record<ExportKind, string>> = {
  csv_view: 'CSV of the current view',
  csv_all: 'CSV of everything',
  ndjson: 'NDJSON of the raw events',
  timesketch: 'Timesketch CSV',
  timesketch_jsonl: 'Timesketch JSONL',
  ocsf_json: 'OCSF JSON',
  ocsf_parquet: 'OCSF Parquet (a folder)',
  findings: 'CSV of the findings',
};

export const EXPORT_KINDS: readonly ExportKind[] = [
  'csv_view',
  'csv_all',
  'findings',
  'ndjson',
  'timesketch',
  'timesketch_jsonl',
  'ocsf_json',
  'ocsf_parquet',
];

export function menuIntent(action: PageAction, ctx: MenuContext): Intent {
  // Opening, closing or writing the session while an export or import works on it would leave
  // the user unsure what the task covered.
  if (ctx.running !== null) {
    return { do: 'refuse', message: `An ${ctx.running} is running: wait for it to finish or cancel it first.` };
  }
  switch (action.action) {
    case 'new_session':
      return { do: 'new_session' };
    case 'open':
      return { do: 'open', path: null };
    case 'open_path':
      return { do: 'open', path: action.path };
    case 'save_copy':
    case 'resume':
      return ctx.hasSession ? { do: action.action } : noSession();
    case 'close':
      return ctx.hasSession ? { do: 'close', confirm: ctx.recording } : noSession();
    case 'import':
      return ctx.hasSession ? { do: 'import', folder: action.folder } : noSession();
    case 'export':
      if (!ctx.hasSession) return noSession();
      // Only the current view follows the filters; the other exports are of everything (the
      // findings CSV is one row per finding).
      return { do: 'export', kind: action.kind, query: action.kind === 'csv_view' ? ctx.viewQuery : null };
  }
}

function noSession(): Intent {
  return { do: 'refuse', message: 'No session is open: start or open one first.' };
}

/** A session of `mode` is being recorded, with something to lose: demo and live sessions record
 * until their stream stops for good; a stream down for a while is still a recording once it has
 * `stored` events (it picks up where it was), but one that never got anything holds nothing. */
export function isRecording(mode: SessionMode, connection: ConnectionState | null, stored: number): boolean {
  if (mode === 'offline' || connection?.state === 'stopped' || connection?.state === 'offline') return false;
  return connection?.state === 'live' || stored > 0;
}
