import { type Context, post, waitTerminal } from '../context.js';
import { checkAbort, log, round, sleep } from '../control.js';
import { terminalCount } from '../database.js';
import { summarize } from '../load.js';
import type { JobTimes, UpstreamStats } from '../upstream.js';

export interface WebhookFigures {
  edits: number;
  perSec: number;
  seconds: number;
  visible: ReturnType<typeof summarize>;
}

/** Phase 3: the webhook route's own throughput: webhooks held until every edit is submitted, then all sent, `concurrency` at a time. */
export async function webhookPhase(ctx: Context): Promise<WebhookFigures> {
  const { o, db, upstream } = ctx;
  await upstream.send({ cmd: 'phase', phase: 'webhooks' });
  await upstream.send({ cmd: 'hold', on: true });
  const base = terminalCount(await db.statusCounts());
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
  await waitTerminal(db, base + held.accepted, 'webhooks', { pollMs: 100 });
  const wj = (await upstream.send<JobTimes[]>({ cmd: 'jobs', phase: 'webhooks' })).filter((j) => j.sentAt > 0);
  const applied = await db.terminalTransitions(wj.map((j) => j.editId));
  const viaWebhook = wj.filter((j) => applied.get(j.editId)?.cause.startsWith('webhook'));
  if (viaWebhook.length === 0) throw new Error('webhooks: no webhook was applied; see the relay logs');
  const first = wj.reduce((m, j) => Math.min(m, j.sentAt), Number.POSITIVE_INFINITY);
  const last = viaWebhook.reduce((m, j) => Math.max(m, applied.get(j.editId)!.at, j.doneAt), 0);
  const webhooks: WebhookFigures = {
    edits: viaWebhook.length,
    seconds: round((last - first) / 1000, 2),
    perSec: viaWebhook.length / ((last - first) / 1000),
    visible: summarize(viaWebhook.map((j) => applied.get(j.editId)!.at - j.sentAt)),
  };
  log(`webhooks: ${viaWebhook.length} applied in ${webhooks.seconds} s = ${round(webhooks.perSec, 1)}/s`);
  return webhooks;
}
