// The integrity badge: what a verification says, and when to run it again while the session
// grows (recording, or an import).
import type { Verification } from '../api/bindings/Verification';
import { formatCount } from './format';

export type IntegrityView = { intact: boolean; label: string; title: string };

export function integrityView(v: Verification): IntegrityView {
  const head = v.head === '' ? 'no events yet' : v.head;
  if (v.broken) {
    const b = v.broken;
    return {
      intact: false,
      label: `Broken at event ${b.event_id}: ${b.reason}`,
      title:
        `The chain breaks at stored event #${b.seq} (id ${b.event_id}, source ${b.source}); ` +
        `the ${formatCount(v.verified)} events before it are intact.\nChain head: ${head}`,
    };
  }
  const upTo = v.last_seq === null ? '' : ` through event #${v.last_seq}`;
  return {
    intact: true,
    label: `Intact · ${formatCount(v.verified)} ${v.verified === 1 ? 'event' : 'events'}`,
    title: `SHA-256 chain over every stored event's bytes${upTo}: unaltered.\nChain head: ${head}`,
  };
}

/** The newest event a verification covered, to compare with the newest stored one: Rust says
 * which event it verified last. A broken chain stops early, so there the newest event known
 * when the check started stands in (checking again soon would only break at the same place). */
export function checkedUpTo(v: Verification, newestAtStart: number | null): number | null {
  return v.broken ? newestAtStart : v.last_seq;
}

/** Events stored after the newest one a verification covered (0 when it is current or broke):
 * shown beside the count until the next incremental check, so the badge never reads as if it
 * had verified events it has not. */
export function uncheckedSince(v: Verification, newestSeq: number | null): number {
  if (v.broken || newestSeq === null) return 0;
  return Math.max(0, newestSeq - (v.last_seq ?? 0));
}

/** While the session grows, the incremental check (only what was added) runs at most this often. */
export const REVERIFY_MIN_MS = 3_000;

/** The last verification: when it started and the newest event it could have seen. */
export type LastCheck = { at: number; seq: number | null };

/** How long to wait before verifying again: 0 = now, null = no need (nothing new since). */
export function reverifyDelay(
  last: LastCheck | null,
  newestSeq: number | null,
  now: number,
  minMs: number = REVERIFY_MIN_MS,
): number | null {
  if (last === null) return 0;
  if (newestSeq === last.seq) return null;
  return Math.max(0, last.at + minMs - now);
}
