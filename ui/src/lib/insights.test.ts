import { describe, expect, it } from 'vitest';
import type { RateBucket } from '../api/bindings/RateBucket';
import { emptyFilters, setText, toggleFacet, toQuery } from './filters';
import {
  CHANGE_COLOURS,
  METHOD_COLOURS,
  assetFilter,
  barSeries,
  heatCellFilter,
  heatColour,
  heatmapCells,
  heatmapSummary,
  justBefore,
  methodFilter,
  methodSeries,
  methodsSummary,
  principalFilter,
  rateBucketFilter,
  rateSeries,
  rateSummary,
  shortLabel,
  topSummary,
} from './insights';

const bucket = (start: string, end: string, create: number, update: number, del: number): RateBucket => ({
  start,
  end,
  create,
  update,
  delete: del,
});

// Sunday 5 May 2024, hourly, the way Rust writes bucket bounds.
const HOURLY = [
  bucket('2024-05-05T13:00:00Z', '2024-05-05T14:00:00Z', 1, 2, 0),
  bucket('2024-05-05T14:00:00Z', '2024-05-05T15:00:00Z', 2, 2, 1),
  bucket('2024-05-05T15:00:00Z', '2024-05-05T16:00:00Z', 0, 0, 0),
];

const heat = () => {
  const h = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  h[6]![14] = 5;
  h[6]![13] = 3;
  h[0]![9] = 1;
  return h;
};

describe('change rate', () => {
  it('turns buckets into one stacked series per change type', () => {
    const s = rateSeries(HOURLY, 'hour', 'utc');
    expect(s.create).toEqual([1, 2, 0]);
    expect(s.update).toEqual([2, 2, 0]);
    expect(s.delete).toEqual([0, 1, 0]);
    expect(s.labels).toEqual(['13:00', '14:00', '15:00']);
    expect(s.titles[1]).toBe('2024-05-05 14:00 – 15:00 UTC');
  });

  it('puts the date in the labels when the buckets span days, only the date for day buckets', () => {
    const two = [bucket('2024-05-05T18:00:00Z', '2024-05-06T00:00:00Z', 1, 0, 0), bucket('2024-05-06T00:00:00Z', '2024-05-06T06:00:00Z', 0, 1, 0)];
    const s = rateSeries(two, '6 hours', 'utc');
    expect(s.labels).toEqual(['05-05 18:00', '05-06 00:00']);
    expect(s.titles[0]).toBe('2024-05-05 18:00 – 2024-05-06 00:00 UTC');
    const days = rateSeries([bucket('2024-05-05T00:00:00Z', '2024-05-06T00:00:00Z', 1, 0, 0)], 'day', 'utc');
    expect(days.labels).toEqual(['2024-05-05']);
  });

  it('uses the same colours as the change badges', () => {
    expect(CHANGE_COLOURS).toEqual({ create: '#56c48f', update: '#e2b56c', delete: '#ef7a80' });
  });

  it('a clicked bar filters to exactly that bucket: Rust\'s time_to is inclusive', () => {
    expect(justBefore('2024-05-05T15:00:00Z')).toBe('2024-05-05T14:59:59.999999Z');
    const s = rateBucketFilter(setText(emptyFilters(), 'jdoe'), HOURLY[1]!);
    const q = toQuery(s);
    expect(q.time_from).toBe('2024-05-05T14:00:00.000Z');
    expect(q.time_to).toBe('2024-05-05T14:59:59.999999Z');
    expect(q.text).toBe('jdoe');
    expect(() => justBefore('not a time')).toThrow(RangeError);
  });

  it('describes the chart in words with its key figures', () => {
    const text = rateSummary(HOURLY, 'hour', 'utc');
    expect(text).toContain('8 changes, 3 created, 4 updated, 1 deleted');
    expect(text).toContain('2024-05-05 13:00 to 16:00 UTC');
    expect(text).toContain('Busiest hour: 2024-05-05 14:00 – 15:00 UTC with 5');
    expect(rateSummary([], 'hour', 'utc')).toBe('Change rate over time: no changes in this view.');
  });
});

