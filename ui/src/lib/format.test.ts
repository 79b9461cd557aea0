import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectionView,
  formatAge,
  formatBytes,
  formatCount,
  formatDateTime,
  formatDuration,
  methodKey,
  methodLabel,
  parseTime,
  around,
  lastMinutesFrom,
  parseTimeInput,
  retryOffer,
  sessionBadge,
  timeInputText,
  timeParts,
  zoneLabel,
} from './format';

let savedTz: string | undefined;
function useTz(tz: string) {
  process.env.TZ = tz;
}
beforeEach(() => {
  savedTz = process.env.TZ;
});
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('times', () => {
  it('reads RFC 3339 with Z, offsets and long fractions', () => {
    expect(parseTime('2024-05-05T14:03:11.482Z')).toBe(Date.UTC(2024, 4, 5, 14, 3, 11, 482));
    expect(parseTime('2024-05-05T14:03:11.482917Z')).toBe(Date.UTC(2024, 4, 5, 14, 3, 11, 482));
    expect(parseTime('2024-05-05T16:03:11+02:00')).toBe(Date.UTC(2024, 4, 5, 14, 3, 11));
    expect(parseTime('2024-05-05T10:33:11-03:30')).toBe(Date.UTC(2024, 4, 5, 14, 3, 11));
    expect(parseTime('not a time')).toBeNaN();
    expect(parseTime('2024-02-31T00:00:00Z')).toBeNaN();
  });

  it('formats in UTC whatever the machine zone', () => {
    useTz('Asia/Kolkata');
    expect(formatDateTime('2024-05-05T23:59:59.5Z', 'utc')).toBe('2024-05-05 23:59:59.500');
    expect(timeParts('2024-05-05T14:03:11.482Z', 'utc')).toEqual({ date: '2024-05-05', time: '14:03:11', millis: '482' });
  });

  it('formats local time in the machine zone, across midnight', () => {
    useTz('Asia/Kolkata'); // +05:30, no DST
    expect(formatDateTime('2024-05-05T23:59:59.5Z', 'local')).toBe('2024-05-06 05:29:59.500');
    expect(zoneLabel('local', Date.UTC(2024, 4, 5))).toBe('UTC+05:30');
    expect(zoneLabel('utc')).toBe('UTC');
  });

  it('follows daylight saving in local time', () => {
    useTz('America/New_York');
    expect(formatDateTime('2024-01-15T12:00:00Z', 'local', false)).toBe('2024-01-15 07:00:00');
    expect(formatDateTime('2024-07-15T12:00:00Z', 'local', false)).toBe('2024-07-15 08:00:00');
    expect(zoneLabel('local', Date.UTC(2024, 0, 15))).toBe('UTC-05:00');
  });

  it('shows text that is not a time as it came', () => {
    expect(formatDateTime('<b>yesterday</b>', 'utc')).toBe('<b>yesterday</b>');
  });
});

describe('time range input', () => {
  it('reads typed wall time in the chosen zone', () => {
    useTz('Asia/Kolkata');
    expect(parseTimeInput('2024-05-05 14:03', 'utc')).toEqual({ ok: true, iso: '2024-05-05T14:03:00.000Z' });
    expect(parseTimeInput('2024-05-05 14:03', 'local')).toEqual({ ok: true, iso: '2024-05-05T08:33:00.000Z' });
  });

  it('lets an explicit offset win over the zone', () => {
    useTz('Asia/Kolkata');
    expect(parseTimeInput('2024-05-05T14:03:11Z', 'local')).toEqual({ ok: true, iso: '2024-05-05T14:03:11.000Z' });
    expect(parseTimeInput('2024-05-05T16:03:11+02:00', 'utc')).toEqual({ ok: true, iso: '2024-05-05T14:03:11.000Z' });
  });

  it('treats empty as no bound and rejects garbage', () => {
    expect(parseTimeInput('  ', 'utc')).toEqual({ ok: true, iso: null });
    // A date alone is the whole day.
    expect(parseTimeInput('2024-05-05', 'utc')).toEqual({ ok: true, iso: '2024-05-05T00:00:00.000Z' });
    expect(parseTimeInput('2024-05-05', 'utc', 'to')).toEqual({ ok: true, iso: '2024-05-06T00:00:00.000Z' });
    expect(parseTimeInput('2024-02-29', 'utc', 'to')).toEqual({ ok: true, iso: '2024-03-01T00:00:00.000Z' });
    expect(parseTimeInput('2024-12-31', 'utc', 'to')).toEqual({ ok: true, iso: '2025-01-01T00:00:00.000Z' });
    expect(parseTimeInput('2024-02-31', 'utc').ok).toBe(false);
    expect(lastMinutesFrom('2024-05-05T14:19:20Z', 15)).toBe('2024-05-05T14:04:20.000Z');
    expect(lastMinutesFrom('not a time', 15)).toBeNull();
    expect(around('2024-05-05T14:01:03Z', 15)).toEqual({ from: '2024-05-05T13:46:03.000Z', to: '2024-05-05T14:16:03.000Z' });
    expect(parseTimeInput('yesterday', 'utc').ok).toBe(false);
    expect(parseTimeInput('2024-13-01 00:00', 'utc').ok).toBe(false);
  });

  it('round-trips a bound back into the box', () => {
    useTz('Asia/Kolkata');
    expect(timeInputText('2024-05-05T08:33:00.000Z', 'local')).toBe('2024-05-05 14:03:00');
    expect(timeInputText('2024-05-05T08:33:00.250Z', 'utc')).toBe('2024-05-05 08:33:00.250');
    expect(timeInputText(null, 'utc')).toBe('');
  });
});

