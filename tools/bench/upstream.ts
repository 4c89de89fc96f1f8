/**
 * The bench's own PixelByte: a lean stand-in run as a child process (forked by tools/bench/run.ts, driven over IPC).
 *
 * Why not the simulator (simulator/): it keeps every call (headers and body) and every webhook delivery in
 * memory and validates every input with zod on the same two cores the relay is measured on, opens a new TCP
 * connection per webhook, and has no way to hold webhooks and release them all at once. This one answers a
 * submit at once with PixelByte's shapes, sends the signed completion webhook (over keep-alive connections)
 * after `delayMs`, serves `GET /v1/jobs/{id}` with every output, and keeps per job only the timestamps the
 * bench reports. It also hosts the callback receiver (edits' callbackUrl), so "the outside world" is one process.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface UpstreamSettings {
  apiKey: string;
  webhookSecret: string;
  /** Milliseconds from submit to webhook. */
  delayMs: number;
  /** Webhooks in flight at once. */
  webhookConcurrency: number;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across this machine's processes. */
export const now = () => performance.timeOrigin + performance.now();

/** What one job went through, as the bench reads it back (times are `now()` values; 0 = never). */
export interface JobTimes {
  phase: string;
  editId: string;
  submitAt: number;
  sentAt: number;
  doneAt: number;
  /** Status of the last webhook attempt (0 = network error), and how many attempts were made. */
  status: number;
  attempts: number;
  callbackAt: number;
}

export interface UpstreamStats {
  submits: number;
  /** Submits for an edit that had already been submitted: a double charge at the real PixelByte. */
  duplicateSubmits: number;
  badSubmits: number;
  getJobs: number;
  webhooksSent: number;
  webhooksOk: number;
  webhookFailures: number;
  held: number;
  waiting: number;
  inFlight: number;
  callbacks: number;
  duplicateCallbacks: number;
}

export type UpstreamCommand =
  | { cmd: 'phase'; phase: string }
  | { cmd: 'delay'; ms: number }
  | { cmd: 'hold'; on: boolean }
  /** Sends every held webhook, `concurrency` at a time. */
  | { cmd: 'release'; concurrency: number }
  /** Webhooks go round-robin to these origins (a load balancer in front of several API processes). */
  | { cmd: 'apiOrigins'; origins: string[] }
  | { cmd: 'stats' }
  | { cmd: 'jobs'; phase?: string };

