import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { now } from './upstream.js';

export interface PostRun {
  /** Responses by HTTP status. */
  statusCounts: Record<string, number>;
  accepted: number;
  errors: number;
  timeouts: number;
  startedAt: number;
  finishedAt: number;
  /** Accepted (202) per second over the posting time. */
  acceptedPerSec: number;
  /** Every response's latency in ms (autocannon's per-response timing). */
  latenciesMs: number[];
}

export interface PostOptions {
  /** One per API process; connections, count and rate are split evenly across them. */
  apiUrls: string[];
  apiKey: string;
  body: string;
  connections: number;
  amount: number;
}

const running = new Set<autocannon.Instance>();
let stopped = false;

/** Stops every load generator still running (Ctrl-C, deadline). */
export function stopLoad(): void {
  stopped = true;
  for (const instance of running) instance.stop();
}

/** POSTs `amount` edits to /v1/edits over `connections` keep-alive connections (autocannon). */
export async function postEdits(o: PostOptions): Promise<PostRun> {
  const n = o.apiUrls.length;
  const share = (total: number, i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  const latenciesMs: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  const startedAt = now();
  // autocannon calls back on its next one-second sampling tick, not at the last answer: timing to the callback
  // rounds every run up to whole seconds (3,000 edits in 5.1 s read as 6 s).
  let lastAnswerAt = startedAt;
  await Promise.all(
    o.apiUrls.map(
      (url, i) =>
        new Promise<void>((resolve, reject) => {
          const amount = share(o.amount, i);
          if (amount === 0) return resolve();
          const instance = autocannon(
            {
              url: `${url}/v1/edits`,
              method: 'POST',
              headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
              body: o.body,
              connections: Math.max(1, Math.min(amount, share(o.connections, i))),
              amount,
              timeout: 60,
              pipelining: 1,
            },
            (err, result) => {
              running.delete(instance);
              if (err) return reject(err);
              errors += result.errors;
              timeouts += result.timeouts;
              resolve();
            },
          );
          running.add(instance);
          instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
            statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
            latenciesMs.push(responseTime);
            lastAnswerAt = now();
          });
        }),
    ),
  );
  const finishedAt = lastAnswerAt;
  const accepted = statusCounts['202'] ?? 0;
  return { statusCounts, accepted, errors, timeouts, startedAt, finishedAt, acceptedPerSec: accepted / ((finishedAt - startedAt) / 1000), latenciesMs };
}

export interface PacedRun extends PostRun {
  rate: number;
  /** How late the pacer fired each request after its scheduled time (its own event loop, not the relay). */
  lateMs: number[];
}

/**
 * POSTs `amount` edits at a fixed offered rate, open loop: request i is fired at start + i / rate whether or
 * not earlier ones have been answered, over at most `connections` keep-alive connections per API process.
 * Latency runs from the moment a request is fired (including any wait for a free connection, so a slow
 * server cannot hide behind a client that waits for it) to the end of its response.
 * (autocannon's overallRate is not used here: each connection sends its whole per-second budget at the
 * start of each second, so it offers bursts, not a rate.)
 */
export async function postAtRate(o: PostOptions & { overallRate: number }): Promise<PacedRun> {
  const agents = o.apiUrls.map(() => new Agent({ keepAlive: true, maxSockets: Math.max(1, Math.ceil(o.connections / o.apiUrls.length)) }));
  const latenciesMs: number[] = [];
  const lateMs: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  const interval = 1000 / o.overallRate;
  const headers = { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)) };
  const inFlight: Promise<void>[] = [];
  const fire = (i: number, firedAt: number) =>
    new Promise<void>((resolve) => {
      const k = i % o.apiUrls.length;
      const req = request(`${o.apiUrls[k]}/v1/edits`, { method: 'POST', agent: agents[k], headers, timeout: 60_000 });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          latenciesMs.push(now() - firedAt);
          statusCounts[res.statusCode ?? 0] = (statusCounts[res.statusCode ?? 0] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(o.body);
    });
  const startedAt = now();
  for (let i = 0; i < o.amount && !stopped; ) {
    const due = startedAt + i * interval;
    const t = now();
    if (t >= due) {
      lateMs.push(t - due);
      inFlight.push(fire(i, t));
      i++;
      continue;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(due - t))));
  }
  await Promise.all(inFlight);
  const finishedAt = now();
  for (const agent of agents) agent.destroy();
  const accepted = statusCounts['202'] ?? 0;
  return {
    rate: o.overallRate,
    statusCounts,
    accepted,
    errors,
    timeouts: 0,
    startedAt,
    finishedAt,
    acceptedPerSec: accepted / ((finishedAt - startedAt) / 1000),
    latenciesMs,
    lateMs,
  };
}

/** Nearest-rank percentile of unsorted values; undefined when there are none. */
export function percentile(values: number[], p: number, sorted = false): number | undefined {
  if (values.length === 0) return undefined;
  const s = sorted ? values : [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function summarize(values: number[]): { n: number; p50?: number; p95?: number; p99?: number; max?: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10);
  return { n: s.length, p50: r(percentile(s, 50, true)), p95: r(percentile(s, 95, true)), p99: r(percentile(s, 99, true)), max: r(s.at(-1)) };
}
