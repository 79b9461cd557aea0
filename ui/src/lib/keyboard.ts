// The incident view's keys: what a key press does, given what is on screen. Pure, so the map is
// tested without a page. ↑/↓ j/k PgUp/PgDn Home/End move, Enter opens the detail, s stars,
// / goes to the filter box, Alt+← goes back from a pivot.
import { isTypingTarget, keyToMove, type Move } from './selection';

export type KeyCommand =
  | { readonly do: 'back' }
  | { readonly do: 'filter' }
  | { readonly do: 'star' }
  | { readonly do: 'move'; readonly move: Move }
  | { readonly do: 'open_detail' };

export type KeyPress = Pick<
  KeyboardEvent,
  'key' | 'altKey' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'defaultPrevented' | 'target'
>;

export type KeyContext = {
  /** A dialog is open: the keys are its own. */
  readonly blocked: boolean;
  /** A pivot can be undone. */
  readonly canGoBack: boolean;
  /** A change is selected. */
  readonly selected: boolean;
  readonly detailOpen: boolean;
};

/** The command for a key press, or null to leave the key alone. When there is a command the
 * page takes the key (preventDefault). */
export function workspaceKey(e: KeyPress, ctx: KeyContext): KeyCommand | null {
  if (e.defaultPrevented || ctx.blocked) return null;
  if (e.altKey && e.key === 'ArrowLeft' && ctx.canGoBack) return { do: 'back' };
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  // Typing in a field keeps its keys (Esc in the filter box is handled by the box itself).
  if (isTypingTarget(e.target)) return null;
  if (e.key === '/') return { do: 'filter' };
  if (e.key === 's' && !e.shiftKey) return ctx.selected ? { do: 'star' } : null;
  const move = keyToMove(e.key);
  if (move) return { do: 'move', move };
  // Enter on a focused button or link is theirs; from the list or the page it opens the detail.
  if (e.key === 'Enter' && !ctx.detailOpen && ctx.selected && !isControl(e.target)) return { do: 'open_detail' };
  return null;
}

function isControl(target: EventTarget | null): boolean {
  const t = target as { closest?: (selector: string) => unknown } | null;
  return typeof t?.closest === 'function' && t.closest('button, a, summary, [role="dialog"]') !== null;
}
