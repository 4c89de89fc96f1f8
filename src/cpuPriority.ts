import { setPriority } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config.js';

/**
 * A worker process gives way to API processes on the same host: an accepted edit waits in the queue at no cost,
 * while a client waits for its `202`, and a busy worker otherwise takes its equal share of the cores from the API
 * (docs/benchmarks-log.md has the POST latencies with and without). Niceness only matters when processes contend for a
 * core, so a worker on a host of its own runs as fast as before; in a container it orders processes within that
 * container only. ROLE=all keeps the default priority: its API would share the worker's.
 */
export function yieldCpuToApi(config: Config, logger: Logger): void {
  if (config.ROLE !== 'worker' || config.WORKER_NICE === 0) return;
  try {
    setPriority(config.WORKER_NICE);
  } catch (err) {
    logger.warn({ err, nice: config.WORKER_NICE }, 'could not lower the worker’s CPU priority; it runs at the default');
  }
}
