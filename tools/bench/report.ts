import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Ceilings } from './ceilings.js';
import { log } from './control.js';
import { BACKLOG_CAP, type BenchOptions, REPO_ROOT } from './options.js';

const BENCHMARK_LOG = join(REPO_ROOT, 'docs', 'benchmarks-log.md');
export const RUNS_MARKER = '<!-- bench: new standard runs go above this line -->';
export const BACKLOG_MARKER = '<!-- bench: new backlog runs go above this line -->';

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Adds a row just above `marker` in docs/benchmarks-log.md (the end of that section's table). */
export function appendRow(marker: string, row: string): boolean {
  if (!existsSync(BENCHMARK_LOG)) return false;
  const text = readFileSync(BENCHMARK_LOG, 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) return false;
  writeFileSync(BENCHMARK_LOG, `${text.slice(0, at)}${row}\n${text.slice(at)}`);
  return true;
}

export const fmt = (v: number | undefined | null, digits = 0): string => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));
/** A figure with its ratio to the ceiling: `1,234 (0.25×)`. */
export const withRatio = (v: number | undefined, ratio: number | null): string =>
  `${v === undefined ? '–' : Math.round(v).toLocaleString('en-US')}${ratio === null ? '' : ` (${ratio.toFixed(3)}×)`}`;

export const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

// --- the printed report and its docs/benchmarks-log.md row ----------------------------------------------------
// biome-ignore lint/suspicious/noExplicitAny: the printers read the results record (results.ts), whose figures vary by mode.
export type Any = Record<string, any>;

/** `api 5.1 + worker 4.2 = 9.3` for a sum (CPU), `api 330, worker 320` for figures that do not add up (RSS). */
function processFigures(map: Record<string, number>, sum = true): string {
  const text = Object.entries(map)
    .map(([k, v]) => `${k} ${fmt(v, v < 10 ? 2 : 1)}`)
    .join(sum ? ' + ' : ', ');
  return sum ? text.replace(/ \+ total /, ' = ') : text;
}

export function printStandard(r: Any, o: BenchOptions): void {
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
  if (appendRow(RUNS_MARKER, `| ${row.join(' | ')} |`)) log('row added to docs/benchmarks-log.md');
}

export function printBacklog(r: Any, o: BenchOptions): void {
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
  if (appendRow(BACKLOG_MARKER, `| ${row.join(' | ')} |`)) log('row added to docs/benchmarks-log.md');
}
