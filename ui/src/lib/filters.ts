// Filter state of the change list: which facet values are ticked (the analyst's tags among
// them), "starred only", the time range, the free text, the asset pivot, a finding's events and
// a weekday/hour (a heatmap cell). Every function returns a new state; none mutates its input.
// The state becomes a TimelineQuery for Rust, and chips for the user.
import type { ChangeKind } from '../api/bindings/ChangeKind';
import type { TimelineQuery } from '../api/bindings/TimelineQuery';
import { formatDateTime, zoneLabel, type Zone } from './format';

export type FacetKey = 'tag' | 'change' | 'asset_type' | 'method' | 'principal' | 'region' | 'account';

/** In the order the filter panel and the chips show them: the analyst's tags first. */
export const FACET_KEYS: readonly FacetKey[] = [
  'tag',
  'change',
  'asset_type',
  'method',
  'principal',
  'region',
  'account',
];

export const FACET_TITLES: Readonly<Record<FacetKey, string>> = {
  tag: 'Tag',
  change: 'Change',
  asset_type: 'Asset type',
  method: 'Method',
  principal: 'Principal',
  region: 'Region',
  account: 'Account',
};

/** A ticked facet value, with the label to show for it (principal: short name of the ARN). */
export type FacetPick = { readonly value: string; readonly label: string };

/** Facets whose values can be hidden (tags are the analyst's own: not hidden, just unticked). */
export type HideableKey = Exclude<FacetKey, 'tag'>;
export const HIDEABLE_KEYS: readonly HideableKey[] = ['change', 'asset_type', 'method', 'principal', 'region', 'account'];

export type FilterState = {
  readonly facets: Readonly<Record<FacetKey, readonly FacetPick[]>>;
  /** Values hidden from the list, facet by facet ("not method: provider"). */
  readonly hidden: Readonly<Record<HideableKey, readonly FacetPick[]>>;
  /** Only events the analyst starred. */
  readonly starredOnly: boolean;
  /** The events that are not asset changes (sign-ins, role assumptions, reads, refused calls)
   * instead of the changes. */
  readonly activity: boolean;
  /** RFC 3339 UTC bounds, or null for none. */
  readonly timeFrom: string | null;
  readonly timeTo: string | null;
  readonly text: string;
  /** Pivot to one asset: its OpsHelm name, and the label to show on the chip. */
  readonly asset: { readonly name: string; readonly label: string } | null;
  /** Only the events behind one finding: its key, and the rule's name for the chip. */
  readonly finding: { readonly key: string; readonly label: string; readonly title: string } | null;
  /** 0 = Monday … 6 = Sunday, UTC (Rust's numbering). */
  readonly weekday: number | null;
  /** 0–23, UTC. */
  readonly hour: number | null;
};

export type Chip =
  | { readonly kind: 'facet'; readonly facet: FacetKey; readonly value: string; readonly text: string; readonly title: string }
  | { readonly kind: 'hidden'; readonly facet: HideableKey; readonly value: string; readonly text: string; readonly title: string }
  | {
      readonly kind: 'starred' | 'activity' | 'time_from' | 'time_to' | 'text' | 'asset' | 'finding' | 'weekday' | 'hour';
      readonly value: string;
      readonly text: string;
      readonly title: string;
    };

const CHANGE_KINDS: readonly string[] = ['create', 'update', 'delete'] satisfies ChangeKind[];

export function emptyFilters(): FilterState {
  return {
    facets: { tag: [], change: [], asset_type: [], method: [], principal: [], region: [], account: [] },
    hidden: { change: [], asset_type: [], method: [], principal: [], region: [], account: [] },
    starredOnly: false,
    activity: false,
    timeFrom: null,
    timeTo: null,
    text: '',
    asset: null,
    finding: null,
    weekday: null,
    hour: null,
  };
}

export function isPicked(state: FilterState, key: FacetKey, value: string): boolean {
  return state.facets[key].some((p) => p.value === value);
}

/** Ticks `value` in facet `key`, or unticks it if it was ticked. */
export function toggleFacet(state: FilterState, key: FacetKey, value: string, label: string): FilterState {
  const picks = state.facets[key];
  const next = isPicked(state, key, value)
    ? picks.filter((p) => p.value !== value)
    : [...picks, { value, label }];
  return { ...state, facets: { ...state.facets, [key]: next } };
}

export function setText(state: FilterState, text: string): FilterState {
  return text === state.text ? state : { ...state, text };
}

