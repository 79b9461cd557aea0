// The detection rules' settings as a form: numbers and lists become text boxes, working days
// checkboxes, per-scope allow lists one line each. `toForm` and `fromForm` convert both ways;
// `fromForm` checks what the page can (numbers, HH:MM times, list lines) and keeps every field
// of the settings it does not show. Time zones and the GeoIP file are checked by Rust, which
// reports problems in the rules' status notes.
import type { DetectionSettings } from '../api/bindings/DetectionSettings';
import type { RuleId } from '../api/bindings/RuleId';
import type { Severity } from '../api/bindings/Severity';

export const DAYS: ReadonlyArray<{ id: string; label: string }> = [
  { id: 'mon', label: 'Mon' },
  { id: 'tue', label: 'Tue' },
  { id: 'wed', label: 'Wed' },
  { id: 'thu', label: 'Thu' },
  { id: 'fri', label: 'Fri' },
  { id: 'sat', label: 'Sat' },
  { id: 'sun', label: 'Sun' },
];

type Toggle = { enabled: boolean; severity: Severity };

export type SettingsForm = {
  learningHours: string;
  geoipDatabase: string;
  new_source_ip: Toggle;
  console_where_iac: Toggle & { managedAccounts: string; managedAssets: string };
  unexpected_principal: Toggle & { allowed: string; flagFirstSeen: boolean };
  unexpected_region: Toggle & { allowed: string };
  off_hours: Toggle & {
    timezone: string;
    days: string[];
    start: string;
    end: string;
    ignoreMethods: string;
    burstFactor: string;
    burstMinChanges: string;
  };
  impossible_travel: Toggle & { maxSpeedKmh: string; minDistanceKm: string };
  reverted_change: Toggle & { windowHours: string };
  short_lived_asset: Toggle & { windowHours: string; ignoreMethods: string };
};

/** Problems by field, e.g. `off_hours.start` → "Use HH:MM, e.g. 08:00". */
export type FormErrors = Record<string, string>;

export const listText = (xs: readonly string[]): string => xs.join(', ');

/** "a, b\nc" → ["a", "b", "c"]: commas or new lines, blanks dropped, each value once. */
export function parseList(text: string): string[] {
  const out: string[] = [];
  for (const v of text.split(/[,\n]/)) {
    const t = v.trim();
    if (t !== '' && !out.includes(t)) out.push(t);
  }
  return out;
}

/** One line per scope: `key: value, value`. */
export function mapText(m: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(m)
    .map(([k, vs]) => `${k}: ${vs.join(', ')}`)
    .join('\n');
}

/** The inverse of mapText. Values may hold colons (ARNs): a line splits at its first one. */
export function parseMap(text: string, what: string): { ok: true; value: Record<string, string[]> } | { ok: false; error: string } {
  const value: Record<string, string[]> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? '' : line.slice(0, colon).trim();
    if (key === '') return { ok: false, error: `Line ${i + 1}: write it as "scope: ${what}, ${what}"` };
    const values = parseList(line.slice(colon + 1));
    if (values.length === 0) return { ok: false, error: `Line ${i + 1}: list at least one ${what} after "${key}:"` };
    if (Object.hasOwn(value, key)) return { ok: false, error: `Line ${i + 1}: "${key}" is listed twice` };
    value[key] = values;
  }
  return { ok: true, value };
}

const NUMBER = /^\d+(\.\d+)?$/;

/** A non-negative number typed as text; `positive` refuses 0, `integer` a fraction. */
export function parseNumber(
  text: string,
  opts: { positive?: boolean; integer?: boolean } = {},
): { ok: true; value: number } | { ok: false; error: string } {
  const t = text.trim();
  if (!NUMBER.test(t) || (opts.integer && t.includes('.'))) {
    return { ok: false, error: opts.integer ? 'Enter a whole number' : 'Enter a number, e.g. 24 or 0.5' };
  }
  const value = Number(t);
  if (!Number.isFinite(value) || (opts.integer && !Number.isSafeInteger(value))) return { ok: false, error: 'Too large' };
  if (opts.positive && value <= 0) return { ok: false, error: 'Must be more than 0' };
  return { ok: true, value };
}

/** "8:00" → "08:00"; 00:00 to 24:00, as Rust accepts. */
export function parseClock(text: string): { ok: true; value: string } | { ok: false; error: string } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const bad = { ok: false as const, error: 'Use HH:MM, e.g. 08:00' };
  if (!m) return bad;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return bad;
  return { ok: true, value: `${String(h).padStart(2, '0')}:${m[2]}` };
}

