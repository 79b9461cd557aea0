import { describe, expect, it } from 'vitest';
import { unifiedLines } from './diff';

describe('unified diff lines', () => {
  it('classifies headers, hunks, additions, removals and context', () => {
    const text = [
      '--- previous',
      '+++ current',
      '@@ -10,3 +10,8 @@',
      '         "IpRanges": [',
      '-        ],',
      '+          {',
      '+            "CidrIp": "203.0.113.66/32",',
      '\\ No newline at end of file',
      '',
    ].join('\n');
    expect(unifiedLines(text).map((l) => l.kind)).toEqual([
      'meta',
      'meta',
      'hunk',
      'context',
      'removed',
      'added',
      'added',
      'meta',
    ]);
  });

  it('reads "---" inside a hunk as a removed line, not a header', () => {
    const l = unifiedLines('@@ -1 +1 @@\n--- a yaml separator\n+++b');
    expect(l.map((x) => x.kind)).toEqual(['hunk', 'removed', 'added']);
  });

  it('keeps CRLF out of the text', () => {
    expect(unifiedLines('@@ -1 +1 @@\r\n-a\r\n+b\r\n').map((x) => x.text)).toEqual(['@@ -1 +1 @@', '-a', '+b']);
  });
});
