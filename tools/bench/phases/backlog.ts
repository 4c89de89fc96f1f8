import { type Context, post } from '../context.js';
import { checkAbort, log, round, sleep } from '../control.js';
import { TERMINAL, terminalCount } from '../database.js';
import { summarize } from '../load.js';
import { BACKLOG_CAP } from '../options.js';
import { memoryMb } from '../processes.js';
import { relayProcs } from '../relay.js';
import { now, type UpstreamStats } from '../upstream.js';
import { warmUp } from './warmup.js';

const THRESHOLDS = [1_000, 10_000, 100_000];

/**
 * Backlog mode, in place of the standard phases: `--backlog` edits queued behind UPSTREAM_MAX_CONCURRENCY, the
 * relay's memory sampled as the queue grows, then the drain rate once the upstream lets webhooks go.
 */
export async function backlogPhase(ctx: Context, delayMs: number) {
  const { o, db, upstream, relay } = ctx;
  const procs = relayProcs(relay);
  const n = o.backlog!;
  const rssAt = (queued: number) => ({ queued, ...Object.fromEntries(procs.map((p) => [p.name, round(memoryMb(p.pid)?.rss ?? Number.NaN, 1)])) });

  const warm = await warmUp(ctx, Math.min(100, n));
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
