import { describe, expect, it } from 'vitest';
import type { Finding } from '../api/bindings/Finding';
import type { RuleId } from '../api/bindings/RuleId';
import type { Severity } from '../api/bindings/Severity';
import {
  RULE_HELP,
  RULE_IDS,
  eventCount,
  groupSpan,
  firstSeq,
  flagTitle,
  ruleName,
  severityLabel,
} from './findings';

const ref = (seq: number) => ({ seq, source: '/cloudAccounts/1', event_id: `e${seq}` });
const f = (key: string, rule: RuleId, severity: Severity, seqs: number[], t: number): Finding => ({
  key,
  rule,
  severity,
  events: seqs.map(ref),
  asset: null,
  asset_label: null,
  principal: 'arn:aws:iam::1:user/jdoe',
  principal_short: 'jdoe',
  summary: key,
  time: new Date(t * 1000).toISOString(),
  time_us: t * 1_000_000,
  count: seqs.length,
  first_time: new Date(t * 1000).toISOString(),
  last_time: new Date((t + seqs.length - 1) * 1000).toISOString(),
});

const ALL = [
  f('new_source_ip:a', 'new_source_ip', 'medium', [2], 100),
  f('reverted_change:b', 'reverted_change', 'high', [3, 4], 120),
  f('short_lived_asset:c', 'short_lived_asset', 'high', [2, 5], 120),
  f('off_hours:d', 'off_hours', 'low', [2, 3, 4, 5], 130),
];

describe('rule names', () => {
  it('names every rule id Rust has, in words, with what it looks for', () => {
    expect(RULE_IDS).toHaveLength(8);
    expect(ruleName('reverted_change')).toBe('Reverted change');
    expect(ruleName('console_where_iac')).toBe('Console change to IaC');
    for (const id of RULE_IDS) {
      expect(ruleName(id)).not.toBe(id);
      expect(RULE_HELP[id].length).toBeGreaterThan(20);
    }
    expect(new Set(RULE_IDS.map(ruleName)).size).toBe(8);
  });

  it('shows an id it does not know as it came, and never an inherited name', () => {
    expect(ruleName('dns_tunnel')).toBe('dns_tunnel');
    expect(ruleName('toString')).toBe('toString');
  });

  it('says severities in words', () => {
    expect(['high', 'medium', 'low'].map((s) => severityLabel(s as Severity))).toEqual(['High', 'Medium', 'Low']);
  });
});

describe('findings of one change', () => {
  it('opens a finding at its first event', () => {
    expect(firstSeq(ALL[1]!)).toBe(3);
    expect(firstSeq({ ...ALL[1]!, events: [] })).toBeNull();
    expect(eventCount(ALL[0]!)).toBe('1 event');
    expect(eventCount(ALL[3]!)).toBe('4 events');
  });

  it('counts every event of a grouped finding, not only the ones it lists', () => {
    const grouped: Finding = {
      ...ALL[0]!,
      count: 1204,
      first_time: '2024-05-01T12:00:00Z',
      last_time: '2024-05-02T09:15:30Z',
    };
    expect(eventCount(grouped)).toBe('1,204 events');
    expect(groupSpan(grouped, 'utc')).toBe('×1,204 · first 05-01 12:00:00 · last 05-02 09:15:30');
    expect(groupSpan(ALL[0]!, 'utc')).toBeNull();
    expect(groupSpan({ ...grouped, first_time: 'not a time' }, 'utc')).toContain('first not a time');
  });

  it('titles a row flag with the rule names, each once', () => {
    expect(flagTitle(['reverted_change'])).toBe('Finding: Reverted change');
    expect(flagTitle(['off_hours', 'reverted_change', 'off_hours'])).toBe('Findings: Off-hours activity, Reverted change');
  });
});

