import { describe, expect, it } from 'vitest';
import { pagesFor, pagesToEvict } from './pages';

describe('pages', () => {
  it('covers a row range', () => {
    expect(pagesFor(0, 30, 200)).toEqual([0]);
    expect(pagesFor(190, 230, 200)).toEqual([0, 1]);
    expect(pagesFor(200, 400, 200)).toEqual([1]);
    expect(pagesFor(5, 5, 200)).toEqual([]);
    expect(pagesFor(999_990, 1_000_000, 200)).toEqual([4999]);
  });

  it('evicts the farthest pages first and never the visible ones', () => {
    expect(pagesToEvict([0, 1, 2], [1], 1, 5)).toEqual([]);
    expect(pagesToEvict([0, 1, 2, 50, 51, 120], [50, 51], 50, 3)).toEqual([120, 0, 1]);
    expect(pagesToEvict([10, 11, 12], [10, 11, 12], 11, 1)).toEqual([]);
  });
});
