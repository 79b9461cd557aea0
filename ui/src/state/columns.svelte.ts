// The change list's columns as the analyst arranged them: which are shown, the widths dragged
// to, and the widths their text needs (measured from the rows drawn). Widths and hidden columns
// are kept in the page's localStorage, so they outlast a restart; "Reset columns" forgets them.
// Pure view state: what the columns hold comes from Rust.
import { pageStorage } from './storage';

export type ColumnId = 'time' | 'change' | 'asset' | 'who' | 'where' | 'action';

export type ColumnSpec = {
  readonly id: ColumnId;
  /** The header's text. */
  readonly label: string;
  /** The columns menu's words for it. */
  readonly title: string;
  /** Narrowest it gets before the list runs out of room. */
  readonly min: number;
  /** Its width before it is measured or dragged. */
  readonly width: number;
  /** It grows to the widest text it has shown (up to FIT_MAX), so names show whole. */
  readonly fits: boolean;
  readonly hideable: boolean;
};

/** In the list's order. The last shown column takes the room the others leave. */
export const COLUMNS: readonly ColumnSpec[] = [
  { id: 'time', label: 'Time', title: 'Time', min: 60, width: 68, fits: false, hideable: true },
  { id: 'change', label: 'Change', title: 'Change', min: 52, width: 64, fits: false, hideable: true },
  { id: 'asset', label: 'Asset · type', title: 'Asset and type', min: 100, width: 200, fits: true, hideable: false },
  { id: 'who', label: 'Who · method', title: 'Who and method', min: 90, width: 150, fits: true, hideable: true },
  { id: 'where', label: 'Region · acct', title: 'Region and account', min: 70, width: 100, fits: true, hideable: true },
  { id: 'action', label: 'Action · summary', title: 'Action and summary', min: 80, width: 240, fits: false, hideable: true },
];

/** A measured column stops growing here (a hostile 2,000-character name does not take the list). */
export const FIT_MAX = 420;
/** A dragged column stays between its minimum and this. */
export const DRAG_MAX = 900;
/** Below this list width the region and account column steps aside (the detail has them). */
export const NARROW_LIST = 620;
/** The star / flag column in front of the others; never hidden. */
export const MARK_WIDTH = 12;
/** The principal keeps this much (or all it needs, if less) before the other columns shrink. */
export const WHO_KEEPS = 160;

export const COLUMNS_KEY = 'tideline.columns.v1';

const ids = new Set<string>(COLUMNS.map((c) => c.id));
const specOf = (id: ColumnId): ColumnSpec => COLUMNS.find((c) => c.id === id)!;

type Saved = { widths: Partial<Record<ColumnId, number>>; hidden: ColumnId[] };

function load(storage: Storage): Saved {
  const none: Saved = { widths: {}, hidden: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(storage.getItem(COLUMNS_KEY) ?? 'null');
  } catch {
    return none;
  }
  if (typeof parsed !== 'object' || parsed === null) return none;
  const { widths, hidden } = parsed as { widths?: unknown; hidden?: unknown };
  const out: Saved = { widths: {}, hidden: [] };
  if (typeof widths === 'object' && widths !== null) {
    for (const [id, w] of Object.entries(widths)) {
      if (ids.has(id) && typeof w === 'number' && Number.isFinite(w)) {
        const spec = specOf(id as ColumnId);
        out.widths[spec.id] = Math.round(Math.max(spec.min, Math.min(DRAG_MAX, w)));
      }
    }
  }
  if (Array.isArray(hidden)) {
    out.hidden = COLUMNS.filter((c) => c.hideable && hidden.includes(c.id)).map((c) => c.id);
  }
  return out;
}

export class ColumnLayout {
  /** Widths the analyst dragged to. */
  widths: Partial<Record<ColumnId, number>> = $state.raw({});
  /** Columns the analyst hid. */
  hidden: readonly ColumnId[] = $state.raw([]);
  /** The widest text each fitting column has drawn so far (not kept: it is the data's). */
  fitted: Partial<Record<ColumnId, number>> = $state.raw({});

