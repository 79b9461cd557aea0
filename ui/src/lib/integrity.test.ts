import { describe, expect, it } from 'vitest';
import { checkedUpTo, integrityView, reverifyDelay, REVERIFY_MIN_MS, uncheckedSince } from './integrity';

describe('integrity badge', () => {
  it('reads intact with the count, and the chain head in the tooltip', () => {
    const v = integrityView({ verified: 12345, broken: null, head: 'ab12', last_seq: 12399 });
    expect(v.intact).toBe(true);
    expect(v.label).toBe('Intact · 12,345 events');
    expect(v.title).toContain('Chain head: ab12');
    expect(v.title).toContain('through event #12399');
    expect(integrityView({ verified: 1, broken: null, head: 'x', last_seq: 1 }).label).toBe('Intact · 1 event');
    expect(integrityView({ verified: 0, broken: null, head: '', last_seq: null }).title).toContain('no events yet');
  });

  it('names the first event where the chain breaks', () => {
    const v = integrityView({
      verified: 41,
      broken: { seq: 42, source: '/cloudAccounts/1', event_id: 'evt-42', reason: 'the stored bytes do not match their link' },
      head: 'ff00',
      last_seq: 41,
    });
    expect(v.intact).toBe(false);
    expect(v.label).toBe('Broken at event evt-42: the stored bytes do not match their link');
    expect(v.title).toContain('#42');
    expect(v.title).toContain('Chain head: ff00');
  });
});

describe('when to verify again', () => {
  const at = 1_000_000;
  it('verifies at once the first time', () => {
    expect(reverifyDelay(null, 5, at)).toBe(0);
  });
  it('does not verify again while nothing new arrived', () => {
    expect(reverifyDelay({ at, seq: 5 }, 5, at + 10 * REVERIFY_MIN_MS)).toBeNull();
  });
  it('waits out the rest of the interval after the last check once new events arrive', () => {
    expect(reverifyDelay({ at, seq: 5 }, 9, at + 1_000)).toBe(REVERIFY_MIN_MS - 1_000);
    expect(reverifyDelay({ at, seq: 5 }, 9, at + REVERIFY_MIN_MS + 1)).toBe(0);
    expect(reverifyDelay({ at, seq: null }, 1, at)).toBe(REVERIFY_MIN_MS);
  });
});

describe('what a verification covered', () => {
  it("is the last event Rust verified, not the newest one known when the check began", () => {
    expect(checkedUpTo({ verified: 12, broken: null, head: 'ab', last_seq: 12 }, 9)).toBe(12);
    expect(checkedUpTo({ verified: 0, broken: null, head: '', last_seq: null }, null)).toBeNull();
  });
  it('is the newest known event when the chain broke early (checking again would not help)', () => {
    const broken = { seq: 4, source: 's', event_id: 'e', reason: 'r' };
    expect(checkedUpTo({ verified: 3, broken, head: 'ab', last_seq: 3 }, 20)).toBe(20);
  });

  it('counts the events stored since the last check, until the next one covers them', () => {
    const checked = { verified: 1, broken: null, head: 'x', last_seq: 1 };
    expect(uncheckedSince(checked, 15)).toBe(14);
    expect(uncheckedSince(checked, 1)).toBe(0);
    expect(uncheckedSince(checked, null)).toBe(0);
    expect(uncheckedSince({ verified: 0, broken: null, head: '', last_seq: null }, 3)).toBe(3);
    // A broken chain: the count says where it broke, not what is left.
    const broken = { verified: 4, head: 'x', last_seq: 4, broken: { seq: 5, event_id: 'e5', source: '/a', reason: 'altered' } };
    expect(uncheckedSince(broken, 40)).toBe(0);
  });
});
