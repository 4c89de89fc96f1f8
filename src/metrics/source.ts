import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { sharedRead } from './scrapedMetric.js';

/** What one read of a source gave: its value, or null when it failed (the scrape goes on without it). */
export interface SourceRead<T> {
  value: T | null;
  seconds: number;
}
export type SourceReader<T> = () => Promise<SourceRead<T>>;

export interface SourceOptions {
  /**
   * A scrape must answer even when Postgres or Redis hangs: it waits this long for a source at most. The read
   * goes on, and is not joined by another (slow reads would pile up on what they run on): each source's own
   * timeouts end it.
   */
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
    const { timeoutMs, reuseMs, logger } = this.options;
    const shared = sharedRead(
      async (): Promise<SourceRead<T>> => {
        const started = performance.now();
        let value: T | null = null;
        try {
          value = await read();
        } catch (err) {
          logger.warn({ err, source }, 'metrics: could not read the source; its series are left out of this scrape');
        }
        return { value, seconds: (performance.now() - started) / 1000 };
      },
      {
        reuseMs,
        waitMs: timeoutMs,
        timedOut: () => {
          logger.warn(
            { source, timeoutMs },
            'metrics: the source has not answered; its series are left out of this scrape, and the next one waits for the same read',
          );
          return { value: null, seconds: timeoutMs / 1000 };
        },
      },
    );
    const reader = async () => {
      const answer = await shared();
      this.up.set({ source }, answer.value === null ? 0 : 1);
      this.seconds.set({ source }, answer.seconds);
      return answer;
    };
    this.readers.push(reader);
    return reader;
  }
}
