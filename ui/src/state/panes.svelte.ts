// The incident view's panels: the left one (findings over filters, each can be closed, the
// whole panel collapsed to a rail), the list, and the detail (on its rail until a change is
// selected or it is asked for). The analyst drags the left panel's width and the detail's share
// of the room beside it; both are kept in localStorage. What is shown follows the window: when
// the list would be left too little room for both side panels, only the one the analyst asked
// for last is shown (at first the list alone), the other collapsed to its rail.
import { pageStorage } from './storage';

/** The filters alone are narrow; findings' summaries want more room. */
export const SIDEBAR = { filters: 204, findings: 320 } as const;
export const MIN_SIDEBAR = 200;
export const MAX_SIDEBAR = 640;
/** The list never gets less than this beside a side panel. */
export const MIN_LIST = 420;
/** Both side panels are shown only if the list keeps this much beside them. */
export const ROOMY_LIST = 520;
export const MIN_DETAIL = 340;
/** A resize handle between two panels. */
export const RESIZER = 5;
/** A collapsed panel's strip with the button that opens it again. */
export const RAIL = 24;
/** The detail's share of the room beside the left panel, until the analyst drags it. */
export const DETAIL_SHARE = 0.46;

export const PANES_KEY = 'tideline.panes.v1';

type Saved = { sidebarWidth: number | null; detailShare: number | null };

function load(storage: Storage): Saved {
  const none: Saved = { sidebarWidth: null, detailShare: null };
  try {
    const parsed = JSON.parse(storage.getItem(PANES_KEY) ?? 'null') as Partial<Saved> | null;
    if (typeof parsed !== 'object' || parsed === null) return none;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const share = num(parsed.detailShare);
    const width = num(parsed.sidebarWidth);
    return {
      sidebarWidth: width === null ? null : Math.max(MIN_SIDEBAR, Math.min(MAX_SIDEBAR, width)),
      detailShare: share === null ? null : Math.max(0.1, Math.min(0.9, share)),
    };
  } catch {
    return none;
  }
}

export class Panes {
  filtersOpen = $state(true);
  findingsOpen = $state(true);
  /** The left panel collapsed to its rail (which parts were open is kept for when it opens). */
  sidebarCollapsed = $state(false);
  detailOpen = $state(true);
  /** Which side panel the analyst asked for last: the one shown when there is room for one. */
  pick: 'sidebar' | 'detail' | null = $state(null);
  /** The detail has something to show: a change was selected, or the analyst opened it. */
  detailWanted = $state(false);
  /** The left panel's width as the analyst dragged it (null: as wide as its content wants). */
  sidebarWidthSet: number | null = $state(null);
  /** The detail's share of the room beside the left panel. */
  detailShare = $state(DETAIL_SHARE);
  /** The panels' container, as measured by the page. */
  mainWidth = $state(1280);

  readonly #storage: Storage;

  constructor(storage: Storage = pageStorage()) {
    this.#storage = storage;
    const saved = load(storage);
    this.sidebarWidthSet = saved.sidebarWidth;
    if (saved.detailShare !== null) this.detailShare = saved.detailShare;
  }

  readonly sidebarWanted: boolean = $derived(!this.sidebarCollapsed && (this.filtersOpen || this.findingsOpen));
  readonly sidebarWidth: number = $derived(
    Math.round(
      Math.max(
        MIN_SIDEBAR,
        Math.min(
          this.sidebarWidthSet ?? (this.findingsOpen ? SIDEBAR.findings : SIDEBAR.filters),
          MAX_SIDEBAR,
          this.mainWidth - RAIL - MIN_LIST - RESIZER,
        ),
      ),
    ),
  );
  /** The window has room for the left panel, the detail and a list of ROOMY_LIST. */
  readonly roomForBoth: boolean = $derived(
    this.mainWidth >= this.sidebarWidth + RESIZER + MIN_DETAIL + RESIZER + ROOMY_LIST,
  );
  readonly sidebarShown: boolean = $derived(this.sidebarWanted && (this.roomForBoth || this.pick === 'sidebar'));
  readonly detailShown: boolean = $derived(
    this.detailOpen && this.detailWanted && (this.roomForBoth || this.pick !== 'sidebar'),
  );
  readonly filtersShown: boolean = $derived(this.sidebarShown && this.filtersOpen);
  readonly findingsShown: boolean = $derived(this.sidebarShown && this.findingsOpen);

  /** The room the list and the detail share. */
  readonly #beside: number = $derived(
    this.mainWidth -
      (this.sidebarShown ? this.sidebarWidth + RESIZER : RAIL) -
      (this.detailShown ? RESIZER : RAIL),
  );
  readonly shownDetailWidth: number = $derived(this.clampDetail(this.detailShare * this.#beside));
  /** The grid's `grid-template-columns`: left rail or panel and its handle, the list, the
   * detail's handle and the detail or its rail. */
  readonly columns: string = $derived(
    [
      this.sidebarShown ? `${this.sidebarWidth}px ${RESIZER}px` : `${RAIL}px`,
      'minmax(0, 1fr)',
      this.detailShown ? `${RESIZER}px ${this.shownDetailWidth}px` : `${RAIL}px`,
    ].join(' '),
  );

  clampDetail(width: number): number {
    return Math.round(Math.max(MIN_DETAIL, Math.min(width, this.#beside - MIN_LIST)));
  }

  resizeDetail(width: number): void {
    this.detailShare = this.clampDetail(width) / Math.max(1, this.#beside);
    this.#save();
  }

  resizeSidebar(width: number): void {
    this.sidebarWidthSet = Math.round(
      Math.max(MIN_SIDEBAR, Math.min(width, MAX_SIDEBAR, this.mainWidth - RAIL - MIN_LIST - RESIZER)),
    );
    this.#save();
  }

  /** Opens the left panel (with `part` open in it); in a narrow window it takes the detail's place. */
  showSidebar(part?: 'filters' | 'findings'): void {
    if (part === 'filters') this.filtersOpen = true;
    if (part === 'findings') this.findingsOpen = true;
    if (!this.filtersOpen && !this.findingsOpen) this.filtersOpen = this.findingsOpen = true;
    this.sidebarCollapsed = false;
    this.pick = 'sidebar';
  }

  collapseSidebar(): void {
    this.sidebarCollapsed = true;
    if (this.pick === 'sidebar') this.pick = null;
  }

  /** A toolbar button: closes `part` when it is on screen, else shows it. */
  toggle(part: 'filters' | 'findings'): void {
    const shown = part === 'filters' ? this.filtersShown : this.findingsShown;
    if (!shown) this.showSidebar(part);
    else if (part === 'filters') this.filtersOpen = false;
    else this.findingsOpen = false;
  }

  /** A change is selected (`has`): from now on the detail has something to show. */
  noteSelection(has: boolean): void {
    if (has) this.detailWanted = true;
  }

  /** Opens the detail; in a narrow window it takes the left panel's place. */
  showDetail(): void {
    this.detailOpen = true;
    this.detailWanted = true;
    this.pick = 'detail';
  }

  closeDetail(): void {
    this.detailOpen = false;
    if (this.pick === 'detail') this.pick = null;
  }

  #save(): void {
    try {
      const saved: Saved = { sidebarWidth: this.sidebarWidthSet, detailShare: this.detailShare };
      this.#storage.setItem(PANES_KEY, JSON.stringify(saved));
    } catch {
      // Storage refused: the widths still hold for this run.
    }
  }
}
