import type { CallbackAttempt, CallbackDelivery } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';
import { type AttemptRecord, type AttemptVerdict, type ClaimResult, claimDueDelivery, claimResultOf, postponeClaim, recordAttempt } from './statements.js';

export type { AttemptRecord, AttemptVerdict, CallbackAttempt, CallbackDelivery, ClaimResult };

/** What a redeliver came to: a new series, or why not (another redeliver was too recent; the delivery is still pending). */
export type RestartResult = { kind: 'restarted' } | { kind: 'too-soon'; retryAfterMs: number } | { kind: 'pending' };

/**
 * Callback deliveries and their attempts. Status changes are guarded updates; an attempt's own steps (claim,
 * record, or postpone when no slot is free) are single statements (statements.ts), the rest is Prisma.
 */
export class CallbackRepository {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<CallbackDelivery | null> {
    return this.db.callbackDelivery.findUnique({ where: { id } });
  }

  /** An edit reaches one terminal status, so it has at most one delivery. */
  findByEdit(editId: string): Promise<CallbackDelivery | null> {
    return this.db.callbackDelivery.findFirst({ where: { editId }, orderBy: { createdAt: 'asc' } });
  }

  async findByEdits(editIds: string[]): Promise<Map<string, CallbackDelivery>> {
    if (editIds.length === 0) return new Map();
    const rows = await this.db.callbackDelivery.findMany({ where: { editId: { in: editIds } }, orderBy: { createdAt: 'desc' } });
    return new Map(rows.map((row) => [row.editId, row]));
  }

  attempts(deliveryId: string): Promise<CallbackAttempt[]> {
    return this.db.callbackAttempt.findMany({ where: { deliveryId }, orderBy: { id: 'asc' } });
  }

  /**
   * Claims the delivery for one attempt if it is pending and due at `now`, holding it until `leaseUntil`, and reads
   * it with its edit; otherwise says why not.
   */
  async claimDue(id: string, now: Date, leaseUntil: Date): Promise<ClaimResult> {
    const [row] = await this.db.sql.rows(claimDueDelivery(id, now, leaseUntil));
    return claimResultOf(row, now);
  }

  /** Stores the attempt and its consequence together. False when the delivery had left that series (or pending). */
  async recordAttempt(deliveryId: string, attempt: AttemptRecord, verdict: AttemptVerdict, now = new Date()): Promise<boolean> {
    const [row] = await this.db.sql.rows<{ applied: number }>(recordAttempt(deliveryId, attempt, verdict, now));
    return row?.applied === 1;
  }

  /**
   * Hands back a claim that made no attempt: due again at `nextAttemptAt`, nothing counted. False when the delivery
   * is no longer held by that claim.
   */
  async postpone(id: string, series: number, leaseUntil: Date, nextAttemptAt: Date, now = new Date()): Promise<boolean> {
    const [row] = await this.db.sql.rows<{ applied: number }>(postponeClaim(id, series, leaseUntil, nextAttemptAt, now));
    return row?.applied === 1;
  }

  /**
   * Starts a new attempt series, due now, for a delivery that is over (delivered or failed) and was not restarted
   * in the last `cooldownMs`. The event and its webhook-id stay the same. One guarded update, so of redelivers that
   * race exactly one starts a series; otherwise says why not.
   */
  async restart(id: string, cooldownMs: number, now = new Date()): Promise<RestartResult> {
    const cooledDown = new Date(now.getTime() - cooldownMs);
    const { count } = await this.db.callbackDelivery.updateMany({
      where: {
        id,
        status: { in: ['delivered', 'failed'] },
        ...(cooldownMs > 0 ? { OR: [{ redeliveredAt: null }, { redeliveredAt: { lte: cooledDown } }] } : {}),
      },
      data: { status: 'pending', series: { increment: 1 }, seriesAttempts: 0, deliveredAt: null, nextAttemptAt: now, redeliveredAt: now },
    });
    if (count === 1) return { kind: 'restarted' };
    // Read after the update, so a redeliver that won the race meanwhile is seen.
    const row = await this.db.callbackDelivery.findUnique({ where: { id }, select: { redeliveredAt: true } });
    if (cooldownMs > 0 && row?.redeliveredAt && row.redeliveredAt > cooledDown) {
      // The winner of a concurrent race may have stamped a moment later than this request's `now`: never more than the cooldown.
      return { kind: 'too-soon', retryAfterMs: Math.min(cooldownMs, row.redeliveredAt.getTime() + cooldownMs - now.getTime()) };
    }
    return { kind: 'pending' };
  }

  /** Pending deliveries whose next attempt was due before `dueBefore`: the sweeper's work list. */
  findOverdue(dueBefore: Date, take: number): Promise<Pick<CallbackDelivery, 'id' | 'editId'>[]> {
    return this.db.callbackDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lt: dueBefore } },
      select: { id: true, editId: true },
      orderBy: { nextAttemptAt: 'asc' },
      take,
    });
  }
}
