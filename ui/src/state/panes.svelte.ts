// The incident view's columns: the left one (findings over filters, each can be hidden), the list,
// and the detail panel, whose width the user sets by dragging. The width shown is clamped so the
// list keeps room, and follows the window when it narrows.

/** The filters alone are narrow; findings' summaries want more room. */
export const SIDEBAR = { filters: 204, findings: 320 } as const;
export const MIN_LIST = 420;
export const MIN_DETAIL = 340;

export class Panes {
  filtersOpen = $state(true);
  findingsOpen = $state(true);
  detailOpen = $state(true);
  /** The detail's width as the user set it. */
  detailWidth = $state(440);
  /** The columns' container, as measured by the page. */
  mainWidth = $state(1280);

  readonly sidebarOpen: boolean = $derived(this.filtersOpen || this.findingsOpen);
  readonly sidebarWidth: number = $derived(
    this.findingsOpen ? SIDEBAR.findings : this.filtersOpen ? SIDEBAR.filters : 0,
  );
  readonly shownDetailWidth: number = $derived(this.clamp(this.detailWidth));
  /** The grid's `grid-template-columns`: sidebar, list, and the resizer and detail. */
  readonly columns: string = $derived(
    [
      this.sidebarOpen ? `${this.sidebarWidth}px` : '',
      'minmax(0, 1fr)',
      this.detailOpen ? `5px ${this.shownDetailWidth}px` : '',
    ]
      .filter(Boolean)
      .join(' '),
  );

  clamp(width: number): number {
    return Math.round(Math.max(MIN_DETAIL, Math.min(width, this.mainWidth - this.sidebarWidth - MIN_LIST)));
  }

  resizeDetail(width: number): void {
    this.detailWidth = this.clamp(width);
  }
}
