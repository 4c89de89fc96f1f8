import type { JobStore } from './jobStore.js';
import type { Ledger } from './ledger.js';
import type { TimerSet } from './timers.js';
import type { SimJob } from './types.js';

export interface LifecycleDeps {
  store: JobStore;
  ledger: Ledger;
  timers: TimerSet;
  pendingMs: number;
  processingMs: number;
  /** Called once when a job completes or fails (not when cancelled); resolves when its webhook's first attempt is done. */
  onFinished(job: SimJob): Promise<void>;
}

export const GENERATION_FAILED = { code: 'GENERATION_FAILED', message: 'The model failed to generate an image for this input' };

/** Drives jobs on timers: pending → processing after pendingMs → completed | failed after processingMs. */
export class JobLifecycle {
  private readonly timerOf = new Map<string, NodeJS.Timeout | undefined>();

  constructor(private readonly deps: LifecycleDeps) {}

  start(job: SimJob): void {
    this.schedule(job, this.deps.pendingMs, () => {
      if (!this.deps.store.transition(job, ['pending'], 'processing')) return;
      this.schedule(job, this.deps.processingMs, () => void this.finish(job));
    });
  }

  /** Finishes a job at once (the 'early' webhook mode). */
  finishNow(job: SimJob): Promise<void> {
    this.deps.timers.cancel(this.timerOf.get(job.jobId));
    this.timerOf.delete(job.jobId);
    return this.finish(job);
  }

  /**
   * Only a pending job can be cancelled; it is refunded. No webhook is sent for a cancellation: the caller
   * asked for it and holds the answer, and PixelByte's documented webhook bodies cover completed/failed only.
   */
  cancel(job: SimJob): boolean {
    if (!this.deps.store.transition(job, ['pending'], 'cancelled', { completedAt: new Date() })) return false;
    this.deps.timers.cancel(this.timerOf.get(job.jobId));
    this.timerOf.delete(job.jobId);
    this.deps.ledger.refund(job.costMicroCents);
    return true;
  }

  reset(): void {
    this.timerOf.clear();
  }

  private schedule(job: SimJob, ms: number, fn: () => void): void {
    this.timerOf.set(
      job.jobId,
      this.deps.timers.after(ms, () => {
        this.timerOf.delete(job.jobId);
        fn();
      }),
    );
  }

  private finish(job: SimJob): Promise<void> {
    const failed = job.outcome === 'failed';
    const moved = this.deps.store.transition(job, ['pending', 'processing'], failed ? 'failed' : 'completed', {
      completedAt: new Date(),
      error: failed ? GENERATION_FAILED : null,
    });
    if (!moved) return Promise.resolve();
    if (failed) this.deps.ledger.refund(job.costMicroCents);
    return this.deps.onFinished(job);
  }
}
