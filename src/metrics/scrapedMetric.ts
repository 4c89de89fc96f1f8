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

export interface SharedReadOptions<T> {
  /** Callers within this long of the last one share its answer: the metrics of one scrape, or a pair of Prometheus servers. */
  reuseMs: number;
  /** The longest a caller waits for the read; then it gets `timedOut()`, and the read goes on. */
  waitMs: number;
  timedOut: () => T;
}

/**
 * One read shared by every metric of a source during a scrape, and never more than one at a time: the first
 * metric to ask starts it, the others (and any scrape within `reuseMs`) get the same answer. A scrape that comes
 * while a read is still running waits for that read (up to `waitMs`) instead of starting another, so reads that
 * a slow source holds up cannot pile up behind each other; the read itself must end on its own (its source's
 * timeouts).
 */
export function sharedRead<T>(read: () => Promise<T>, options: SharedReadOptions<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let last: { at: number; answer: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at <= options.reuseMs) return last.answer;
    if (!running) {
      const started = read();
      running = started;
      const done = () => {
        if (running === started) running = undefined;
      };
      started.then(done, done);
    }
    last = { at: now, answer: waitAtMost(running, options.waitMs, options.timedOut) };
    return last.answer;
  };
}

function waitAtMost<T>(promise: Promise<T>, ms: number, timedOut: () => T): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(timedOut()), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