export function setStarredOnly(state: FilterState, on: boolean): FilterState {
  return on === state.starredOnly ? state : { ...state, starredOnly: on };
}

export function setActivity(state: FilterState, on: boolean): FilterState {
  return on === state.activity ? state : { ...state, activity: on };
}

export function setTimeFrom(state: FilterState, iso: string | null): FilterState {
  return { ...state, timeFrom: iso };
}

export function setTimeTo(state: FilterState, iso: string | null): FilterState {
  return { ...state, timeTo: iso };
}

/** Pivot: show every event of one asset. Other filters are dropped so the pivot cannot come up
 * empty because of a filter that was set for a different question. */
export function pivotToAsset(name: string, label: string): FilterState {
  return { ...emptyFilters(), asset: { name, label } };
}

/** Only the events of one finding. Like a pivot, other filters are dropped so the list shows
 * exactly the finding's events. */
export function onlyFinding(key: string, label: string, title: string): FilterState {
  return { ...emptyFilters(), finding: { key, label, title } };
}

/** Narrows the current filters to one asset (a chart's bar: its count stays true). */
export function setAsset(state: FilterState, name: string, label: string): FilterState {
  return { ...state, asset: { name, label } };
}

/** Hides `value` of facet `key` (and unticks it if it was ticked). */
export function hideValue(state: FilterState, key: HideableKey, value: string, label: string): FilterState {
  const hidden = state.hidden[key].some((p) => p.value === value)
    ? state.hidden[key]
    : [...state.hidden[key], { value, label }];
  return {
    ...state,
    facets: { ...state.facets, [key]: state.facets[key].filter((p) => p.value !== value) },
    hidden: { ...state.hidden, [key]: hidden },
  };
}

/** Narrows facet `key` to exactly `value` (a chart element), keeping the other filters. */
export function onlyFacetValue(state: FilterState, key: FacetKey, value: string, label: string): FilterState {
  return { ...state, facets: { ...state.facets, [key]: [{ value, label }] } };
}

/** A heatmap cell: changes on that weekday and/or in that hour, in the zone times are shown in. */
export function setWeekdayHour(state: FilterState, weekday: number | null, hour: number | null): FilterState {
  const ok = (n: number | null, max: number) => n === null || (Number.isInteger(n) && n >= 0 && n <= max);
  if (!ok(weekday, 6) || !ok(hour, 23)) throw new RangeError(`no such weekday/hour: ${weekday}/${hour}`);
  return { ...state, weekday, hour };
}

