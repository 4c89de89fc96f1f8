import type { Db } from '../../infra/prisma.js';

/** What a redeliver came to: a new series, or why not (another redeliver was too recent; the delivery is still pending). */
export type RestartResult = { kind: 'restarted' } | { kind: 'too-soon'; retryAfterMs: number } | { kind: 'pending' };

/**
 * Starts a new attempt series, due now, for a delivery that is over (delivered or failed) and was not restarted in
 * the last `cooldownMs`. The event and its webhook-id stay the same. One guarded update, so of redelivers that race
 * exactly one starts a series; otherwise says why not.
 */
export async function restart(db: Db, id: string, cooldownMs: number, now: Date): Promise<RestartResult> {
  const cooledDown = new Date(now.getTime() - cooldownMs);
  const { count } = await db.callbackDelivery.updateMany({
    where: {
      id,
      status: { in: ['delivered', 'failed'] },
      ...(cooldownMs > 0 ? { OR: [{ redeliveredAt: null }, { redeliveredAt: { lte: cooledDown } }] } : {}),
    },
    data: { status: 'pending', series: { increment: 1 }, seriesAttempts: 0, deliveredAt: null, nextAttemptAt: now, redeliveredAt: now },
  });
  if (count === 1) return { kind: 'restarted' };
  // Read after the update, so a redeliver that won the race meanwhile is seen.
  const row = await db.callbackDelivery.findUnique({ where: { id }, select: { redeliveredAt: true } });
  if (cooldownMs > 0 && row?.redeliveredAt && row.redeliveredAt > cooledDown) {
    // The winner of a concurrent race may have stamped a moment later than this request's `now`: never more than the cooldown.
    return { kind: 'too-soon', retryAfterMs: Math.min(cooldownMs, row.redeliveredAt.getTime() + cooldownMs - now.getTime()) };
  }
  return { kind: 'pending' };
}
