import type { Metric, Registry } from 'prom-client';

export type Labels = Record<string, string>;
export interface Sample {
  labels?: Labels;
  value: number;
  /** For a histogram's `_bucket`, `_sum` and `_count` lines. */
  metricName?: string;
}

export interface ScrapedMetricSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** The samples as of now; [] when their source could not be read (see `pixelrelay_metrics_source_up`). */
  samples(): Promise<Sample[]>;
}

/**
 * A metric whose every value is read from its source (Postgres, Redis) at scrape time, so it is as exact after
 * a restart as before. prom-client's own classes keep values in the process, and a histogram among them cannot
 * be given counts someone else has already bucketed; the registry only needs `get()`, so this supplies it.
 */
export function registerScrapedMetric(registry: Registry, spec: ScrapedMetricSpec): void {
  const metric = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    aggregator: 'sum',
    get: async () => ({ name: spec.name, help: spec.help, type: spec.type, aggregator: 'sum', values: await spec.samples() }),
    reset: () => {},
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** Cumulative `_bucket` lines (with `+Inf`), `_sum` and `_count`, from per-bucket counts taken elsewhere. */
export function histogramSamples(name: string, labels: Labels, bounds: readonly number[], cumulative: readonly number[], count: number, sum: number): Sample[] {
  return [
    ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: cumulative[i] ?? 0 })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
    { metricName: `${name}_sum`, labels, value: sum },
    { metricName: `${name}_count`, labels, value: count },
  ];
}

/**
 * One read shared by every metric of a source during a scrape: the first metric to ask starts it, the others
 * (and any scrape within `reuseMs`) get the same answer, so a scrape costs one round of queries, not one per metric.
 */
export function sharedRead<T>(read: () => Promise<T>, reuseMs: number): () => Promise<T> {
  let last: { startedAt: number; result: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.startedAt > reuseMs) last = { startedAt: now, result: read() };
    return last.result;
  };
}
