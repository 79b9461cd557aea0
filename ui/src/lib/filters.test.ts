import { describe, expect, it } from 'vitest';
import { zoneLabel } from './format';
import {
  chips,
  clearAll,
  emptyFilters,
  hasFilters,
  isPicked,
  onlyFacetValue,
  onlyFinding,
  pivotToAsset,
  removeChip,
  sameQuery,
  hideValue,
  setActivity,
  setStarredOnly,
  setText,
  setTimeFrom,
  setTimeTo,
  setAsset,
  setWeekdayHour,
  toggleFacet,
  toQuery,
  uptoSeq,
} from './filters';

const ARN = 'arn:aws:iam::123456789012:user/jdoe';

describe('facet toggling', () => {
  it('ticks and unticks a value without touching the input', () => {
    const s0 = emptyFilters();
    const s1 = toggleFacet(s0, 'method', 'console', 'Console');
    expect(isPicked(s1, 'method', 'console')).toBe(true);
    expect(isPicked(s0, 'method', 'console')).toBe(false);
    const s2 = toggleFacet(s1, 'method', 'console', 'Console');
    expect(isPicked(s2, 'method', 'console')).toBe(false);
    expect(s1.facets.method).toHaveLength(1);
  });

  it('keeps other facets when one changes', () => {
    const s = toggleFacet(toggleFacet(emptyFilters(), 'region', 'us-east-1', 'us-east-1'), 'method', 'cli', 'CLI');
    expect(toQuery(s).regions).toEqual(['us-east-1']);
    expect(toQuery(s).methods).toEqual(['cli']);
  });
});

describe('query building', () => {
  it('is empty for no filters', () => {
    expect(toQuery(emptyFilters())).toEqual({
      changes: [],
      asset_types: [],
      methods: [],
      principals: [],
      regions: [],
      accounts: [],
      time_from: null,
      time_to: null,
      text: null,
      asset_name: null,
      starred_only: false,
      tags: [],
      weekday: null,
      hour: null,
      local_time: false,
      finding: null,
      max_seq: null,
      after_seq: null,
      activity: false,
      exclude_changes: [],
      exclude_asset_types: [],
      exclude_methods: [],
      exclude_principals: [],
      exclude_regions: [],
      exclude_accounts: [],
    });
  });

  it('hides facet values, each a removable chip, and unticks a hidden value', () => {
    let s = toggleFacet(emptyFilters(), 'method', 'provider', 'provider');
    s = hideValue(s, 'method', 'provider', 'provider');
    s = hideValue(s, 'principal', ARN, 'jdoe');
    const q = toQuery(s);
    expect(q.methods).toEqual([]);
    expect(q.exclude_methods).toEqual(['provider']);
    expect(q.exclude_principals).toEqual([ARN]);
    const chip = chips(s, 'utc').find((c) => c.kind === 'hidden' && c.facet === 'method');
    expect(chip?.text).toBe('not method: provider');
    expect(toQuery(removeChip(s, chip!)).exclude_methods).toEqual([]);
    expect(hasFilters(s)).toBe(true);
  });

  it('lists activity instead of changes, shown as a removable chip', () => {
    const s = setActivity(emptyFilters(), true);
    expect(toQuery(s).activity).toBe(true);
    const chip = chips(s, 'utc').find((c) => c.kind === 'activity');
    expect(chip?.text).toBe('activity, not changes');
    expect(toQuery(removeChip(s, chip!)).activity).toBe(false);
  });

  it('combines every filter, with the full ARN for principals', () => {
    let s = emptyFilters();
    s = toggleFacet(s, 'change', 'update', 'update');
    s = toggleFacet(s, 'asset_type', 'network.firewall', 'network.firewall');
    s = toggleFacet(s, 'principal', ARN, 'jdoe');
    s = toggleFacet(s, 'account', '123456789012', '123456789012');
    s = setTimeFrom(s, '2024-05-05T14:00:00.000Z');
    s = setTimeTo(s, '2024-05-05T15:00:00.000Z');
    s = setText(s, '  203.0.113.66 ');
    const q = toQuery(s);
    expect(q.changes).toEqual(['update']);
    expect(q.asset_types).toEqual(['network.firewall']);
    expect(q.principals).toEqual([ARN]);
    expect(q.accounts).toEqual(['123456789012']);
    expect(q.time_from).toBe('2024-05-05T14:00:00.000Z');
    expect(q.time_to).toBe('2024-05-05T15:00:00.000Z');
    expect(q.text).toBe('203.0.113.66');
  });

  it('gives the same query whatever order values were ticked in', () => {
    const a = toggleFacet(toggleFacet(emptyFilters(), 'region', 'b', 'b'), 'region', 'a', 'a');
    const b = toggleFacet(toggleFacet(emptyFilters(), 'region', 'a', 'a'), 'region', 'b', 'b');
    expect(sameQuery(toQuery(a), toQuery(b))).toBe(true);
  });

  it('drops change values Rust would not understand', () => {
    const s = toggleFacet(toggleFacet(emptyFilters(), 'change', 'com.opshelm.cost', 'cost'), 'change', 'delete', 'delete');
    expect(toQuery(s).changes).toEqual(['delete']);
  });

  it('asks for starred events and any of the ticked tags, sorted', () => {
    let s = setStarredOnly(emptyFilters(), true);
    s = toggleFacet(s, 'tag', 'vendor-access', 'vendor-access');
    s = toggleFacet(s, 'tag', 'exfil-path', 'exfil-path');
    const q = toQuery(s);
    expect(q.starred_only).toBe(true);
    expect(q.tags).toEqual(['exfil-path', 'vendor-access']);
    // tags are the analyst's, not an event facet
    expect(q.asset_types).toEqual([]);
    expect(toQuery(setStarredOnly(s, false)).starred_only).toBe(false);
  });

  it('never limits the filters to an arrival; uptoSeq does, without touching the filters', () => {
    const s = toggleFacet(setStarredOnly(emptyFilters(), true), 'region', 'us-east-1', 'us-east-1');
    const q = toQuery(s);
    expect(q.max_seq).toBeNull();
    const frozen = uptoSeq(q, 1200);
    expect(frozen.max_seq).toBe(1200);
    expect({ ...frozen, max_seq: null }).toEqual(q);
    expect(q.max_seq).toBeNull();
    expect(uptoSeq(frozen, 1200)).toBe(frozen);
    expect(uptoSeq(frozen, null).max_seq).toBeNull();
    // the paused view's limit is not a filter: the same filters are the same query
    expect(sameQuery(toQuery(s), toQuery(s))).toBe(true);
    expect(sameQuery(frozen, q)).toBe(false);
  });

  it('treats blank text as no text', () => {
    expect(toQuery(setText(emptyFilters(), '   ')).text).toBeNull();
  });
});

