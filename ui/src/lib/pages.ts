// Paging of the change list: rows are fetched by offset in fixed pages and cached by page index.

export const PAGE_SIZE = 200;
/** Pages kept in memory (40 x 200 = 8,000 rows); the farthest from view go first. */
export const MAX_PAGES = 40;

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