export function toForm(s: DetectionSettings): SettingsForm {
  const t = (r: Toggle): Toggle => ({ enabled: r.enabled, severity: r.severity });
  const known = new Set(DAYS.map((d) => d.id));
  return {
    learningHours: String(s.learning_period_hours),
    geoipDatabase: s.geoip_database ?? '',
    new_source_ip: t(s.new_source_ip),
    console_where_iac: {
      ...t(s.console_where_iac),
      managedAccounts: listText(s.console_where_iac.managed_accounts),
      managedAssets: listText(s.console_where_iac.managed_assets),
    },
    unexpected_principal: {
      ...t(s.unexpected_principal),
      allowed: mapText(s.unexpected_principal.allowed as Record<string, string[]>),
      flagFirstSeen: s.unexpected_principal.flag_first_seen,
    },
    unexpected_region: { ...t(s.unexpected_region), allowed: mapText(s.unexpected_region.allowed as Record<string, string[]>) },
    off_hours: {
      ...t(s.off_hours),
      timezone: s.off_hours.timezone,
      days: DAYS.map((d) => d.id).filter((id) => s.off_hours.days.some((x) => x.trim().toLowerCase() === id && known.has(id))),
      start: s.off_hours.start,
      end: s.off_hours.end,
      ignoreMethods: listText(s.off_hours.ignore_methods),
      burstFactor: String(s.off_hours.burst_factor),
      burstMinChanges: String(s.off_hours.burst_min_changes),
    },
    impossible_travel: {
      ...t(s.impossible_travel),
      maxSpeedKmh: String(s.impossible_travel.max_speed_kmh),
      minDistanceKm: String(s.impossible_travel.min_distance_km),
    },
    reverted_change: { ...t(s.reverted_change), windowHours: String(s.reverted_change.window_hours) },
    short_lived_asset: {
      ...t(s.short_lived_asset),
      windowHours: String(s.short_lived_asset.window_hours),
      ignoreMethods: listText(s.short_lived_asset.ignore_methods),
    },
  };
}

/** The settings the form describes, on top of `base` (fields the form does not show are kept).
 * Every problem is reported at once, by field. */
export function fromForm(
  f: SettingsForm,
  base: DetectionSettings,
): { ok: true; settings: DetectionSettings } | { ok: false; errors: FormErrors } {
  const errors: FormErrors = {};
  const num = (field: string, text: string, opts: { positive?: boolean; integer?: boolean } = {}): number => {
    const r = parseNumber(text, opts);
    if (r.ok) return r.value;
    errors[field] = r.error;
    return 0;
  };
  const clock = (field: string, text: string): string => {
    const r = parseClock(text);
    if (r.ok) return r.value;
    errors[field] = r.error;
    return text;
  };
  const map = (field: string, text: string, what: string): Record<string, string[]> => {
    const r = parseMap(text, what);
    if (r.ok) return r.value;
    errors[field] = r.error;
    return {};
  };
  const t = (r: Toggle) => ({ enabled: r.enabled, severity: r.severity });

  const timezone = f.off_hours.timezone.trim();
  if (timezone === '') errors['off_hours.timezone'] = 'Enter a time zone, e.g. UTC or Europe/London';
  const geoip = f.geoipDatabase.trim();

  const settings: DetectionSettings = {
    ...base,
    learning_period_hours: num('learningHours', f.learningHours),
    geoip_database: geoip === '' ? null : geoip,
    new_source_ip: { ...base.new_source_ip, ...t(f.new_source_ip) },
    console_where_iac: {
      ...base.console_where_iac,
      ...t(f.console_where_iac),
      managed_accounts: parseList(f.console_where_iac.managedAccounts),
      managed_assets: parseList(f.console_where_iac.managedAssets),
    },
    unexpected_principal: {
      ...base.unexpected_principal,
      ...t(f.unexpected_principal),
      allowed: map('unexpected_principal.allowed', f.unexpected_principal.allowed, 'principal'),
      flag_first_seen: f.unexpected_principal.flagFirstSeen,
    },
    unexpected_region: {
      ...base.unexpected_region,
      ...t(f.unexpected_region),
      allowed: map('unexpected_region.allowed', f.unexpected_region.allowed, 'region'),
    },
    off_hours: {
      ...base.off_hours,
      ...t(f.off_hours),
      timezone,
      days: DAYS.map((d) => d.id).filter((id) => f.off_hours.days.includes(id)),
      start: clock('off_hours.start', f.off_hours.start),
      end: clock('off_hours.end', f.off_hours.end),
      ignore_methods: parseList(f.off_hours.ignoreMethods),
      burst_factor: num('off_hours.burstFactor', f.off_hours.burstFactor, { positive: true }),
      burst_min_changes: num('off_hours.burstMinChanges', f.off_hours.burstMinChanges, { integer: true }),
    },
    impossible_travel: {
      ...base.impossible_travel,
      ...t(f.impossible_travel),
      max_speed_kmh: num('impossible_travel.maxSpeedKmh', f.impossible_travel.maxSpeedKmh, { positive: true }),
      min_distance_km: num('impossible_travel.minDistanceKm', f.impossible_travel.minDistanceKm),
    },
    reverted_change: {
      ...base.reverted_change,
      ...t(f.reverted_change),
      window_hours: num('reverted_change.windowHours', f.reverted_change.windowHours, { positive: true }),
    },
    short_lived_asset: {
      ...base.short_lived_asset,
      ...t(f.short_lived_asset),
      window_hours: num('short_lived_asset.windowHours', f.short_lived_asset.windowHours, { positive: true }),
      ignore_methods: parseList(f.short_lived_asset.ignoreMethods),
    },
  };
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, settings };
}

/** Which rule a form error belongs to (for the count on each rule's card); null: general. */
export function errorRule(field: string): RuleId | null {
  const head = field.split('.')[0]!;
  return head === 'learningHours' || head === 'geoipDatabase' ? null : (head as RuleId);
}