describe('chips', () => {
  const full = () => {
    let s = pivotToAsset('ohn:aws:1:us-east-1:db:x', 'prod-payments-db');
    s = toggleFacet(s, 'principal', ARN, 'jdoe');
    s = toggleFacet(s, 'method', 'console', 'Console');
    s = setTimeFrom(s, '2024-05-05T14:00:00.000Z');
    s = setText(s, 'sg-0db5');
    return s;
  };

  it('shows one chip per active filter, with labels', () => {
    const c = chips(full(), 'utc');
    expect(c.map((x) => x.text)).toEqual([
      'asset: prod-payments-db',
      'method: Console',
      'principal: jdoe',
      'from 2024-05-05 14:00:00',
      'text: sg-0db5',
    ]);
    expect(c.find((x) => x.text === 'principal: jdoe')?.title).toBe(ARN);
  });

  it('removes exactly the filter of the chip', () => {
    const s = full();
    const principal = chips(s, 'utc').find((x) => x.kind === 'facet' && x.facet === 'principal');
    expect(principal).toBeDefined();
    const after = removeChip(s, principal!);
    expect(toQuery(after).principals).toEqual([]);
    expect(toQuery(after).methods).toEqual(['console']);
    expect(toQuery(after).asset_name).toBe('ohn:aws:1:us-east-1:db:x');
    expect(chips(after, 'utc')).toHaveLength(4);
    // the original is untouched
    expect(toQuery(s).principals).toEqual([ARN]);
  });

  it('removes the pivot, the text and the time bounds', () => {
    let s = full();
    for (const kind of ['asset', 'text', 'time_from'] as const) {
      const chip = chips(s, 'utc').find((x) => x.kind === kind)!;
      s = removeChip(s, chip);
    }
    const q = toQuery(s);
    expect(q.asset_name).toBeNull();
    expect(q.text).toBeNull();
    expect(q.time_from).toBeNull();
    expect(q.methods).toEqual(['console']);
  });

  it('clear all leaves no chip and no filter', () => {
    expect(hasFilters(full())).toBe(true);
    const s = clearAll();
    expect(chips(s, 'utc')).toEqual([]);
    expect(hasFilters(s)).toBe(false);
    expect(sameQuery(toQuery(s), toQuery(emptyFilters()))).toBe(true);
  });

  it('shows "starred only" and each tag as a chip, and removes each alone', () => {
    let s = setStarredOnly(emptyFilters(), true);
    s = toggleFacet(s, 'tag', 'exfil-path', 'exfil-path');
    s = toggleFacet(s, 'method', 'console', 'Console');
    const c = chips(s, 'utc');
    expect(c.map((x) => x.text)).toEqual(['★ starred only', 'tag: exfil-path', 'method: Console']);
    const noStar = removeChip(s, c.find((x) => x.kind === 'starred')!);
    expect(noStar.starredOnly).toBe(false);
    expect(toQuery(noStar).tags).toEqual(['exfil-path']);
    const noTag = removeChip(s, c.find((x) => x.kind === 'facet' && x.facet === 'tag')!);
    expect(toQuery(noTag).tags).toEqual([]);
    expect(noTag.starredOnly).toBe(true);
  });

  it('clear all drops the star and tag filters too', () => {
    const s = toggleFacet(setStarredOnly(emptyFilters(), true), 'tag', 'x', 'x');
    expect(hasFilters(s)).toBe(true);
    expect(hasFilters(setStarredOnly(emptyFilters(), true))).toBe(true);
    const q = toQuery(clearAll());
    expect(q.starred_only).toBe(false);
    expect(q.tags).toEqual([]);
  });

  it('pivoting drops the filters set for another question', () => {
    const s = pivotToAsset('ohn:x', 'x');
    expect(chips(s, 'utc').map((c) => c.kind)).toEqual(['asset']);
  });
});

