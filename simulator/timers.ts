/**
 * Every timer the simulator starts goes through one TimerSet so that reset() and close() can stop them
 * all: nothing fires after the simulator is closed and no test leaks a handle.
 */
export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;

  /** Schedules `fn`; does nothing once the set is stopped (work that was in flight at close starts no new timers). */
  after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** Resolves after `ms`, or at once when the set is cleared (the caller then finds the world reset). */
  sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        resolve();
      };
      this.sleepers.add(wake);
      this.after(ms, wake);
    });
  }

  /** Clears everything for good: used when the simulator closes. */
  stop(): void {
    this.stopped = true;
    this.clearAll();
  }

  clearAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
