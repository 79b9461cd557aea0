// @vitest-environment jsdom
// Half-typed comments and tags stay with their change: the box of another change starts empty,
// coming back finds the draft, and adding the comment clears it.
import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { Annotations } from '../api/bindings/Annotations';
import AnnotationsSection from '../components/AnnotationsSection.svelte';
import { AnnotationDrafts } from './drafts.svelte';

const NONE: Annotations = { starred: false, tags: [], comments: [] };

let app: Record<string, unknown> | null = null;
afterEach(() => {
  if (app) unmount(app);
  app = null;
  document.body.innerHTML = '';
});

function section(seq: number, drafts: AnnotationDrafts): HTMLElement {
  if (app) unmount(app);
  document.body.innerHTML = '';
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(AnnotationsSection, {
    target,
    props: { seq, annotations: NONE, zone: 'utc', drafts, onannotate: async () => null },
  });
  flushSync();
  return target;
}

const box = (t: HTMLElement) => t.querySelector<HTMLTextAreaElement>('[data-testid="comment-input"]')!;

describe('AnnotationDrafts', () => {
  it('keeps a draft per change, and forgets an emptied one', () => {
    const drafts = new AnnotationDrafts();
    drafts.setComment(7, 'opened from');
    drafts.setTag(7, 'exf');
    expect(drafts.comment(7)).toBe('opened from');
    expect(drafts.comment(8)).toBe('');
    expect(drafts.tag(7)).toBe('exf');
    drafts.setComment(7, '');
    expect(drafts.comment(7)).toBe('');
  });

  it("is what a change's comment box shows: typed on one change, absent on another, back on the first", () => {
    const drafts = new AnnotationDrafts();
    let t = section(1, drafts);
    box(t).value = 'Half-typed: the firewall was opened from';
    box(t).dispatchEvent(new Event('input'));
    flushSync();
    expect(drafts.comment(1)).toBe('Half-typed: the firewall was opened from');
    expect(t.querySelector('[data-testid="comment-draft-note"]')?.textContent).toContain('not saved');

    t = section(2, drafts);
    expect(box(t).value).toBe('');
    expect(t.querySelector('[data-testid="comment-draft-note"]')).toBeNull();

    t = section(1, drafts);
    expect(box(t).value).toBe('Half-typed: the firewall was opened from');
  });
});
