// The Findings panel's page of the open session's findings, its counts and the rules' statuses,
// as the page last loaded them. Rust picks and counts them (a session can have a million; the
// page never holds them all); this says which rule, severity and how many to list, reloads when
// Rust says they changed (LiveStatus.findings_version), one load at a time, and remembers up to
// which finding the user has seen, so new ones can be pointed out.
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { Finding } from '../api/bindings/Finding';
import type { FindingsOverview } from '../api/bindings/FindingsOverview';
import type { RuleStatus } from '../api/bindings/RuleStatus';
import { NO_FINDING_FILTER, type FindingFilter } from '../lib/findings';
import { Pacer } from '../lib/pace';

/** Findings listed at first, and added by each "Show more". */
export const FINDINGS_PAGE = 200;

/** Loads made because the findings changed begin at most this often. While recording, Rust's
 * detections store new findings every few hundred milliseconds; each load is a read of the
 * session and a new list drawn, which would otherwise compete with the live change list. */
export const FINDINGS_RELOAD_MIN_INTERVAL_MS = 1000;

export class FindingsModel {
  overview: FindingsOverview | null = $state.raw(null);
  statuses: RuleStatus[] = $state.raw([]);
  error: AppError | null = $state.raw(null);
  /** The first load has come back (until then "no findings" would be a guess). */
  loaded = $state(false);
  /** Which rule and severity the panel lists. */
  filter: FindingFilter = $state.raw(NO_FINDING_FILTER);
  /** How many the panel lists. */
  limit = $state(FINDINGS_PAGE);

  /** The listed findings: most severe first, then newest, as Rust sends them. */
  readonly list: Finding[] = $derived(this.overview?.findings ?? []);
  /** Every finding of the session. */
  readonly total: number = $derived(this.overview?.total ?? 0);
  /** Findings made since the user last looked. */
  readonly unseen: number = $derived(this.overview?.unseen ?? 0);

  /** The greatest finding id the user has seen (null until the first load). */
  #seenUpTo: number | null = null;
  #version: number | null = null;
  #busy = false;
  #again = false;
  #disposed = false;
  /** Loads for new versions, paced from the start of the last load. */
  readonly #pacer: Pacer;

  /** `minIntervalMs`: the pace of loads made by [`onVersion`]. */
  constructor(minIntervalMs: number = FINDINGS_RELOAD_MIN_INTERVAL_MS) {
    this.#pacer = new Pacer(minIntervalMs, () => void this.load());
  }

  /** The live status's findings_version; a new one reloads, on the next turn when the last
   * load began `minIntervalMs` ago or more, else when it is that old. */
  onVersion(version: number): void {
    if (version === this.#version) return;
    this.#version = version;
    this.#pacer.schedule();
  }

  /** Lists another rule and severity, from the first page. */
  setFilter(filter: FindingFilter): void {
    this.filter = filter;
    this.limit = FINDINGS_PAGE;
    void this.load();
  }

  /** Lists one page more. */
  showMore(): void {
    this.limit += FINDINGS_PAGE;
    void this.load();
  }

  /** Loads the page and the statuses; a call while loading loads once more afterwards. */
  async load(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        this.#pacer.mark();
        try {
          const query = {
            rule: this.filter.rule,
            severity: this.filter.severity,
            limit: this.limit,
            seen_up_to: this.#seenUpTo,
          };
          const [overview, statuses] = await Promise.all([api.findings(query), api.ruleStatuses()]);
          if (this.#disposed) return;
          this.overview = overview;
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

  /** Every finding loaded so far counts as seen. */
  markSeen(): void {
    const overview = this.overview;
    if (overview === null) return;
    this.#seenUpTo = overview.newest_id;
    if (overview.unseen > 0) this.overview = { ...overview, unseen: 0 };
  }

  dispose(): void {
    this.#disposed = true;
    this.#pacer.dispose();
  }
}