export const WEEKDAYS: readonly string[] = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** "14:00–15:00 UTC" (or the local zone's label) */
export function hourText(hour: number, zone: Zone = 'utc'): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(hour)}:00–${two((hour + 1) % 24)}:00 ${zoneLabel(zone)}`;
}

export function clearAll(): FilterState {
  return emptyFilters();
}

export function hasFilters(state: FilterState): boolean {
  return chips(state, 'utc').length > 0;
}

export function chips(state: FilterState, zone: Zone): Chip[] {
  const out: Chip[] = [];
  if (state.asset) {
    out.push({ kind: 'asset', value: state.asset.name, text: `asset: ${state.asset.label}`, title: state.asset.name });
  }
  if (state.finding) {
    out.push({ kind: 'finding', value: state.finding.key, text: `finding: ${state.finding.label}`, title: state.finding.title });
  }
  if (state.activity) {
    out.push({
      kind: 'activity',
      value: 'activity',
      text: 'activity, not changes',
      title: 'Sign-ins, role assumptions, reads and refused calls: the events that changed no asset',
    });
  }
  if (state.starredOnly) {
    out.push({ kind: 'starred', value: 'starred', text: '★ starred only', title: 'Only the events you starred' });
  }
  for (const key of FACET_KEYS) {
    for (const p of state.facets[key]) {
      out.push({
        kind: 'facet',
        facet: key,
        value: p.value,
        text: `${FACET_TITLES[key].toLowerCase()}: ${p.label}`,
        title: p.value,
      });
    }
  }
  for (const key of HIDEABLE_KEYS) {
    for (const p of state.hidden[key]) {
      out.push({
        kind: 'hidden',
        facet: key,
        value: p.value,
        text: `not ${FACET_TITLES[key].toLowerCase()}: ${p.label}`,
        title: `Hidden: ${p.value}`,
      });
    }
  }
  if (state.timeFrom !== null) {
    const t = formatDateTime(state.timeFrom, zone, false);
    out.push({ kind: 'time_from', value: state.timeFrom, text: `from ${t}`, title: state.timeFrom });
  }
  if (state.timeTo !== null) {
    const t = formatDateTime(state.timeTo, zone, false);
    out.push({ kind: 'time_to', value: state.timeTo, text: `before ${t}`, title: `Up to, not including, ${state.timeTo}` });
  }
  if (state.weekday !== null) {
    const day = WEEKDAYS[state.weekday] ?? String(state.weekday);
    const zl = zoneLabel(zone);
    out.push({ kind: 'weekday', value: String(state.weekday), text: `weekday: ${day} (${zl})`, title: `Only changes made on a ${day}, ${zl}` });
  }
  if (state.hour !== null) {
    const h = hourText(state.hour, zone);
    out.push({ kind: 'hour', value: String(state.hour), text: `hour: ${h}`, title: `Only changes made between ${h}, on any day` });
  }
  const text = state.text.trim();
  if (text !== '') out.push({ kind: 'text', value: text, text: `text: ${text}`, title: text });
  return out;
}

export function removeChip(state: FilterState, chip: Chip): FilterState {
  switch (chip.kind) {
    case 'facet': {
      const picks = state.facets[chip.facet].filter((p) => p.value !== chip.value);
      return { ...state, facets: { ...state.facets, [chip.facet]: picks } };
    }
    case 'hidden': {
      const picks = state.hidden[chip.facet].filter((p) => p.value !== chip.value);
      return { ...state, hidden: { ...state.hidden, [chip.facet]: picks } };
    }
    case 'starred':
      return { ...state, starredOnly: false };
    case 'activity':
      return { ...state, activity: false };
    case 'time_from':
      return { ...state, timeFrom: null };
    case 'time_to':
      return { ...state, timeTo: null };
    case 'text':
      return { ...state, text: '' };
    case 'asset':
      return { ...state, asset: null };
    case 'finding':
      return { ...state, finding: null };
    case 'weekday':
      return { ...state, weekday: null };
    case 'hour':
      return { ...state, hour: null };
  }
}

const values = (picks: readonly FacetPick[]) => picks.map((p) => p.value).sort();

/** The query Rust runs, over every event stored so far (`max_seq` null); a weekday/hour (and the
 * heatmap) in `zone`, the zone times are shown in. Values are sorted so equal states give equal
 * queries. */
export function toQuery(state: FilterState, zone: Zone = 'utc'): TimelineQuery {
  const text = state.text.trim();
  return {
    changes: values(state.facets.change).filter((v): v is ChangeKind => CHANGE_KINDS.includes(v)),
    asset_types: values(state.facets.asset_type),
    methods: values(state.facets.method),
    principals: values(state.facets.principal),
    regions: values(state.facets.region),
    accounts: values(state.facets.account),
    time_from: state.timeFrom,
    time_to: state.timeTo,
    text: text === '' ? null : text,
    asset_name: state.asset?.name ?? null,
    starred_only: state.starredOnly,
    tags: values(state.facets.tag),
    weekday: state.weekday,
    hour: state.hour,
    local_time: zone === 'local',
    finding: state.finding?.key ?? null,
    max_seq: null,
    after_seq: null,
    activity: state.activity,
    exclude_changes: values(state.hidden.change).filter((v): v is ChangeKind => CHANGE_KINDS.includes(v)),
    exclude_asset_types: values(state.hidden.asset_type),
    exclude_methods: values(state.hidden.method),
    exclude_principals: values(state.hidden.principal),
    exclude_regions: values(state.hidden.region),
    exclude_accounts: values(state.hidden.account),
  };
}

/** `query` limited to the events stored up to `maxSeq` (null: all of them). A list loaded this
 * way does not change when later events arrive, wherever their times would put them. */
export function uptoSeq(query: TimelineQuery, maxSeq: number | null): TimelineQuery {
  return query.max_seq === maxSeq ? query : { ...query, max_seq: maxSeq };
}

/** `query` limited to the events stored after `afterSeq` and up to `maxSeq`: what arrived since
 * a view up to `afterSeq` was taken. */
export function arrivedBetween(query: TimelineQuery, afterSeq: number | null, maxSeq: number | null): TimelineQuery {
  return { ...query, after_seq: afterSeq, max_seq: maxSeq };
}

export function sameQuery(a: TimelineQuery, b: TimelineQuery): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
