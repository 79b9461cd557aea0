// The panels: the detail's width is its share of the room beside the left panel, clamped so the
// list keeps room; a narrow window collapses the side panels and shows only the one asked for
// last; the widths the analyst drags to outlast a restart.
import { describe, expect, it } from 'vitest';
import { memoryStorage } from './storage';
import { DETAIL_SHARE, MIN_DETAIL, MIN_LIST, MIN_SIDEBAR, PANES_KEY, Panes, RAIL, RESIZER, SIDEBAR } from './panes.svelte';

const panes = (width: number, storage: Storage = memoryStorage()) => {
  const p = new Panes(storage);
  p.mainWidth = width;
  return p;
};

describe('Panes', () => {
  it('clamps the detail between its minimum and what leaves the list its room', () => {
    const p = panes(1280);
    p.showDetail();
    p.resizeDetail(100);
    expect(p.shownDetailWidth).toBe(MIN_DETAIL);
    p.resizeDetail(5000);
    expect(p.shownDetailWidth).toBe(1280 - SIDEBAR.findings - 2 * RESIZER - MIN_LIST);
  });

  it('gives the detail its share of the room, so at 2560 px the list and the detail share the width', () => {
    const p = panes(1280);
    p.showDetail();
    const beside = 1280 - SIDEBAR.findings - 2 * RESIZER;
    expect(p.shownDetailWidth).toBe(Math.round(DETAIL_SHARE * beside));
    p.mainWidth = 2560;
    const wide = 2560 - SIDEBAR.findings - 2 * RESIZER;
    expect(p.shownDetailWidth).toBe(Math.round(DETAIL_SHARE * wide));
    expect(p.shownDetailWidth).toBeGreaterThan(1000);
    // A share dragged at one size holds at another.
    p.resizeDetail(wide / 2);
    p.mainWidth = 1600;
    expect(p.shownDetailWidth).toBe(Math.round((1600 - SIDEBAR.findings - 2 * RESIZER) / 2));
  });

  it('keeps the detail on its rail until a change is selected or it is asked for', () => {
    const p = panes(1280);
    expect(p.detailShown).toBe(false);
    expect(p.columns).toBe(`320px 5px minmax(0, 1fr) ${RAIL}px`);
    p.noteSelection(false);
    expect(p.detailShown).toBe(false);
    p.noteSelection(true);
    expect(p.detailShown).toBe(true);
    // It stays when the selection goes (no jump under the reader); closed, it waits to be asked.
    p.noteSelection(false);
    expect(p.detailShown).toBe(true);
    p.closeDetail();
    p.noteSelection(true);
    expect(p.detailShown).toBe(false);
    p.showDetail();
    expect(p.detailShown).toBe(true);
  });

  it('lays out the panels shown, and a rail for each collapsed one', () => {
    const p = panes(1280);
    p.showDetail();
    expect(p.columns).toBe(`320px 5px minmax(0, 1fr) 5px ${p.shownDetailWidth}px`);
    p.findingsOpen = false;
    p.filtersOpen = false;
    p.closeDetail();
    expect(p.columns).toBe(`${RAIL}px minmax(0, 1fr) ${RAIL}px`);
  });

  it('in a 1024 px window collapses both side panels, and shows the one asked for last', () => {
    const p = panes(1024);
    expect(p.roomForBoth).toBe(false);
    expect([p.sidebarShown, p.detailShown]).toEqual([false, false]);
    // A change selected (by keys or a click): the detail takes its place.
    p.noteSelection(true);
    expect([p.sidebarShown, p.detailShown]).toEqual([false, true]);
    p.showDetail();
    expect([p.sidebarShown, p.detailShown]).toEqual([false, true]);
    // The findings asked for: they replace the detail, which waits on its rail.
    p.toggle('findings');
    expect([p.sidebarShown, p.findingsShown, p.detailShown]).toEqual([true, true, false]);
    expect(p.columns).toBe(`320px 5px minmax(0, 1fr) ${RAIL}px`);
    p.showDetail();
    expect([p.sidebarShown, p.detailShown]).toEqual([false, true]);
    // The list keeps its room beside the detail.
    expect(1024 - RAIL - RESIZER - p.shownDetailWidth).toBeGreaterThanOrEqual(MIN_LIST);
    // With room again, both are back.
    p.mainWidth = 1280;
    expect([p.sidebarShown, p.detailShown]).toEqual([true, true]);
  });

  it('shows an auto-collapsed panel from its toolbar button instead of closing it', () => {
    const p = panes(1024);
    expect(p.filtersShown).toBe(false);
    p.toggle('filters');
    expect(p.filtersShown).toBe(true);
    p.toggle('filters');
    expect(p.filtersShown).toBe(false);
    expect(p.findingsShown).toBe(true);
  });

  it('collapses the left panel to its rail and reopens it as it was', () => {
    const p = panes(1280);
    p.findingsOpen = false;
    p.collapseSidebar();
    expect(p.sidebarShown).toBe(false);
    p.showSidebar();
    expect([p.sidebarShown, p.filtersShown, p.findingsShown]).toEqual([true, true, false]);
  });

  it('resizes the left panel within its bounds and the list its room', () => {
    const p = panes(1280);
    p.resizeSidebar(50);
    expect(p.sidebarWidth).toBe(MIN_SIDEBAR);
    p.resizeSidebar(400);
    expect(p.sidebarWidth).toBe(400);
    expect(p.columns.startsWith('400px 5px')).toBe(true);
    p.resizeSidebar(5000);
    expect(p.sidebarWidth).toBeLessThanOrEqual(1280 - MIN_LIST);
  });

  it('keeps the dragged widths for the next start, and ignores what it cannot read', () => {
    const storage = memoryStorage();
    const p = panes(1600, storage);
    p.showDetail();
    p.resizeSidebar(360);
    p.resizeDetail(700);
    const again = panes(1600, storage);
    again.showDetail();
    expect(again.sidebarWidth).toBe(360);
    expect(again.shownDetailWidth).toBe(700);
    storage.setItem(PANES_KEY, '{"sidebarWidth":"wide","detailShare":1e9}');
    const odd = panes(1600, storage);
    expect(odd.sidebarWidth).toBe(SIDEBAR.findings);
    expect(odd.detailShare).toBeLessThan(1);
    storage.setItem(PANES_KEY, 'not json');
    expect(panes(1600, storage).detailShare).toBe(DETAIL_SHARE);
    // A storage that refuses to write: the widths hold for this run, nothing thrown.
    const full = memoryStorage();
    full.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    const refused = panes(1600, full);
    refused.resizeSidebar(300);
    expect(refused.sidebarWidth).toBe(300);
  });
});
