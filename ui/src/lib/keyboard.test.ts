// The incident view's key map: each key's command, and the keys it leaves alone (modifiers,
// typing in a field, an open dialog, Enter on a button).
import { describe, expect, it } from 'vitest';
import { workspaceKey, type KeyContext, type KeyPress } from './keyboard';

const ctx: KeyContext = { blocked: false, canGoBack: true, selected: true, detailOpen: false };

function press(key: string, more: Partial<KeyPress> = {}): KeyPress {
  return { key, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, defaultPrevented: false, target: null, ...more };
}

const element = (tagName: string, inControl = false) =>
  ({ tagName, closest: (sel: string) => (inControl && sel.includes('button') ? {} : null) }) as unknown as EventTarget;

describe('workspaceKey', () => {
  it('maps the keys of the list', () => {
    expect(workspaceKey(press('j'), ctx)).toEqual({ do: 'move', move: 'next' });
    expect(workspaceKey(press('ArrowUp'), ctx)).toEqual({ do: 'move', move: 'prev' });
    expect(workspaceKey(press('End'), ctx)).toEqual({ do: 'move', move: 'last' });
    expect(workspaceKey(press('/'), ctx)).toEqual({ do: 'filter' });
    expect(workspaceKey(press('s'), ctx)).toEqual({ do: 'star' });
    expect(workspaceKey(press('Enter'), ctx)).toEqual({ do: 'open_detail' });
    expect(workspaceKey(press('ArrowLeft', { altKey: true }), ctx)).toEqual({ do: 'back' });
    expect(workspaceKey(press('x'), ctx)).toBeNull();
  });

  it('needs a selection to star or open, an open detail not to, and a pivot to go back', () => {
    expect(workspaceKey(press('s'), { ...ctx, selected: false })).toBeNull();
    expect(workspaceKey(press('S', { shiftKey: true }), ctx)).toBeNull();
    expect(workspaceKey(press('Enter'), { ...ctx, selected: false })).toBeNull();
    expect(workspaceKey(press('Enter'), { ...ctx, detailOpen: true })).toBeNull();
    expect(workspaceKey(press('ArrowLeft', { altKey: true }), { ...ctx, canGoBack: false })).toBeNull();
  });

  it('leaves keys alone under a dialog, with modifiers, when already handled, or while typing', () => {
    expect(workspaceKey(press('j'), { ...ctx, blocked: true })).toBeNull();
    expect(workspaceKey(press('ArrowLeft', { altKey: true }), { ...ctx, blocked: true })).toBeNull();
    expect(workspaceKey(press('j', { ctrlKey: true }), ctx)).toBeNull();
    expect(workspaceKey(press('s', { metaKey: true }), ctx)).toBeNull();
    expect(workspaceKey(press('j', { defaultPrevented: true }), ctx)).toBeNull();
    expect(workspaceKey(press('j', { target: element('INPUT') }), ctx)).toBeNull();
    expect(workspaceKey(press('/', { target: element('TEXTAREA') }), ctx)).toBeNull();
  });

  it('leaves Enter to a focused button or link', () => {
    expect(workspaceKey(press('Enter', { target: element('BUTTON', true) }), ctx)).toBeNull();
    expect(workspaceKey(press('Enter', { target: element('DIV') }), ctx)).toEqual({ do: 'open_detail' });
  });
});
