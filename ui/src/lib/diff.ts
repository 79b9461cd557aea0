// How the lines of a unified diff from Rust are drawn.

export type UnifiedLineKind = 'added' | 'removed' | 'hunk' | 'meta' | 'context';

/** Splits the unified text into classified lines. "---"/"+++" are file headers only before the
 * first hunk; inside a hunk they are a removed "--…" or an added "++…" line. A trailing newline
 * does not make an empty last line. */
export function unifiedLines(text: string): Array<{ text: string; kind: UnifiedLineKind }> {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let inHunk = false;
  return lines.map((t) => {
    let kind: UnifiedLineKind;
    if (t.startsWith('@@')) {
      inHunk = true;
      kind = 'hunk';
    } else if (!inHunk && (t.startsWith('---') || t.startsWith('+++'))) {
      kind = 'meta';
    } else if (t.startsWith('\\')) {
      kind = 'meta';
    } else if (t.startsWith('+')) {
      kind = 'added';
    } else if (t.startsWith('-')) {
      kind = 'removed';
    } else {
      kind = 'context';
    }
    return { text: t, kind };
  });
}
