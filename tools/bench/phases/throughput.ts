import { cpus } from 'node:os';
import { type Context, post, waitTerminal } from '../context.js';
import { log, round, sleep } from '../control.js';
import { terminalCount } from '../database.js';
import { summarize } from '../load.js';
import { cpuOf, machineBusyMs, pidsNamed, totalCpuMs } from '../processes.js';
import { redisCommands } from '../redis.js';
import { relayProcs } from '../relay.js';
import { type JobTimes, now } from '../upstream.js';

/** Phase 1: as fast as the clients go; accepted/s while posting, completed/s end to end, CPU per edit. */
export async function throughputPhase(ctx: Context) {
  const { o, db, upstream, relay } = ctx;
  const procs = relayProcs(relay);
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
  return {
    phaseSeconds,
    storeWorkPerEdit,
    posted,
    counts,
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
