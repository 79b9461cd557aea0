import { describe, expect, it } from 'vitest';
import { MAX_SCROLL_PX, revealTop, rowOffset, scrollHeight, scrollTopFor, virtualTop, visibleRange } from './virtual';

const small = { total: 100, rowHeight: 30, viewport: 300 };
const huge = { total: 1_000_000, rowHeight: 34, viewport: 600 };

describe('uncompressed list', () => {
  it('maps scroll to rows one to one', () => {
    expect(scrollHeight(small)).toBe(3000);
    expect(virtualTop(450, small)).toBe(450);
    expect(scrollTopFor(450, small)).toBe(450);
    expect(visibleRange(450, small, 0)).toEqual({ first: 15, end: 25 });
    expect(rowOffset(15, 450, small)).toBe(450);
  });

  it('clamps overscan to the list', () => {
    expect(visibleRange(0, small, 5)).toEqual({ first: 0, end: 15 });
    expect(visibleRange(2700, small, 5)).toEqual({ first: 85, end: 100 });
    expect(visibleRange(0, { ...small, total: 0 }, 5)).toEqual({ first: 0, end: 0 });
  });
});

describe('1,000,000 rows', () => {
  it('keeps the spacer under the browser limit', () => {
    expect(scrollHeight(huge)).toBe(MAX_SCROLL_PX);
  });

  it('reaches the last row at the bottom of the scrollbar', () => {
    const bottom = scrollHeight(huge) - huge.viewport;
    const v = virtualTop(bottom, huge);
    const r = visibleRange(v, huge, 0);
    expect(r.end).toBe(huge.total);
    // the last row's bottom edge is the viewport's bottom edge
    expect(rowOffset(huge.total - 1, bottom, huge) + huge.rowHeight).toBeCloseTo(bottom + huge.viewport, 3);
  });

  it('draws rows relative to the viewport and round-trips positions', () => {
    const st = 4_000_000;
    const v = virtualTop(st, huge);
    expect(v).toBeGreaterThan(st);
    const first = Math.floor(v / huge.rowHeight);
    const off = rowOffset(first, st, huge);
    expect(off).toBeLessThanOrEqual(st);
    expect(off).toBeGreaterThan(st - huge.rowHeight);
    expect(scrollTopFor(v, huge)).toBeCloseTo(st, 3);
  });
});

describe('reveal', () => {
  it('scrolls only when the row is not fully visible', () => {
    expect(revealTop(12, 300, small)).toBeNull();
    expect(revealTop(5, 300, small)).toBe(150);
    // row 20 spans 600..630; viewport 300 tall must end at 630
    expect(revealTop(20, 300, small)).toBe(330);
  });
});
