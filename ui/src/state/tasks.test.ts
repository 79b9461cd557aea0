// The export/import dialog's model: progress, a cancelled task that is not an error, a file
// dialog cancelled without a word, one task at a time.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskOutcome } from '../api/bindings/TaskOutcome';
import type { TaskProgress } from '../api/bindings/TaskProgress';

const api = vi.hoisted(() => ({ cancels: 0 }));
vi.mock('../api/tideline', () => ({
  cancelTask: async () => {
    api.cancels++;
    return null;
  },
}));

const { TaskRunner } = await import('./tasks.svelte');

/** A task whose progress and end the test drives. */
function controlled() {
  let report: (p: TaskProgress) => void = () => {};
  let finish: (o: TaskOutcome | null) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const start = (onProgress: (p: TaskProgress) => void) =>
    new Promise<TaskOutcome | null>((resolve, reject) => {
      report = onProgress;
      finish = resolve;
      fail = reject;
    });
  return { start, report: (p: TaskProgress) => report(p), finish: (o: TaskOutcome | null) => finish(o), fail: (e: unknown) => fail(e) };
}

const progress = (done: number): TaskProgress => ({ task: 'export', done, total: 10, unit: 'events' });

beforeEach(() => {
  api.cancels = 0;
});

describe('TaskRunner', () => {
  it('waits for the file dialog, shows progress, then the outcome', async () => {
    const t = new TaskRunner();
    const c = controlled();
    const done = t.run('export', 'Export', c.start);
    expect(t.view?.phase).toBe('choosing');
    expect(t.running).toBe('export');
    c.report(progress(4));
    expect(t.view?.phase).toBe('running');
    expect(t.view?.progress?.done).toBe(4);
    c.finish({ path: '/x.csv', summary: 'Exported 10 events to /x.csv' });
    await done;
    expect(t.view?.phase).toBe('done');
    expect(t.view?.outcome?.summary).toBe('Exported 10 events to /x.csv');
    expect(t.running).toBeNull();
    // progress that trails the end is ignored
    c.report(progress(9));
    expect(t.view?.progress?.done).toBe(4);
    t.dismiss();
    expect(t.view).toBeNull();
  });

  it('closes without a word when the file dialog is cancelled', async () => {
    const t = new TaskRunner();
    const c = controlled();
    const done = t.run('import', 'Import', c.start);
    c.finish(null);
    await done;
    expect(t.view).toBeNull();
  });

  it('a cancelled task is "cancelled", not a failure', async () => {
    const t = new TaskRunner();
    const c = controlled();
    const done = t.run('export', 'Export', c.start);
    await t.cancel(); // nothing to cancel while the file dialog is open
    expect(api.cancels).toBe(0);
    c.report(progress(2));
    await t.cancel();
    expect(api.cancels).toBe(1);
    expect(t.view?.phase).toBe('cancelling');
    expect(t.running).toBe('export');
    c.fail({ kind: 'cancelled', message: 'the export was cancelled' });
    await done;
    expect(t.view?.phase).toBe('cancelled');
  });

  it('other errors are failures, shown with their message', async () => {
    const t = new TaskRunner();
    const c = controlled();
    const done = t.run('import', 'Import', c.start);
    c.fail({ kind: 'import', message: 'line 3 is not JSON' });
    await done;
    expect(t.view?.phase).toBe('failed');
    expect(t.view?.error?.message).toBe('line 3 is not JSON');
  });

  it('runs one task at a time', async () => {
    const t = new TaskRunner();
    const a = controlled();
    const b = vi.fn(async () => null);
    const done = t.run('export', 'A', a.start);
    await t.run('import', 'B', b);
    expect(b).not.toHaveBeenCalled();
    expect(t.view?.title).toBe('A');
    t.dismiss(); // not while it runs
    expect(t.view?.title).toBe('A');
    a.finish(null);
    await done;
  });
});
