import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramSamples, registerScrapedMetric, sharedRead } from '../../src/metrics/scrapedMetric.js';

describe('scraped metrics', () => {
  it('render through prom-client’s registry with their type, and a histogram with cumulative buckets', async () => {
    const registry = new Registry();
    registerScrapedMetric(registry, {
      name: 'demo_total',
      help: 'A total read at scrape time',
      type: 'counter',
      samples: async () => [{ labels: { model: 'a/b/c' }, value: 7 }],
    });
    registerScrapedMetric(registry, {
      name: 'demo_seconds',
      help: 'Bucketed elsewhere',
      type: 'histogram',
      samples: async () => histogramSamples('demo_seconds', { outcome: 'ok' }, [0.1, 1], [2, 5], 6, 3.5),
    });
    expect(await registry.metrics()).toBe(
      [
        '# HELP demo_total A total read at scrape time',
        '# TYPE demo_total counter',
        'demo_total{model="a/b/c"} 7',
        '',
        '# HELP demo_seconds Bucketed elsewhere',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{outcome="ok",le="0.1"} 2',
        'demo_seconds_bucket{outcome="ok",le="1"} 5',
        'demo_seconds_bucket{outcome="ok",le="+Inf"} 6',
        'demo_seconds_sum{outcome="ok"} 3.5',
        'demo_seconds_count{outcome="ok"} 6',
        '',
      ].join('\n'),
    );
  });

  it('share one read among the metrics of a scrape, and read afresh after the reuse window', async () => {
    let reads = 0;
    const read = sharedRead(async () => ++reads, { reuseMs: 50, waitMs: 1_000, timedOut: () => -1 });
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    await new Promise((r) => setTimeout(r, 80));
    expect(await read()).toBe(2);
  });

  it('never start a read while one runs: a later scrape waits for the same read, and one that waits too long is told so', async () => {
    let reads = 0;
    let finish!: (n: number) => void;
    const read = sharedRead(
      () => {
        reads++;
        return new Promise<number>((resolve) => {
          finish = resolve;
        });
      },
      { reuseMs: 10, waitMs: 50, timedOut: () => -1 },
    );
    expect(await read()).toBe(-1);
    // Past the reuse window, with the first read still running.
    const waiting = read();
    expect(reads).toBe(1);
    finish(7);
    expect(await waiting).toBe(7);
    await new Promise((r) => setTimeout(r, 20));
    const next = read();
    expect(reads).toBe(2);
    finish(8);
    expect(await next).toBe(8);
  });
});
