// Findings as the page shows them: rule ids in words, severities, the Findings panel's filter
// (Rust picks, orders and counts the findings).
// Pure: Rust decides what is a finding; this only presents them.
import type { Finding } from '../api/bindings/Finding';
import type { RuleId } from '../api/bindings/RuleId';
import type { Severity } from '../api/bindings/Severity';
import { formatCount, timeParts, type Zone } from './format';

/** In the order the settings file and Rust list them. */
export const RULE_IDS: readonly RuleId[] = [
  'new_source_ip',
  'console_where_iac',
  'unexpected_principal',
  'unexpected_region',
  'off_hours',
  'impossible_travel',
  'reverted_change',
  'short_lived_asset',
];

const RULE_NAMES: Readonly<Record<RuleId, string>> = {
  new_source_ip: 'New source IP',
  console_where_iac: 'Console change to IaC',
  unexpected_principal: 'Unexpected principal',
  unexpected_region: 'Unexpected region',
  off_hours: 'Off-hours activity',
  impossible_travel: 'Impossible travel',
  reverted_change: 'Reverted change',
  short_lived_asset: 'Short-lived asset',
};

/** What each rule looks for, in one line (the settings dialog and tooltips). */
export const RULE_HELP: Readonly<Record<RuleId, string>> = {
  new_source_ip: 'A principal changes something from an IP address not seen for it before (after the learning period).',
  console_where_iac: 'A console change to an asset or account managed as code (Terraform ever changed it, or listed here).',
  unexpected_principal: 'A principal not on the allowed list for that account or asset type, or never seen changing anything before.',
  unexpected_region: 'A create in a region where the account had no assets before, or one not on the allowed list.',
  off_hours: 'Changes outside working hours and days, and hours with an order of magnitude more changes than usual.',
  impossible_travel: 'Two changes by one principal from places too far apart for the time between them (needs a GeoIP database).',
  reverted_change: "An asset's configuration returns to an earlier state within the window: one finding for both events.",
  short_lived_asset: 'An asset created and deleted within the window.',
};

function isRuleId(id: string): id is RuleId {
  return Object.hasOwn(RULE_NAMES, id);
}

/** "Reverted change" for `reverted_change`; an id this page does not know is shown as it came. */
export function ruleName(id: string): string {
  return isRuleId(id) ? RULE_NAMES[id] : id;
}

/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

export function severityLabel(s: Severity): string {
  return s === 'high' ? 'High' : s === 'medium' ? 'Medium' : 'Low';
}


/** The panel's filter: one rule or all, one severity or all. */
export type FindingFilter = { readonly rule: RuleId | null; readonly severity: Severity | null };

export const NO_FINDING_FILTER: FindingFilter = { rule: null, severity: null };




/** The event to select when a finding is opened: its first one. */
export function firstSeq(f: Finding): number | null {
  return f.events.length === 0 ? null : f.events[0]!.seq;
}


/** A row's flag: the rule names in its tooltip, and the ids for `data-rules`. */
export function flagTitle(rules: readonly string[]): string {
  const names = [...new Set(rules)].map(ruleName);
  return `${names.length === 1 ? 'Finding' : 'Findings'}: ${names.join(', ')}`;
}

/** "1 event", "1,204 events": every event behind the finding, not only those it lists. */
export function eventCount(f: Finding): string {
  return `${formatCount(f.count)} ${f.count === 1 ? 'event' : 'events'}`;
}

/** "05-01 12:00", a finding's time in the list's short form (the text as it came if unreadable). */
function shortTime(iso: string, zone: Zone): string {
  const t = timeParts(iso, zone);
  return t ? `${t.date.slice(5)} ${t.time}` : iso;
}

/** For a finding that groups several events (a principal's new address, a day off-hours):
 * "×3 · first 05-01 12:00 · last 05-02 09:15" in `zone`; null for a finding of one event. */
export function groupSpan(f: Finding, zone: Zone): string | null {
  if (f.count <= 1) return null;
  return `×${formatCount(f.count)} · first ${shortTime(f.first_time, zone)} · last ${shortTime(f.last_time, zone)}`;
}
