// The insight charts' data, shaped for Chart.js, their text alternatives, and what clicking a
// chart element does to the change list's filters. Pure: Rust computes the numbers.
import type { FacetCount } from '../api/bindings/FacetCount';
import type { RateBucket } from '../api/bindings/RateBucket';
import {
  WEEKDAYS,
  hourText,
  onlyFacetValue,
  setAsset,
  setTimeFrom,
  setTimeTo,
  setWeekdayHour,
  type FilterState,
} from './filters';
import { formatCount, methodKey, methodLabel, parseTime, timeParts, zoneLabel, type MethodKey, type Zone } from './format';

/** The change badges' colours (app.css --add, --upd, --del). */
export const CHANGE_COLOURS = { create: '#56c48f', update: '#e2b56c', delete: '#ef7a80' } as const;

/** The method tags' colours (MethodTag.svelte). */
export const METHOD_COLOURS: Readonly<Record<MethodKey, string>> = {
  console: '#c8a2f0',
  cli: '#7fc8d8',
  terraform: '#a4a6f5',
  sdk: '#8fc6a0',
  provider: '#9aa3af',
  unknown: '#6c7480',
};

// --- change rate -----------------------------------------------------------------------------

export type RateSeries = {
  /** Axis labels, as short as the bucket width allows. */
  labels: string[];
  /** Each bucket's span in words, for the tooltip. */
  titles: string[];
  create: number[];
  update: number[];
  delete: number[];
};

const DAY_BUCKETS = new Set(['day', 'week', '30 days']);

function clockText(iso: string, zone: Zone): { date: string; hm: string } | null {
  const p = timeParts(iso, zone);
  return p ? { date: p.date, hm: p.time.slice(0, 5) } : null;
}

/** Buckets → one stacked bar per bucket, by change type. Labels say the time of day, with the
 * date when the buckets span several days, or only the date for day-wide buckets. */
export function rateSeries(rate: readonly RateBucket[], bucket: string, zone: Zone): RateSeries {
  const starts = rate.map((b) => clockText(b.start, zone));
  const days = new Set(starts.map((s) => s?.date));
  const byDay = DAY_BUCKETS.has(bucket);
  const zl = zoneLabel(zone, rate.length > 0 ? parseTime(rate[0]!.start) : Date.now());
  return {
    labels: rate.map((b, i) => {
      const s = starts[i];
      if (!s) return b.start;
      if (byDay) return s.date;
      return days.size > 1 ? `${s.date.slice(5)} ${s.hm}` : s.hm;
    }),
    titles: rate.map((b, i) => {
      const s = starts[i];
      const e = clockText(b.end, zone);
      if (!s || !e) return `${b.start} – ${b.end}`;
      if (byDay) return `${s.date} – ${e.date} ${zl}`;
      return `${s.date} ${s.hm} – ${e.date === s.date ? '' : e.date + ' '}${e.hm} ${zl}`;
    }),
    create: rate.map((b) => b.create),
    update: rate.map((b) => b.update),
    delete: rate.map((b) => b.delete),
  };
}

/** One microsecond before `iso` (a whole-millisecond RFC 3339 time): Rust's `time_to` is
 * inclusive and a bucket's end is the next bucket's start. */
