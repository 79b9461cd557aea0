import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pacer } from './pace';

describe('Pacer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs on the next turn when nothing was marked, and once however often it is asked', () => {
    let runs = 0;
    const p = new Pacer(1000, () => runs++);
    p.schedule();
    p.schedule();
    expect(p.pending).toBe(true);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(0);
    expect(runs).toBe(1);
    expect(p.pending).toBe(false);
  });

  it('runs no sooner than the interval after the last mark', () => {
    let runs = 0;
    const p = new Pacer(1000, () => runs++);
    p.mark();
    vi.advanceTimersByTime(300);
    p.schedule();
    vi.advanceTimersByTime(699);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    // A mark long ago: due on the next turn.
    vi.advanceTimersByTime(5000);
    p.schedule();
    vi.advanceTimersByTime(0);
    expect(runs).toBe(2);
  });

  it('a later mark does not move a run already scheduled', () => {
    let runs = 0;
    const p = new Pacer(1000, () => runs++);
    p.mark();
    p.schedule();
    vi.advanceTimersByTime(500);
    p.mark();
    vi.advanceTimersByTime(500);
    expect(runs).toBe(1);
  });

  it('cancel drops the run and lets a new one be scheduled; dispose schedules none again', () => {
    let runs = 0;
    const p = new Pacer(100, () => runs++);
    p.schedule();
    p.cancel();
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(0);
    p.schedule();
    vi.advanceTimersByTime(0);
    expect(runs).toBe(1);
    p.schedule();
    p.dispose();
    p.schedule();
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(1);
    expect(p.pending).toBe(false);
  });
});
