// The one export or import that may run at a time, as the progress dialog shows it: waiting for
// the file dialog, running with progress, cancelling, then done / cancelled / failed.
import * as api from '../api/tideline';
import type { AppError } from '../api/errors';
import type { TaskOutcome } from '../api/bindings/TaskOutcome';
import type { TaskProgress } from '../api/bindings/TaskProgress';

export type TaskKind = 'export' | 'import';
export type TaskPhase = 'choosing' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

export type TaskView = {
  readonly task: TaskKind;
  readonly title: string;
  readonly phase: TaskPhase;
  readonly progress: TaskProgress | null;
  readonly outcome: TaskOutcome | null;
  readonly error: AppError | null;
};

const ACTIVE: readonly TaskPhase[] = ['choosing', 'running', 'cancelling'];

export class TaskRunner {
  view: TaskView | null = $state.raw(null);

  /** The task still at work, if any. */
  get running(): TaskKind | null {
    return this.view && ACTIVE.includes(this.view.phase) ? this.view.task : null;
  }

  /** Runs `start` (which calls Rust with a progress callback). A null outcome (the user
   * cancelled the file dialog) closes the dialog without a word. */
  async run(task: TaskKind, title: string, start: (onProgress: (p: TaskProgress) => void) => Promise<TaskOutcome | null>): Promise<void> {
    if (this.running !== null) return;
    let finished = false;
    const first: TaskView = { task, title, phase: 'choosing', progress: null, outcome: null, error: null };
    this.view = first;
    const onProgress = (p: TaskProgress) => {
      const v = this.view;
      if (finished || !v) return;
      this.view = { ...v, phase: v.phase === 'choosing' ? 'running' : v.phase, progress: p };
    };
    try {
      const outcome = await start(onProgress);
      finished = true;
      this.view = outcome === null ? null : { ...(this.view ?? first), phase: 'done', outcome };
    } catch (e) {
      finished = true;
      const error = e as AppError;
      const phase = error.kind === 'cancelled' ? 'cancelled' : 'failed';
      this.view = { ...(this.view ?? first), phase, error };
    }
  }

  /** Asks Rust to stop; the task then rejects with kind `cancelled`. */
  async cancel(): Promise<void> {
    const v = this.view;
    // While Rust's file dialog is open there is nothing to cancel yet.
    if (!v || v.phase !== 'running') return;
    this.view = { ...v, phase: 'cancelling' };
    try {
      await api.cancelTask();
    } catch {
      // The task ends on its own either way; its outcome is what the dialog shows.
    }
  }

  /** Closes the dialog once the task is over. */
  dismiss(): void {
    if (this.running === null) this.view = null;
  }
}
