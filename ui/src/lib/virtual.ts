// Geometry of the virtualized change list. Rows have one fixed height. Browsers cap an element's
// height (about 33.5 M px in WebKit and Chromium, 17.9 M in Firefox), and 1,000,000 rows already
// pass that, so past MAX_SCROLL_PX the scrollbar is compressed: the scroll position is mapped
// linearly onto the list's "virtual" offset and rows are drawn relative to what is on screen.

export const MAX_SCROLL_PX = 8_000_000;

export type Geometry = {
  /** Rows in the list. */
  total: number;
  rowHeight: number;
  /** Height of the scrolling viewport. */
  viewport: number;
};

/** Full height the rows would need. */
export function virtualHeight(g: Geometry): number {
  return g.total * g.rowHeight;
}

/** Height of the scrollable spacer actually put in the page. */
export function scrollHeight(g: Geometry): number {
  return Math.min(virtualHeight(g), MAX_SCROLL_PX);
}

/** Virtual pixels per scroll pixel (1 unless compressed). */
function ratio(g: Geometry): number {
  const v = virtualHeight(g) - g.viewport;
  const s = scrollHeight(g) - g.viewport;
  if (v <= 0 || s <= 0) return 1;
  return v / s;
}

/** The virtual offset shown at the top of the viewport for a scrollTop. */
export function virtualTop(scrollTop: number, g: Geometry): number {
  const max = Math.max(0, virtualHeight(g) - g.viewport);
  return Math.min(max, Math.max(0, scrollTop * ratio(g)));
}

/** The scrollTop that shows virtual offset `v` at the top of the viewport. */
export function scrollTopFor(v: number, g: Geometry): number {
  const max = Math.max(0, scrollHeight(g) - g.viewport);
  return Math.min(max, Math.max(0, v / ratio(g)));
}

/** Rows to render: [first, end) with `overscan` extra rows each side, clamped to the list. */
export function visibleRange(vTop: number, g: Geometry, overscan: number): { first: number; end: number } {
  if (g.total <= 0 || g.rowHeight <= 0) return { first: 0, end: 0 };
  const first = Math.max(0, Math.floor(vTop / g.rowHeight) - overscan);
  const end = Math.min(g.total, Math.ceil((vTop + g.viewport) / g.rowHeight) + overscan);
  return { first, end: Math.max(first, end) };
}

/** Where row `index` sits inside the spacer, given the current scrollTop. */
export function rowOffset(index: number, scrollTop: number, g: Geometry): number {
  return scrollTop + index * g.rowHeight - virtualTop(scrollTop, g);
}

/** The virtual top that brings row `index` fully into view with the least movement, or null
 * if it is already fully visible. */
export function revealTop(index: number, vTop: number, g: Geometry): number | null {
  const top = index * g.rowHeight;
  const bottom = top + g.rowHeight;
  if (top < vTop) return top;
  if (bottom > vTop + g.viewport) return Math.max(0, bottom - g.viewport);
  return null;
}
