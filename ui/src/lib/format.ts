import type { SessionMode } from '../api/bindings/SessionMode';
// Presentation only: how times, ages, counts and labels are written on screen. Pure functions,
// no Svelte, so they can be unit-tested with a fixed clock and time zone.
import type { ConnectionState } from '../api/bindings/ConnectionState';

export type Zone = 'utc' | 'local';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

type Parsed = { ms: number; hasZone: boolean };

/** Parses RFC 3339 (and the looser "YYYY-MM-DD HH:MM[:SS[.fff]]" people type). Fractions beyond
 * milliseconds are truncated. Without an offset the wall time is read in `zone`. */
function parseWallTime(text: string, zone: Zone): Parsed | null {
  const m = RFC3339.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '0', frac = '', off] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const milli = Number((frac + '000').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return null;
  }
  let ms: number;
  if (off !== undefined || zone === 'utc') {
    ms = Date.UTC(year, month - 1, day, hour, minute, second, milli);
    if (off && off.toUpperCase() !== 'Z') {
      const sign = off.startsWith('-') ? -1 : 1;
      const digits = off.slice(1).replace(':', '');
      const offMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
      ms -= sign * offMin * 60_000;
    }
  } else {
    ms = new Date(year, month - 1, day, hour, minute, second, milli).getTime();
  }
  // Reject dates that rolled over (2024-02-31 and the like).
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  if (Number.isNaN(ms)) return null;
  return { ms, hasZone: off !== undefined };
}

/** Milliseconds since the epoch of an RFC 3339 time from Rust, or NaN if it cannot be read. */
export function parseTime(iso: string): number {
  const p = parseWallTime(iso, 'utc');
  return p ? p.ms : Number.NaN;
}

export type TimeParts = { date: string; time: string; millis: string };

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function timeParts(iso: string, zone: Zone): TimeParts | null {
  const ms = parseTime(iso);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms);
  const utc = zone === 'utc';
  const year = utc ? d.getUTCFullYear() : d.getFullYear();
  const month = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
  const day = utc ? d.getUTCDate() : d.getDate();
  const hour = utc ? d.getUTCHours() : d.getHours();
  const minute = utc ? d.getUTCMinutes() : d.getMinutes();
  const second = utc ? d.getUTCSeconds() : d.getSeconds();
  const milli = utc ? d.getUTCMilliseconds() : d.getMilliseconds();
  return {
    date: `${pad(year, 4)}-${pad(month)}-${pad(day)}`,
    time: `${pad(hour)}:${pad(minute)}:${pad(second)}`,
    millis: pad(milli, 3),
  };
}

/** "2024-05-05 14:03:11.482" in the chosen zone; the raw text if it is not a time. */
export function formatDateTime(iso: string, zone: Zone, withMillis = true): string {
  const p = timeParts(iso, zone);
  if (!p) return iso;
  return `${p.date} ${p.time}${withMillis ? '.' + p.millis : ''}`;
}

/** "UTC" or the local offset at `atMs`, e.g. "UTC+05:30". */
export function zoneLabel(zone: Zone, atMs: number = Date.now()): string {
  if (zone === 'utc') return 'UTC';
  const offset = -new Date(atMs).getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A time-range box: empty means no bound; an explicit offset wins over `zone`. Returns an
 * RFC 3339 UTC string for the query. */
export function parseTimeInput(
  text: string,
  zone: Zone,
  bound: 'from' | 'to' = 'from',
): { ok: true; iso: string | null } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, iso: null };
  // A date alone is that whole day: from its first moment, up to (not including) the next day's
  // first moment (ranges are half-open, [from, to)).
  const day = /^(\d{4}-\d{2}-\d{2})$/.exec(text.trim())?.[1];
  const p =
    day !== undefined
      ? parseWallTime(`${bound === 'from' ? day : nextDate(day)} 00:00:00.000`, zone)
      : parseWallTime(text, zone);
  if (!p) return { ok: false, error: 'Use YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], or RFC 3339 with an offset' };
  return { ok: true, iso: new Date(p.ms).toISOString() };
}

/** `[time − minutes, time + minutes]` as RFC 3339 UTC: "the changes around this one". */
export function around(time: string, minutes: number): { from: string; to: string } | null {
  const at = Date.parse(time);
  if (Number.isNaN(at)) return null;
  return { from: new Date(at - minutes * 60_000).toISOString(), to: new Date(at + minutes * 60_000).toISOString() };
}

/** The calendar date after `date` (YYYY-MM-DD), whatever the zone's day length. */
function nextDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + 1)).toISOString().slice(0, 10);
}

/** The RFC 3339 UTC start of the last `minutes` before `newest` (the newest event's time: a
 * session reviewed offline is read relative to its own end, not to today). */
export function lastMinutesFrom(newest: string, minutes: number): string | null {
  const end = Date.parse(newest);
  if (Number.isNaN(end)) return null;
  return new Date(end - minutes * 60_000).toISOString();
}