describe('ages and durations', () => {
  const now = Date.UTC(2024, 4, 5, 14, 10, 0);
  it('writes the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59_999)).toBe('59s');
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(3_723_000)).toBe('1h 2m');
    expect(formatDuration(2 * 86_400_000 + 5_000)).toBe('2d');
    expect(formatDuration(400 * 86_400_000)).toBe('1y 35d');
  });
  it('says how long ago, or how far ahead', () => {
    expect(formatAge('2024-05-05T14:06:48Z', now)).toBe('3m 12s ago');
    expect(formatAge('2024-05-05T14:10:05Z', now)).toBe('in 5s');
    expect(formatAge('garbage', now)).toBe('');
  });
});

describe('counts', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-1234)).toBe('-1,234');
  });
  it('writes sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});

describe('methods', () => {
  it('maps known methods to icons and labels', () => {
    expect(methodKey('console')).toBe('console');
    expect(methodKey('Terraform')).toBe('terraform');
    expect(methodLabel('cli')).toBe('CLI');
    expect(methodLabel('sdk')).toBe('SDK');
    expect(methodLabel(null)).toBe('Unknown');
  });
  it('shows an unexpected method as it came, with the unknown icon', () => {
    expect(methodKey('pulumi')).toBe('unknown');
    expect(methodLabel('pulumi')).toBe('pulumi');
    expect(methodKey('__proto__')).toBe('unknown');
  });
});

describe('connection state', () => {
  const now = Date.UTC(2024, 4, 5, 14, 0, 0);
  it('counts down to the next reconnect', () => {
    const v = connectionView(
      { state: 'reconnecting', attempt: 3, next_try_at: '2024-05-05T14:00:04.200Z', reason: 'HTTP 503' },
      now,
    );
    expect(v.label).toBe('HTTP 503 · reconnecting in 5 s, attempt 3');
    expect(v.detail).toBe('HTTP 503');
    expect(v.tone).toBe('warn');
  });
  it('never counts below zero', () => {
    const v = connectionView({ state: 'reconnecting', attempt: 1, next_try_at: '2024-05-05T13:59:00Z', reason: 'eof' }, now);
    expect(v.label).toBe('eof · reconnecting now, attempt 1');
  });
  it('says why it stopped', () => {
    expect(connectionView({ state: 'stopped', reason: 'API key rejected (401)', cause: 'api_key_rejected' }, now).label).toBe(
      'stopped: API key rejected (401)',
    );
    expect(connectionView({ state: 'live' }, now)).toEqual({ tone: 'ok', label: 'live', detail: null });
  });
});

describe('sessionBadge', () => {
  it('says live only while the stream is connected', () => {
    expect(sessionBadge('live', 'live')).toEqual({ word: 'live', connected: true });
    expect(sessionBadge('demo', 'live')).toEqual({ word: 'demo', connected: true });
    expect(sessionBadge('live', 'reconnecting')).toEqual({ word: 'reconnecting', connected: false });
    expect(sessionBadge('live', 'stopped')).toEqual({ word: 'stopped', connected: false });
    expect(sessionBadge('live', null)).toEqual({ word: 'connecting', connected: false });
    expect(sessionBadge('offline', 'offline')).toEqual({ word: 'offline', connected: false });
  });
});

describe('retryOffer', () => {
  const stopped = (cause: 'api_key_rejected' | 'never_connected' | 'requested') =>
    ({ state: 'stopped', reason: 'r', cause }) as const;
  const reconnecting = { state: 'reconnecting', attempt: 2, next_try_at: '2024-05-05T14:00:00Z', reason: 'refused' } as const;
  it('offers the key when it was rejected and the endpoint when it never answered', () => {
    expect(retryOffer('live', stopped('api_key_rejected'), 0)).toBe('key');
    expect(retryOffer('live', stopped('never_connected'), 0)).toBe('endpoint');
    expect(retryOffer('live', reconnecting, 0)).toBe('endpoint');
  });
  it('offers nothing for a stream that worked, a stop on request, a demo or a saved session', () => {
    expect(retryOffer('live', reconnecting, 12)).toBeNull();
    expect(retryOffer('live', stopped('requested'), 0)).toBeNull();
    expect(retryOffer('demo', stopped('api_key_rejected'), 0)).toBeNull();
    expect(retryOffer('offline', { state: 'offline' }, 0)).toBeNull();
  });
});