  readonly #storage: Storage;

  constructor(storage: Storage = pageStorage()) {
    this.#storage = storage;
    const saved = load(storage);
    this.widths = saved.widths;
    this.hidden = saved.hidden;
  }

  /** The columns drawn in a list `listWidth` wide, in order. */
  shown(listWidth: number): ColumnId[] {
    return COLUMNS.filter(
      (c) => !this.hidden.includes(c.id) && !(c.id === 'where' && listWidth > 0 && listWidth < NARROW_LIST),
    ).map((c) => c.id);
  }

  /** The width a column asks for: dragged, else the widest text it showed, else its default. */
  wanted(id: ColumnId): number {
    const spec = specOf(id);
    const dragged = this.widths[id];
    if (dragged !== undefined) return dragged;
    const fit = spec.fits ? this.fitted[id] : undefined;
    return fit !== undefined ? Math.max(spec.min, Math.min(FIT_MAX, fit)) : spec.width;
  }

  /** `grid-template-columns` for the header and the rows: a dragged column as wide as it was
   * dragged, the others between their minimum and the width they ask for (the grid gives every
   * column room up to that before the last one, which takes the rest). */
  template(shown: readonly ColumnId[]): string {
    const tracks = shown.map((id, i) => {
      const spec = specOf(id);
      if (i === shown.length - 1) return `minmax(${spec.min}px, 1fr)`;
      const dragged = this.widths[id];
      if (dragged !== undefined) return `${dragged}px`;
      const wanted = this.wanted(id);
      // Fixed-format text (times, badges) never shrinks; the principal, what the list is read
      // for, gives way last.
      const floor = !spec.fits ? wanted : id === 'who' ? Math.max(spec.min, Math.min(wanted, WHO_KEEPS)) : spec.min;
      return floor >= wanted ? `${wanted}px` : `minmax(${floor}px, ${wanted}px)`;
    });
    return [`${MARK_WIDTH}px`, ...tracks].join(' ');
  }

  /** The text drawn in a fitting column needs `width` px: the column grows to it (never shrinks
   * while the same rows are scrolled, so columns do not jump). */
  fit(id: ColumnId, width: number): void {
    if (!specOf(id).fits || !Number.isFinite(width)) return;
    const w = Math.ceil(width);
    if (w > (this.fitted[id] ?? 0)) this.fitted = { ...this.fitted, [id]: w };
  }

  /** The list shows other rows (another query): the columns fit their text, narrower too. */
  fitAnew(widths: ReadonlyMap<ColumnId, number>): void {
    this.fitted = {};
    for (const [id, w] of widths) this.fit(id, w);
  }

  resize(id: ColumnId, width: number): void {
    const spec = specOf(id);
    this.widths = { ...this.widths, [id]: Math.round(Math.max(spec.min, Math.min(DRAG_MAX, width))) };
    this.#save();
  }

  /** Back to the width its text needs (a double-click on its edge). */
  autoFit(id: ColumnId): void {
    if (this.widths[id] === undefined) return;
    const { [id]: _dropped, ...rest } = this.widths;
    this.widths = rest;
    this.#save();
  }

  setHidden(id: ColumnId, hide: boolean): void {
    if (!specOf(id).hideable || this.hidden.includes(id) === hide) return;
    this.hidden = hide ? COLUMNS.filter((c) => c.id === id || this.hidden.includes(c.id)).map((c) => c.id) : this.hidden.filter((h) => h !== id);
    this.#save();
  }

  /** Every column shown, at the width its text needs. */
  reset(): void {
    this.widths = {};
    this.hidden = [];
    this.#save();
  }

  #save(): void {
    try {
      const saved: Saved = { widths: this.widths, hidden: [...this.hidden] };
      this.#storage.setItem(COLUMNS_KEY, JSON.stringify(saved));
    } catch {
      // Storage full or refused: the layout still holds for this run.
    }
  }
}
