import type { CallbackAttempt, CallbackDelivery } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/prisma.js';

/** The plain reads of deliveries and their attempts, through Prisma. */

export function findById(db: Db, id: string): Promise<CallbackDelivery | null> {
  return db.callbackDelivery.findUnique({ where: { id } });
}

/** An edit reaches one terminal status, so it has at most one delivery. */
export function findByEdit(db: Db, editId: string): Promise<CallbackDelivery | null> {
  return db.callbackDelivery.findFirst({ where: { editId }, orderBy: { createdAt: 'asc' } });
}

/** Every callback of the edit (one per terminal event), oldest first. */
export function findAllByEdit(db: Db, editId: string): Promise<CallbackDelivery[]> {
  return db.callbackDelivery.findMany({ where: { editId }, orderBy: { createdAt: 'asc' } });
}

export async function findByEdits(db: Db, editIds: string[]): Promise<Map<string, CallbackDelivery>> {
  if (editIds.length === 0) return new Map();
  const rows = await db.callbackDelivery.findMany({ where: { editId: { in: editIds } }, orderBy: { createdAt: 'desc' } });
  return new Map(rows.map((row) => [row.editId, row]));
}

export function attempts(db: Db, deliveryId: string): Promise<CallbackAttempt[]> {
  return db.callbackAttempt.findMany({ where: { deliveryId }, orderBy: { id: 'asc' } });
}

/** Pending deliveries whose next attempt was due before `dueBefore`: the sweeper's work list. */
export function findOverdue(db: Db, dueBefore: Date, take: number): Promise<Pick<CallbackDelivery, 'id' | 'editId'>[]> {
  return db.callbackDelivery.findMany({
    where: { status: 'pending', nextAttemptAt: { lt: dueBefore } },
    select: { id: true, editId: true },
    orderBy: { nextAttemptAt: 'asc' },
    take,
  });
}
