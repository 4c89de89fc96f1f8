import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Backlog mode's UPSTREAM_MAX_CONCURRENCY: the relay's cap on unfinished PixelByte jobs, behind which the backlog queues. */
export const BACKLOG_CAP = 50;

/** The repository this bench lives in: its relay is the default one to measure. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchOptions {
  /** Checkout of the relay to measure (its dist/ is run). */
  relayDir: string;
  build: boolean;
  edits: number;
  concurrency: number;
  apiProcesses: number;
  workerProcesses: number;
  /** One ROLE=all process instead of separate API and worker processes. */
  roleAll: boolean;
  callbacks: boolean;
  numImages: number;
  /** Edits of the webhook-throughput phase (webhooks held, then released at once). */
  webhookEdits: number;
  /** Edits of the streams phase, each followed by an event stream of its own (0: no such phase). */
  streams: number;
  /** Webhooks in flight at once while the streams phase releases them. */
  streamRelease: number;
  /** Length of the fixed-rate latency phase. */
  latencySeconds: number;
  /** Offered rate of the latency phase; default half the accept rate just measured. */
  latencyRate?: number;
  /** Milliseconds between a submit and its webhook in the throughput phases (0: at once). */
  upstreamMs: number;
  cpuProf: boolean;
  /** Backlog mode: this many edits queued behind a capped, slow upstream (replaces the standard phases). */
  backlog?: number;
  /** Backlog mode: how long the drain rate is measured (the rest of the backlog is dropped with the database). */
  drainSeconds: number;
  ceilings: boolean;
  /** Postgres pool size per relay process; default read from the relay's src/infra/prisma.ts. */
  poolSize?: number;
  /** Extra environment for every relay process, e.g. WORKER_CONCURRENCY=50. */
  extraEnv: Record<string, string>;
  deadlineMinutes: number;
  out?: string;
  append: boolean;
  label?: string;
  note?: string;
  pgUrl: string;
  redisUrl: string;
}

