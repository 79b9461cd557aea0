import { describe, expect, it } from 'vitest';
import { formatProgress, formatRulesReading, progressPercent, rulesReadPercent } from './progress';

const p = (done: number, total: number, unit = 'events') => ({ task: 'export', done, total, unit });

describe('progress', () => {
  it('rounds down, so 100% means finished', () => {
    expect(progressPercent(p(0, 200))).toBe(0);
    expect(progressPercent(p(1, 3))).toBe(33);
    expect(progressPercent(p(1999, 2000))).toBe(99);
    expect(progressPercent(p(2000, 2000))).toBe(100);
  });

  it('clamps odd counts and has no percent without a total', () => {
    expect(progressPercent(p(250, 200))).toBe(100);
    expect(progressPercent(p(-5, 200))).toBe(0);
    expect(progressPercent(p(10, 0))).toBeNull();
  });

  it('writes events as counts', () => {
    expect(formatProgress(p(1234, 10000))).toBe('1,234 of 10,000 events · 12%');
    expect(formatProgress(p(1, 1))).toBe('1 of 1 event · 100%');
    expect(formatProgress(p(7, 0))).toBe('7 events');
  });

  it('says the task is starting when Rust reports 0 of 0 at the start', () => {
    expect(formatProgress(p(0, 0))).toBe('Starting…');
    expect(formatProgress(p(0, 0, 'bytes'))).toBe('Starting…');
    expect(formatProgress(p(0, 10))).toBe('0 of 10 events · 0%');
  });

  it('writes bytes in binary units', () => {
    expect(formatProgress(p(512, 2048, 'bytes'))).toBe('512 B of 2.0 KiB · 25%');
    expect(formatProgress(p(3 * 1024 * 1024, 12 * 1024 * 1024, 'bytes'))).toBe('3.0 MiB of 12.0 MiB · 25%');
    expect(formatProgress(p(1024 ** 3, 4 * 1024 ** 3, 'bytes'))).toBe('1.0 GiB of 4.0 GiB · 25%');
  });

  it('says how far the rules have read a session, and nothing while the total is not known', () => {
    expect(formatRulesReading(412_000, 1_000_000)).toBe('412,000 of 1,000,000 events · 41%');
    expect(rulesReadPercent(412_000, 1_000_000)).toBe(41);
    expect(formatRulesReading(0, 0)).toBeNull();
    expect(rulesReadPercent(0, 0)).toBeNull();
  });
});
