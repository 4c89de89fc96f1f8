/**
 * `npm run bench`: pixelrelay against this machine's own limits (issue 9). See BENCHMARKS.md for what each
 * figure means and how it is measured, and `npm run bench -- --help` for the options.
 *
 * It builds the relay (unless --no-build), makes a database of its own on the local Postgres and a queue
 * prefix of its own on the local Redis, measures the ceilings (pgbench, redis-benchmark), starts the bench's
 * PixelByte stand-in (tools/bench/upstream.ts), the API and the workers as separate processes, drives edits
 * through the real HTTP API with autocannon, and stops everything it started, whatever happens.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../testkit/freePort.js';
import { type Ceilings, measureCeilings } from './ceilings.js';
import { Database, TERMINAL, terminalCount } from './database.js';
import { type PacedRun, type PostRun, postAtRate, postEdits, stopLoad, summarize } from './load.js';
import { type BenchOptions, HELP, parseOptions, REPO_ROOT, UsageError } from './options.js';
import {
  cpuOf,
  forkBenchModule,
  killAllNow,
  logPath,
  machineBusyMs,
  memoryMb,
  type Proc,
  pidsNamed,
  startNode,
  stopAll,
  stopProcess,
  tail,
  totalCpuMs,
} from './processes.js';
import { type ProfileSummary, profileMarkdown, summarizeProfiles } from './profiles.js';
import { appendRow, BACKLOG_MARKER, cell, fmt, RUNS_MARKER, withRatio, writeJson } from './report.js';
import { type JobTimes, now, type UpstreamCommand, type UpstreamStats } from './upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

class Aborted extends Error {}

// --- abort: Ctrl-C, the deadline, a relay process dying ---------------------------------------------
let abortReason: string | undefined;
function abort(reason: string): void {
  if (abortReason) return;
  abortReason = reason;
  log(`aborting: ${reason}`);
  stopLoad();
}
function checkAbort(): void {
  if (abortReason) throw new Aborted(abortReason);
}

// --- the upstream stand-in, driven over IPC ----------------------------------------------------------
interface Upstream {
  proc: Proc;
  url: string;
  callbackUrl: string;
  send<T>(command: UpstreamCommand): Promise<T>;
}

async function startUpstream(workDir: string, settings: { apiKey: string; webhookSecret: string; delayMs: number }): Promise<Upstream> {
  const proc = forkBenchModule(
    'upstream',
    join(REPO_ROOT, 'tools/bench/upstream.ts'),
    ['--serve', JSON.stringify({ ...settings, webhookConcurrency: 64 })],
    logPath(workDir, 'upstream'),
  );
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 0;
  const ready = new Promise<{ url: string; callbackUrl: string }>((resolve, reject) => {
    proc.child.on('message', (m: { ready?: { url: string; callbackUrl: string }; id?: number; result?: unknown }) => {
      if (m.ready) resolve(m.ready);
      else if (m.id !== undefined) {
        pending.get(m.id)?.(m.result);
        pending.delete(m.id);
      }
    });
    proc.child.once('exit', (code) => reject(new Error(`the upstream stand-in exited (${code}):\n${tail(proc.logFile)}`)));
  });
  const addresses = await ready;
  return {
    proc,
    ...addresses,
    send: <T>(command: UpstreamCommand) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, resolve as (v: unknown) => void);
        if (!proc.child.send({ id, command })) reject(new Error('the upstream stand-in is gone'));
      }),
  };
}

// --- the relay -----------------------------------------------------------------------------------------
interface Relay {
  apis: Proc[];
  workers: Proc[];
  all: Proc[];
  apiUrls: string[];
}

function gitLabel(dir: string): string {
  try {
    const sha = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    let dirty = false;
    try {
      execFileSync('git', ['-C', dir, 'diff', '--quiet', 'HEAD', '--'], { stdio: 'ignore' });
    } catch {
      dirty = true;
    }
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return basename(dir);
  }
}

/** The Node flags the relay's `npm start` runs it with (package.json), so the bench runs it as it is deployed. */
function startFlags(relayDir: string): string[] {
  try {
    const start = (JSON.parse(readFileSync(join(relayDir, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
    const m = /^node\s+(.*?)\s*dist\/main\.js/.exec(start);
    return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** The pool size the relay gives adapter-pg, read from its source (so the INSERT ceiling uses as many connections). */
function detectPoolSize(relayDir: string): { size: number; source: string } {
  for (const file of ['src/infra/prisma.ts', 'dist/infra/prisma.js']) {
    try {
      const text = readFileSync(join(relayDir, file), 'utf8');
      const m = /max:\s*(?:[\w.]+\s*\?\?\s*)?(\d+)/.exec(text);
      if (m) return { size: Number(m[1]), source: file };
    } catch {
      // try the next one
    }
  }
  return { size: 10, source: 'default (not found in the relay source)' };
}

async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${tail(logFile, 25)}`);
}

async function waitReady(url: string, proc: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAbort();
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${tail(proc.logFile)}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${tail(proc.logFile)}`);
    await sleep(100);
  }
}

// --- waiting for edits, bounded -------------------------------------------------------------------------
/** Polls the database until `target` edits are terminal; aborts when nothing finishes for `stallMs`. */
async function waitTerminal(db: Database, target: number, label: string, o: { pollMs?: number; stallMs?: number } = {}): Promise<Record<string, number>> {
  const pollMs = o.pollMs ?? 200;
  const stallMs = o.stallMs ?? 120_000;
  let last = -1;
  let lastChange = Date.now();
  let lastPrint = Date.now();
  for (;;) {
    checkAbort();
    const counts = await db.statusCounts();
    const done = terminalCount(counts);
    if (done >= target) return counts;
    if (done !== last) {
      last = done;
      lastChange = Date.now();
    }
    if (Date.now() - lastChange > stallMs) {
      throw new Error(`${label}: no edit finished for ${stallMs / 1000} s (${done}/${target} terminal; ${JSON.stringify(counts)})`);
    }
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      log(`${label}: ${done}/${target} edits terminal ${JSON.stringify(counts)}`);
    }
    await sleep(pollMs);
  }
}

function editBody(o: BenchOptions, callbackUrl: string | undefined): string {
  return JSON.stringify({
    input: { prompt: 'Replace the background with a tropical beach at sunset', image_urls: ['https://example.com/bench.jpg'], num_images: o.numImages },
    ...(callbackUrl ? { callbackUrl } : {}),
  });
}

const ratio = (v: number | undefined, ceiling: number | undefined) => (v === undefined || !ceiling ? null : round(v / ceiling, 4));

// --- the standard run -------------------------------------------------------------------------------
interface Context {
  o: BenchOptions;
  db: Database;
  upstream: Upstream;
  relay: Relay;
  apiKey: string;
  body: string;
  ceilings?: Ceilings;
}

const relayProcs = (r: Relay) => [...r.apis, ...r.workers, ...r.all];

async function post(ctx: Context, amount: number, overallRate?: number): Promise<PostRun> {
  const options = { apiUrls: ctx.relay.apiUrls, apiKey: ctx.apiKey, body: ctx.body, connections: ctx.o.concurrency, amount };
  const result = overallRate ? await postAtRate({ ...options, overallRate }) : await postEdits(options);
  checkAbort();
  const refused = Object.entries(result.statusCounts).filter(([s]) => s !== '202');
  if (refused.length > 0 || result.errors > 0)
    log(`  not accepted: ${JSON.stringify(Object.fromEntries(refused))}, ${result.errors} errors, ${result.timeouts} timeouts`);
  return result;
}

async function standardRun(ctx: Context) {
  const { o, db, upstream, relay } = ctx;
  const procs = relayProcs(relay);

  // Warm-up: JIT, connection pools, prepared statements. Not measured.
  await upstream.send({ cmd: 'phase', phase: 'warmup' });
  const warm = await post(ctx, Math.min(200, o.edits));
  await waitTerminal(db, warm.accepted, 'warm-up');
  log(`warm-up: ${warm.accepted} edits done`);

  // Phase 1: as fast as the clients go; accepted/s while posting, completed/s end to end, CPU per edit.
  await upstream.send({ cmd: 'phase', phase: 'throughput' });
  const base = terminalCount(await db.statusCounts());
  const cpu0 = cpuOf([...procs, upstream.proc]);
  const self0 = process.cpuUsage();
  const pgPids = await db.backendPids();
  const redisPids = pidsNamed('redis-server');
  const [pg0, redis0, machine0] = [totalCpuMs(pgPids), totalCpuMs(redisPids), machineBusyMs()];
  const [activity0, redisCommands0] = [await db.activity(), await redisCommands(o.redisUrl)];
  log(`throughput: posting ${o.edits} edits, ${o.concurrency} clients`);
  const posted = await post(ctx, o.edits);
  log(`throughput: ${posted.accepted} accepted in ${round((posted.finishedAt - posted.startedAt) / 1000, 1)} s = ${round(posted.acceptedPerSec, 1)}/s`);
  const counts = await waitTerminal(db, base + posted.accepted, 'throughput');
  const cpu1 = cpuOf([...procs, upstream.proc]);
  const self1 = process.cpuUsage(self0);
  const [pg1, redis1, machine1] = [totalCpuMs(pgPids), totalCpuMs(redisPids), machineBusyMs()];
  // Backends report their counters when they go idle (at most a second late): let them.
  await sleep(1_500);
  const [activity1, redisCommands1] = [await db.activity(), await redisCommands(o.redisUrl)];
  const jobs = await upstream.send<JobTimes[]>({ cmd: 'jobs', phase: 'throughput' });
  if (jobs.length === 0) throw new Error('throughput: no edit reached the upstream; see the worker log');
  // When each edit's status changed for good, from its history row (not from the webhook's answer: a webhook
  // can be answered 200 without being applied, and the edit then waits for the reconciler).
  const terminal = await db.terminalTransitions(jobs.map((j) => j.editId));
  const lastTerminal = [...terminal.values()].reduce((m, t) => Math.max(m, t.at), 0);
  const e2ePerSec = terminal.size / ((lastTerminal - posted.startedAt) / 1000);
  const byWebhook = jobs.filter((j) => terminal.get(j.editId)?.cause.startsWith('webhook') && j.sentAt > 0);
  const lastByWebhook = byWebhook.reduce((m, j) => Math.max(m, terminal.get(j.editId)!.at), 0);
  const finishedBy: Record<string, number> = {};
  for (const t of terminal.values()) finishedBy[t.cause] = (finishedBy[t.cause] ?? 0) + 1;
  log(
    `throughput: ${terminal.size} terminal in ${round((lastTerminal - posted.startedAt) / 1000, 1)} s = ${round(e2ePerSec, 1)}/s end to end; by cause ${JSON.stringify(finishedBy)}`,
  );
  const edits = posted.accepted;
  const cpuMsPerEdit: Record<string, number> = {};
  for (const p of procs) cpuMsPerEdit[p.name] = round((cpu1[p.name]! - cpu0[p.name]!) / edits, 2);
  cpuMsPerEdit.total = round(procs.reduce((sum, p) => sum + (cpu1[p.name]! - cpu0[p.name]!), 0) / edits, 2);
  const relayMs = procs.reduce((sum, p) => sum + (cpu1[p.name]! - cpu0[p.name]!), 0);
  const upstreamMs = cpu1.upstream! - cpu0.upstream!;
  const benchMs = (self1.user + self1.system) / 1000;
  const outsideCpuMsPerEdit = {
    upstream: round(upstreamMs / edits, 2),
    benchLoadGenerator: round(benchMs / edits, 2),
    /** The Postgres backends connected to the bench's database: the relay's pools (and the bench's poller). */
    postgresBackends: round((pg1 - pg0) / edits, 2),
    /** The local redis-server: shared with anything else using it meanwhile. */
    redisServer: round((redis1 - redis0) / edits, 2),
    /** Everything else the machine did meanwhile (other Postgres processes, the kernel, other people's work). */
    restOfMachine: round((machine1 - machine0 - relayMs - upstreamMs - benchMs - (pg1 - pg0) - (redis1 - redis0)) / edits, 2),
  };
  const cpuBound = cpuBoundCeilings(relayMs + upstreamMs + benchMs + (pg1 - pg0) + (redis1 - redis0), pg1 - pg0, edits);
  const phaseSeconds = (now() - posted.startedAt) / 1000;
  const perEdit = (a: number, b: number) => round((b - a) / edits, 2);
  const storeWorkPerEdit = {
    ...Object.fromEntries(Object.keys(activity1).map((k) => [`postgres_${k}`, perEdit(activity0[k] ?? 0, activity1[k] ?? 0)])),
    /** Every command the local Redis ran meanwhile, whoever sent it. */
    redis_commands: perEdit(redisCommands0, redisCommands1),
  };
  const sent = jobs.filter((j) => j.sentAt > 0);
  // Webhook sent by the upstream → the status change's history row (ms resolution); every sent webhook counts,
  // including those answered 200 but not applied, whose edit only moved when the reconciler polled.
  const webhookToVisible = summarize(sent.filter((j) => terminal.has(j.editId)).map((j) => terminal.get(j.editId)!.at - j.sentAt));
  const webhookRoundTrip = summarize(sent.filter((j) => j.doneAt > 0).map((j) => j.doneAt - j.sentAt));
  const withCallback = sent.filter((j) => j.callbackAt > 0);
  const webhookToCallback = o.callbacks ? summarize(withCallback.map((j) => j.callbackAt - j.sentAt)) : null;
  const submitToWebhook = summarize(sent.map((j) => j.sentAt - j.submitAt));
  const e2eByWebhook = { edits: byWebhook.length, perSec: round(byWebhook.length / ((lastByWebhook - posted.startedAt) / 1000), 1) };
  const throughputLatency = summarize(posted.latenciesMs);

  // Phase 2: POST latency at a fixed offered rate, half the accept rate just measured.
  let latency: ReturnType<typeof summarize> & { rate?: number; achievedPerSec?: number; pacerLateP99Ms?: number } = { n: 0 };
  if (o.latencySeconds > 0) {
    await upstream.send({ cmd: 'phase', phase: 'latency' });
    const rate = o.latencyRate ?? Math.max(1, Math.round(posted.acceptedPerSec / 2));
    const amount = Math.max(20, Math.round(rate * o.latencySeconds));
    const base2 = terminalCount(await db.statusCounts());
    log(`latency: ${amount} edits at ${rate}/s offered`);
    const fixed = await post(ctx, amount, rate);
    const lateness = summarize((fixed as PacedRun).lateMs);
    latency = {
      ...summarize(fixed.latenciesMs),
      rate,
      achievedPerSec: round(fixed.accepted / ((fixed.finishedAt - fixed.startedAt) / 1000), 1),
      pacerLateP99Ms: lateness.p99,
    };
    log(
      `latency: p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms (${latency.achievedPerSec}/s accepted; the pacer itself was late by ≤ ${latency.pacerLateP99Ms} ms at p99)`,
    );
    await waitTerminal(db, base2 + fixed.accepted, 'latency');
  }

  // Phase 3: the webhook route's own throughput: webhooks held until every edit is submitted, then all sent, `concurrency` at a time.
  let webhooks: { edits: number; perSec: number; seconds: number; visible: ReturnType<typeof summarize> } | undefined;
  if (o.webhookEdits > 0) {
    await upstream.send({ cmd: 'phase', phase: 'webhooks' });
    await upstream.send({ cmd: 'hold', on: true });
    const base3 = terminalCount(await db.statusCounts());
    log(`webhooks: posting ${o.webhookEdits} edits, webhooks held`);
    const held = await post(ctx, o.webhookEdits);
    let lastHeld = -1;
    let lastChange = Date.now();
    for (;;) {
      checkAbort();
      const stats = await upstream.send<UpstreamStats>({ cmd: 'stats' });
      if (stats.held >= held.accepted) break;
      if (stats.held !== lastHeld) [lastHeld, lastChange] = [stats.held, Date.now()];
      if (Date.now() - lastChange > 120_000) throw new Error(`webhooks: only ${stats.held}/${held.accepted} edits reached the upstream`);
      await sleep(200);
    }
    const released = await upstream.send<{ released: number }>({ cmd: 'release', concurrency: o.concurrency });
    await upstream.send({ cmd: 'hold', on: false });
    log(`webhooks: released ${released.released} webhooks, ${o.concurrency} at a time`);
    await waitTerminal(db, base3 + held.accepted, 'webhooks', { pollMs: 100 });
    const wj = (await upstream.send<JobTimes[]>({ cmd: 'jobs', phase: 'webhooks' })).filter((j) => j.sentAt > 0);
    const applied = await db.terminalTransitions(wj.map((j) => j.editId));
    const viaWebhook = wj.filter((j) => applied.get(j.editId)?.cause.startsWith('webhook'));
    if (viaWebhook.length === 0) throw new Error('webhooks: no webhook was applied; see the relay logs');
    const first = wj.reduce((m, j) => Math.min(m, j.sentAt), Number.POSITIVE_INFINITY);
    const last = viaWebhook.reduce((m, j) => Math.max(m, applied.get(j.editId)!.at, j.doneAt), 0);
    webhooks = {
      edits: viaWebhook.length,
      seconds: round((last - first) / 1000, 2),
      perSec: viaWebhook.length / ((last - first) / 1000),
      visible: summarize(viaWebhook.map((j) => applied.get(j.editId)!.at - j.sentAt)),
    };
    log(`webhooks: ${viaWebhook.length} applied in ${webhooks.seconds} s = ${round(webhooks.perSec, 1)}/s`);
  }

  const peakRssMb: Record<string, number> = {};
  for (const p of procs) peakRssMb[p.name] = round(memoryMb(p.pid)?.peak ?? Number.NaN, 1);
  const upstreamStats = await upstream.send<UpstreamStats>({ cmd: 'stats' });
  const finalCounts = await db.statusCounts();
  return {
    phaseSeconds,
    storeWorkPerEdit,
    posted,
    counts,
    finalCounts,
    e2ePerSec,
    e2eByWebhook,
    finishedBy,
    webhookRoundTrip,
    cpuMsPerEdit,
    outsideCpuMsPerEdit,
    cpuBound,
    webhookToVisible,
    webhookToCallback,
    submitToWebhook,
    throughputLatency,
    latency,
    webhooks,
    peakRssMb,
    upstreamStats,
    callbacksSeen: withCallback.length,
  };
}

/**
 * What this machine's cores allow at the CPU an edit cost in this run: everything an edit made busy (relay, the
 * upstream, the load generator, Postgres, Redis), and Postgres's share alone, which the relay shrinks only by asking
 * less of Postgres (an edit's statements write about six rows in three commits; pgbench's one row in one). e2e/s
 * cannot pass the first; the second is what e2e/s would be were everything but Postgres free, and its ratio to the
 * INSERT ceiling bounds the e2e ratio any relay making these writes can reach.
 */
function cpuBoundCeilings(allMs: number, postgresMs: number, edits: number) {
  const cores = cpus().length;
  return {
    cores,
    allProcessesMsPerEdit: round(allMs / edits, 2),
    /** e2e/s if the cores did nothing but this run's work per edit. */
    allProcessesPerSec: round((cores * 1000 * edits) / allMs, 0),
    postgresMsPerEdit: round(postgresMs / edits, 2),
    /** e2e/s if Postgres's work per edit were the only CPU spent. */
    postgresOnlyPerSec: round((cores * 1000 * edits) / postgresMs, 0),
  };
}

// --- the backlog run --------------------------------------------------------------------------------
const BACKLOG_CAP = 50;
const THRESHOLDS = [1_000, 10_000, 100_000];

async function backlogRun(ctx: Context, delayMs: number) {
  const { o, db, upstream, relay } = ctx;
  const procs = relayProcs(relay);
  const n = o.backlog!;
  const rssAt = (queued: number) => ({ queued, ...Object.fromEntries(procs.map((p) => [p.name, round(memoryMb(p.pid)?.rss ?? Number.NaN, 1)])) });

  await upstream.send({ cmd: 'phase', phase: 'warmup' });
  const warm = await post(ctx, Math.min(100, n));
  await waitTerminal(db, warm.accepted, 'warm-up');
  const startRss = rssAt(0);

  // Fill: the upstream holds every webhook, so the 50 slots stay taken and everything else waits in the queue.
  await upstream.send({ cmd: 'phase', phase: 'backlog' });
  await upstream.send({ cmd: 'hold', on: true });
  const samples: Record<string, number>[] = [];
  const atThreshold: Record<string, number>[] = [];
  let sampling = true;
  let maxQueued = 0;
  const sampler = (async () => {
    while (sampling) {
      const counts = await db.statusCounts().catch(() => ({}) as Record<string, number>);
      // The backlog: edits accepted and not finished (queued, or held at the upstream's 50 slots).
      const queued = Object.entries(counts).reduce((n, [status, count]) => (TERMINAL.includes(status) ? n : n + count), 0);
      maxQueued = Math.max(maxQueued, queued);
      const sample = rssAt(queued);
      samples.push(sample);
      for (const t of THRESHOLDS) if (queued >= t && !atThreshold.some((s) => s.threshold === t)) atThreshold.push({ threshold: t, ...sample });
      await sleep(1_000);
    }
  })();
  log(`backlog: posting ${n} edits, upstream capped at ${BACKLOG_CAP} unfinished jobs and holding their webhooks`);
  const posted = await post(ctx, n);
  log(`backlog: ${posted.accepted} accepted in ${round((posted.finishedAt - posted.startedAt) / 1000, 1)} s = ${round(posted.acceptedPerSec, 1)}/s`);
  await sleep(2_000);
  const filled = rssAt(maxQueued);

  // Drain: webhooks come `delayMs` after each submit; at most 50 jobs unfinished, so at best 50 / delay per second.
  await upstream.send({ cmd: 'phase', phase: 'drain' });
  await upstream.send({ cmd: 'delay', ms: delayMs });
  await upstream.send({ cmd: 'release', concurrency: BACKLOG_CAP });
  await upstream.send({ cmd: 'hold', on: false });
  const drainStart = now();
  const base = terminalCount(await db.statusCounts());
  const target = warm.accepted + posted.accepted;
  let done = base;
  while (now() - drainStart < o.drainSeconds * 1000 && done < target) {
    checkAbort();
    await sleep(1_000);
    done = terminalCount(await db.statusCounts());
  }
  const drainSeconds = (now() - drainStart) / 1000;
  sampling = false;
  await sampler;
  const peakRssMb: Record<string, number> = {};
  for (const p of procs) peakRssMb[p.name] = round(memoryMb(p.pid)?.peak ?? Number.NaN, 1);
  const drained = done - base;
  return {
    posted: {
      accepted: posted.accepted,
      statusCounts: posted.statusCounts,
      errors: posted.errors,
      seconds: round((posted.finishedAt - posted.startedAt) / 1000, 1),
      latencyMs: summarize(posted.latenciesMs),
    },
    acceptedPerSec: posted.acceptedPerSec,
    startRss,
    atThreshold,
    filled,
    maxQueued,
    peakRssMb,
    drain: {
      seconds: round(drainSeconds, 1),
      drained,
      perSec: round(drained / drainSeconds, 1),
      capBoundPerSec: round(BACKLOG_CAP / (delayMs / 1000), 1),
      upstreamDelayMs: delayMs,
      leftQueued: target - done,
    },
    samples: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 60)) === 0),
    upstreamStats: await upstream.send<UpstreamStats>({ cmd: 'stats' }),
  };
}

