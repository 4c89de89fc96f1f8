import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { MetricsDatabase } from '../infra/metricsDatabase.js';
import type { EditQueues } from '../queue/queues.js';
import { readDatabaseStats, registerDatabaseMetrics } from './databaseMetrics.js';
import { readQueueStats, registerQueueMetrics } from './queueMetrics.js';
import { MetricSources } from './source.js';

export interface RelayMetricsDeps {
  /** The scrape's own connection (infra/metricsDatabase.ts): its reads never wait for, or hold, the API's. */
  metricsDb: MetricsDatabase;
  /** The API role's queues (its fail-fast Redis connection): a scrape never waits for Redis to come back. */
  queues: EditQueues;
  logger: Logger;
}

/** What one upload came to, as the upload service tells it (engine/uploads). */
export interface UploadCount {
  source: 'request' | 'data_url';
  outcome: 'stored' | 'refused' | 'failed';
  code: string;
  seconds?: number;
}

/** What a webhook to /webhooks/pixelbyte came to (see plugins/metrics.ts). */
export type WebhookIntakeResult = 'applied' | 'duplicate' | 'stored' | 'refused';

// A scrape answers within this even when Postgres or Redis hangs: Prometheus's own default timeout is 10 s. The
// reads go on, one per source at a time, until Postgres's statement timeout or a dropped Redis connection ends them.
const SOURCE_TIMEOUT_MS = 5_000;
// Metrics of one scrape, and scrapes within this long of each other (a pair of Prometheus servers), share one read.
const SHARE_READ_MS = 5_000;

/**
 * This process's Prometheus registry. Its totals come from Postgres and its queue figures from Redis at scrape
 * time, so they are exact across restarts and the same from every API process; only what happens in this
 * process alone (HTTP latency, webhook intake answers, the process's own resources) is counted in memory.
 */
export class RelayMetrics {
  readonly registry = new Registry();
  private readonly http: Histogram<'method' | 'route' | 'status_code'>;
  private readonly webhooks: Counter<'result' | 'code'>;
  private readonly uploads: Counter<'source' | 'outcome' | 'code'>;
  private readonly uploadSeconds: Histogram<'outcome'>;

  constructor(deps: RelayMetricsDeps) {
    collectDefaultMetrics({ register: this.registry });
    this.http = new Histogram({
      name: 'pixelrelay_http_request_duration_seconds',
      help: 'HTTP requests this process answered, by method, route pattern and status code. In memory: since this process started.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.webhooks = new Counter({
      name: 'pixelrelay_webhook_intake_total',
      help: 'PixelByte webhooks this process answered: applied, duplicate (a repeat), stored (kept, not applied), refused (by error code). In memory: since this process started.',
      labelNames: ['result', 'code'],
      registers: [this.registry],
    });
    this.uploads = new Counter({
      name: 'pixelrelay_uploads_total',
      help: 'Images this process put on PixelByte’s storage, by source (request: POST /v1/uploads; data_url: an edit’s inline image), outcome (stored; refused: the file, by error code; failed: PixelByte or Postgres, by error code). In memory: since this process started.',
      labelNames: ['source', 'outcome', 'code'],
      registers: [this.registry],
    });
    this.uploadSeconds = new Histogram({
      name: 'pixelrelay_upload_duration_seconds',
      help: 'From an upload’s presign to its record (PixelByte’s presign and the PUT of the file), by outcome (stored, failed). In memory: since this process started.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    const sources = new MetricSources(this.registry, { timeoutMs: SOURCE_TIMEOUT_MS, reuseMs: SHARE_READ_MS, logger: deps.logger });
    registerDatabaseMetrics(
      this.registry,
      sources.reader('postgres', () => deps.metricsDb.snapshot(readDatabaseStats)),
    );
    registerQueueMetrics(
      this.registry,
      sources.reader('redis', () => readQueueStats([deps.queues.submit, deps.queues.callback])),
    );
  }

  /** `route` is the route's pattern (`/v1/edits/:id`), never the URL: one series per route, not per edit. */
  observeHttpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.http.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  countWebhook(result: WebhookIntakeResult, code = ''): void {
    this.webhooks.inc({ result, code });
  }

  countUpload(event: UploadCount): void {
    this.uploads.inc({ source: event.source, outcome: event.outcome, code: event.code });
    if (event.seconds !== undefined && event.outcome !== 'refused') this.uploadSeconds.observe({ outcome: event.outcome }, event.seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