const HELP = `npm run bench -- [options]

  --relay DIR            relay checkout to measure (default: this repository)
  --no-build             run DIR/dist as it is (default: npm run build first)
  --edits N              edits of the throughput phase (default 20000)
  --concurrency N        concurrent HTTP clients (default 32)
  --api N / --workers N  API and worker process counts (default 1 / 1)
  --role-all             one ROLE=all process instead
  --callbacks on|off     callbacks to a local receiver (default off)
  --num-images N         num_images of every edit (default 1)
  --webhook-edits N      edits of the webhook-throughput phase (default edits/4, at least 200)
  --latency-seconds N    length of the fixed-rate POST latency phase (default 15)
  --streams N            a streams phase: N edits, each followed by its own event stream on the first API process, beside
                         4 streams of every edit (GET /v1/events); raises the relay's watch and connection caps to fit
  --stream-release N     webhooks in flight at once in the streams phase (default 8; 1: each change alone, the
                         propagation without the queueing of a burst)
                         (default 0: no such phase)
  --latency-rate N       its offered rate, edits/s (default: half the measured accept rate)
  --upstream-ms N        delay between a submit and its webhook (default 0: at once)
  --cpu-prof             profile the relay processes (tools/bench/profiles/<run>/), print the top functions
  --backlog N            backlog mode: N edits queued behind UPSTREAM_MAX_CONCURRENCY=50
  --drain-seconds N      backlog mode: how long the drain is measured (default 60)
  --no-ceilings          skip pgbench and redis-benchmark (ratios are then null)
  --pool-size N          Postgres pool per relay process, for the pgbench ceiling (default: read from the relay)
  --env KEY=VALUE        extra environment for the relay processes (repeatable)
  --deadline-minutes N   abort when the run takes longer (default 30)
  --out PATH             results file (default tools/bench/results/latest.json, backlog: …/backlog.json)
  --no-append            do not add a row to docs/benchmarks-log.md
  --label TEXT           what was measured (default: the relay's git commit)
  --note TEXT            a note for the docs/benchmarks-log.md row
  --pg-url URL           Postgres server (default postgresql://postgres@127.0.0.1:5432/postgres)
  --redis-url URL        Redis (default redis://127.0.0.1:6379)
`;

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const o: BenchOptions = {
    relayDir: REPO_ROOT,
    build: true,
    edits: 20_000,
    concurrency: 32,
    apiProcesses: 1,
    workerProcesses: 1,
    roleAll: false,
    callbacks: false,
    numImages: 1,
    webhookEdits: 0,
    streams: 0,
    streamRelease: 8,
    latencySeconds: 15,
    upstreamMs: 0,
    cpuProf: false,
    drainSeconds: 60,
    ceilings: true,
    extraEnv: {},
    deadlineMinutes: 30,
    append: true,
    pgUrl: 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: 'redis://127.0.0.1:6379',
  };
  const args = [...argv];
  const value = (name: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  const int = (name: string, min: number): number => {
    const raw = value(name);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min} (got ${raw})`);
    return n;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '--relay':
        o.relayDir = resolve(value(arg));
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--edits':
        o.edits = int(arg, 1);
        break;
      case '--concurrency':
        o.concurrency = int(arg, 1);
        break;
      case '--api':
        o.apiProcesses = int(arg, 1);
        break;
      case '--workers':
        o.workerProcesses = int(arg, 0);
        break;
      case '--role-all':
        o.roleAll = true;
        break;
      case '--callbacks': {
        const v = value(arg);
        if (v !== 'on' && v !== 'off') throw new UsageError('--callbacks is on or off');
        o.callbacks = v === 'on';
        break;
      }
      case '--num-images':
        o.numImages = int(arg, 1);
        if (o.numImages > 4) throw new UsageError('--num-images is 1 to 4');
        break;
      case '--streams':
        o.streams = int(arg, 0);
        break;
      case '--stream-release':
        o.streamRelease = int(arg, 1);
        break;
      case '--webhook-edits':
        o.webhookEdits = int(arg, 0);
        break;
      case '--latency-seconds':
        o.latencySeconds = int(arg, 0);
        break;
      case '--latency-rate':
        o.latencyRate = int(arg, 1);
        break;
      case '--upstream-ms':
        o.upstreamMs = int(arg, 0);
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--backlog':
        o.backlog = int(arg, 1);
        break;
      case '--drain-seconds':
        o.drainSeconds = int(arg, 1);
        break;
      case '--no-ceilings':
        o.ceilings = false;
        break;
      case '--pool-size':
        o.poolSize = int(arg, 1);
        break;
      case '--env': {
        const kv = value(arg);
        const eq = kv.indexOf('=');
        if (eq < 1) throw new UsageError(`--env takes KEY=VALUE (got ${kv})`);
        o.extraEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case '--deadline-minutes':
        o.deadlineMinutes = int(arg, 1);
        break;
      case '--out':
        o.out = resolve(value(arg));
        break;
      case '--no-append':
        o.append = false;
        break;
      case '--label':
        o.label = value(arg);
        break;
      case '--note':
        o.note = value(arg);
        break;
      case '--pg-url':
        o.pgUrl = value(arg);
        break;
      case '--redis-url':
        o.redisUrl = value(arg);
        break;
      default:
        throw new UsageError(`unknown option ${arg}\n\n${HELP}`);
    }
  }
  if (!o.roleAll && o.workerProcesses === 0 && o.backlog === undefined) throw new UsageError('--workers 0 leaves nobody to submit edits');
  if (o.webhookEdits === 0) o.webhookEdits = Math.max(200, Math.floor(o.edits / 4));
  // Only this machine: the bench sends load, and load goes to loopback addresses only.
  for (const [name, url] of [
    ['--pg-url', o.pgUrl],
    ['--redis-url', o.redisUrl],
  ] as const) {
    const host = new URL(url).hostname;
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) throw new UsageError(`${name} must point at a loopback address (got ${host})`);
  }
  return o;
}

export { HELP };
