import type { Logger } from 'pino';

/**
 * Runs its steps one after another every `intervalMs`, never overlapping itself, and logs instead of
 * crashing when a step fails (Postgres or PixelByte may be down; the next round tries again).
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly steps: [name: string, run: () => Promise<unknown>][],
  ) {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runSteps().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async runSteps(): Promise<void> {
    for (const [name, run] of this.steps) {
      if (this.stopped) return;
      try {
        await run();
      } catch (err) {
        this.logger.warn({ err, step: name }, 'periodic step failed; will try again');
      }
    }
  }

  /** Stops scheduling and waits for a round in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
