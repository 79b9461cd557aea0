import { describe, expect, it } from 'vitest';
import { isTypingTarget, keyToMove, moveSelection } from './selection';

describe('keys', () => {
  it('maps arrows and j/k', () => {
    expect(keyToMove('ArrowDown')).toBe('next');
    expect(keyToMove('j')).toBe('next');
    expect(keyToMove('ArrowUp')).toBe('prev');
    expect(keyToMove('k')).toBe('prev');
    expect(keyToMove('J')).toBeNull();
    expect(keyToMove('x')).toBeNull();
  });
});

describe('moving', () => {
  it('starts at the newest row', () => {
    expect(moveSelection(null, 'next', 10, 20)).toBe(0);
    expect(moveSelection(null, 'prev', 10, 20)).toBe(0);
    expect(moveSelection(null, 'last', 10, 20)).toBe(9);
  });
  it('stops at both ends', () => {
    expect(moveSelection(0, 'prev', 10, 20)).toBe(0);
    expect(moveSelection(9, 'next', 10, 20)).toBe(9);
    expect(moveSelection(4, 'next', 10, 20)).toBe(5);
  });
  it('pages by one screen less one row', () => {
    expect(moveSelection(0, 'pageDown', 1000, 20)).toBe(19);
    expect(moveSelection(30, 'pageUp', 1000, 20)).toBe(11);
    expect(moveSelection(995, 'pageDown', 1000, 20)).toBe(999);
  });
  it('has no selection in an empty list', () => {
    expect(moveSelection(null, 'next', 0, 20)).toBeNull();
    expect(moveSelection(3, 'next', 0, 20)).toBeNull();
  });
  it('clamps a selection left beyond a list that shrank', () => {
    expect(moveSelection(50, 'next', 10, 20)).toBe(9);
  });
});

describe('typing targets', () => {
  it('leaves keys to text fields but not to checkboxes', () => {
    expect(isTypingTarget({ tagName: 'INPUT', type: 'text' } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT', type: 'password' } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT', type: 'checkbox' } as unknown as EventTarget)).toBe(false);
    expect(isTypingTarget({ tagName: 'TEXTAREA' } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'BUTTON' } as unknown as EventTarget)).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
