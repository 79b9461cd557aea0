// How a long task's progress is written: "1,234 of 5,000 events · 24%", or in bytes for imports.
import type { TaskProgress } from '../api/bindings/TaskProgress';
import { formatBytes, formatCount } from './format';

/** Whole percent done, rounded down so 100 means finished; null while the total is unknown. */
export function progressPercent(p: TaskProgress): number | null {
  if (p.total <= 0) return null;
  const done = Math.min(Math.max(p.done, 0), p.total);
  return Math.floor((done * 100) / p.total);
}

/** An amount in the task's unit: bytes as KiB/MiB/GiB, anything else as a count. */
export function formatAmount(n: number, unit: string): string {
  return unit === 'bytes' ? formatBytes(n) : `${formatCount(n)}`;
}

export function formatProgress(p: TaskProgress): string {
  // Rust reports 0 of 0 as soon as the task starts, before it knows how much there is.
  if (p.done === 0 && p.total === 0) return 'Starting…';
  const noun = p.unit === 'bytes' ? '' : ` ${p.unit === 'events' && p.total === 1 ? 'event' : p.unit}`;
  const percent = progressPercent(p);
  if (percent === null) return `${formatAmount(p.done, p.unit)}${noun}`;
  return `${formatAmount(p.done, p.unit)} of ${formatAmount(p.total, p.unit)}${noun} · ${percent}%`;
}

/** How far the detection rules have read a session (LiveStatus.findings_read of
 * findings_to_read): "412,000 of 1,000,000 events · 41%"; null while the total is not known. */
export function formatRulesReading(read: number, of: number): string | null {
  if (of <= 0) return null;
  return formatProgress({ task: 'findings', done: read, total: of, unit: 'events' });
}

/** The whole percent of a session the rules have read; null while the total is not known. */
export function rulesReadPercent(read: number, of: number): number | null {
  return progressPercent({ task: 'findings', done: read, total: of, unit: 'events' });
}
