import { describe, expect, it } from 'vitest';
import type { DetectionSettings } from '../api/bindings/DetectionSettings';
import { errorRule, fromForm, mapText, parseClock, parseList, parseMap, parseNumber, toForm } from './rules';

/** Rust's defaults (settings.rs), plus an allow list and a managed account. */
const SETTINGS: DetectionSettings = {
  learning_period_hours: 48,
  geoip_database: null,
  new_source_ip: { enabled: true, severity: 'medium' },
  console_where_iac: { enabled: true, severity: 'medium', managed_accounts: ['123456789012'], managed_assets: [] },
  unexpected_principal: {
    enabled: true,
    severity: 'medium',
    allowed: { '123456789012': ['arn:aws:iam::123456789012:role/terraform-ci', 'jdoe'] },
    flag_first_seen: true,
  },
  unexpected_region: { enabled: true, severity: 'high', allowed: {} },
  off_hours: {
    enabled: true,
    severity: 'low',
    timezone: 'UTC',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '08:00',
    end: '19:00',
    ignore_methods: ['provider'],
    burst_factor: 10,
    burst_min_changes: 20,
  },
  impossible_travel: { enabled: true, severity: 'high', max_speed_kmh: 1000, min_distance_km: 300 },
  reverted_change: { enabled: true, severity: 'high', window_hours: 24 },
  short_lived_asset: { enabled: true, severity: 'high', window_hours: 24, ignore_methods: ['provider'] },
};

describe('settings ⇄ form', () => {
  it('round-trips unchanged settings exactly', () => {
    const r = fromForm(toForm(SETTINGS), SETTINGS);
    expect(r).toEqual({ ok: true, settings: SETTINGS });
  });

  it('writes lists comma-separated, allow lists one line per scope, numbers as typed', () => {
    const f = toForm(SETTINGS);
    expect(f.console_where_iac.managedAccounts).toBe('123456789012');
    expect(f.unexpected_principal.allowed).toBe('123456789012: arn:aws:iam::123456789012:role/terraform-ci, jdoe');
    expect(f.off_hours.days).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(f.learningHours).toBe('48');
    expect(f.geoipDatabase).toBe('');
  });

  it('reads edited fields back into the settings', () => {
    const f = toForm(SETTINGS);
    f.off_hours.enabled = false;
    f.off_hours.severity = 'medium';
    f.off_hours.days = ['sat', 'mon'];
    f.off_hours.start = '7:30';
    f.off_hours.timezone = ' Europe/London ';
    f.off_hours.ignoreMethods = 'provider, terraform,\nsdk, provider';
    f.reverted_change.windowHours = '0.5';
    f.geoipDatabase = '  /data/GeoLite2-City.mmdb ';
    f.unexpected_region.allowed = '\n123456789012: us-east-1 ,eu-west-1\n\n210987654321:us-west-2\n';
    f.learningHours = '0';
    const r = fromForm(f, SETTINGS);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const s = r.settings;
    expect(s.off_hours).toMatchObject({
      enabled: false,
      severity: 'medium',
      days: ['mon', 'sat'],
      start: '07:30',
      timezone: 'Europe/London',
      ignore_methods: ['provider', 'terraform', 'sdk'],
    });
    expect(s.reverted_change.window_hours).toBe(0.5);
    expect(s.geoip_database).toBe('/data/GeoLite2-City.mmdb');
    expect(s.unexpected_region.allowed).toEqual({ '123456789012': ['us-east-1', 'eu-west-1'], '210987654321': ['us-west-2'] });
    expect(s.learning_period_hours).toBe(0);
    // untouched rules stay as they were
    expect(s.impossible_travel).toEqual(SETTINGS.impossible_travel);
  });

  it('sends an empty GeoIP path as none', () => {
    const f = toForm({ ...SETTINGS, geoip_database: '/x.mmdb' });
    f.geoipDatabase = '   ';
    const r = fromForm(f, SETTINGS);
    expect(r.ok && r.settings.geoip_database).toBeNull();
  });

  it('keeps fields of the settings the form does not show', () => {
    const newer = { ...SETTINGS, future_rule: { enabled: true } } as unknown as DetectionSettings;
    const r = fromForm(toForm(newer), newer);
    expect(r.ok && (r.settings as unknown as Record<string, unknown>).future_rule).toEqual({ enabled: true });
  });

  it('reports every bad field at once, by field, and sends nothing', () => {
    const f = toForm(SETTINGS);
    f.learningHours = 'two days';
    f.off_hours.start = '25:00';
    f.off_hours.end = '8pm';
    f.off_hours.timezone = '';
    f.off_hours.burstMinChanges = '2.5';
    f.impossible_travel.maxSpeedKmh = '0';
    f.unexpected_principal.allowed = 'jdoe';
    const r = fromForm(f, SETTINGS);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual([
      'impossible_travel.maxSpeedKmh',
      'learningHours',
      'off_hours.burstMinChanges',
      'off_hours.end',
      'off_hours.start',
      'off_hours.timezone',
      'unexpected_principal.allowed',
    ]);
    expect(r.errors['off_hours.start']).toBe('Use HH:MM, e.g. 08:00');
    expect(errorRule('off_hours.start')).toBe('off_hours');
    expect(errorRule('learningHours')).toBeNull();
  });
});

describe('field parsing', () => {
  it('lists: commas or lines, trimmed, blanks and repeats dropped', () => {
    expect(parseList(' a, b ,,\n c ,a ')).toEqual(['a', 'b', 'c']);
    expect(parseList('  ')).toEqual([]);
  });

  it('allow lists: split at the first colon (ARNs hold colons), one line per scope', () => {
    const text = '123: arn:aws:iam::123:user/jdoe, ops\nnetwork.firewall: terraform-ci';
    const r = parseMap(text, 'principal');
    expect(r).toEqual({ ok: true, value: { '123': ['arn:aws:iam::123:user/jdoe', 'ops'], 'network.firewall': ['terraform-ci'] } });
    expect(mapText(r.ok ? r.value : {})).toBe(text);
    expect(parseMap('x:', 'region')).toEqual({ ok: false, error: 'Line 1: list at least one region after "x:"' });
    expect(parseMap('ok: a\n: b', 'region')).toEqual({ ok: false, error: 'Line 2: write it as "scope: region, region"' });
    expect(parseMap('a: x\na: y', 'region').ok).toBe(false);
  });

  it('numbers: plain non-negative decimals; whole numbers where Rust wants one', () => {
    expect(parseNumber('24')).toEqual({ ok: true, value: 24 });
    expect(parseNumber(' 0.5 ')).toEqual({ ok: true, value: 0.5 });
    expect(parseNumber('0')).toEqual({ ok: true, value: 0 });
    for (const bad of ['', '-1', '1e3', '0x10', '1,5', 'NaN', 'Infinity']) expect(parseNumber(bad).ok).toBe(false);
    expect(parseNumber('0', { positive: true }).ok).toBe(false);
    expect(parseNumber('3.0', { integer: true }).ok).toBe(false);
    expect(parseNumber('99999999999999999999', { integer: true }).ok).toBe(false);
  });

  it('times: HH:MM from 00:00 to 24:00', () => {
    expect(parseClock('8:00')).toEqual({ ok: true, value: '08:00' });
    expect(parseClock('24:00')).toEqual({ ok: true, value: '24:00' });
    for (const bad of ['24:01', '12:60', '1200', '12:5', 'noon', '']) expect(parseClock(bad).ok).toBe(false);
  });
});