/** The text to put back in a time-range box for a bound held as RFC 3339 UTC. */
export function timeInputText(iso: string | null, zone: Zone): string {
  if (iso === null) return '';
  const p = timeParts(iso, zone);
  if (!p) return iso;
  return p.millis === '000' ? `${p.date} ${p.time}` : `${p.date} ${p.time}.${p.millis}`;
}

/** "3m 12s", "2h 5m", "4d 3h", "2y 14d": the two largest units, never more. */
export function formatDuration(ms: number): string {
  let s = Math.floor(Math.abs(ms) / 1000);
  const units: Array<[string, number]> = [
    ['y', 365 * 86400],
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (parts.length === 0 && s < size && size !== 1) continue;
    const n = Math.floor(s / size);
    s -= n * size;
    parts.push(`${n}${name}`);
    if (parts.length === 2) break;
  }
  // Drop a trailing zero unit ("5m 0s" reads better as "5m").
  if (parts.length === 2 && parts[1]?.startsWith('0')) parts.pop();
  return parts.join(' ');
}

/** Age of `iso` at `nowMs`: "3m 12s ago"; a time ahead of the clock reads "in 5s". */
export function formatAge(iso: string, nowMs: number): string {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return '';
  const diff = nowMs - t;
  if (diff >= 0) return `${formatDuration(diff)} ago`;
  return `in ${formatDuration(diff)}`;
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.trunc(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${formatCount(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
}

export type MethodKey = 'console' | 'cli' | 'terraform' | 'sdk' | 'provider' | 'unknown';

const METHOD_LABELS: Record<MethodKey, string> = {
  console: 'Console',
  cli: 'CLI',
  terraform: 'Terraform',
  sdk: 'SDK',
  provider: 'Provider',
  unknown: 'Unknown',
};

/** The icon to draw for a method string from Rust; anything unexpected is "unknown". */
export function methodKey(method: string | null): MethodKey {
  const m = (method ?? '').toLowerCase();
  return Object.hasOwn(METHOD_LABELS, m) ? (m as MethodKey) : 'unknown';
}

/** The label beside the icon. An unexpected method is shown as it came, not hidden. */
export function methodLabel(method: string | null): string {
  if (method === null || method === '') return METHOD_LABELS.unknown;
  const key = methodKey(method);
  return key === 'unknown' && method.toLowerCase() !== 'unknown' ? method : METHOD_LABELS[key];
}

export type ConnectionView = {
  tone: 'ok' | 'warn' | 'bad' | 'idle';
  label: string;
  detail: string | null;
};

export function connectionView(c: ConnectionState, nowMs: number): ConnectionView {
  switch (c.state) {
    case 'connecting':
      return { tone: 'warn', label: 'connecting…', detail: null };
    case 'live':
      return { tone: 'ok', label: 'live', detail: null };
    case 'reconnecting': {
      const at = parseTime(c.next_try_at);
      const secs = Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - nowMs) / 1000));
      const when = secs > 0 ? `reconnecting in ${secs} s` : 'reconnecting now';
      // The cause in words first (refused, DNS, certificate, HTTP status, idle): it is what the
      // analyst acts on.
      return { tone: 'warn', label: `${c.reason} · ${when}, attempt ${c.attempt}`, detail: c.reason };
    }
    case 'stopped':
      return { tone: 'bad', label: `stopped: ${c.reason}`, detail: c.reason };
    case 'offline':
      return { tone: 'idle', label: 'offline · saved session', detail: null };
  }
}

/** What the header's session badge says: a recording session is "live" (or "demo") only while
 * its stream is connected; otherwise the connection's state, so nothing claims live when it is
 * not. `connected` also decides whether the list offers "Following live". */
export function sessionBadge(
  mode: SessionMode,
  connection: ConnectionState['state'] | null,
): { word: string; connected: boolean } {
  if (mode === 'offline') return { word: 'offline', connected: false };
  if (connection === 'live') return { word: mode, connected: true };
  return { word: connection ?? 'connecting', connected: false };
}

/** What to offer when a recording's stream is down: re-enter a rejected key, or edit an endpoint
 * that never answered (stopped before connecting, refused, or still reconnecting before anything
 * was stored). Nothing for a demo, a saved session, or a stream that worked and blinked. */
export function retryOffer(
  mode: SessionMode,
  connection: ConnectionState | null,
  stored: number,
): 'key' | 'endpoint' | null {
  if (mode !== 'live' || connection === null) return null;
  if (connection.state === 'stopped') {
    if (connection.cause === 'api_key_rejected') return 'key';
    if (connection.cause === 'never_connected' || connection.cause === 'endpoint_rejected') return 'endpoint';
    return null;
  }
  if (connection.state === 'reconnecting' && stored === 0) return 'endpoint';
  return null;
}
