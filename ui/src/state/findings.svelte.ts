// The open session's findings and the rules' statuses, as the page last loaded them. Rust says
// when they changed (LiveStatus.findings_version); this reloads them then, one load at a time,
// and remembers which findings the user has seen so new ones can be pointed out.
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { Finding } from '../api/bindings/Finding';
import type { RuleStatus } from '../api/bindings/RuleStatus';
import { unseenCount } from '../lib/findings';

export class FindingsModel {
  /** Most severe first, then newest, as Rust sends them. */
  list: Finding[] = $state.raw([]);
  statuses: RuleStatus[] = $state.raw([]);
  error: AppError | null = $state.raw(null);
  /** The first load has come back (until then "no findings" would be a guess). */
  loaded = $state(false);
  /** Keys of the findings the user has seen (the panel was open, or they were there at first). */
  seen: ReadonlySet<string> = $state.raw(new Set());
  /** Findings that arrived while the panel was closed. */
  readonly unseen: number = $derived(unseenCount(this.list, this.seen));

  #version: number | null = null;
  #busy = false;
  #again = false;
  #disposed = false;

  /** The live status's findings_version; a new one reloads. */
  onVersion(version: number): void {
    if (version === this.#version) return;
    this.#version = version;
    void this.load();
  }

  /** Loads the findings and the statuses; a call while loading loads once more afterwards. */
  async load(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        try {
          const [list, statuses] = await Promise.all([api.findings(), api.ruleStatuses()]);
          if (this.#disposed) return;
          this.list = list;
          this.statuses = statuses;
          this.error = null;
          // What a session already had when it opened is not news.
          if (!this.loaded) this.markSeen();
          this.loaded = true;
        } catch (e) {
          if (this.#disposed) return;
          this.error = e as AppError;
        }
      } while (this.#again);
    } finally {
      this.#busy = false;
    }
  }

  markSeen(): void {
    if (unseenCount(this.list, this.seen) > 0) this.seen = new Set([...this.seen, ...this.list.map((f) => f.key)]);
  }

  dispose(): void {
    this.#disposed = true;
  }
}