describe('heatmap', () => {
  it('makes 168 cells, Monday first, and knows the busiest', () => {
    const { cells, max } = heatmapCells(heat());
    expect(cells).toHaveLength(168);
    expect(max).toBe(5);
    expect(cells[0]).toEqual({ x: '00', y: 'Mon', v: 0, weekday: 0, hour: 0 });
    const sunday2pm = cells.find((c) => c.v === 5)!;
    expect([sunday2pm.y, sunday2pm.x, sunday2pm.weekday, sunday2pm.hour]).toEqual(['Sun', '14', 6, 14]);
  });

  it('treats a short or missing row as zeros', () => {
    const { cells, max } = heatmapCells([[2]]);
    expect(cells).toHaveLength(168);
    expect(max).toBe(2);
    expect(cells.filter((c) => c.v > 0)).toHaveLength(1);
  });

  it('a clicked cell filters by its weekday and hour, keeping the other filters', () => {
    const before = toggleFacet(emptyFilters(), 'principal', 'arn:jdoe', 'jdoe');
    const q = toQuery(heatCellFilter(before, { weekday: 6, hour: 14 }));
    expect([q.weekday, q.hour, q.principals]).toEqual([6, 14, ['arn:jdoe']]);
  });

  it('shades by count, faint when empty', () => {
    expect(heatColour(0, 5)).toBe('rgba(126, 166, 244, 0.04)');
    expect(heatColour(5, 5)).toBe('rgba(126, 166, 244, 1.000)');
    const a = (v: number) => Number(/, ([\d.]+)\)$/.exec(heatColour(v, 5))![1]);
    expect(a(1)).toBeLessThan(a(3));
  });

  it('names the busiest weekday-hours in its text alternative', () => {
    const text = heatmapSummary(heat());
    expect(text).toContain('9 changes in 3 of 168 weekday-hours');
    expect(text).toContain('Busiest: Sunday 14:00–15:00 UTC: 5; Sunday 13:00–14:00 UTC: 3; Monday 09:00–10:00 UTC: 1');
    expect(heatmapSummary([])).toContain('no changes');
  });
});

describe('top lists and methods', () => {
  const assets = [
    { value: 'ohn:aws:1:us-east-1:network-firewall:sg-1', label: 'prod-db-sg', count: 3, members: [] },
    { value: 'ohn:x', label: 'A'.repeat(60), count: 1, members: [] },
  ];

  it('cuts long labels for the axis and keeps the whole name for the tooltip', () => {
    const s = barSeries(assets, 20);
    expect(s.labels[0]).toBe('prod-db-sg');
    expect(s.labels[1]).toBe('A'.repeat(19) + '…');
    expect(s.full[0]).toBe('prod-db-sg (ohn:aws:1:us-east-1:network-firewall:sg-1)');
    expect(s.values).toEqual([3, 1]);
    expect(shortLabel('😀'.repeat(5), 3)).toBe('😀😀…');
  });

  it('never cuts two different names to one label', () => {
    const runs = ['terraform-ci/gh-actions-runner-8822', 'terraform-ci/gh-actions-runner-8823', 'jdoe'].map((label) => ({
      value: label,
      label,
      count: 1,
      members: [],
    }));
    const s = barSeries(runs, 20);
    expect(s.labels).toEqual(['terraform-…nner-8822', 'terraform-…nner-8823', 'jdoe']);
    expect(new Set(s.labels).size).toBe(3);
  });

  it('a clicked asset narrows to it; a principal or method to exactly that value', () => {
    const base = toggleFacet(toggleFacet(emptyFilters(), 'method', 'cli', 'cli'), 'method', 'sdk', 'sdk');
    expect(toQuery(assetFilter(base, assets[0]!)).asset_name).toBe(assets[0]!.value);
    expect(toQuery(assetFilter(base, assets[0]!)).methods).toEqual(['cli', 'sdk']);
    expect(toQuery(principalFilter(base, { value: 'arn:jdoe', label: 'jdoe', count: 2, members: [] })).principals).toEqual(['arn:jdoe']);
    expect(toQuery(methodFilter(base, { value: 'console', label: 'console', count: 2, members: [] })).methods).toEqual(['console']);
  });

  it('shares methods in their tag colours, with whole percents', () => {
    const m = methodSeries([
      { value: 'console', label: 'console', count: 6, members: [] },
      { value: 'terraform', label: 'terraform', count: 3, members: [] },
      { value: 'weird', label: 'weird', count: 2, members: [] },
    ]);
    expect(m.labels).toEqual(['Console', 'Terraform', 'weird']);
    expect(m.percents).toEqual([55, 27, 18]);
    expect(m.colours).toEqual([METHOD_COLOURS.console, METHOD_COLOURS.terraform, METHOD_COLOURS.unknown]);
    expect(methodsSummary([{ value: 'cli', label: 'cli', count: 1, members: [] }])).toBe('Share of each method: CLI 1 (100%).');
  });

  it('lists the top entries with counts in the text alternative', () => {
    expect(topSummary('Top assets', assets.slice(0, 1))).toBe('Top assets: prod-db-sg 3.');
    expect(topSummary('Top principals', [])).toBe('Top principals: none in this view.');
  });
});
