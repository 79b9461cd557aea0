// Keyboard movement through the change list: which index the selection lands on.

export type Move = 'next' | 'prev' | 'pageDown' | 'pageUp' | 'first' | 'last';

/** Maps a key to a list move; null if the list does not handle that key. */
export function keyToMove(key: string): Move | null {
  switch (key) {
    case 'ArrowDown':
    case 'j':
      return 'next';
    case 'ArrowUp':
    case 'k':
      return 'prev';
    case 'PageDown':
      return 'pageDown';
    case 'PageUp':
      return 'pageUp';
    case 'Home':
      return 'first';
    case 'End':
      return 'last';
    default:
      return null;
  }
}

/** The index after `move`. With nothing selected any move starts at the top (newest). An empty
 * list has no selection. */
export function moveSelection(current: number | null, move: Move, total: number, pageRows: number): number | null {
  if (total <= 0) return null;
  const last = total - 1;
  const page = Math.max(1, pageRows - 1);
  if (current === null) return move === 'last' ? last : 0;
  const clamp = (i: number) => Math.min(last, Math.max(0, i));
  switch (move) {
    case 'next':
      return clamp(current + 1);
    case 'prev':
      return clamp(current - 1);
    case 'pageDown':
      return clamp(current + page);
    case 'pageUp':
      return clamp(current - page);
    case 'first':
      return 0;
    case 'last':
      return last;
  }
}

/** Should a key press be left to the element that has focus? True while typing in a field. */
export function isTypingTarget(el: EventTarget | null): boolean {
  if (el === null || typeof el !== 'object' || !('tagName' in el)) return false;
  const e = el as { tagName: string; isContentEditable?: boolean; type?: string };
  const tag = e.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT' || e.isContentEditable === true) return true;
  if (tag !== 'INPUT') return false;
  const type = (e.type ?? 'text').toLowerCase();
  return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
}
