/**
 * Soak run (`npm run soak -- --edits 2000`): thousands of edits through a real API and two real worker
 * processes against the PixelByte simulator, with random faults from every switch and random worker
 * restarts (SIGKILL and SIGTERM). At the end it checks that nothing was lost, stuck or silently paid twice.
 * `--exclusive 1` runs with PIXELBYTE_KEY_EXCLUSIVE=true (the soak's key is its own), so unanswered submits
 * are looked up in PixelByte's job list before any resend. Outputs are mirrored into a local S3 server of the soak's
 * own, behind a proxy that is cut now and then (`--mirror 0`: no storage): it checks that no output was lost (each
 * completed edit's every output in the bucket at its recorded size) and no edit was left `storing`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { createSimulator, type SubmitBehaviour, type WebhookMode } from '../simulator/index.js';
import { loadConfig } from '../src/config.js';
import { dropDatabase, ensureDatabaseExists, withDatabase } from '../src/infra/database.js';
import { applyMigrations } from '../src/infra/migrate.js';
import { createPrisma } from '../src/infra/prisma.js';
import { startPixelRelay } from '../src/start.js';
import { freePort } from '../testkit/freePort.js';
import { deleteKeys } from '../testkit/redisKeys.js';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../testkit/s3Server.js';
import { TcpProxy, viaProxy } from '../testkit/tcpProxy.js';

// The AWS SDK's notice that its 2027 releases want Node 22 (the image runs 24) would fill the soak's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EDITS = arg('--edits', 2000);
const POST_CONCURRENCY = arg('--concurrency', 16);
const DEADLINE_MS = arg('--minutes', 20) * 60_000;
const KEY_EXCLUSIVE = arg('--exclusive', 0) === 1;
const MIRROR = arg('--mirror', 1) === 1;
/** Faults and restarts last at least this long, however fast the edits are posted (and 10 s past the last POST). */
const CHAOS_MS = arg('--chaos-seconds', 60) * 1000;
const API_KEY = `soak-${randomUUID()}`;
const random = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const serverUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const databaseUrl = withDatabase(serverUrl, `pixelrelay_soak_${Date.now()}`);
await ensureDatabaseExists(databaseUrl);
await applyMigrations(databaseUrl);
const db = createPrisma(databaseUrl, { max: 4 });

const sim = createSimulator({
  apiKeys: ['pb_soak_key'],
  webhookSecret: 'whsec_soak_secret',
  pendingMs: 50,
  processingMs: 150,
  webhookRetryDelaysMs: [100, 400, 1600, 6400],
});
const simUrl = await sim.listen(0, '127.0.0.1');
const port = await freePort();

