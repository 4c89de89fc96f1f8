import type { CallbackAttempt, CallbackDelivery } from '../generated/prisma/client.js';
import type { Db } from '../infra/prisma.js';

export type { CallbackAttempt, CallbackDelivery };

export interface AttemptRecord {
  series: number;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode?: number;
  error?: string;
}

/** What an attempt changed about its delivery. */
export type AttemptVerdict =
  | { status: 'delivered'; lastError?: undefined }
  | { status: 'failed'; lastError: string }
  | { status: 'pending'; lastError: string; nextAttemptAt: Date };

/** Prisma queries for callback deliveries and their attempts. Status changes are guarded updates. */
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
   * Takes a due delivery for one attempt by pushing its nextAttemptAt out to `leaseUntil`: another worker
   * running the same job (after a stall) then finds it not due. False when someone else got there first.
   */
  async claim(delivery: CallbackDelivery, leaseUntil: Date): Promise<boolean> {
    const { count } = await this.db.callbackDelivery.updateMany({
      where: { id: delivery.id, status: 'pending', series: delivery.series, nextAttemptAt: delivery.nextAttemptAt },
      data: { nextAttemptAt: leaseUntil },
    });
    return count === 1;
  }

  /** Stores the attempt and its consequence together. */
  async recordAttempt(delivery: CallbackDelivery, attempt: AttemptRecord, verdict: AttemptVerdict): Promise<void> {
    await this.db.$transaction(async (tx) => {
      await tx.callbackAttempt.create({ data: { deliveryId: delivery.id, ...attempt } });
      await tx.callbackDelivery.updateMany({
        where: { id: delivery.id, status: 'pending', series: delivery.series },
        data: {
          status: verdict.status,
          attempts: { increment: 1 },
          seriesAttempts: { increment: 1 },
          ...(verdict.lastError !== undefined ? { lastError: verdict.lastError } : {}),
          ...(verdict.status === 'delivered' ? { deliveredAt: new Date() } : {}),
          ...(verdict.status === 'pending' ? { nextAttemptAt: verdict.nextAttemptAt } : {}),
        },
      });
    });
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
