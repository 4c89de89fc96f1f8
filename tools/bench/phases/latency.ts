import { type Context, post, waitTerminal } from '../context.js';
import { log, round } from '../control.js';
import { terminalCount } from '../database.js';
import { type PacedRun, summarize } from '../load.js';

export type LatencyFigures = ReturnType<typeof summarize> & { rate?: number; achievedPerSec?: number; pacerLateP99Ms?: number };

/** Phase 2: POST latency at a fixed offered rate, by default half the accept rate the throughput phase measured. */
export async function latencyPhase(ctx: Context, acceptedPerSec: number): Promise<LatencyFigures> {
  const { o, db, upstream } = ctx;
  await upstream.send({ cmd: 'phase', phase: 'latency' });
  const rate = o.latencyRate ?? Math.max(1, Math.round(acceptedPerSec / 2));
  const amount = Math.max(20, Math.round(rate * o.latencySeconds));
  const base = terminalCount(await db.statusCounts());
  log(`latency: ${amount} edits at ${rate}/s offered`);
  const fixed = await post(ctx, amount, rate);
  const lateness = summarize((fixed as PacedRun).lateMs);
  const latency: LatencyFigures = {
    ...summarize(fixed.latenciesMs),
    rate,
    achievedPerSec: round(fixed.accepted / ((fixed.finishedAt - fixed.startedAt) / 1000), 1),
    pacerLateP99Ms: lateness.p99,
  };
  log(
    `latency: p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms (${latency.achievedPerSec}/s accepted; the pacer itself was late by ≤ ${latency.pacerLateP99Ms} ms at p99)`,
  );
  await waitTerminal(db, base + fixed.accepted, 'latency');
  return latency;
}
