// Paging of the change list: rows are fetched by offset in fixed pages and cached by page index.

/** Rows per read. A window shows 17-40 rows; while following live the page in view is read
 * again with every batch of new rows (several times a second), so a page is not much more. */
export const PAGE_SIZE = 50;
/** Pages kept in memory (160 x 50 = 8,000 rows); the farthest from view go first. */
export const MAX_PAGES = 160;

/** Page indices covering rows [first, end). */
export function pagesFor(first: number, end: number, pageSize: number = PAGE_SIZE): number[] {
  if (end <= first) return [];
  const from = Math.floor(first / pageSize);
  const to = Math.floor((end - 1) / pageSize);
  const out: number[] = [];
  for (let p = from; p <= to; p++) out.push(p);
  return out;
}

/** Pages to drop so at most `max` remain, farthest from `center` first; never one in `keep`. */
export function pagesToEvict(cached: Iterable<number>, keep: readonly number[], center: number, max: number = MAX_PAGES): number[] {
  const all = [...cached];
  if (all.length <= max) return [];
  const candidates = all
    .filter((p) => !keep.includes(p))
    .sort((a, b) => Math.abs(b - center) - Math.abs(a - center));
  return candidates.slice(0, all.length - max);
}
