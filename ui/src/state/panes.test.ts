// The columns: the detail's width is clamped so the list keeps room, and the grid's columns
// follow which panels are open.
import { describe, expect, it } from 'vitest';
import { MIN_DETAIL, MIN_LIST, Panes, SIDEBAR } from './panes.svelte';

describe('Panes', () => {
  it('clamps the detail between its minimum and what leaves the list its room', () => {
    const p = new Panes();
    p.mainWidth = 1280;
    p.resizeDetail(100);
    expect(p.shownDetailWidth).toBe(MIN_DETAIL);
    p.resizeDetail(5000);
    expect(p.shownDetailWidth).toBe(1280 - SIDEBAR.findings - MIN_LIST);
  });

  it('follows a narrower window, and the sidebar that is open', () => {
    const p = new Panes();
    p.mainWidth = 1600;
    p.resizeDetail(800);
    expect(p.shownDetailWidth).toBe(800);
    p.mainWidth = 1200;
    expect(p.shownDetailWidth).toBe(1200 - SIDEBAR.findings - MIN_LIST);
    p.findingsOpen = false;
    expect(p.shownDetailWidth).toBe(1200 - SIDEBAR.filters - MIN_LIST);
  });

  it('lays out the open columns only', () => {
    const p = new Panes();
    expect(p.columns).toBe('320px minmax(0, 1fr) 5px 440px');
    p.findingsOpen = false;
    p.filtersOpen = false;
    p.detailOpen = false;
    expect(p.columns).toBe('minmax(0, 1fr)');
  });
});