export function justBefore(iso: string): string {
  const ms = parseTime(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${iso}`);
  return new Date(ms - 1).toISOString().replace(/Z$/, '999Z');
}

/** A rate bar clicked: the list shows that bucket's changes (other filters stay). */
export function rateBucketFilter(state: FilterState, b: RateBucket): FilterState {
  const from = parseTime(b.start);
  if (Number.isNaN(from)) throw new RangeError(`not a time: ${b.start}`);
  return setTimeTo(setTimeFrom(state, new Date(from).toISOString()), justBefore(b.end));
}

export function rateSummary(rate: readonly RateBucket[], bucket: string, zone: Zone): string {
  const total = (b: RateBucket) => b.create + b.update + b.delete;
  const sum = (k: 'create' | 'update' | 'delete') => rate.reduce((n, b) => n + b[k], 0);
  const all = rate.reduce((n, b) => n + total(b), 0);
  if (rate.length === 0 || all === 0) return 'Change rate over time: no changes in this view.';
  const s = rateSeries(rate, bucket, zone);
  let busiest = 0;
  rate.forEach((b, i) => {
    if (total(b) > total(rate[busiest]!)) busiest = i;
  });
  return (
    `Change rate per ${bucket}, ${s.titles[0]!.split(' – ')[0]} to ${s.titles[s.titles.length - 1]!.split(' – ')[1]}: ` +
    `${formatCount(all)} ${all === 1 ? 'change' : 'changes'}, ${formatCount(sum('create'))} created, ` +
    `${formatCount(sum('update'))} updated, ${formatCount(sum('delete'))} deleted. ` +
    `Busiest ${bucket}: ${s.titles[busiest]} with ${formatCount(total(rate[busiest]!))}.`
  );
}

// --- heatmap ---------------------------------------------------------------------------------

export const WEEKDAYS_SHORT: readonly string[] = WEEKDAYS.map((d) => d.slice(0, 3));
export const HOURS: readonly string[] = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

/** One heatmap cell: category labels for the axes, the count, and what it filters by. */
export type HeatCell = { x: string; y: string; v: number; weekday: number; hour: number };

/** 7 rows (Monday first) of 24 UTC hours → 168 cells; missing numbers count as 0. */
export function heatmapCells(heatmap: ReadonlyArray<ReadonlyArray<number>>): { cells: HeatCell[]; max: number } {
  const cells: HeatCell[] = [];
  let max = 0;
  for (let weekday = 0; weekday < 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) {
      const v = heatmap[weekday]?.[hour] ?? 0;
      max = Math.max(max, v);
      cells.push({ x: HOURS[hour]!, y: WEEKDAYS_SHORT[weekday]!, v, weekday, hour });
    }
  }
  return { cells, max };
}

/** A cell's fill: empty cells faint, the busiest full accent. */
export function heatColour(v: number, max: number): string {
  if (v <= 0 || max <= 0) return 'rgba(126, 166, 244, 0.04)';
  const alpha = 0.18 + 0.82 * Math.sqrt(v / max);
  return `rgba(126, 166, 244, ${alpha.toFixed(3)})`;
}

/** A heatmap cell clicked: that weekday and hour (UTC), other filters kept. */
export function heatCellFilter(state: FilterState, cell: Pick<HeatCell, 'weekday' | 'hour'>): FilterState {
  return setWeekdayHour(state, cell.weekday, cell.hour);
}

export function heatmapSummary(heatmap: ReadonlyArray<ReadonlyArray<number>>, zone: Zone = 'utc'): string {
  const { cells } = heatmapCells(heatmap);
  const used = cells.filter((c) => c.v > 0).sort((a, b) => b.v - a.v || a.weekday - b.weekday || a.hour - b.hour);
  const zl = zoneLabel(zone);
  if (used.length === 0) return `Busiest hour by weekday (${zl}): no changes in this view.`;
  const total = used.reduce((n, c) => n + c.v, 0);
  const top = used
    .slice(0, 3)
    .map((c) => `${WEEKDAYS[c.weekday]} ${hourText(c.hour, zone)}: ${formatCount(c.v)}`)
    .join('; ');
  return `Busiest hour by weekday (${zl}), ${formatCount(total)} changes in ${used.length} of 168 weekday-hours. Busiest: ${top}.`;
}

// --- top lists and methods -------------------------------------------------------------------

/** Long labels (hostile ones too) would squeeze the bars: cut to `max` characters. */
export function shortLabel(text: string, max = 28): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

export type BarSeries = { labels: string[]; full: string[]; values: number[] };

/** `text` cut to `max` characters in its middle: its start and its end stay (two names that
 * differ only at the end, like a CI run's number, stay apart). */
export function middleLabel(text: string, max = 28): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return chars.slice(0, head).join('') + '…' + chars.slice(chars.length - (max - 1 - head)).join('');
}

/** Axis labels cut to `max` characters: at the end, or in the middle where cutting at the end
 * would give two different names one label. */
export function barSeries(items: readonly FacetCount[], max = 28): BarSeries {
  const ends = items.map((i) => shortLabel(i.label, max));
  const labels = ends.map((cut, n) =>
    ends.some((other, m) => m !== n && other === cut && items[m]!.label !== items[n]!.label)
      ? middleLabel(items[n]!.label, max)
      : cut,
  );
  return {
    labels,
    full: items.map((i) => (i.label === i.value ? i.label : `${i.label} (${i.value})`)),
    values: items.map((i) => i.count),
  };
}

export function topSummary(title: string, items: readonly FacetCount[]): string {
  if (items.length === 0) return `${title}: none in this view.`;
  return `${title}: ${items.map((i) => `${i.label} ${formatCount(i.count)}`).join(', ')}.`;
}

/** An asset bar clicked: that asset's changes in the current view. */
export function assetFilter(state: FilterState, item: FacetCount): FilterState {
  return setAsset(state, item.value, item.label);
}

export function principalFilter(state: FilterState, item: FacetCount): FilterState {
  return onlyFacetValue(state, 'principal', item.value, item.label);
}

export function methodFilter(state: FilterState, item: FacetCount): FilterState {
  return onlyFacetValue(state, 'method', item.value, item.label);
}

export type MethodSeries = { labels: string[]; values: number[]; colours: string[]; percents: number[] };

export function methodSeries(items: readonly FacetCount[]): MethodSeries {
  const total = items.reduce((n, i) => n + i.count, 0);
  return {
    labels: items.map((i) => methodLabel(i.value)),
    values: items.map((i) => i.count),
    colours: items.map((i) => METHOD_COLOURS[methodKey(i.value)]),
    percents: items.map((i) => (total === 0 ? 0 : Math.round((i.count * 100) / total))),
  };
}

export function methodsSummary(items: readonly FacetCount[]): string {
  if (items.length === 0) return 'Share of each method: no changes in this view.';
  const s = methodSeries(items);
  return `Share of each method: ${s.labels.map((l, i) => `${l} ${formatCount(s.values[i]!)} (${s.percents[i]}%)`).join(', ')}.`;
}

/** All changes the rate chart counts: the view's size. */
export function rateTotal(rate: readonly RateBucket[]): number {
  return rate.reduce((n, b) => n + b.create + b.update + b.delete, 0);
}
