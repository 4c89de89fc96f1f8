import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../infra/timeout.js';
import { sharedRead } from './scrapedMetric.js';

/** What one read of a source gave: its value, or null when it failed (the scrape goes on without it). */
export interface SourceRead<T> {
  value: T | null;
  seconds: number;
}
export type SourceReader<T> = () => Promise<SourceRead<T>>;

export interface SourceOptions {
  /** A scrape must answer even when Postgres or Redis hangs. */
  timeoutMs: number;
  /** Metrics asking within this long share one read. */
  reuseMs: number;
  logger: Logger;
}

/**
 * Reads a source (Postgres, Redis) once per scrape for all its metrics. A failed read costs only that source's
 * series; `pixelrelay_metrics_source_up` says which, so a dashboard can tell "zero" from "unknown".
 */
export class MetricSources {
  private readonly up: Gauge<'source'>;
  private readonly seconds: Gauge<'source'>;
  private readonly readers: SourceReader<unknown>[] = [];

  constructor(
    registry: Registry,
    private readonly options: SourceOptions,
  ) {
    // Rendered side by side with the metrics that start the reads: waiting for them keeps these from telling the last scrape's story.
    const awaitReads = async () => void (await Promise.all(this.readers.map((read) => read())));
    this.up = new Gauge({
      name: 'pixelrelay_metrics_source_up',
      help: '1 when this scrape read the source, 0 when it failed or timed out',
      labelNames: ['source'],
      registers: [registry],
      collect: awaitReads,
    });
    this.seconds = new Gauge({
      name: 'pixelrelay_metrics_source_read_seconds',
      help: 'How long this scrape took to read the source: the cost of the scrape-time queries',
      labelNames: ['source'],
      registers: [registry],
      collect: awaitReads,
    });
  }

  reader<T>(source: string, read: () => Promise<T>): SourceReader<T> {
    const reader = sharedRead(async (): Promise<SourceRead<T>> => {
      const started = performance.now();
      let value: T | null = null;
      try {
        value = await withTimeout(read(), this.options.timeoutMs, `reading ${source} for metrics`);
      } catch (err) {
        this.options.logger.warn({ err, source }, 'metrics: could not read the source; its series are left out of this scrape');
      }
      const seconds = (performance.now() - started) / 1000;
      this.up.set({ source }, value === null ? 0 : 1);
      this.seconds.set({ source }, seconds);
      return { value, seconds };
    }, this.options.reuseMs);
    this.readers.push(reader);
    return reader;
  }
}
