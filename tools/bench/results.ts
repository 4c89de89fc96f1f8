import type { Ceilings } from './ceilings.js';
import { ratio, round } from './control.js';
import type { BenchOptions } from './options.js';
import type { backlogPhase } from './phases/backlog.js';
import type { LatencyFigures } from './phases/latency.js';
import type { StreamFigures } from './phases/streams.js';
import type { throughputPhase } from './phases/throughput.js';
import type { WebhookFigures } from './phases/webhooks.js';
import type { UpstreamStats } from './upstream.js';

/** What the standard phases measured, together. */
export type StandardRun = Awaited<ReturnType<typeof throughputPhase>> & {
  latency: LatencyFigures;
  webhooks: WebhookFigures | undefined;
  streams: StreamFigures | undefined;
  peakRssMb: Record<string, number>;
  upstreamStats: UpstreamStats;
  finalCounts: Record<string, number>;
};
export type BacklogRun = Awaited<ReturnType<typeof backlogPhase>>;

/** The results record of a standard run (the results file, and what the report prints from). */
export function standardResult(common: Record<string, unknown>, s: StandardRun, o: BenchOptions, ceilings: Ceilings | undefined): Record<string, unknown> {
  const ins = ceilings?.insertCommitsPerSec;
  return {
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
    streams: s.streams ?? null,
  };
}

export function backlogResult(common: Record<string, unknown>, b: BacklogRun, ceilings: Ceilings | undefined): Record<string, unknown> {
  return {
    ...common,
    backlog: b,
    peakRssMb: b.peakRssMb,
    acceptedPerSec: round(b.acceptedPerSec, 1),
    acceptRatio: ratio(b.acceptedPerSec, ceilings?.insertCommitsPerSec),
  };
}
