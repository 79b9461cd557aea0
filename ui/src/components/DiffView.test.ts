// @vitest-environment jsdom
// The side-by-side diff folds the unchanged runs the engine names (expandable), and a panel too
// narrow for two columns shows the unified diff instead, saying why.
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChangeDetail } from '../api/bindings/ChangeDetail';
import type { SideBySideRow } from '../api/bindings/SideBySideRow';
import { prefs } from '../state/prefs.svelte';
import DiffView from './DiffView.svelte';

/** 20 unchanged rows, one changed (row 10), 20 unchanged; the engine folds 0..7 and 14..41. */
function content(): Pick<ChangeDetail, 'changes' | 'unified' | 'side_by_side' | 'side_by_side_folds' | 'config' | 'diff_note'> {
  const rows: SideBySideRow[] = [];
  for (let n = 0; n < 41; n++) {
    const changed = n === 10;
    rows.push({
      left_no: n + 1,
      left: changed ? '  "b": 2,' : `  "k${n}": ${n},`,
      right_no: n + 1,
      right: changed ? '  "b": 20,' : `  "k${n}": ${n},`,
      left_kind: changed ? 'removed' : 'equal',
      right_kind: changed ? 'added' : 'equal',
    });
  }
  return {
    changes: [],
    unified: '--- previous\n+++ current\n@@ -8,7 +8,7 @@\n-  "b": 2,\n+  "b": 20,\n',
    side_by_side: rows,
    side_by_side_folds: [
      { start: 0, rows: 7 },
      { start: 14, rows: 27 },
    ],
    config: null,
    diff_note: null,
  };
}

let app: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
  vi.unstubAllGlobals();
});

/** Mounts the diff in a panel that ResizeObserver reports `width` pixels wide. */
function show(width: number): HTMLElement {
  vi.stubGlobal(
    'ResizeObserver',
    class {
      constructor(private readonly report: (entries: { contentRect: { width: number } }[]) => void) {}
      observe() {
        this.report([{ contentRect: { width } }]);
      }
      disconnect() {}
    },
  );
  prefs.diffMode = 'split';
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(DiffView, { target, props: { detail: content() } });
  flushSync();
  return target;
}

describe('side-by-side diff', () => {
  it('folds the unchanged runs and opens one on a click', () => {
    const page = show(800);
    const folds = [...page.querySelectorAll<HTMLButtonElement>('[data-testid="diff-fold"]')];
    expect(folds.map((f) => f.textContent)).toEqual(['⋯ 7 unchanged lines', '⋯ 27 unchanged lines']);
    // Rows 7..13 are drawn: 7 rows × 4 cells.
    const cells = () => page.querySelectorAll('[data-testid="diff-side-by-side"] .cell').length;
    expect(cells()).toBe(7 * 2);
    folds[0]!.click();
    flushSync();
    expect(page.querySelectorAll('[data-testid="diff-fold"]').length).toBe(1);
    expect(cells()).toBe(14 * 2);
    expect(page.querySelector('[data-testid="diff-narrow"]')).toBeNull();
  });

  it('shows the unified diff in a narrow panel and says why', () => {
    const page = show(400);
    expect(page.querySelector('[data-testid="diff-side-by-side"]')).toBeNull();
    expect(page.querySelector('[data-testid="diff-unified"]')?.textContent).toContain('"b": 20');
    expect(page.querySelector('[data-testid="diff-narrow"]')?.textContent).toContain('too narrow');
    expect(page.querySelector<HTMLButtonElement>('[data-testid="diff-mode-split"]')?.disabled).toBe(true);
  });
});