// --- main -----------------------------------------------------------------------------------------
async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(HELP);
      return 0;
    }
    o = parsed;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const runId = `${stamp}-${randomBytes(2).toString('hex')}`;
  const workDir = mkdtempSync(join(tmpdir(), 'pixelrelay-bench-'));
  const mode = o.backlog !== undefined ? 'backlog' : o.roleAll ? 'all' : `${o.apiProcesses} api + ${o.workerProcesses} worker`;
  const profileDir = join(REPO_ROOT, 'tools/bench/profiles', runId);
  log(`run ${runId}: relay ${o.relayDir} (${mode}); logs in ${workDir}`);

  process.on('SIGINT', () => abort('interrupted (SIGINT)'));
  process.on('SIGTERM', () => abort('terminated (SIGTERM)'));
  process.on('exit', killAllNow);
  const deadline = setTimeout(() => abort(`deadline of ${o.deadlineMinutes} minutes passed`), o.deadlineMinutes * 60_000);

  let db: Database | undefined;
  const queuePrefix = `bench-${runId}`;
  let result: Record<string, unknown> | undefined;
  let profiles: ProfileSummary[] = [];
  let exitCode = 0;
  const nameOfPid = new Map<number, string>();
  let relay: Relay | undefined;
  try {
    if (o.build) {
      log('building the relay (npm run build)');
      await run('npm', ['run', 'build'], o.relayDir, process.env, join(workDir, 'build.log'));
    }
    if (!existsSync(join(o.relayDir, 'dist/main.js'))) throw new Error(`${o.relayDir}/dist/main.js does not exist; build it or drop --no-build`);
    const label = o.label ?? gitLabel(o.relayDir);
    const pool = o.poolSize !== undefined ? { size: o.poolSize, source: '--pool-size' } : detectPoolSize(o.relayDir);

    db = await Database.create(o.pgUrl, `pixelrelay_bench_${runId.replace(/-/g, '_')}`);
    const tz = await db.timezone();
    // The relay's timestamp(3) columns hold UTC; read back as UTC they compare with this machine's clock.
    if (!/^(Etc\/)?UTC$/i.test(tz)) log(`warning: Postgres TimeZone is ${tz}, not UTC: status-visible times may be off by its offset`);
    log(`database ${db.name}: migrating`);
    await run(process.execPath, ['dist/cli/migrate.js'], o.relayDir, { PATH: process.env.PATH ?? '', DATABASE_URL: db.url }, join(workDir, 'migrate.log'));
    checkAbort();

    let ceilings: Ceilings | undefined;
    if (o.ceilings) {
      log(`ceilings: pgbench INSERT with ${pool.size} clients (the relay's pool, ${pool.source}), redis-benchmark PING_INLINE`);
      ceilings = await measureCeilings(db, { clients: pool.size, seconds: 10, redisUrl: o.redisUrl, workDir });
      log(`ceilings: ${ceilings.insertCommitsPerSec} INSERT commits/s, ${ceilings.redisRoundTripsPerSec} Redis round trips/s`);
    }
    checkAbort();

    const apiKey = `bench-${randomBytes(16).toString('hex')}`;
    const upstreamKey = `pb_bench_${randomBytes(12).toString('hex')}`;
    const webhookSecret = `whsec_bench_${randomBytes(16).toString('hex')}`;
    const backlogDelayMs = o.upstreamMs > 0 ? o.upstreamMs : 500;
    const upstream = await startUpstream(workDir, { apiKey: upstreamKey, webhookSecret, delayMs: o.backlog !== undefined ? backlogDelayMs : o.upstreamMs });
    nameOfPid.set(upstream.proc.pid, 'upstream');

    const apiCount = o.roleAll ? 1 : o.apiProcesses;
    const apiPorts = await Promise.all(Array.from({ length: apiCount }, () => freePort()));
    const apiUrls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URL: o.redisUrl,
      QUEUE_PREFIX: queuePrefix,
      PUBLIC_BASE_URL: apiUrls[0]!,
      API_KEYS: apiKey,
      PIXELBYTE_API_URL: upstream.url,
      PIXELBYTE_API_KEY: upstreamKey,
      PIXELBYTE_WEBHOOK_SECRET: webhookSecret,
      // The upstream finishes jobs at once: an edit whose webhook did not move it (the webhook raced the submit
      // response) is overdue 1 s after its estimate and gets polled on the next housekeeping round.
      RECONCILE_GRACE_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '8000',
      ...(o.backlog !== undefined ? { UPSTREAM_MAX_CONCURRENCY: String(BACKLOG_CAP) } : {}),
      ...(o.callbacks
        ? { CALLBACK_SIGNING_SECRET: `whsec_${randomBytes(32).toString('base64')}`, CALLBACK_ALLOW_PRIVATE: 'true', ALLOW_HTTP_CALLBACKS: 'true' }
        : {}),
      ...o.extraEnv,
    };
    // Node names each profile CPU.<date>.<time>.<pid>.…; the pid tells whose it is.
    const nodeFlags = startFlags(o.relayDir);
    if (nodeFlags.length) log(`relay node flags (its npm start): ${nodeFlags.join(' ')}`);
    const nodeArgs = [...nodeFlags, ...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), 'dist/main.js'];
    if (o.cpuProf) mkdirSync(profileDir, { recursive: true });
    relay = { apis: [], workers: [], all: [], apiUrls };
    const start = (name: string, role: string, port: number) => {
      const proc = startNode(name, nodeArgs, { cwd: o.relayDir, env: { ...env, ROLE: role, PORT: String(port) }, logFile: logPath(workDir, name) });
      nameOfPid.set(proc.pid, name);
      proc.child.once('exit', (code, signal) => {
        if (!stopping) abort(`${name} exited (${code ?? signal}) during the run:\n${tail(proc.logFile)}`);
      });
      return proc;
    };
    if (o.roleAll) relay.all.push(start('all', 'all', apiPorts[0]!));
    else {
      for (const [i, port] of apiPorts.entries()) relay.apis.push(start(apiCount > 1 ? `api${i + 1}` : 'api', 'api', port));
      for (let i = 0; i < o.workerProcesses; i++) relay.workers.push(start(o.workerProcesses > 1 ? `worker${i + 1}` : 'worker', 'worker', await freePort()));
    }
    await Promise.all(apiUrls.map((url, i) => waitReady(url, (relay!.apis[i] ?? relay!.all[0])!)));
    await upstream.send({ cmd: 'apiOrigins', origins: apiUrls });
    log(
      `relay up: ${relayProcs(relay)
        .map((p) => `${p.name} (pid ${p.pid})`)
        .join(', ')}; upstream ${upstream.url}`,
    );

    const ctx: Context = { o, db, upstream, relay, apiKey, body: editBody(o, o.callbacks ? upstream.callbackUrl : undefined), ceilings };
    const common = {
      runId,
      runAt: new Date().toISOString(),
      label,
      relayDir: o.relayDir,
      mode,
      machine: { cpus: cpus().length, node: process.version, loadAverageAtStart: loadavg().map((v) => round(v, 2)) },
      options: { ...o, extraEnv: o.extraEnv },
      poolSize: pool,
      ceilings: ceilings ?? null,
    };

    if (o.backlog !== undefined) {
      const b = await backlogRun(ctx, backlogDelayMs);
      result = {
        ...common,
        backlog: b,
        peakRssMb: b.peakRssMb,
        acceptedPerSec: round(b.acceptedPerSec, 1),
        acceptRatio: ratio(b.acceptedPerSec, ceilings?.insertCommitsPerSec),
      };
    } else {
      const s = await standardRun(ctx);
      const ins = ceilings?.insertCommitsPerSec;
      result = {
        ...common,
        acceptedPerSec: round(s.posted.acceptedPerSec, 1),
        e2ePerSec: round(s.e2ePerSec, 1),
        webhooksPerSec: s.webhooks ? round(s.webhooks.perSec, 1) : null,
        acceptRatio: ratio(s.posted.acceptedPerSec, ins),
        e2eRatio: ratio(s.e2ePerSec, ins),
        webhookRatio: s.webhooks ? ratio(s.webhooks.perSec, ins) : null,
        postP50Ms: s.latency.p50 ?? null,
        postP95Ms: s.latency.p95 ?? null,
        postP99Ms: s.latency.p99 ?? null,
        postLatency: s.latency,
        postLatencyAtMaxRate: s.throughputLatency,
        e2eAppliedByWebhook: s.e2eByWebhook,
        finishedBy: s.finishedBy,
        webhookToVisibleMs: s.webhookToVisible,
        webhookRoundTripMs: s.webhookRoundTrip,
        webhookToVisibleInBurstMs: s.webhooks?.visible ?? null,
        webhookToCallbackMs: s.webhookToCallback,
        submitToWebhookMs: s.submitToWebhook,
        cpuMsPerEdit: s.cpuMsPerEdit,
        outsideCpuMsPerEdit: s.outsideCpuMsPerEdit,
        cpuBound: { ...s.cpuBound, postgresOnlyRatio: ratio(s.cpuBound.postgresOnlyPerSec, ins) },
        throughputPhaseSeconds: round(s.phaseSeconds, 1),
        storeWorkPerEdit: s.storeWorkPerEdit,
        peakRssMb: s.peakRssMb,
        statuses: s.finalCounts,
        posting: { statusCounts: s.posted.statusCounts, errors: s.posted.errors, timeouts: s.posted.timeouts },
        webhookPhase: s.webhooks ? { edits: s.webhooks.edits, seconds: s.webhooks.seconds } : null,
        upstream: s.upstreamStats,
        callbacksSeen: o.callbacks ? s.callbacksSeen : null,
      };
    }
  } catch (err) {
    exitCode = 1;
    console.error(`\nbench failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(deadline);
    stopLoad();
    stopping = true;
    log('stopping every process the bench started');
    if (relay) await Promise.all(relayProcs(relay).map((p) => stopProcess(p.child, 15_000)));
    await stopAll(5_000);
    if (db) {
      await db.drop().then(
        () => log(`dropped database ${db!.name}`),
        (err) => console.error(`could not drop database ${db!.name}: ${err}`),
      );
    }
    await clearQueues(o.redisUrl, queuePrefix).catch((err) => console.error(`could not clear Redis keys ${queuePrefix}:*: ${err}`));
  }
  if (abortReason) exitCode = 1;
  if (!result || exitCode !== 0) return exitCode || 1;

  (result.machine as Any).loadAverageAtEnd = loadavg().map((v) => round(v, 2));
  if (o.cpuProf) {
    profiles = summarizeProfiles(profileDir, nameOfPid);
    result.profiles = profiles;
    result.profileDir = profileDir;
  }
  const out = o.out ?? join(REPO_ROOT, o.backlog !== undefined ? 'tools/bench/results/backlog.json' : 'tools/bench/results/latest.json');
  writeJson(out, result);
  log(`results written to ${out}`);
  if (o.backlog !== undefined) printBacklog(result, o);
  else printStandard(result, o);
  if (profiles.length > 0) console.log(`\n${profileMarkdown(profiles)}`);
  return 0;
}

let stopping = false;

/** Commands the Redis server has run since it started (INFO stats). */
async function redisCommands(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN);
  } finally {
    redis.disconnect();
  }
}

async function clearQueues(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// --- printing -----------------------------------------------------------------------------------------
// biome-ignore lint/suspicious/noExplicitAny: the printers read the results record built above, whose figures vary by mode.
type Any = Record<string, any>;

/** `api 5.1 + worker 4.2 = 9.3` for a sum (CPU), `api 330, worker 320` for figures that do not add up (RSS). */
function processFigures(map: Record<string, number>, sum = true): string {
  const text = Object.entries(map)
    .map(([k, v]) => `${k} ${fmt(v, v < 10 ? 2 : 1)}`)
    .join(sum ? ' + ' : ', ');
  return sum ? text.replace(/ \+ total /, ' = ') : text;
}

function printStandard(r: Any, o: BenchOptions): void {
  const c = r.ceilings as Ceilings | null;
  const rows: [string, string, string][] = [
    ['INSERT ceiling (pgbench)', c ? `${c.insertCommitsPerSec} commits/s, ${c.insertClients} clients` : '–', ''],
    ['Redis ceiling (PING_INLINE)', c ? `${c.redisRoundTripsPerSec} round trips/s` : '–', ''],
    ['accepted (202) /s', withRatio(r.acceptedPerSec, r.acceptRatio), '≥ 0.5×'],
    ['completed end to end /s', withRatio(r.e2ePerSec, r.e2eRatio), '≥ 0.15×'],
    ['webhooks applied /s', withRatio(r.webhooksPerSec ?? undefined, r.webhookRatio), '≥ 0.3×'],
    [`POST p50/p95/p99 @ ${r.postLatency.rate ?? '–'}/s`, `${fmt(r.postP50Ms, 1)} / ${fmt(r.postP95Ms, 1)} / ${fmt(r.postP99Ms, 1)} ms`, 'p99 ≤ 20 ms'],
    ['POST p50/p99 at max rate', `${fmt(r.postLatencyAtMaxRate.p50, 1)} / ${fmt(r.postLatencyAtMaxRate.p99, 1)} ms`, ''],
    ['webhook → status visible p50/p99', `${fmt(r.webhookToVisibleMs.p50, 1)} / ${fmt(r.webhookToVisibleMs.p99, 1)} ms`, ''],
    [
      'webhook → callback delivered p50/p99',
      r.webhookToCallbackMs ? `${fmt(r.webhookToCallbackMs.p50, 1)} / ${fmt(r.webhookToCallbackMs.p99, 1)} ms` : 'callbacks off',
      '',
    ],
    ['CPU ms per edit', processFigures(r.cpuMsPerEdit), 'total ≤ 3'],
    ['peak RSS MB', processFigures(r.peakRssMb, false), '≤ 200 each'],
    [
      `e2e the cores allow (${r.cpuBound.cores})`,
      `${r.cpuBound.allProcessesPerSec}/s at ${r.cpuBound.allProcessesMsPerEdit} ms/edit; Postgres's part alone ${withRatio(r.cpuBound.postgresOnlyPerSec, r.cpuBound.postgresOnlyRatio)}`,
      '',
    ],
    [
      'outside the relay, CPU ms/edit',
      Object.entries(r.outsideCpuMsPerEdit)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      '',
    ],
  ];
  console.log(`\npixelrelay ${r.label} (${r.mode}), ${o.edits} edits, ${o.concurrency} clients, callbacks ${o.callbacks ? 'on' : 'off'}`);
  for (const [k, v, t] of rows) console.log(`  ${k.padEnd(38)} ${v.padEnd(44)} ${t}`);
  console.log(`  work per edit in the stores: ${JSON.stringify(r.storeWorkPerEdit)}`);
  console.log(`  statuses at the end: ${JSON.stringify(r.statuses)}; upstream: ${JSON.stringify(r.upstream)}`);

  if (!o.append) return;
  const row = [
    r.runAt.slice(0, 16).replace('T', ' '),
    cell(r.label),
    cell(`${r.mode}${o.callbacks ? ', callbacks' : ''}${o.cpuProf ? ', --cpu-prof' : ''}`),
    `${o.edits} × ${o.concurrency}`,
    c ? String(c.insertCommitsPerSec) : '–',
    withRatio(r.acceptedPerSec, r.acceptRatio),
    withRatio(r.e2ePerSec, r.e2eRatio),
    withRatio(r.webhooksPerSec ?? undefined, r.webhookRatio),
    `${fmt(r.postP50Ms, 0)} / ${fmt(r.postP95Ms, 0)} / ${fmt(r.postP99Ms, 0)} @ ${r.postLatency.rate ?? '–'}/s`,
    fmt(r.webhookToVisibleMs.p99, 0),
    r.webhookToCallbackMs ? fmt(r.webhookToCallbackMs.p99, 0) : '–',
    processFigures(r.cpuMsPerEdit),
    processFigures(r.peakRssMb, false),
    cell(o.note ?? ''),
  ];
  if (appendRow(RUNS_MARKER, `| ${row.join(' | ')} |`)) log('row added to BENCHMARKS.md');
}

