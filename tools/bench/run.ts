/**
 * `npm run bench`: pixelrelay against this machine's own limits (issue 9). See docs/performance.md for what each
 * figure means and how it is measured, and `npm run bench -- --help` for the options.
 *
 * It builds the relay (unless --no-build), makes a database of its own on the local Postgres and a queue
 * prefix of its own on the local Redis, measures the ceilings (pgbench, redis-benchmark), starts the bench's
 * PixelByte stand-in (tools/bench/upstream.ts), the API and the workers as separate processes, drives edits
 * through the real HTTP API with autocannon (the phases, in phases/), and stops everything it started, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../testkit/freePort.js';
import { deleteKeys } from '../../testkit/redisKeys.js';
import { type Ceilings, measureCeilings } from './ceilings.js';
import { type Context, editBody } from './context.js';
import { abort, abortedBecause, checkAbort, log, markStopping, round } from './control.js';
import { Database } from './database.js';
import { stopLoad } from './load.js';
import { type BenchOptions, HELP, parseOptions, REPO_ROOT, UsageError } from './options.js';
import { backlogPhase } from './phases/backlog.js';
import { latencyPhase } from './phases/latency.js';
import { streamsPhase } from './phases/streams.js';
import { throughputPhase } from './phases/throughput.js';
import { warmUp } from './phases/warmup.js';
import { webhookPhase } from './phases/webhooks.js';
import { killAllNow, memoryMb, stopAll, stopProcess } from './processes.js';
import { type ProfileSummary, profileMarkdown, summarizeProfiles } from './profiles.js';
import { detectPoolSize, gitLabel, type Relay, relayEnvironment, relayProcs, runLogged, startRelay } from './relay.js';
import { type Any, printBacklog, printStandard, writeJson } from './report.js';
import { backlogResult, type StandardRun, standardResult } from './results.js';
import type { UpstreamStats } from './upstream.js';
import { forkUpstream } from './upstreamProcess.js';

/** The standard run: warm-up, then throughput, fixed-rate latency and webhook throughput, one after the other. */
async function standardRun(ctx: Context): Promise<StandardRun> {
  const { o, db, upstream, relay } = ctx;
  const warm = await warmUp(ctx, Math.min(200, o.edits));
  log(`warm-up: ${warm.accepted} edits done`);
  const throughput = await throughputPhase(ctx);
  const latency = o.latencySeconds > 0 ? await latencyPhase(ctx, throughput.posted.acceptedPerSec) : { n: 0 };
  const webhooks = o.webhookEdits > 0 ? await webhookPhase(ctx) : undefined;
  const streams = o.streams > 0 ? await streamsPhase(ctx) : undefined;

  const peakRssMb: Record<string, number> = {};
  for (const p of relayProcs(relay)) peakRssMb[p.name] = round(memoryMb(p.pid)?.peak ?? Number.NaN, 1);
  const upstreamStats = await upstream.send<UpstreamStats>({ cmd: 'stats' });
  const finalCounts = await db.statusCounts();
  return { ...throughput, latency, webhooks, streams, peakRssMb, upstreamStats, finalCounts };
}

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
      await runLogged('npm', ['run', 'build'], o.relayDir, process.env, join(workDir, 'build.log'));
    }
    if (!existsSync(join(o.relayDir, 'dist/main.js'))) throw new Error(`${o.relayDir}/dist/main.js does not exist; build it or drop --no-build`);
    const label = o.label ?? gitLabel(o.relayDir);
    const pool = o.poolSize !== undefined ? { size: o.poolSize, source: '--pool-size' } : detectPoolSize(o.relayDir);

    db = await Database.create(o.pgUrl, `pixelrelay_bench_${runId.replace(/-/g, '_')}`);
    const tz = await db.timezone();
    // The relay's timestamp(3) columns hold UTC; read back as UTC they compare with this machine's clock.
    if (!/^(Etc\/)?UTC$/i.test(tz)) log(`warning: Postgres TimeZone is ${tz}, not UTC: status-visible times may be off by its offset`);
    log(`database ${db.name}: migrating`);
    await runLogged(
      process.execPath,
      ['dist/cli/migrate.js'],
      o.relayDir,
      { PATH: process.env.PATH ?? '', DATABASE_URL: db.url },
      join(workDir, 'migrate.log'),
    );
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
    const upstream = await forkUpstream(workDir, { apiKey: upstreamKey, webhookSecret, delayMs: o.backlog !== undefined ? backlogDelayMs : o.upstreamMs });
    nameOfPid.set(upstream.proc.pid, 'upstream');

    const apiCount = o.roleAll ? 1 : o.apiProcesses;
    const apiPorts = await Promise.all(Array.from({ length: apiCount }, () => freePort()));
    const apiUrls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const env = relayEnvironment(o, {
      databaseUrl: db.url,
      queuePrefix,
      publicUrl: apiUrls[0]!,
      apiKey,
      upstreamUrl: upstream.url,
      upstreamKey,
      webhookSecret,
      callbackSecret: `whsec_${randomBytes(32).toString('base64')}`,
    });
    relay = { apis: [], workers: [], all: [], apiUrls };
    await startRelay(relay, { o, env, apiPorts, workDir, profileDir, nameOfPid });
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
    result =
      o.backlog !== undefined
        ? backlogResult(common, await backlogPhase(ctx, backlogDelayMs), ceilings)
        : standardResult(common, await standardRun(ctx), o, ceilings);
  } catch (err) {
    exitCode = 1;
    console.error(`\nbench failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(deadline);
    stopLoad();
    markStopping();
    log('stopping every process the bench started');
    if (relay) await Promise.all(relayProcs(relay).map((p) => stopProcess(p.child, 15_000)));
    await stopAll(5_000);
    if (db) {
      await db.drop().then(
        () => log(`dropped database ${db!.name}`),
        (err) => console.error(`could not drop database ${db!.name}: ${err}`),
      );
    }
    await deleteKeys(o.redisUrl, `${queuePrefix}:*`).catch((err) => console.error(`could not clear Redis keys ${queuePrefix}:*: ${err}`));
  }
  if (abortedBecause()) exitCode = 1;
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

const code = await main().catch((err) => {
  console.error(err);
  return 1;
});
process.exit(code);
