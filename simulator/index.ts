import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildSimulatorApp } from './app.js';
import type { SimulatorContext, SimulatorStats } from './context.js';
import { FaultPlan } from './faults.js';
import { JobStore } from './jobStore.js';
import { webhookBody } from './jobViews.js';
import { Ledger } from './ledger.js';
import { JobLifecycle } from './lifecycle.js';
import { TimerSet } from './timers.js';
import { type RecordedCall, type RecordedDelivery, resolveOptions, type SimJob, type SimulatorOptions, type SubmitBehaviour, type Switches } from './types.js';
import { type SimUpload, UploadStore } from './uploadStore.js';
import { WebhookSender } from './webhookSender.js';

export type { SimulatorStats } from './context.js';
export { simModelSlugs } from './models.js';
export type {
  JobStatus,
  RecordedCall,
  RecordedDelivery,
  SimJob,
  SimulatorOptions,
  SubmitBehaviour,
  Switches,
  WebhookMode,
} from './types.js';
export type { SimUpload } from './uploadStore.js';

export interface Simulator {
  app: FastifyInstance;
  /** Starts listening; returns the base URL, e.g. http://127.0.0.1:54321 (port 0 = random). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops timers, pending webhook retries and the server. */
  close(): Promise<void>;
  configure(switches: Partial<Switches>): void;
  /** Forgets jobs, calls, deliveries, switches, one-shot queues, and restores the balance. */
  reset(): void;
  /** One-shot behaviours, consumed in FIFO order, one per submit. */
  nextSubmit(...behaviours: SubmitBehaviour[]): void;
  readonly calls: RecordedCall[];
  readonly deliveries: RecordedDelivery[];
  readonly jobs: Map<string, SimJob>;
  /** Presigned and uploaded files, by fileId. */
  readonly uploads: Map<string, SimUpload>;
  stats(): SimulatorStats;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
}

/** A PixelByte job API on real HTTP, with switches to make it misbehave the way the real one can. */
export function createSimulator(options?: SimulatorOptions): Simulator {
  const resolved = resolveOptions(options);
  const timers = new TimerSet();
  const store = new JobStore();
  const uploads = new UploadStore();
  const ledger = new Ledger(resolved.balanceMicroCents);
  const faults = new FaultPlan();
  const calls: RecordedCall[] = [];
  const deliveries: RecordedDelivery[] = [];
  let listeningUrl: string | undefined;
  const baseUrl = () => resolved.publicUrl ?? listeningUrl ?? 'http://127.0.0.1';

  const sender = new WebhookSender({
    secret: resolved.webhookSecret,
    retryDelaysMs: resolved.webhookRetryDelaysMs,
    timeoutMs: resolved.webhookTimeoutMs,
    holdTimeoutMs: Math.max(1, 2 * resolved.processingMs),
    timers,
    delayMs: () => faults.switches.webhookDelayMs ?? 0,
    record: (delivery) => deliveries.push(delivery),
  });
  const lifecycle = new JobLifecycle({
    store,
    ledger,
    timers,
    pendingMs: resolved.pendingMs,
    processingMs: resolved.processingMs,
    onFinished: (job) =>
      job.webhookUrl ? sender.dispatch({ jobId: job.jobId, url: job.webhookUrl, body: webhookBody(job, baseUrl()), mode: job.webhookMode }) : Promise.resolve(),
  });

  const ctx: SimulatorContext = {
    options: resolved,
    store,
    uploads,
    ledger,
    faults,
    lifecycle,
    sender,
    timers,
    calls,
    deliveries,
    counters: { submits: 0 },
    baseUrl,
    stats: () => ({
      submits: ctx.counters.submits,
      jobsCreated: store.jobsCreated,
      unfinished: store.unfinished,
      maxUnfinished: store.maxUnfinished,
      chargedMicroCents: ledger.charged,
      refundedMicroCents: ledger.refunded,
      balanceMicroCents: ledger.balanceMicroCents,
    }),
    reset: () => {
      timers.clearAll();
      sender.reset();
      lifecycle.reset();
      store.clear();
      uploads.clear();
      ledger.reset();
      faults.reset();
      calls.length = 0;
      deliveries.length = 0;
      ctx.counters.submits = 0;
    },
  };
  const app = buildSimulatorApp(ctx);

  return {
    app,
    async listen(port = 0, host = '127.0.0.1') {
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      listeningUrl = `http://${reachableHost}:${address.port}`;
      return listeningUrl;
    },
    close: () => app.close(),
    configure: (switches) => faults.configure(switches),
    reset: ctx.reset,
    nextSubmit: (...behaviours) => faults.enqueue(behaviours),
    calls,
    deliveries,
    jobs: store.jobs,
    uploads: uploads.uploads,
    stats: ctx.stats,
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`simulator.waitFor: condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
