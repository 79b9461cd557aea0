// What the analyst half-typed in a change's comment and tag boxes, kept per change while the
// session is open, so selecting another change and coming back finds it again. In memory only:
// a draft is not written anywhere until it is added.
import { SvelteMap } from 'svelte/reactivity';

export class AnnotationDrafts {
  readonly #comments = new SvelteMap<number, string>();
  readonly #tags = new SvelteMap<number, string>();

  comment(seq: number): string {
    return this.#comments.get(seq) ?? '';
  }

  setComment(seq: number, text: string): void {
    if (text === '') this.#comments.delete(seq);
    else this.#comments.set(seq, text);
  }

  tag(seq: number): string {
    return this.#tags.get(seq) ?? '';
  }

  setTag(seq: number, text: string): void {
    if (text === '') this.#tags.delete(seq);
    else this.#tags.set(seq, text);
  }
}
