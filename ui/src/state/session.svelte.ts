// Which session is open, followed from Rust's live status: whatever opens, creates or closes a
// session (the page, the native menu, `--open` at launch), the status names the session it is
// about, and the page shows that one (null: the start screen).
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { LiveStatus } from '../api/bindings/LiveStatus';
import type { SessionInfo } from '../api/bindings/SessionInfo';

export function sameSession(a: SessionInfo | null | undefined, b: SessionInfo | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SessionWatch {
  /** undefined: still asking Rust. */
  session: SessionInfo | null | undefined = $state.raw(undefined);
  status: LiveStatus | null = $state.raw(null);
  /** current_session failed at boot: the session given at launch (`--open`) could not open. */
  bootError: AppError | null = $state.raw(null);
  /** The live status could not be subscribed to. */
  liveError: AppError | null = $state.raw(null);

  /** A status has arrived: from then on it alone says which session is open. */
  #heard = false;

  /** Subscribes to the live status and asks for the session open at launch. Returns a stop. */
  start(): () => void {
    let stop: (() => void) | null = null;
    let stopped = false;
    api
      .watchLive((s) => this.onStatus(s))
      .then((f) => {
        if (stopped) f();
        else stop = f;
      })
      .catch((e: AppError) => (this.liveError = e));
    api
      .currentSession()
      .then((s) => {
        if (!this.#heard) this.#show(s);
      })
      .catch((e: AppError) => {
        this.bootError = e;
        if (!this.#heard) this.#show(null);
      });
    return () => {
      stopped = true;
      stop?.();
    };
  }

  onStatus(s: LiveStatus): void {
    this.#heard = true;
    this.status = s;
    this.#show(s.session);
  }

  /** A command opened, created or closed a session. The status that follows says the same;
   * this only matters when no status comes (the subscription failed). */
  adopt(s: SessionInfo | null): void {
    if (!this.#heard) this.#show(s);
  }

  #show(s: SessionInfo | null): void {
    // Keep the same object while nothing changed: the workspace's props stay put.
    if (!sameSession(this.session, s)) this.session = s;
  }
}