describe('findings and heatmap cells as filters', () => {
  const KEY = 'reverted_change:ohn:aws:1:us-east-1:network-firewall:sg-1|3|4';

  it('a finding shows exactly its events: other filters go, its key is the query', () => {
    const before = setText(toggleFacet(emptyFilters(), 'method', 'cli', 'CLI'), 'x');
    const s = onlyFinding(KEY, 'Reverted change', 'prod-db-sg allowed … for 16m45s');
    expect(toQuery(s)).toEqual({ ...toQuery(emptyFilters()), finding: KEY });
    const c = chips(s, 'utc');
    expect(c.map((x) => [x.kind, x.text])).toEqual([['finding', 'finding: Reverted change']]);
    expect(c[0]!.title).toBe('prod-db-sg allowed … for 16m45s');
    expect(toQuery(removeChip(s, c[0]!)).finding).toBeNull();
    expect(hasFilters(s)).toBe(true);
    expect(toQuery(before).finding).toBeNull();
  });

  it('a heatmap cell keeps the other filters and adds weekday and hour, each removable', () => {
    const s = setWeekdayHour(toggleFacet(emptyFilters(), 'method', 'console', 'Console'), 6, 14);
    const q = toQuery(s);
    expect([q.weekday, q.hour, q.methods]).toEqual([6, 14, ['console']]);
    // In local time the cell, its chips and the query say so.
    const c = chips(s, 'local');
    const local = zoneLabel('local');
    expect(c.map((x) => x.text)).toEqual(['method: Console', `weekday: Sunday (${local})`, `hour: 14:00–15:00 ${local}`]);
    expect([toQuery(s, 'local').local_time, toQuery(s, 'utc').local_time]).toEqual([true, false]);
    const noDay = removeChip(s, c.find((x) => x.kind === 'weekday')!);
    expect([toQuery(noDay).weekday, toQuery(noDay).hour]).toEqual([null, 14]);
    const noHour = removeChip(s, c.find((x) => x.kind === 'hour')!);
    expect([toQuery(noHour).weekday, toQuery(noHour).hour]).toEqual([6, null]);
    expect(chips(setWeekdayHour(emptyFilters(), 0, 23), 'utc').map((x) => x.text)).toEqual([
      'weekday: Monday (UTC)',
      'hour: 23:00–00:00 UTC',
    ]);
  });

  it('refuses a weekday or hour Rust does not have', () => {
    expect(() => setWeekdayHour(emptyFilters(), 7, 0)).toThrow(RangeError);
    expect(() => setWeekdayHour(emptyFilters(), 0, 24)).toThrow(RangeError);
    expect(() => setWeekdayHour(emptyFilters(), -1, null)).toThrow(RangeError);
    expect(() => setWeekdayHour(emptyFilters(), 1.5, null)).toThrow(RangeError);
    expect(toQuery(setWeekdayHour(emptyFilters(), null, 0)).hour).toBe(0);
  });

  it('narrowing to one asset or one facet value keeps the rest', () => {
    let s = toggleFacet(toggleFacet(emptyFilters(), 'principal', 'a', 'a'), 'principal', 'b', 'b');
    s = setText(s, 'sg');
    const one = onlyFacetValue(s, 'principal', ARN, 'jdoe');
    expect(toQuery(one).principals).toEqual([ARN]);
    expect(toQuery(one).text).toBe('sg');
    const asset = setAsset(one, 'ohn:x', 'x-label');
    expect(toQuery(asset).asset_name).toBe('ohn:x');
    expect(toQuery(asset).principals).toEqual([ARN]);
    expect(chips(asset, 'utc')[0]!.text).toBe('asset: x-label');
  });
});

