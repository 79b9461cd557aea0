// What a failed call looks like to the page: the CommandError Rust sends (`kind` is one of the
// ErrorKind union generated from the Rust enum, so comparing against a misspelt kind does not
// compile), or one the page names itself when the rejection did not come from a command.
import type { CommandError } from './bindings/CommandError';
import type { ErrorKind } from './bindings/ErrorKind';

/** `ui`: an Error thrown in the page; `ipc`: a plain string from Tauri itself (e.g. an unknown
 * command); `unknown`: anything else, including a kind this page does not know. */
export type PageErrorKind = 'ui' | 'ipc' | 'unknown';

export type AppError = CommandError | { kind: PageErrorKind; message: string };

/** Every kind Rust can send. Typed as a record so a kind added to or removed from the Rust enum
 * fails the type check here until this list follows. */
const RUST_KINDS: Record<ErrorKind, true> = {
  store: true,
  being_recorded: true,
  disk_full: true,
  read_only: true,
  missing_file: true,
  not_a_session: true,
  api_key_rejected: true,
  invalid_endpoint: true,
  invalid_api_key: true,
  ingest: true,
  demo: true,
  no_session: true,
  cannot_resume: true,
  api_key_needed: true,
  cancelled: true,
  export: true,
  import: true,
  no_such_change: true,
  session_folder: true,
  dialog: true,
  task: true,
  bad_settings: true,
};

export function isErrorKind(kind: string): kind is ErrorKind {
  return Object.hasOwn(RUST_KINDS, kind);
}

/** Commands reject with a CommandError; anything else (a plain string from Tauri itself, an
 * Error thrown in the page) is folded into the same shape so callers handle one type. */
export function toAppError(e: unknown): AppError {
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    if (typeof o.kind === 'string' && typeof o.message === 'string') {
      return isErrorKind(o.kind) ? { kind: o.kind, message: o.message } : { kind: 'unknown', message: o.message };
    }
    if (e instanceof Error) return { kind: 'ui', message: e.message };
  }
  if (typeof e === 'string') return { kind: 'ipc', message: e };
  return { kind: 'unknown', message: String(e) };
}
