import type { CallbackAttempt, CallbackDelivery } from '../generated/prisma/client.js';
import type { Db } from '../infra/prisma.js';
import { type AttemptRecord, type AttemptVerdict, type ClaimResult, claimDueDelivery, claimResultOf, recordAttempt } from './statements.js';

export type { AttemptRecord, AttemptVerdict, CallbackAttempt, CallbackDelivery, ClaimResult };

/**
 * Callback deliveries and their attempts. Status changes are guarded updates; an attempt's own two steps (claim,
 * record) are single statements (statements.ts), the rest is Prisma.
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
   * Starts a new attempt series, due now, for a delivery that is over (delivered or failed). The event and
   * its webhook-id stay the same. False when the delivery is still pending.
   */
  async restart(id: string): Promise<boolean> {
    const { count } = await this.db.callbackDelivery.updateMany({
      where: { id, status: { in: ['delivered', 'failed'] } },
      data: { status: 'pending', series: { increment: 1 }, seriesAttempts: 0, deliveredAt: null, nextAttemptAt: new Date() },
    });
    return count === 1;
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