// The bucket, reached by the relay through a proxy that the chaos below cuts now and then.
const s3 = MIRROR ? await startLocalS3({ bucket: 'pixelrelay-soak' }) : undefined;
const s3Proxy = s3 && new TcpProxy('127.0.0.1', s3.port);
await s3Proxy?.start();
const storageEnv: Record<string, string> =
  s3 && s3Proxy
    ? {
        ...s3.env({ STORAGE_S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}` }),
        OUTPUT_FETCH_ALLOW_PRIVATE: 'true',
        // Far longer than any cut: every output must be stored, none given up.
        MIRROR_DEADLINE_MS: '120000',
        MIRROR_BACKOFF_BASE_MS: '200',
        MIRROR_BACKOFF_MAX_MS: '2000',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      }
    : {};
const s3Cuts = { count: 0, seconds: 0 };
const env: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: databaseUrl,
  REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: `soak-${port}`,
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  PIXELBYTE_API_URL: simUrl,
  PIXELBYTE_API_KEY: 'pb_soak_key',
  PIXELBYTE_WEBHOOK_SECRET: 'whsec_soak_secret',
  API_KEYS: API_KEY,
  LOG_LEVEL: 'warn',
  UPSTREAM_TIMEOUT_MS: '1500',
  SUBMIT_MAX_ATTEMPTS: '8',
  SUBMIT_BACKOFF_BASE_MS: '100',
  SUBMIT_BACKOFF_MAX_MS: '2000',
  // Longer than the simulator's whole webhook retry schedule (8.5 s), as production's 10 min is longer than PixelByte's 341 s.
  SUBMIT_FENCE_GRACE_MS: '20000',
  RECONCILE_GRACE_MS: '1000',
  RECONCILE_MAX_INTERVAL_MS: '3000',
  SWEEP_INTERVAL_MS: '1000',
  WORKER_LOCK_DURATION_MS: '3000',
  WORKER_CONCURRENCY: '20',
  UPSTREAM_MAX_CONCURRENCY: '50',
  PIXELBYTE_KEY_EXCLUSIVE: String(KEY_EXCLUSIVE),
  ...storageEnv,
};
const api = await startPixelRelay(loadConfig({ ...env, ROLE: 'api' }), pino({ level: 'warn' }));

// The workers reach Postgres through a proxy that is cut now and then, while PixelByte's answers arrive. The API keeps
// its own connection: a POST refused by an outage is the client's to retry, which this soak does not model.
const pgTarget = new URL(databaseUrl);
const pgProxy = new TcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
await pgProxy.start();
const workerDatabaseUrl = viaProxy(databaseUrl, pgProxy);
const postgresCuts = { count: 0, seconds: 0 };

// --- two worker processes, restarted at random ---
// Their logs go to a file: a worker that exits on its own is restarted, counted, and its last words shown at the end.
const workerLogPath = join(tmpdir(), `pixelrelay-soak-workers-${port}.log`);
const workerLog = createWriteStream(workerLogPath);
const workers: (ChildProcess | undefined)[] = [undefined, undefined];
const restarts = { kill: 0, term: 0, exitedOnTheirOwn: 0 };
function startWorker(slot: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, ROLE: 'worker', DATABASE_URL: workerDatabaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(workerLog, { end: false });
  child.stderr!.pipe(workerLog, { end: false });
  workers[slot] = child;
  child.once('exit', (code, signal) => {
    if (workers[slot] !== child || stopping.has(child)) return;
    restarts.exitedOnTheirOwn++;
    workerLog.write(`[soak] worker ${child.pid} exited on its own (${code ?? signal})\n`);
    if (chaos) startWorker(slot);
  });
}
const stopping = new Set<ChildProcess>();
startWorker(0);
startWorker(1);
let chaos = true;
const restarter = (async () => {
  while (chaos) {
    await sleep(3_000 + Math.random() * 4_000);
    if (!chaos) break;
    const slot = Math.floor(Math.random() * 2);
    const signal = Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
    const child = workers[slot]!;
    if (child.exitCode !== null || child.signalCode !== null) continue;
    stopping.add(child);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    signal === 'SIGKILL' ? restarts.kill++ : restarts.term++;
    startWorker(slot);
  }
})();

// --- random faults from every switch ---
const submitFaults: SubmitBehaviour[] = [
  { kind: 'error', status: 500, code: 'INTERNAL_ERROR' },
  { kind: 'error', status: 503, code: 'PUBSUB_PUBLISH_FAILED' },
  { kind: 'error', status: 429, code: 'CONCURRENT_JOBS_EXCEEDED', retryAfter: 1 },
  { kind: 'error', status: 400, code: 'INVALID_INPUT', message: 'soak: rejected input' },
  { kind: 'slow', delayMs: 2_500 }, // longer than UPSTREAM_TIMEOUT_MS: the answer is lost, the job exists
  { kind: 'accept-then-drop' },
  { kind: 'accept-then-slow', delayMs: 1_000 }, // answered within UPSTREAM_TIMEOUT_MS, perhaps into a Postgres cut
  { kind: 'drop' },
  // The load balancer in front of PixelByte: a 504 after the job was created and charged, a 502 before anything happened.
  { kind: 'gateway-error', status: 504, jobCreated: true },
  { kind: 'gateway-error', status: 502, jobCreated: false },
];
const webhookModes: WebhookMode[] = ['drop', 'duplicate', 'reorder', 'early'];
const faults = (async () => {
  while (chaos) {
    sim.configure({
      submitFault: random(submitFaults),
      submitFaultRate: 0.08,
      webhook: random(webhookModes),
      webhookFaultRate: 0.25,
      webhookDelayMs: Math.random() < 0.3 ? Math.floor(Math.random() * 500) : 0,
      failureRate: 0.05,
      responseDelayMs: Math.random() < 0.2 ? 200 : 0,
    });
    await sleep(1_500);
  }
})();

// --- the workers' Postgres cut for 2–5 s every 8–15 s ---
const postgresOutages = (async () => {
  while (chaos) {
    await sleep(8_000 + Math.random() * 7_000);
    if (!chaos) break;
    const ms = 2_000 + Math.random() * 3_000;
    pgProxy.cut();
    await sleep(ms);
    pgProxy.restore();
    postgresCuts.count++;
    postgresCuts.seconds += ms / 1000;
  }
})();

// --- the bucket cut for 1–3 s every 10–20 s ---
const s3Outages = (async () => {
  while (chaos && s3Proxy) {
    await sleep(10_000 + Math.random() * 10_000);
    if (!chaos) break;
    const ms = 1_000 + Math.random() * 2_000;
    s3Proxy.cut();
    await sleep(ms);
    s3Proxy.restore();
    s3Cuts.count++;
    s3Cuts.seconds += ms / 1000;
  }
})();

// --- the clients ---
const started = Date.now();
let posted = 0;
let replayed = 0;
const postErrors: string[] = [];
async function postOne(i: number): Promise<void> {
  // 1K outputs (about 1.5 MB each) when they are mirrored: the bucket keeps every one on disk.
  const size = MIRROR ? { size: '1K' } : {};
  const body = JSON.stringify({ input: { prompt: `soak ${i}`, image_urls: ['https://example.com/a.jpg'], num_images: 1 + (i % 4), ...size } });
  const key = i % 10 === 0 ? `soak-key-${i}` : undefined;
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) };
  const res = await fetch(`${api.url}/v1/edits`, { method: 'POST', headers, body });
  if (res.status !== 202) postErrors.push(`${res.status} ${await res.text()}`);
  else posted++;
  if (key) {
    // A client retrying after a timeout: must get the same edit, never a second one.
    const again = await fetch(`${api.url}/v1/edits`, { method: 'POST', headers, body });
    if (again.headers.get('idempotent-replayed') === 'true') replayed++;
  }
}
let next = 0;
await Promise.all(
  Array.from({ length: POST_CONCURRENCY }, async () => {
    while (next < EDITS) await postOne(next++);
  }),
);
const postedAt = Date.now();
console.log(`posted ${posted} edits in ${((postedAt - started) / 1000).toFixed(1)} s (${postErrors.length} refused)`);

// Faults and restarts go on for a while after the last POST, then stop: every edit must still finish. An API that
// posts 2,000 edits in 5 s would otherwise leave room for two or three restarts and a few fault draws.
await sleep(Math.max(10_000, CHAOS_MS - (Date.now() - started)));
chaos = false;
await Promise.all([faults, restarter, postgresOutages, s3Outages]);
sim.configure({
  submitFault: undefined,
  submitFaultRate: undefined,
  webhook: 'deliver',
  webhookFaultRate: undefined,
  failureRate: undefined,
  responseDelayMs: undefined,
  webhookDelayMs: undefined,
});

const TERMINAL = ['completed', 'failed', 'cancelled'] as const;
for (;;) {
  const open = await db.edit.count({ where: { status: { notIn: [...TERMINAL] } } });
  if (open === 0) break;
  if (Date.now() - started > DEADLINE_MS) {
    console.log(`deadline reached with ${open} edits not terminal`);
    break;
  }
  console.log(`${open} edits still on their way…`);
  await sleep(5_000);
}
const finishedAt = Date.now();

// --- the verdict ---
const edits = await db.edit.findMany({ select: { id: true, status: true, outputs: true, input: true, upstreamJobId: true, errorCode: true } });
// Each resend pixelrelay knowingly risked says so in the history ("a duplicate charge is possible"; a clean
// retry after PixelByte listed no job says "no duplicate charge is possible", which does not count).
const riskedResends = new Map<string, number>();
for (const t of await db.editTransition.findMany({ where: { cause: { contains: 'a duplicate charge is possible' } }, select: { editId: true } })) {
  riskedResends.set(t.editId, (riskedResends.get(t.editId) ?? 0) + 1);
}
const cleanRetries = await db.editTransition.count({ where: { cause: { contains: 'no duplicate charge is possible' } } });
const adoptedFromList = await db.editTransition.count({ where: { cause: { startsWith: 'adopted job ' } } });
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const editOfJob = (job: { webhookUrl: string | null } | undefined) => (job?.webhookUrl ? UUID.exec(new URL(job.webhookUrl).pathname)?.[0] : undefined);
const jobsPerEdit = new Map<string, number>();
for (const job of sim.jobs.values()) {
  const editId = editOfJob(job) ?? 'unknown';
  jobsPerEdit.set(editId, (jobsPerEdit.get(editId) ?? 0) + 1);
}
const byStatus = Object.fromEntries(
  ['queued', 'submitting', 'submitted', 'processing', 'storing', ...TERMINAL].map((s) => [s, edits.filter((e) => e.status === s).length]),
);
const errorCodes: Record<string, number> = {};
for (const e of edits) if (e.errorCode) errorCodes[e.errorCode] = (errorCodes[e.errorCode] ?? 0) + 1;
const completedWithoutAllOutputs = edits.filter(
  (e) => e.status === 'completed' && (e.outputs as unknown[]).length !== Number((e.input as { num_images: string }).num_images),
);
const reached = edits.filter((e) => (jobsPerEdit.get(e.id) ?? 0) > 0).length;
const extraJobs = [...jobsPerEdit.values()].reduce((a, n) => a + n - 1, 0);
const unflaggedDuplicates = [...jobsPerEdit.entries()].filter(([id, n]) => n - 1 > (riskedResends.get(id) ?? 0)).map(([id]) => id);
const completedNotAdopting = edits.filter((e) => e.status === 'completed' && !e.upstreamJobId);
// A job adopted from a webhook or PixelByte's list must be one this very edit submitted.
const adoptedForeignJob = edits.filter((e) => e.upstreamJobId && editOfJob(sim.jobs.get(e.upstreamJobId)) !== e.id);
const submitCalls = sim.calls.filter((c) => c.path === '/v1/jobs/submit');

// Every output of every completed edit in the bucket, at the size its record says: none lost, none given up.
type Mirrored = { mirror?: { key?: string; bytes?: number; error?: { code: string } } };
const mirrorCheck = { outputs: 0, stored: 0, notStored: 0, missingInBucket: 0, wrongSize: 0, bytes: 0, errorCodes: {} as Record<string, number> };
if (s3) {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const stored: { key: string; bytes: number }[] = [];
  for (const e of edits.filter((x) => x.status === 'completed')) {
    for (const o of e.outputs as Mirrored[]) {
      mirrorCheck.outputs++;
      if (o.mirror?.key && o.mirror.bytes !== undefined) stored.push({ key: o.mirror.key, bytes: o.mirror.bytes });
      else {
        mirrorCheck.notStored++;
        const code = o.mirror?.error?.code ?? 'NO_MIRROR';
        mirrorCheck.errorCodes[code] = (mirrorCheck.errorCodes[code] ?? 0) + 1;
      }
    }
  }
  let nextHead = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (nextHead < stored.length) {
        const { key, bytes } = stored[nextHead++]!;
        try {
          const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
          if (head.ContentLength === bytes) {
            mirrorCheck.stored++;
            mirrorCheck.bytes += bytes;
          } else mirrorCheck.wrongSize++;
        } catch {
          mirrorCheck.missingInBucket++;
        }
      }
    }),
  );
  client.destroy();
}

const result = {
  edits: edits.length,
  expected: EDITS,
  idempotentReplays: replayed,
  byStatus,
  errorCodes,
  workerRestarts: restarts,
  workerPostgresCuts: { count: postgresCuts.count, seconds: Math.round(postgresCuts.seconds) },
  upstreamJobs: sim.jobs.size,
  editsThatReachedPixelByte: reached,
  extraUpstreamJobs: extraJobs,
  editsFlaggedPossibleDuplicate: riskedResends.size,
  resendsFlaggedPossibleDuplicate: [...riskedResends.values()].reduce((a, n) => a + n, 0),
  keyExclusive: KEY_EXCLUSIVE,
  cleanRetriesAfterListing: cleanRetries,
  adoptedFromJobList: adoptedFromList,
  // The soak's gateway faults: every 504 follows a created job, every 502 precedes any.
  gatewayErrors: {
    '504 after the job was created': submitCalls.filter((c) => c.statusCode === 504).length,
    '502 before anything': submitCalls.filter((c) => c.statusCode === 502).length,
  },
  ...(s3 ? { mirror: { ...mirrorCheck, bucketCuts: { count: s3Cuts.count, seconds: Math.round(s3Cuts.seconds) } } } : {}),
  secondsPosting: Math.round((postedAt - started) / 1000),
  secondsToDrain: Math.round((finishedAt - postedAt) / 1000),
};
console.log(JSON.stringify(result, null, 2));

const failures: string[] = [];
if (restarts.exitedOnTheirOwn) failures.push(`${restarts.exitedOnTheirOwn} worker exits nobody asked for (see ${workerLogPath})`);
if (edits.length !== EDITS) failures.push(`${edits.length} edits stored for ${EDITS} distinct requests`);
if (postErrors.length) failures.push(`${postErrors.length} POSTs refused: ${postErrors.slice(0, 3).join(' | ')}`);
if (edits.some((e) => !(TERMINAL as readonly string[]).includes(e.status))) failures.push('edits left unfinished (stuck)');
if (completedWithoutAllOutputs.length) failures.push(`${completedWithoutAllOutputs.length} completed edits without all their outputs`);
if (completedNotAdopting.length) failures.push(`${completedNotAdopting.length} completed edits without an upstream job`);
// Every upstream job beyond one per edit must be one pixelrelay knowingly risked and recorded, never a silent double charge.
if (unflaggedDuplicates.length) failures.push(`${unflaggedDuplicates.length} edits paid twice without a record: ${unflaggedDuplicates.slice(0, 3).join(', ')}`);
if (byStatus.storing) failures.push(`${byStatus.storing} edits stuck in storing`);
if (s3 && mirrorCheck.notStored) failures.push(`${mirrorCheck.notStored} outputs of completed edits not stored: ${JSON.stringify(mirrorCheck.errorCodes)}`);
if (s3 && (mirrorCheck.missingInBucket || mirrorCheck.wrongSize))
  failures.push(`${mirrorCheck.missingInBucket} recorded outputs missing from the bucket, ${mirrorCheck.wrongSize} of another size`);
if (adoptedForeignJob.length)
  failures.push(
    `${adoptedForeignJob.length} edits hold a job another edit submitted: ${adoptedForeignJob
      .slice(0, 3)
      .map((e) => e.id)
      .join(', ')}`,
  );
console.log(
  failures.length
    ? `SOAK FAILED:\n- ${failures.join('\n- ')}`
    : `SOAK PASSED: every edit terminal, completed ones with all outputs${s3 ? ' (every one in the bucket, none left storing)' : ''}, no silent duplicate submission`,
);

for (const child of workers) {
  if (child) stopping.add(child);
  child?.kill('SIGTERM');
}
await api.stop();
await pgProxy.stop();
await s3Proxy?.stop();
await s3?.close();
await sim.close();
await db.$disconnect();
if (!process.argv.includes('--keep-db')) {
  await dropDatabase(databaseUrl);
  // The prefix's keys (queues, answer notes, counters) go with the database: a soak leaves nothing behind in the shared Redis.
  await deleteKeys(env.REDIS_URL!, `${env.QUEUE_PREFIX}:*`);
}
process.exit(failures.length ? 1 : 0);