interface Job {
  jobId: string;
  requestId: string;
  editId: string;
  phase: string;
  webhookUrl: string;
  outputCount: number;
  createdAt: Date;
  finished: Date | null;
  times: JobTimes;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const RETRY_DELAYS_MS = [1_000, 4_000, 16_000];

export function startUpstream(settings: UpstreamSettings) {
  const jobs = new Map<string, Job>();
  const submittedEdits = new Set<string>();
  const callbackAtByEdit = new Map<string, number>();
  const stats: UpstreamStats = {
    submits: 0,
    duplicateSubmits: 0,
    badSubmits: 0,
    getJobs: 0,
    webhooksSent: 0,
    webhooksOk: 0,
    webhookFailures: 0,
    held: 0,
    waiting: 0,
    inFlight: 0,
    callbacks: 0,
    duplicateCallbacks: 0,
  };
  let phase = 'warmup';
  let delayMs = settings.delayMs;
  let hold = false;
  let concurrency = settings.webhookConcurrency;
  let origins: string[] = [];
  let nextOrigin = 0;
  let seq = 0;
  const held: Job[] = [];
  const waiting: (() => void)[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const self = { baseUrl: '' };

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const raw = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) });
    res.end(raw);
  }
  const error = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { success: false, error: { code, message } });

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  const outputsOf = (job: Job) =>
    Array.from({ length: job.outputCount }, (_, i) => ({
      url: `${self.baseUrl}/outputs/${job.jobId}-${i}.png`,
      type: 'image',
      thumbnail: `${self.baseUrl}/outputs/${job.jobId}-${i}-thumb.png`,
      posterImage: null,
    }));

  function jobView(job: Job) {
    const outputs = job.finished ? outputsOf(job) : [];
    return {
      jobId: job.jobId,
      status: job.finished ? 'completed' : 'pending',
      progress: job.finished ? 100 : 0,
      output: outputs[0]?.url ?? null,
      outputs,
      error: null,
      createdAt: job.createdAt.toISOString(),
      completedAt: job.finished?.toISOString() ?? null,
    };
  }

  async function handleSubmit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { model?: unknown; input?: { num_images?: unknown }; webhookUrl?: unknown };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      stats.badSubmits++;
      return error(res, 400, 'INVALID_INPUT', 'body is not JSON');
    }
    if (typeof body.model !== 'string' || typeof body.input !== 'object' || body.input === null || typeof body.webhookUrl !== 'string') {
      stats.badSubmits++;
      return error(res, 400, 'INVALID_INPUT', 'model, input and webhookUrl are required');
    }
    const editId = UUID.exec(new URL(body.webhookUrl).pathname)?.[0] ?? '';
    stats.submits++;
    if (submittedEdits.has(editId)) stats.duplicateSubmits++;
    submittedEdits.add(editId);
    const createdAt = new Date();
    const job: Job = {
      jobId: `job_${(++seq).toString(36)}_${randomBytes(4).toString('hex')}`,
      requestId: `req_${seq.toString(36)}`,
      editId,
      phase,
      webhookUrl: body.webhookUrl,
      outputCount: Math.min(4, Math.max(1, Number(body.input.num_images ?? 1) || 1)),
      createdAt,
      finished: null,
      times: { phase, editId, submitAt: now(), sentAt: 0, doneAt: 0, status: 0, attempts: 0, callbackAt: 0 },
    };
    jobs.set(job.jobId, job);
    sendJson(res, 200, {
      jobId: job.jobId,
      requestId: job.requestId,
      status: 'pending',
      // A held job has no end in sight: far enough out that the relay's reconciler leaves it alone.
      estimatedCompletionTime: new Date(createdAt.getTime() + (hold ? 3_600_000 : delayMs)).toISOString(),
      costMicroCents: 30_000,
    });
    // After the answer is written, as PixelByte's webhook can only follow its answer (it may still beat our reading of it).
    res.on('finish', () => {
      if (hold) {
        held.push(job);
        stats.held = held.length;
      } else if (delayMs > 0) setTimeout(() => void finishAndSend(job), delayMs);
      else setImmediate(() => void finishAndSend(job));
    });
  }

  /** Webhooks in flight are bounded; one waiting for a slot has not been sent yet (its sentAt is when it leaves). */
  async function slot(): Promise<void> {
    if (stats.inFlight < concurrency) {
      stats.inFlight++;
      return;
    }
    stats.waiting++;
    await new Promise<void>((resolve) => waiting.push(resolve));
    stats.waiting--;
    stats.inFlight++;
  }
  function freeSlot(): void {
    stats.inFlight--;
    const next = waiting.shift();
    next?.();
  }

  async function finishAndSend(job: Job): Promise<void> {
    job.finished = new Date();
    const completedAt = job.finished.toISOString();
    const rawBody = JSON.stringify({
      jobId: job.jobId,
      requestId: job.requestId,
      status: 'completed',
      output: { imageUrl: outputsOf(job)[0]?.url ?? null, metadata: { width: 2048, height: 2048, format: 'png' } },
      completedAt,
    });
    let target = job.webhookUrl;
    if (origins.length > 1) {
      const url = new URL(target);
      if (origins.includes(url.origin)) target = origins[nextOrigin++ % origins.length] + url.pathname;
    }
    for (let attempt = 1; ; attempt++) {
      await slot();
      if (attempt === 1) job.times.sentAt = now();
      stats.webhooksSent++;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = `sha256=${createHmac('sha256', settings.webhookSecret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
      const status = await post(target, rawBody, {
        'x-pixelbyte-timestamp': timestamp,
        'x-pixelbyte-signature': signature,
        'user-agent': 'PixelByte-Webhooks/bench',
      });
      freeSlot();
      job.times.attempts = attempt;
      job.times.status = status;
      if (status >= 200 && status < 300) {
        job.times.doneAt = now();
        stats.webhooksOk++;
        return;
      }
      stats.webhookFailures++;
      const retry = RETRY_DELAYS_MS[attempt - 1];
      if (retry === undefined) return;
      await new Promise((r) => setTimeout(r, retry));
    }
  }

  function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve) => {
      const req = request(url, {
        method: 'POST',
        agent,
        timeout: 30_000,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      req.end(body);
    });
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/outputs/')) return sendJson(res, 200, {});
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${settings.apiKey}`) return error(res, 401, 'INVALID_API_KEY', 'Invalid API key');
    if (req.method === 'POST' && url === '/v1/jobs/submit') return void handleSubmit(req, res);
    if (req.method === 'GET' && url.startsWith('/v1/jobs/')) {
      stats.getJobs++;
      const job = jobs.get(decodeURIComponent(url.slice('/v1/jobs/'.length)));
      return job ? sendJson(res, 200, jobView(job)) : error(res, 404, 'JOB_NOT_FOUND', 'Job not found');
    }
    if (req.method === 'GET' && url.startsWith('/v1/jobs')) return sendJson(res, 200, { jobs: [], nextCursor: null, hasMore: false });
    if (req.method === 'POST' && url.endsWith('/cancel')) return error(res, 400, 'JOB_CANNOT_BE_CANCELLED', 'not in the bench');
    return error(res, 404, 'NOT_FOUND', `No route ${req.method} ${url}`);
  });
  server.keepAliveTimeout = 120_000;

  /** The edits' callbackUrl: answers 204 and notes when each edit's first callback arrived. */
  const receiver = createServer((req, res) => {
    const at = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      stats.callbacks++;
      let editId: string | undefined;
      try {
        editId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { id?: string } }).data?.id;
      } catch {
        return;
      }
      if (!editId) return;
      if (callbackAtByEdit.has(editId)) stats.duplicateCallbacks++;
      else callbackAtByEdit.set(editId, at);
    });
  });

  async function listen(): Promise<{ url: string; callbackUrl: string }> {
    const on = (s: typeof server) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
    const [port, callbackPort] = await Promise.all([on(server), on(receiver)]);
    self.baseUrl = `http://127.0.0.1:${port}`;
    return { url: self.baseUrl, callbackUrl: `http://127.0.0.1:${callbackPort}/callback` };
  }

  function command(c: UpstreamCommand): unknown {
    switch (c.cmd) {
      case 'phase':
        phase = c.phase;
        return { phase };
      case 'delay':
        delayMs = c.ms;
        return { delayMs };
      case 'hold':
        hold = c.on;
        return { hold };
      case 'release': {
        concurrency = c.concurrency;
        const batch = held.splice(0);
        stats.held = 0;
        for (const job of batch) void finishAndSend(job);
        return { released: batch.length };
      }
      case 'apiOrigins':
        origins = c.origins;
        return { origins };
      case 'stats':
        return { ...stats };
      case 'jobs': {
        const out: JobTimes[] = [];
        for (const job of jobs.values()) {
          if (c.phase !== undefined && job.phase !== c.phase) continue;
          out.push({ ...job.times, callbackAt: callbackAtByEdit.get(job.editId) ?? 0 });
        }
        return out;
      }
    }
  }

  return {
    listen,
    command,
    close: () => Promise.all([new Promise((r) => server.close(r)), new Promise((r) => receiver.close(r))]).then(() => agent.destroy()),
  };
}

// Forked by tools/bench/run.ts: settings from argv, commands over IPC.
if (process.send && process.argv[2] === '--serve') {
  const settings = JSON.parse(process.argv[3] ?? '{}') as UpstreamSettings;
  const upstream = startUpstream(settings);
  const addresses = await upstream.listen();
  process.send({ ready: addresses });
  process.on('message', (message: { id: number; command: UpstreamCommand }) => {
    let result: unknown;
    try {
      result = upstream.command(message.command);
    } catch (err) {
      result = { error: String(err) };
    }
    process.send?.({ id: message.id, result });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => {});
}