function printBacklog(r: Any, o: BenchOptions): void {
  const b = r.backlog;
  console.log(`\npixelrelay ${r.label}: backlog of ${o.backlog} edits behind UPSTREAM_MAX_CONCURRENCY=${BACKLOG_CAP}`);
  console.log(`  accepted ${b.posted.accepted} at ${r.acceptedPerSec}/s; at most ${b.maxQueued} unfinished at once`);
  console.log(`  RSS MB before: ${JSON.stringify(b.startRss)}`);
  for (const s of b.atThreshold) console.log(`  RSS MB at ${s.threshold} queued: ${JSON.stringify(s)}`);
  console.log(`  RSS MB when filled: ${JSON.stringify(b.filled)}; peak ${processFigures(b.peakRssMb, false)}`);
  console.log(
    `  drain: ${b.drain.drained} edits in ${b.drain.seconds} s = ${b.drain.perSec}/s (the cap allows ${b.drain.capBoundPerSec}/s with ${b.drain.upstreamDelayMs} ms jobs); ${b.drain.leftQueued} left`,
  );
  if (!o.append) return;
  const rssAt = (t: number) => {
    const s = b.atThreshold.find((x: Any) => x.threshold === t);
    if (!s) return '–';
    return Object.entries(s)
      .filter(([k]) => k !== 'threshold' && k !== 'queued')
      .map(([k, v]) => `${k} ${fmt(v as number, 0)}`)
      .join(', ');
  };
  const row = [
    r.runAt.slice(0, 16).replace('T', ' '),
    cell(r.label),
    String(o.backlog),
    String(b.maxQueued),
    `${r.acceptedPerSec}`,
    rssAt(1_000),
    rssAt(10_000),
    rssAt(100_000),
    processFigures(b.peakRssMb, false),
    `${b.drain.perSec} (cap ${b.drain.capBoundPerSec})`,
    cell(o.note ?? ''),
  ];
  if (appendRow(BACKLOG_MARKER, `| ${row.join(' | ')} |`)) log('row added to BENCHMARKS.md');
}

const code = await main().catch((err) => {
  console.error(err);
  return 1;
});
process.exit(code);
